"""keras.preprocessing.image: ImageDataGenerator's transforms against hand-computed numpy
results, its batches (flow) read by fit, and the image-file helpers where Pillow is installed
(their clear refusal where it is not). Keras 3's own numbers: tests/parity/test_preprocessing.py.
"""

import builtins
import importlib.util

import numpy as np
import pytest

import fnjit as keras
from fnjit.preprocessing.image import ImageDataGenerator

HAVE_PIL = importlib.util.find_spec("PIL") is not None
needs_pil = pytest.mark.skipif(not HAVE_PIL, reason="Pillow is not installed")


def image(rows=5, cols=6, channels=2):
    return np.arange(rows * cols * channels, dtype="float32").reshape(rows, cols, channels)


def test_flips_reverse_the_column_and_row_axes():
    x = image()
    g = ImageDataGenerator()
    np.testing.assert_array_equal(g.apply_transform(x, {"flip_horizontal": True}), x[:, ::-1])
    np.testing.assert_array_equal(g.apply_transform(x, {"flip_vertical": True}), x[::-1])
    first = ImageDataGenerator(data_format="channels_first")
    xt = x.transpose(2, 0, 1)
    np.testing.assert_array_equal(first.apply_transform(xt, {"flip_horizontal": True}),
                                  xt[:, :, ::-1])


def test_integer_shifts_move_pixels_and_fill_the_edge():
    x = image()
    g = ImageDataGenerator(fill_mode="constant", cval=-1.0)
    # tx shifts the columns, ty the rows: output[r, c] = x[r + ty, c + tx]
    out = g.apply_transform(x, {"tx": 2, "ty": 1})
    want = np.full_like(x, -1.0)
    want[:-1, :-2] = x[1:, 2:]
    np.testing.assert_allclose(out, want, atol=1e-5)
    nearest = ImageDataGenerator(fill_mode="nearest").apply_transform(x, {"tx": -1})
    want = np.concatenate([x[:, :1], x[:, :-1]], axis=1)
    np.testing.assert_allclose(nearest, want, atol=1e-5)


def test_width_shift_range_shifts_horizontally_and_height_vertically():
    x = image(6, 6, 1)
    out = ImageDataGenerator(width_shift_range=[2], fill_mode="constant",
                             cval=-1).random_transform(x, seed=3)
    rows_kept = [np.array_equal(out[r], x[r]) for r in range(6)]
    assert not all(rows_kept)  # columns moved
    assert (out == -1).all(axis=0).sum() == 2  # two whole columns filled, no row
    out = ImageDataGenerator(height_shift_range=[2], fill_mode="constant",
                             cval=-1).random_transform(x, seed=3)
    assert (out == -1).all(axis=1).sum() == 2 and (out == -1).all(axis=0).sum() == 0
    # a fraction of the size: 0.5 of 6 columns is at most 3 pixels
    p = ImageDataGenerator(width_shift_range=0.5).get_random_transform((4, 6, 1), seed=0)
    u = np.random.RandomState(0).uniform(-0.5, 0.5)
    assert p["tx"] == pytest.approx(u * 6) and p["ty"] == 0


def test_rotation_about_the_centre_of_a_non_square_image():
    x = image(4, 6, 1)
    g = ImageDataGenerator(interpolation_order=1)
    np.testing.assert_allclose(g.apply_transform(x, {"theta": 180}), x[::-1, ::-1], atol=1e-4)
    sq = image(5, 5, 1)
    turned = g.apply_transform(sq, {"theta": 90})
    # a positive angle turns counter-clockwise (Keras' sense): the last column becomes row 0
    np.testing.assert_allclose(turned, np.rot90(sq, 1, axes=(0, 1)), atol=1e-4)


def test_zoom_and_shear_follow_the_affine_map():
    x = image(5, 5, 1)
    g = ImageDataGenerator(fill_mode="constant", interpolation_order=1)
    # zx = 2 reads column centre + 2 (c - centre): column c of the output is column 2c - 2
    out = g.apply_transform(x, {"zx": 2.0})
    cols = np.array([-2, 0, 2, 4, 6])
    inside = ((cols >= 0) & (cols < 5))[None, :, None]
    want = np.where(inside, x[:, np.clip(cols, 0, 4)], 0.0)
    np.testing.assert_allclose(out, want, atol=1e-4)
    # shear s: output (r, c) reads row r cos s ... from the centre (2, 2): row 2 is kept
    out = g.apply_transform(x, {"shear": 30.0})
    np.testing.assert_allclose(out[2], x[2], atol=1e-4)


