"""LayerNormalization and GroupNormalization: forward against numpy written here, backward
against finite differences, configs, `.keras` round trips and errors."""

import numpy as np
import pytest
from gradcheck import outputs_checking_gradients

import fnjit as keras
from fnjit import layers

rng = np.random.default_rng(11)


def _layer_norm(x, axes, gamma, beta, eps):
    m = x.mean(axis=axes, keepdims=True)
    v = ((x - m) ** 2).mean(axis=axes, keepdims=True)
    shape = [1] * x.ndim
    for a in axes:
        shape[a] = x.shape[a]
    return (x - m) / np.sqrt(v + eps) * gamma.reshape(shape) + beta.reshape(shape)


def test_layer_normalization_forward_and_gradients():
    x = keras.Input(shape=(3, 4, 5))
    last = layers.LayerNormalization()
    middle = layers.LayerNormalization(axis=1, epsilon=0.1)
    run = layers.LayerNormalization(axis=[-2, -1])
    bare = layers.LayerNormalization(center=False, scale=False)
    model = keras.Model(x, [last(x), middle(x), run(x), bare(x)])
    assert [w.shape for w in last.weights] == [(5,), (5,)]
    assert [w.name for w in last.weights] == ["gamma", "beta"]
    assert [w.shape for w in middle.weights] == [(3,), (3,)]
    assert [w.shape for w in run.weights] == [(4, 5), (4, 5)]
    assert bare.weights == []
    for layer in (last, middle, run):
        layer.set_weights([rng.normal(size=w.shape) for w in layer.weights])
    data = rng.normal(size=(2, 3, 4, 5))
    got = outputs_checking_gradients(model, [data])
    want = [_layer_norm(data, (3,), *last.get_weights(), 1e-3),
            _layer_norm(data, (1,), *middle.get_weights(), 0.1),
            _layer_norm(data, (2, 3), *run.get_weights(), 1e-3),
            _layer_norm(data, (3,), np.ones(5), np.zeros(5), 1e-3)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-10)


def test_layer_normalization_config_and_errors():
    ln = layers.LayerNormalization(axis=[1, 2], epsilon=1e-5, center=False)
    config = ln.get_config()
    assert (config["axis"], config["epsilon"], config["center"], config["scale"]) == \
        ([1, 2], 1e-5, False, True)
    again = layers.LayerNormalization.from_config(config)
    assert again.axis == [1, 2] and again.epsilon == 1e-5 and not again.center
    d = layers.LayerNormalization()
    assert (d.axis, d.epsilon, d.center, d.scale) == (-1, 1e-3, True, True)
    x = keras.Input(shape=(3, 4, 5))
    with pytest.raises(ValueError, match="adjacent"):
        layers.LayerNormalization(axis=[1, 3])(x)
    with pytest.raises(ValueError, match="batch axis"):
        layers.LayerNormalization(axis=0)(x)
    with pytest.raises(ValueError, match="gamma_regularizer"):
        layers.LayerNormalization(gamma_regularizer="no_such_regularizer")


def _group_norm(x, groups, axis, gamma, beta, eps):
    """Keras 3's definition, written out: the channels of `axis` split into `groups` runs of
    adjacent channels; mean and variance per sample and group over everything else."""
    x = np.moveaxis(x, axis, -1)
    n, channels = x.shape[0], x.shape[-1]
    g = x.reshape(n, -1, groups, channels // groups)
    m = g.mean(axis=(1, 3), keepdims=True)
    v = g.var(axis=(1, 3), keepdims=True)
    y = ((g - m) / np.sqrt(v + eps)).reshape(x.shape) * gamma + beta
    return np.moveaxis(y, -1, axis)


def test_group_normalization_forward_and_gradients():
    x = keras.Input(shape=(4, 3, 6))
    last = layers.GroupNormalization(groups=3)
    first = layers.GroupNormalization(groups=2, axis=1, epsilon=0.1)  # channels_first
    middle = layers.GroupNormalization(groups=3, axis=-2)
    instance = layers.GroupNormalization(groups=-1, center=False)
    one = layers.GroupNormalization(groups=1, scale=False)
    model = keras.Model(x, [last(x), first(x), middle(x), instance(x), one(x)])
    assert [(w.name, w.shape) for w in last.weights] == [("gamma", (6,)), ("beta", (6,))]
    assert [w.shape for w in first.weights] == [(4,), (4,)]
    assert [w.name for w in instance.weights] == ["gamma"] and instance.groups == 6
    assert [w.name for w in one.weights] == ["beta"]
    for layer in (last, first, middle, instance, one):
        layer.set_weights([rng.normal(size=w.shape) for w in layer.weights])
    data = rng.normal(size=(2, 4, 3, 6)) * 3 + 1
    got = outputs_checking_gradients(model, [data])
    want = [_group_norm(data, 3, 3, *last.get_weights(), 1e-3),
            _group_norm(data, 2, 1, *first.get_weights(), 0.1),
            _group_norm(data, 3, 2, *middle.get_weights(), 1e-3),
            _group_norm(data, 6, 3, *instance.get_weights(), 0.0, 1e-3),
            _group_norm(data, 1, 3, 1.0, *one.get_weights(), 1e-3)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-10)


def test_group_normalization_config_keras_file_and_errors(tmp_path):
    d = layers.GroupNormalization()
    assert (d.groups, d.axis, d.epsilon, d.center, d.scale) == (32, -1, 1e-3, True, True)
    x = keras.Input(shape=(5, 4))
    layer = layers.GroupNormalization(groups=2, epsilon=1e-2, center=False,
                                      gamma_initializer="random_normal",
                                      gamma_regularizer="l2", gamma_constraint="non_neg")
    model = keras.Model(x, layer(x))
    config = layer.get_config()
    assert (config["groups"], config["axis"], config["epsilon"], config["center"]) == \
        (2, -1, 1e-2, False)
    assert config["gamma_regularizer"]["class_name"] == "L2"
    assert config["gamma_constraint"]["class_name"] == "NonNeg"
    data = rng.normal(size=(3, 5, 4)).astype("float32")
    path = tmp_path / "g.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    again = loaded.layers[1]
    assert type(again) is layers.GroupNormalization and again.groups == 2
    assert type(again.gamma_regularizer) is type(layer.gamma_regularizer)
    np.testing.assert_array_equal(again.get_weights()[0], layer.get_weights()[0])
    np.testing.assert_allclose(loaded.predict(data, verbose=0), model.predict(data, verbose=0),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="groups=3 must divide the 4 channels"):
        layers.GroupNormalization(groups=3)(x)
    with pytest.raises(ValueError, match="groups=8 must divide the 4 channels"):
        layers.GroupNormalization(groups=8)(x)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="groups"):
            layers.GroupNormalization(groups=bad)
    with pytest.raises(ValueError, match="non-batch axis"):
        layers.GroupNormalization(groups=1, axis=0)(x)
    with pytest.raises(TypeError, match="axis"):
        layers.GroupNormalization(groups=1, axis=[1, 2])
    with pytest.raises(ValueError, match="must be known"):
        layers.GroupNormalization(groups=1)(keras.Input(shape=(3, None)))
    with pytest.raises(ValueError, match="incompatible"):
        layer(keras.Input(shape=(5, 6)))


