"""Conv1DTranspose, Conv2DTranspose: forward against a numpy scatter written here, backward
against finite differences, output sizes as Keras 3's, configs and errors."""

import numpy as np
import pytest
from gradcheck import outputs_checking_gradients

import fnjit as keras
from fnjit import layers

rng = np.random.default_rng(9)


def _conv_transpose(x, w, b, strides, pad, out):
    """y[n, i*sh + p - pt, j*sw + q - pl, f] += x[n, i, j, c] w[p, q, f, c]."""
    y = np.zeros((x.shape[0],) + out + (w.shape[2],))
    for i in range(x.shape[1]):
        for j in range(x.shape[2]):
            for p in range(w.shape[0]):
                for q in range(w.shape[1]):
                    ii, jj = i * strides[0] + p - pad[0], j * strides[1] + q - pad[1]
                    if 0 <= ii < out[0] and 0 <= jj < out[1]:
                        y[:, ii, jj] += x[:, i, j] @ w[p, q].T
    return y + b


def test_conv_transpose_forward_and_gradients():
    x2 = keras.Input(shape=(3, 4, 2))
    x1 = keras.Input(shape=(5, 2))
    valid = layers.Conv2DTranspose(3, 3, strides=2)
    same = layers.Conv2DTranspose(2, (2, 3), strides=(2, 1), padding="same")
    padded = layers.Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1)
    one = layers.Conv1DTranspose(2, 3, strides=2, padding="same")
    pointwise = layers.Conv2DTranspose(2, 1, use_bias=False)
    model = keras.Model([x2, x1], [valid(x2), same(x2), padded(x2), one(x1), pointwise(x2)])
    # Keras 3's sizes: valid (n-1)s + max(k, s); same n s; with output_padding
    # (n-1)s + k % 2 + output_padding.
    assert valid.output.shape == (None, 7, 9, 3)
    assert same.output.shape == (None, 6, 4, 2)
    assert padded.output.shape == (None, 6, 8, 2)
    assert one.output.shape == (None, 10, 2)
    assert valid.kernel.shape == (3, 3, 3, 2)
    for layer in (valid, same, padded, one, pointwise):
        layer.set_weights([rng.normal(size=w.shape) for w in layer.weights])
    a, b = rng.normal(size=(2, 3, 4, 2)), rng.normal(size=(2, 5, 2))
    got = outputs_checking_gradients(model, [a, b])
    want = [_conv_transpose(a, *valid.get_weights(), (2, 2), (0, 0), (7, 9)),
            # same: pads (top, left) of the equivalent convolution: k - 1 - left_pad
            _conv_transpose(a, *same.get_weights(), (2, 1), (0, 1), (6, 4)),
            _conv_transpose(a, *padded.get_weights(), (2, 2), (0, 0), (6, 8)),
            _conv_transpose(b[:, None], one.get_weights()[0][None], one.get_weights()[1],
                            (1, 2), (0, 0), (1, 10))[:, 0],
            _conv_transpose(a, pointwise.get_weights()[0], 0.0, (1, 1), (0, 0), (3, 4))]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-10)


def test_conv_transpose_config_and_errors():
    layer = layers.Conv2DTranspose(4, 3, strides=2, output_padding=1, padding="same")
    config = layer.get_config()
    assert config["output_padding"] == (1, 1) and "groups" not in config
    again = layers.Conv2DTranspose.from_config(config)
    assert again.output_padding == (1, 1) and again.strides == (2, 2)
    from fnjit.layers.convolutional import Conv1DTranspose

    assert Conv1DTranspose is layers.Conv1DTranspose
    with pytest.raises(ValueError, match="output_padding"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="dilation_rate"):
        layers.Conv1DTranspose(2, 3, dilation_rate=2)
    with pytest.raises(ValueError, match="padding"):
        layers.Conv1DTranspose(2, 3, padding="causal")


def test_conv_transpose_applies_its_activation_regularizers_and_constraints():
    """The activation follows the transposed op (its template has no fused epilogue), and the
    weight options reach the weights, as for Conv2D (they were once dropped silently)."""
    from fnjit import constraints, regularizers

    x = keras.Input(shape=(3, 4, 2))
    relu = layers.Conv2DTranspose(3, 2, strides=2, activation="relu")
    opts = layers.Conv2DTranspose(2, 2, kernel_regularizer=regularizers.L2(0.3),
                                  bias_regularizer=regularizers.L1(0.2),
                                  kernel_constraint=constraints.NonNeg())
    model = keras.Model(x, [relu(x), opts(x)])
    relu.set_weights([rng.normal(size=w.shape) for w in relu.weights])
    a = rng.normal(size=(2, 3, 4, 2))
    got, _ = outputs_checking_gradients(model, [a])
    linear = _conv_transpose(a, *relu.get_weights(), (2, 2), (0, 0), (6, 8))
    assert (linear < 0).any()
    np.testing.assert_allclose(got, np.maximum(linear, 0), rtol=1e-7, atol=1e-10)
    kernel, bias = opts.weights
    assert isinstance(kernel.regularizer, regularizers.L2) and \
        isinstance(bias.regularizer, regularizers.L1)
    assert isinstance(kernel.constraint, constraints.NonNeg)
    for make in (lambda v: layers.Conv2DTranspose(v, 2), lambda v: layers.SeparableConv2D(v, 2),
                 lambda v: layers.DepthwiseConv2D(2, depth_multiplier=v)):
        for bad in (0, -1, 1.5, True, "2", float("nan")):
            with pytest.raises(ValueError, match=r"must be a positive int"):
                make(bad)
        assert make(np.int64(2)) is not None
