"""Normalization (adapt, given statistics, invert) and CategoryEncoding: forward against numpy
written here, backward against finite differences, `.keras` round trips, and the errors for
what they refuse."""

import zipfile

import numpy as np
import pytest
from gradcheck import outputs_checking_gradients

import fnjit as keras
from fnjit import layers

rng = np.random.default_rng(12)


def _standardise(x, data, reduce, eps=1e-7):
    m = data.mean(axis=reduce, keepdims=True)
    s = np.maximum(data.std(axis=reduce, keepdims=True), eps)
    return (x - m) / s


# ---- Normalization ---------------------------------------------------------------------------

def test_normalization_forward_and_gradients():
    train = rng.normal(size=(50, 3, 4)) * rng.uniform(0.5, 3, size=(3, 4)) + 2
    features = layers.Normalization()  # axis=-1: one mean per last-axis position
    rows = layers.Normalization(axis=1)
    both = layers.Normalization(axis=(1, 2))
    whole = layers.Normalization(axis=None)
    back = layers.Normalization(axis=1, invert=True)
    for layer in (features, rows, both, whole, back):
        layer.adapt(train)
    given = layers.Normalization(axis=(1, 2), mean=[1.0, -2.0, 0.5, 0.0],
                                 variance=[4.0, 0.25, 1.0, 2.0])
    scalar = layers.Normalization(mean=3.0, variance=9.0)
    x = keras.Input((3, 4))
    model = keras.Model(x, [layer(x) for layer in (features, rows, both, whole, back, given,
                                                   scalar)])
    assert [(w.name, w.shape, str(w.dtype)) for w in features.weights] == \
        [("mean", (4,), "float32"), ("variance", (4,), "float32"), ("count", (), "int32")]
    assert [w.shape for w in rows.weights] == [(3,), (3,), ()]
    assert [w.shape for w in both.weights] == [(3, 4), (3, 4), ()]
    assert [w.shape for w in whole.weights] == [(), (), ()]
    assert given.weights == [] and scalar.weights == []
    assert features.count_params() == 9
    data = rng.normal(size=(3, 3, 4)) * 2 + 1
    got = outputs_checking_gradients(model, [data])
    m1 = train.mean(axis=(0, 2), keepdims=True)
    s1 = train.std(axis=(0, 2), keepdims=True)
    want = [_standardise(data, train, (0, 1)), _standardise(data, train, (0, 2)),
            _standardise(data, train, (0,)), _standardise(data, train, None),
            data * s1 + m1,
            (data - np.array([1.0, -2.0, 0.5, 0.0])) / np.sqrt([4.0, 0.25, 1.0, 2.0]),
            (data - 3.0) / 3.0]
    for g, w in zip(got, want):  # the adapted statistics are float32
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    # A standard deviation under epsilon (1e-7) divides by epsilon, as Keras 3.
    x = keras.Input((2,))
    floor = keras.Model(x, layers.Normalization(mean=[0.0, 1.0], variance=[0.0, 1e-20])(x))
    np.testing.assert_allclose(floor.predict(np.array([[1e-7, 1.0]]), verbose=0), [[1.0, 0.0]],
                               rtol=1e-6)