def test_channel_shift_clips_to_the_image_range():
    x = image(3, 3, 2)
    out = ImageDataGenerator().apply_transform(x, {"channel_shift_intensity": 5.0})
    np.testing.assert_allclose(out, np.clip(x + 5, x.min(), x.max()))


def test_rescale_samplewise_and_preprocessing_function():
    x = image()
    g = ImageDataGenerator(rescale=1 / 255, preprocessing_function=lambda a: a + 1)
    np.testing.assert_allclose(g.standardize(x), (x + 1) / 255, rtol=1e-6)
    with pytest.warns(UserWarning, match="samplewise_center"):
        g = ImageDataGenerator(samplewise_std_normalization=True)
    want = (x - x.mean()) / (x.std() + 1e-6)
    np.testing.assert_allclose(g.standardize(x), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_featurewise_normalisation_uses_per_channel_statistics(data_format):
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(8, 4, 5, 3)).astype("float32")
    x[..., 1] *= 10
    with pytest.warns(UserWarning, match="featurewise_center"):
        g = ImageDataGenerator(featurewise_std_normalization=True, rescale=0.5,
                               data_format=data_format)
    data = x if data_format == "channels_last" else x.transpose(0, 3, 1, 2)
    with pytest.raises(ValueError, match=r"call \.fit"):
        g.standardize(data[0])
    g.fit(data)
    xs = x * 0.5
    mean, std = xs.mean(axis=(0, 1, 2)), xs.std(axis=(0, 1, 2))
    want = (xs[2] - mean) / (std + 1e-6)
    got = g.standardize(data[2])
    if data_format == "channels_first":
        got = got.transpose(1, 2, 0)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # augment=True: statistics over `rounds` flipped copies (a flip keeps them)
    flips = ImageDataGenerator(featurewise_center=True, horizontal_flip=True,
                               data_format=data_format)
    flips.fit(data, augment=True, rounds=3, seed=0)
    np.testing.assert_allclose(flips.mean.ravel(), x.mean(axis=(0, 1, 2)), rtol=1e-5)


def test_zca_whitening_decorrelates_the_fitted_data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2, 2, 1)).astype("float64")
    x[:, 0, 1] = x[:, 0, 0] * 0.9 + 0.1 * x[:, 0, 1]
    with pytest.warns(UserWarning, match="zca_whitening"):
        g = ImageDataGenerator(zca_whitening=True, zca_epsilon=1e-9, dtype="float64")
    g.fit(x)
    white = np.stack([g.standardize(a) for a in x]).reshape(200, -1)
    np.testing.assert_allclose(white.T @ white / 200, np.eye(4), atol=1e-4)


def test_a_seeded_random_transform_is_reproducible():
    x = image(8, 8, 3)
    g = ImageDataGenerator(rotation_range=40, width_shift_range=0.2, height_shift_range=0.2,
                           shear_range=10, zoom_range=0.3, horizontal_flip=True,
                           channel_shift_range=2.0)
    a, b = g.random_transform(x, seed=7), g.random_transform(x, seed=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, g.random_transform(x, seed=8))
    p = g.get_random_transform(x.shape, seed=7)
    np.testing.assert_array_equal(g.apply_transform(x, p), a)
    # Keras' draw order from numpy's legacy RandomState
    r = np.random.RandomState(7)
    theta, hshift, wshift, shear = (r.uniform(-40, 40), r.uniform(-0.2, 0.2),
                                    r.uniform(-0.2, 0.2), r.uniform(-10, 10))
    assert p["theta"] == theta and p["shear"] == shear
    assert p["ty"] == pytest.approx(hshift * 8) and p["tx"] == pytest.approx(wshift * 8)
    keras.utils.set_random_seed(3)
    first = g.random_transform(x)
    keras.utils.set_random_seed(3)
    np.testing.assert_array_equal(g.random_transform(x), first)


def test_flow_batches_labels_weights_and_subsets():
    x = np.stack([np.full((2, 2, 1), i, "float32") for i in range(10)])
    y, w = np.arange(10) % 2, np.linspace(0.1, 1.0, 10)
    g = ImageDataGenerator(rescale=2.0, validation_split=0.3)
    it = g.flow(x, y, batch_size=4, shuffle=False, sample_weight=w)
    assert len(it) == 3
    bx, by, bw = it[2]
    np.testing.assert_array_equal(bx[:, 0, 0, 0], [16, 18])
    np.testing.assert_array_equal(by, [0, 1])
    np.testing.assert_allclose(bw, w[8:])
    val = g.flow(x, y, batch_size=10, shuffle=False, subset="validation")
    train = g.flow(x, y, batch_size=10, shuffle=False, subset="training")
    np.testing.assert_array_equal(val[0][0][:, 0, 0, 0], [0, 2, 4])
    np.testing.assert_array_equal(train[0][0][:, 0, 0, 0], np.arange(3, 10) * 2)
    with pytest.raises(ValueError, match="different classes"):
        g.flow(x, np.arange(10) >= 3, subset="training")
    with pytest.raises(ValueError, match="subset"):
        g.flow(x, y, subset="test")
    with pytest.raises(ValueError, match="y must have one entry per image"):
        g.flow(x, y[:3])
    with pytest.raises(ValueError, match="rank 4"):
        g.flow(x[0], None)
    # x with an extra array rides along; x alone gives the images only
    bx, _ = g.flow((x, np.arange(10)), y, batch_size=5, shuffle=False)[1]
    np.testing.assert_array_equal(bx[1], np.arange(5, 10))
    assert g.flow(x, batch_size=5, shuffle=False)[0].shape == (5, 2, 2, 1)


