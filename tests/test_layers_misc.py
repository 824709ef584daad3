"""Reshape, Permute and the activation layers (ReLU, LeakyReLU, ELU, Softmax, PReLU): forward
against numpy written here, backward against finite differences, in one model."""

import warnings

import numpy as np
import pytest
from gradcheck import outputs_checking_gradients

import fnjit as keras
from fnjit import layers

rng = np.random.default_rng(5)


def _softmax(v, axis):
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_reshaping_and_activation_layers_forward_and_gradients():
    x = keras.Input(shape=(2, 3, 4))
    prelu = layers.PReLU(shared_axes=[1])
    outs = [
        layers.Reshape((4, -1))(x),
        layers.Permute((3, 1, 2))(x),
        layers.ReLU()(x),
        layers.ReLU(max_value=0.8, negative_slope=0.1, threshold=0.3)(x),
        layers.ReLU(negative_slope=0.2, threshold=0.5)(x),
        layers.LeakyReLU()(x),
        layers.ELU(alpha=0.7)(x),
        layers.Softmax(axis=1)(layers.Reshape((3, 8))(x)),  # axis 1 of a 3-D tensor
        layers.Softmax(axis=2)(x),  # a middle axis of a 4-D tensor
        prelu(x),
    ]
    model = keras.Model(x, outs)
    assert prelu.alpha.shape == (1, 3, 4)
    alpha = rng.normal(size=(1, 3, 4)) * 0.5
    prelu.set_weights([alpha])
    data = rng.normal(size=(5, 2, 3, 4))
    # Keep values away from the kinks, where finite differences are meaningless.
    for kink in (0.0, 0.3, 0.5, 0.8):
        data[np.abs(data - kink) < 0.02] += 0.05
    got = outputs_checking_gradients(model, [data], training=True)

    def relu(v, m=None, s=0.0, t=0.0):
        p = np.where(v > t, v, 0.0)
        if m is not None:
            p = np.clip(p, 0, m)
        return p - s * np.maximum(t - v, 0)

    want = [data.reshape(5, 4, 6), data.transpose(0, 3, 1, 2), np.maximum(data, 0),
            relu(data, 0.8, 0.1, 0.3), relu(data, None, 0.2, 0.5),
            np.where(data > 0, data, 0.3 * data),
            np.where(data > 0, data, 0.7 * (np.exp(data) - 1)),
            _softmax(data.reshape(5, 3, 8), 1), _softmax(data, 2),
            np.where(data > 0, data, alpha * data)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-12)


def test_layer_defaults_configs_and_errors():
    assert layers.LeakyReLU().negative_slope == 0.3
    with pytest.warns(DeprecationWarning, match="negative_slope"):
        assert layers.LeakyReLU(alpha=0.1).negative_slope == 0.1
    relu = layers.ReLU()
    assert (relu.max_value, relu.negative_slope, relu.threshold) == (None, 0.0, 0.0)
    assert layers.ELU().alpha == 1.0 and layers.Softmax().axis == -1
    assert layers.Reshape((2, -1)).get_config()["target_shape"] == (2, -1)
    assert layers.Permute((2, 1)).get_config()["dims"] == (2, 1)
    x = keras.Input(shape=(2, 3))
    with pytest.raises(ValueError, match="cannot reshape"):
        layers.Reshape((4, 2))(x)
    with pytest.raises(ValueError, match="one -1"):
        layers.Reshape((-1, -1))(x)
    with pytest.raises(ValueError, match="permutation"):
        layers.Permute((1, 1))(x)
    with pytest.raises(ValueError, match="negative_slope"):
        layers.ReLU(negative_slope=-1)
    with pytest.raises(ValueError, match="non-batch axis"):
        layers.Softmax(axis=0)(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert layers.Reshape((6,))(x).shape == (None, 6)