def test_normalization_adapt_from_batches_and_errors():
    data = rng.normal(size=(30, 5)) * 3 + 1
    whole = layers.Normalization()
    whole.adapt(data)
    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            return data[index * 10:(index + 1) * 10], np.zeros(10)  # (x, y): x counts

    for source in ([data[:7], data[7:20], data[20:]],  # a list of batches
                   (b for b in np.array_split(data, 4)),  # a generator
                   [(data[:10], None), (data[10:], None)],  # (x, y) pairs
                   Batches()):
        parts = layers.Normalization()
        parts.adapt(source)
        np.testing.assert_allclose(parts.mean.numpy(), data.mean(axis=0), rtol=1e-6)
        np.testing.assert_allclose(parts.variance.numpy(), data.var(axis=0), rtol=1e-6)
    np.testing.assert_allclose(whole.mean.numpy(), data.mean(axis=0), rtol=1e-6)
    assert whole.count.numpy() == 0  # as Keras 3, which never updates it
    with pytest.raises(ValueError, match="no data"):
        layers.Normalization().adapt([])

    class Endless(Batches):
        num_batches = None

    with pytest.raises(ValueError, match="endless"):
        layers.Normalization().adapt(Endless())
    with pytest.raises(ValueError, match="built for inputs of shape"):
        whole.adapt(np.ones((4, 6)))
    with pytest.raises(ValueError, match="adapt"):
        layers.Normalization(mean=0.0, variance=1.0).adapt(data)
    with pytest.raises(TypeError, match="adapt"):
        layers.Normalization().adapt(3.0)
    with pytest.raises(ValueError, match="both mean and variance"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0])
    with pytest.raises(ValueError, match="more axes"):
        layers.Normalization(mean=[[1.0]], variance=[[1.0]])
    with pytest.raises(ValueError, match="does not fit"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0])(keras.Input((3,)))
    with pytest.raises(ValueError, match="batch axis"):
        layers.Normalization(axis=0)(keras.Input((3,)))
    with pytest.raises(TypeError, match="axis"):
        layers.Normalization(axis="last")
    with pytest.raises(TypeError, match="invert"):
        layers.Normalization(invert="yes")
    # Never adapted: refused when the model runs; adapted later (the model unchanged), it runs.
    late = layers.Normalization()
    x = keras.Input((5,))
    model = keras.Model(x, late(x))
    with pytest.raises(ValueError, match="never adapted"):
        model.predict(data, verbose=0)
    late.adapt(data)
    np.testing.assert_allclose(model.predict(data, verbose=0),
                               _standardise(data, data, 0), rtol=1e-4, atol=1e-5)


def test_normalization_keras_file_and_config(tmp_path):
    data = rng.normal(size=(20, 3)) * 2 - 1
    adapted = layers.Normalization(name="adapted")
    adapted.adapt(data)
    given = layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0], invert=True)
    x = keras.Input((3,))
    model = keras.Model(x, [adapted(x), given(x)])
    config = adapted.get_config()
    assert (config["axis"], config["invert"], config["mean"], config["variance"]) == \
        ((-1,), False, None, None)
    assert given.get_config()["mean"] == [1.0, 2.0, 3.0]
    path = tmp_path / "n.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        zf.extract("model.weights.h5", tmp_path)
    import h5py

    with h5py.File(tmp_path / "model.weights.h5") as f:
        group = f["layers/normalization/vars"]  # Keras' path: the class name, not the name
        assert [(group[k].shape, str(group[k].dtype)) for k in ("0", "1", "2")] == \
            [((3,), "float32"), ((3,), "float32"), ((), "int32")]
    loaded = keras.models.load_model(path)
    for got, want in zip(loaded.predict(data, verbose=0), model.predict(data, verbose=0)):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(loaded.predict(data, verbose=0)[1], data * [1, 2, 3] + [1, 2, 3],
                               rtol=1e-6, atol=1e-6)
    assert loaded.get_layer("adapted").axis == (-1,)


# ---- CategoryEncoding ------------------------------------------------------------------------

def test_category_encoding_forward_and_gradients():
    tokens = keras.Input((3,), dtype="int32")
    single = keras.Input((1,), dtype="int32")
    multi = layers.CategoryEncoding(num_tokens=5)
    count = layers.CategoryEncoding(num_tokens=5, output_mode="count")
    each = layers.CategoryEncoding(num_tokens=5, output_mode="one_hot")
    one = layers.CategoryEncoding(num_tokens=5, output_mode="one_hot")
    binary = layers.CategoryEncoding(num_tokens=5, output_mode="binary")  # Keras 2's name
    outs = [multi(tokens), count(tokens), each(tokens), one(single), binary(tokens)]
    assert [o.shape for o in outs] == [(None, 5), (None, 5), (None, 3, 5), (None, 5),
                                       (None, 5)]
    dense = layers.Dense(2)
    model = keras.Model([tokens, single], outs + [dense(count(tokens))])
    ids = np.array([[0, 1, 1], [4, 4, 4], [2, 0, 3]], "int32")
    first = np.array([[3], [0], [4]], "int32")
    got = outputs_checking_gradients(model, [ids, first])
    eye = np.eye(5)
    hot = eye[ids]
    counts = hot.sum(axis=1)
    want = [hot.max(axis=1), counts, hot, eye[first[:, 0]], hot.max(axis=1),
            counts @ dense.get_weights()[0] + dense.get_weights()[1]]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    # A float input holding whole numbers; one_hot of a (batch,) input.
    flat = keras.Input((), dtype="float32")
    m2 = keras.Model(flat, layers.CategoryEncoding(4, output_mode="one_hot")(flat))
    np.testing.assert_array_equal(m2.predict(np.array([3.0, 0.0, 2.0]), verbose=0),
                                  np.eye(4)[[3, 0, 2]])