def test_flow_shuffles_reproducibly_with_a_seed_and_iterates_like_keras2():
    x = np.arange(12, dtype="float32").reshape(12, 1, 1, 1)
    g = ImageDataGenerator()
    a = [g.flow(x, batch_size=4, seed=5)[i][:, 0, 0, 0] for i in range(3)]
    b = [g.flow(x, batch_size=4, seed=5)[i][:, 0, 0, 0] for i in range(3)]
    np.testing.assert_array_equal(a, b)
    assert sorted(np.concatenate(a)) == list(range(12)) and not np.array_equal(
        np.concatenate(a), np.arange(12))
    it = g.flow(x, batch_size=5, shuffle=False)
    seen = [next(it)[:, 0, 0, 0].tolist() for _ in range(4)]  # endless, as in Keras 2
    assert seen == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10, 11], [0, 1, 2, 3, 4]]


def test_fit_trains_on_flow_and_normalization_adapts_to_it():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4, 4, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0).astype("float32")
    g = ImageDataGenerator(horizontal_flip=True, vertical_flip=True)  # label-preserving
    inp = keras.Input((4, 4, 1))
    out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(inp))
    model = keras.Model(inp, out)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    keras.utils.set_random_seed(0)
    history = model.fit(g.flow(x, y, batch_size=16, seed=1), epochs=8, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 8 and losses[-1] < 0.6 * losses[0]
    norm = keras.layers.Normalization(axis=None)
    norm.adapt(ImageDataGenerator().flow(x, batch_size=16, shuffle=False))
    np.testing.assert_allclose(np.asarray(norm.mean).ravel(), [x.mean()], rtol=1e-4,
                               atol=1e-6)


def test_bad_arguments_are_refused_by_name():
    for kwargs, match in [(dict(fill_mode="mirror"), "fill_mode"),
                          (dict(zoom_range=(1, 2, 3)), "zoom_range"),
                          (dict(validation_split=1.5), "validation_split"),
                          (dict(data_format="nhwc"), "data_format"),
                          (dict(interpolation_order=7), "interpolation_order"),
                          (dict(brightness_range=0.5), "brightness_range"),
                          (dict(width_shift_range="a"), "width_shift_range"),
                          (dict(preprocessing_function=3), "preprocessing_function")]:
        with pytest.raises(ValueError, match=match):
            ImageDataGenerator(**kwargs)
    with pytest.raises(ValueError, match="unknown transform parameters"):
        ImageDataGenerator().apply_transform(image(), {"angle": 3})
    with pytest.raises(NotImplementedError, match="flow_from_directory"):
        ImageDataGenerator().flow_from_dataframe(None)


def test_without_pillow_image_files_are_refused(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match="pip install pillow"):
        keras.utils.load_img(tmp_path / "a.png")
    with pytest.raises(ImportError, match="array_to_img needs Pillow"):
        keras.utils.array_to_img(image(2, 2, 3))
    with pytest.raises(ImportError, match="flow_from_directory needs Pillow"):
        ImageDataGenerator().flow_from_directory(tmp_path)
    with pytest.raises(ImportError, match="brightness_range"):
        ImageDataGenerator(brightness_range=(0.5, 1.5))


@needs_pil
def test_image_files_round_trip(tmp_path):
    from fnjit.preprocessing import image as img

    x = np.random.default_rng(0).integers(0, 256, size=(6, 8, 3)).astype("float32")
    img.save_img(tmp_path / "a.png", x, scale=False)
    loaded = img.load_img(tmp_path / "a.png")
    assert loaded.size == (8, 6) and loaded.mode == "RGB"
    np.testing.assert_array_equal(img.img_to_array(loaded), x)
    np.testing.assert_array_equal(img.img_to_array(loaded, data_format="channels_first"),
                                  x.transpose(2, 0, 1))
    gray = img.load_img(tmp_path / "a.png", color_mode="grayscale", target_size=(3, 4))
    assert gray.mode == "L" and img.img_to_array(gray).shape == (3, 4, 1)
    # scale=True maps the array's range onto 0..255
    arr = img.img_to_array(img.array_to_img(np.array([[[0.0], [0.5]], [[1.0], [0.25]]])))
    np.testing.assert_array_equal(arr[..., 0], [[0, 127], [255, 63]])
    with pytest.raises(ValueError, match="no image format"):
        img.save_img(tmp_path / "noext", x)
    with pytest.raises(ValueError, match="color_mode"):
        img.load_img(tmp_path / "a.png", color_mode="cmyk")


@needs_pil
def test_flow_from_directory_reads_classes_and_splits(tmp_path):
    from fnjit.preprocessing.image import save_img

    for c, value in (("cats", 10), ("dogs", 200)):
        (tmp_path / c).mkdir()
        for k in range(5):
            save_img(tmp_path / c / f"{k}.png", np.full((4, 6, 3), value + k, "float32"),
                     scale=False)
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    g = ImageDataGenerator(rescale=1.0, validation_split=0.4)
    it = g.flow_from_directory(tmp_path, target_size=(4, 6), batch_size=3, shuffle=False,
                               subset="training", class_mode="sparse")
    assert it.class_indices == {"cats": 0, "dogs": 1} and it.samples == 6
    assert it.filenames[0].endswith("2.png") and len(it) == 2
    bx, by = it[0]
    assert bx.shape == (3, 4, 6, 3)
    np.testing.assert_array_equal(bx[:, 0, 0, 0], [12, 13, 14])
    np.testing.assert_array_equal(by, [0, 0, 0])
    val = g.flow_from_directory(tmp_path, target_size=(2, 3), batch_size=4, shuffle=False,
                                subset="validation", color_mode="grayscale")
    bx, by = val[0]
    assert bx.shape == (4, 2, 3, 1)
    np.testing.assert_array_equal(by, [[1, 0], [1, 0], [0, 1], [0, 1]])
    only_x = g.flow_from_directory(tmp_path, target_size=(4, 6), class_mode=None,
                                   batch_size=10)
    assert only_x[0].shape == (10, 4, 6, 3)
    with pytest.raises(ValueError, match="class_mode"):
        g.flow_from_directory(tmp_path, class_mode="multi_output")


@needs_pil
def test_brightness_goes_through_pil_enhance():
    x = np.random.default_rng(0).integers(0, 256, size=(4, 4, 3)).astype("float32")
    g = ImageDataGenerator(brightness_range=(0.5, 1.5))
    np.testing.assert_array_equal(g.apply_transform(x, {"brightness": 1.0}), x)
    np.testing.assert_array_equal(g.apply_transform(x, {"brightness": 0.0}), 0 * x)
    # PIL's Brightness blends with black: pixel * factor, rounded and clipped to 0..255
    half = g.apply_transform(x, {"brightness": 0.5})
    assert np.abs(half - x * 0.5).max() <= 1
    p = g.get_random_transform(x.shape, seed=4)
    r = np.random.RandomState(4)
    r.random(), r.random()  # the two flip draws come first, as in Keras
    assert p["brightness"] == r.uniform(0.5, 1.5)


@needs_pil
def test_load_img_crops_to_the_aspect_ratio_and_flow_saves_batches(tmp_path):
    from fnjit.preprocessing import image as img

    x = np.random.default_rng(1).integers(0, 256, size=(4, 8, 3)).astype("float32")
    img.save_img(tmp_path / "wide.png", x, scale=False)
    square = img.load_img(tmp_path / "wide.png", target_size=(4, 4), keep_aspect_ratio=True)
    np.testing.assert_array_equal(img.img_to_array(square), x[:, 2:6])  # the centre
    squeezed = img.load_img(tmp_path / "wide.png", target_size=(4, 4))
    # nearest: output column i reads the input column under its centre, (i + 0.5) * 2
    np.testing.assert_array_equal(img.img_to_array(squeezed), x[:, 1::2])
    out = tmp_path / "saved"
    out.mkdir()
    batch = ImageDataGenerator().flow(x[None], batch_size=1, save_to_dir=out, save_prefix="aug",
                                      shuffle=False)[0]
    (saved,) = out.glob("aug_0_*.png")
    # saved with scale=True: the image's range stretched onto 0..255
    want = (batch[0] - batch[0].min()) / (batch[0].max() - batch[0].min()) * 255
    np.testing.assert_array_equal(img.img_to_array(img.load_img(saved)), want.astype("uint8"))
