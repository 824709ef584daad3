"""pad_sequences and the Tokenizer against Keras 3's (keras.utils.pad_sequences and its legacy
keras.preprocessing.text) on the same inputs."""

import numpy as np
import pytest

pytest.importorskip("keras")
pytestmark = pytest.mark.parity

from parity_harness import keras  # noqa: E402

import fnjit  # noqa: E402

TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "Cat and dog: the end",
         "A dog, a cat; and a bird?", "the the the end"]


@pytest.mark.parametrize("kwargs", [{}, dict(maxlen=3), dict(maxlen=4, padding="post"),
                                    dict(maxlen=2, truncating="post", value=-1),
                                    dict(dtype="float32", maxlen=6)])
def test_pad_sequences_matches_keras(kwargs):
    seqs = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
    ours = fnjit.preprocessing.sequence.pad_sequences(seqs, **kwargs)
    theirs = keras.utils.pad_sequences(seqs, **kwargs)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("kwargs", [{}, dict(num_words=6, oov_token="<unk>"),
                                    dict(char_level=True), dict(lower=False, num_words=4)])
def test_tokenizer_matches_keras(kwargs):
    from keras.src.legacy.preprocessing.text import Tokenizer

    ours, theirs = fnjit.preprocessing.text.Tokenizer(**kwargs), Tokenizer(**kwargs)
    ours.fit_on_texts(TEXTS[:4])
    theirs.fit_on_texts(TEXTS[:4])
    assert ours.word_index == theirs.word_index
    assert ours.texts_to_sequences(TEXTS) == theirs.texts_to_sequences(TEXTS)
    for mode in ("binary", "count", "freq", "tfidf"):
        np.testing.assert_allclose(ours.texts_to_matrix(TEXTS, mode),
                                   theirs.texts_to_matrix(TEXTS, mode), rtol=1e-12)
    assert ours.to_json() == theirs.to_json()


# ---- ImageDataGenerator ------------------------------------------------------------------------
def _keras_generator(**kwargs):
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    return ImageDataGenerator(**kwargs)


@pytest.mark.parametrize("params", [dict(theta=33.0), dict(tx=1.5, ty=-2.25),
                                    dict(shear=20.0), dict(zx=0.7, zy=1.3),
                                    dict(theta=-50.0, tx=1.0, shear=10.0, zx=1.2, zy=0.9),
                                    dict(flip_horizontal=True, flip_vertical=True,
                                         channel_shift_intensity=3.0)])
@pytest.mark.parametrize("fill_mode", ["nearest", "constant", "reflect", "wrap"])
def test_image_apply_transform_matches_keras(params, fill_mode):
    """Square images (Keras turns non-square ones about a wrong centre; see affine.py)."""
    x = np.random.default_rng(0).normal(size=(7, 7, 3)).astype("float32")
    kwargs = dict(fill_mode=fill_mode, cval=0.5)
    ours = fnjit.preprocessing.image.ImageDataGenerator(**kwargs).apply_transform(x, params)
    theirs = _keras_generator(**kwargs).apply_transform(x, params)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_image_random_draws_and_statistics_match_keras():
    """The same draws for a seed, with tx/ty exchanged (Keras swaps width and height);
    fit's statistics and standardize."""
    kwargs = dict(rotation_range=30, width_shift_range=0.2, height_shift_range=[1, 2, 3],
                  shear_range=5, zoom_range=(0.8, 1.1), horizontal_flip=True,
                  vertical_flip=True, channel_shift_range=1.0, rescale=0.5,
                  featurewise_center=True, featurewise_std_normalization=True)
    ours = fnjit.preprocessing.image.ImageDataGenerator(**kwargs)
    theirs = _keras_generator(**kwargs)
    for seed in range(5):
        a = ours.get_random_transform((6, 9, 3), seed=seed)
        b = theirs.get_random_transform((6, 9, 3), seed=seed)
        b["tx"], b["ty"] = b["ty"], b["tx"]  # Keras: tx from the height range, ty the width
        for key in a:
            assert a[key] == pytest.approx(b[key]) if a[key] is not None else b[key] is None
    x = np.random.default_rng(1).normal(size=(10, 6, 6, 3)).astype("float32")
    plain = dict(rescale=0.5, featurewise_center=True, featurewise_std_normalization=True)
    ours = fnjit.preprocessing.image.ImageDataGenerator(**plain)
    theirs = _keras_generator(**plain)
    ours.fit(x)
    theirs.fit(x)
    np.testing.assert_allclose(ours.mean, theirs.mean, rtol=1e-5)
    np.testing.assert_allclose(ours.std, theirs.std, rtol=1e-5)
    np.testing.assert_allclose(ours.standardize(x[3]), theirs.standardize(x[3].copy()),
                               rtol=1e-5, atol=1e-5)