def test_unit_normalization_and_identity_forward_and_gradients():
    x = keras.Input(shape=(3, 4))
    model = keras.Model(x, [layers.UnitNormalization()(x), layers.UnitNormalization(axis=1)(x),
                            layers.UnitNormalization(axis=[1, 2])(x), layers.Identity()(x)])
    data = rng.normal(size=(2, 3, 4))
    got = outputs_checking_gradients(model, [data])
    want = [data / np.linalg.norm(data, axis=2, keepdims=True),
            data / np.linalg.norm(data, axis=1, keepdims=True),
            data / np.sqrt((data ** 2).sum(axis=(1, 2), keepdims=True)), data]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-12)
    assert layers.UnitNormalization(axis=[1, 2]).get_config()["axis"] == [1, 2]
    with pytest.raises(ValueError, match="adjacent"):
        layers.UnitNormalization(axis=[1, 3])(keras.Input(shape=(2, 3, 4)))


def test_rescaling_forward_gradients_and_errors():
    x = keras.Input(shape=(3,))
    model = keras.Model(x, [layers.Rescaling(1 / 255)(x), layers.Rescaling(2.0, offset=-1)(x)])
    data = rng.normal(size=(4, 3))
    got = outputs_checking_gradients(model, [data])
    np.testing.assert_allclose(got[0], data / 255, rtol=1e-12)
    np.testing.assert_allclose(got[1], data * 2 - 1, rtol=1e-12)
    assert layers.Rescaling(0.5, offset=1).get_config()["offset"] == 1.0
    with pytest.raises(ValueError, match="scale must be a number"):
        layers.Rescaling([0.5, 2.0])


def test_axis_arguments_are_checked_alike_by_every_normalizing_layer():
    """One check (fnjit/layers/normalization_args.py) serves LayerNormalization,
    UnitNormalization and Normalization: ints (numpy's too) or lists of ints; a bool, a float
    or a string is refused naming the layer; the axes must be in range, off the batch axis
    and known."""
    x = keras.Input(shape=(3, 4))
    for cls in (layers.LayerNormalization, layers.UnitNormalization, layers.Normalization):
        assert cls(axis=np.int64(-1)).axis in (-1, (-1,))
        assert list(cls(axis=(1, np.int32(2))).axis) == [1, 2]
        for bad in (True, 1.0, "1", [1, 2.0]):
            with pytest.raises(TypeError, match=rf"{cls.__name__} .*axis must be an int"):
                cls(axis=bad)
    for layer in (layers.LayerNormalization(axis=3), layers.UnitNormalization(axis=-4),
                  layers.Normalization(axis=5)):
        with pytest.raises(ValueError, match=r"axis=.* is out of range for input shape "
                                             r"\(None, 3, 4\)"):
            layer(x)
    for layer in (layers.LayerNormalization(axis=[0, 1]), layers.Normalization(axis=0)):
        with pytest.raises(ValueError, match="includes the batch axis"):
            layer(x)
    for layer in (layers.LayerNormalization(axis=1), layers.Normalization(axis=1)):
        with pytest.raises(ValueError, match=r"must be known in input shape \(None, None, 4\)"):
            layer(keras.Input(shape=(None, 4)))
    with pytest.raises(ValueError, match="names no axis"):
        layers.LayerNormalization(axis=[])(x)