def test_category_encoding_out_of_range_tokens_raise():
    tokens = keras.Input((2,), dtype="int32")
    model = keras.Model(tokens, layers.CategoryEncoding(num_tokens=3)(tokens))
    model.compile("sgd", "mse")
    for bad, value in (([[0, 3]], "3"), ([[-1, 0]], "-1")):
        with pytest.raises(ValueError, match=f"index {value} .*out of range.*\\[0, 3\\)"):
            model.predict(np.array(bad, "int32"), verbose=0)
        with pytest.raises(ValueError, match="out of range"):
            model.train_on_batch(np.array(bad, "int32"), np.zeros((1, 3)))
    floats = keras.Input((2,))
    m2 = keras.Model(floats, layers.CategoryEncoding(num_tokens=3)(floats))
    with pytest.raises(ValueError, match="out of range"):
        m2.predict(np.array([[0.5, 1.0]]), verbose=0)


def test_category_encoding_config_keras_file_and_refusals(tmp_path):
    layer = layers.CategoryEncoding(num_tokens=4, output_mode="count")
    assert layer.get_config()["num_tokens"] == 4 and "sparse" not in layer.get_config()
    tokens = keras.Input((3,), dtype="int32")
    model = keras.Model(tokens, layer(tokens))
    model.save(tmp_path / "c.keras")
    loaded = keras.models.load_model(tmp_path / "c.keras")
    ids = np.array([[1, 1, 3]], "int32")
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), [[0, 2, 0, 1]])
    assert loaded.layers[1].output_mode == "count"
    with pytest.raises(ValueError, match="sparse"):
        layers.CategoryEncoding(4, sparse=True)
    with pytest.raises(ValueError, match="output_mode"):
        layers.CategoryEncoding(4, output_mode="tf_idf")
    for bad in (None, 0, 2.5):
        with pytest.raises(ValueError, match="num_tokens"):
            layers.CategoryEncoding(bad)
    with pytest.raises(TypeError, match="count_weights"):
        layers.CategoryEncoding(4, output_mode="count")(tokens, count_weights=tokens)
    with pytest.raises(ValueError, match="shape \\(batch, k\\)"):
        layers.CategoryEncoding(4)(keras.Input((2, 3), dtype="int32"))
    with pytest.raises(ValueError, match="shape \\(batch, k\\)"):
        layers.CategoryEncoding(4)(keras.Input((), dtype="int32"))
    inner = layers.CategoryEncoding(4)(layers.Concatenate()([tokens, tokens]))
    with pytest.raises(ValueError, match="straight from a model Input"):
        keras.Model(tokens, inner).predict(ids, verbose=0)


def test_keras2_module_paths():
    from fnjit.layers import core, experimental, normalization
    from fnjit.layers.experimental.preprocessing import CategoryEncoding, Normalization

    assert normalization.GroupNormalization is layers.GroupNormalization
    assert core.ActivityRegularization is layers.ActivityRegularization
    assert (Normalization, CategoryEncoding) == (layers.Normalization, layers.CategoryEncoding)
    assert experimental.preprocessing.Normalization is layers.Normalization
    assert keras.layers.experimental.preprocessing.CategoryEncoding is layers.CategoryEncoding