# ---- keras.datasets: imdb, reuters, cifar on the same local files -----------------------------
def _ragged(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


@pytest.mark.parametrize("kwargs", [{}, dict(num_words=20, skip_top=3), dict(maxlen=6),
                                    dict(oov_char=None, num_words=15, seed=4),
                                    dict(start_char=None, index_from=0, num_words=10)])
def test_imdb_and_reuters_match_keras(tmp_path, monkeypatch, kwargs):
    from keras.src.datasets import imdb, reuters

    rng = np.random.default_rng(0)
    seqs = [rng.integers(1, 25, size=rng.integers(1, 9)).tolist() for _ in range(30)]
    np.savez(tmp_path / "imdb.npz", x_train=_ragged(seqs[:20]), y_train=np.arange(20) % 2,
             x_test=_ragged(seqs[20:]), y_test=np.arange(10) % 2)
    np.savez(tmp_path / "reuters.npz", x=_ragged(seqs), y=np.arange(30) % 7)
    for module in (imdb, reuters):
        monkeypatch.setattr(module, "get_file", lambda fname, **_: str(tmp_path / fname))
    pairs = [(fnjit.datasets.imdb.load_data(tmp_path / "imdb.npz", **kwargs),
              imdb.load_data(**kwargs)),
             (fnjit.datasets.reuters.load_data(tmp_path / "reuters.npz", test_split=0.3,
                                               **kwargs),
              reuters.load_data(test_split=0.3, **kwargs))]
    for ours, theirs in pairs:
        for (x, y), (kx, ky) in zip(ours, theirs):
            assert [list(map(int, s)) for s in x] == [list(map(int, s)) for s in kx]
            np.testing.assert_array_equal(y, ky)


def test_cifar_matches_keras(tmp_path, monkeypatch):
    import pickle

    from keras.src.datasets import cifar10, cifar100

    folder = tmp_path / "datasets" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as fh:
            pickle.dump({b"data": rng.integers(0, 256, (10000 if name != "test_batch" else 4,
                                                        3072), dtype=np.uint8),
                         b"labels": rng.integers(0, 10, 10000 if name != "test_batch"
                                                 else 4).tolist()}, fh)
    (tmp_path / "datasets" / "cifar-100-python").mkdir()
    for name in ("train", "test"):
        with open(tmp_path / "datasets" / "cifar-100-python" / name, "wb") as fh:
            pickle.dump({b"data": rng.integers(0, 256, (5, 3072), dtype=np.uint8),
                         b"fine_labels": rng.integers(0, 100, 5).tolist(),
                         b"coarse_labels": rng.integers(0, 20, 5).tolist()}, fh)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(cifar10, "get_file", lambda **_: str(tmp_path / "datasets"))
    monkeypatch.setattr(cifar100, "get_file", lambda **_: str(tmp_path / "datasets"))
    for ours, theirs in [(fnjit.datasets.cifar10.load_data(), cifar10.load_data()),
                         (fnjit.datasets.cifar100.load_data("coarse"),
                          cifar100.load_data("coarse"))]:
        for a, b in zip(ours, theirs):
            for u, v in zip(a, b):
                assert u.dtype == v.dtype
                np.testing.assert_array_equal(u, v)
