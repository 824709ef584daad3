"""DepthwiseConv1D and SeparableConv1D: forward against numpy written here (a loop over output
steps and taps), backward against finite differences, Keras 3's weights, configs and errors."""

import math

import numpy as np
import pytest
from gradcheck import check_gradients, predict64

from fnjit import Input, Model
from fnjit.layers import DepthwiseConv1D, SeparableConv1D

rng = np.random.default_rng(41)


def np_depthwise1d(x, w, stride=1, padding="valid", dilation=1):
    """channels_last x (n, steps, cin), w (k, cin, dm): output channel c*dm + m is channel c
    convolved with w[:, c, m]."""
    k, cin, dm = w.shape
    if padding == "same":
        total = max((math.ceil(x.shape[1] / stride) - 1) * stride + (k - 1) * dilation + 1 -
                    x.shape[1], 0)
        x = np.pad(x, ((0, 0), (total // 2, total - total // 2), (0, 0)))
    steps = (x.shape[1] - (k - 1) * dilation - 1) // stride + 1
    y = np.zeros((x.shape[0], steps, cin * dm))
    for i in range(steps):
        for p in range(k):
            for c in range(cin):
                for m in range(dm):
                    y[:, i, c * dm + m] += x[:, i * stride + p * dilation, c] * w[p, c, m]
    return y


def randomize(model):
    for layer in model.layers:
        layer.set_weights([rng.normal(size=w.shape) * 0.5 for w in layer.get_weights()])


def test_depthwise_and_separable_conv1d_forward_and_gradients():
    x = Input(shape=(9, 3))
    xf = Input(shape=(3, 8))  # channels_first
    last = [DepthwiseConv1D(3, strides=2, padding="same", depth_multiplier=2),
            DepthwiseConv1D(2, dilation_rate=2, use_bias=False, activation="tanh"),
            SeparableConv1D(4, 3, depth_multiplier=2, padding="same"),
            SeparableConv1D(2, 2, strides=2, activation="relu")]
    first = [DepthwiseConv1D(3, data_format="channels_first"),
             SeparableConv1D(2, 3, padding="same", data_format="channels_first", use_bias=False)]
    model = Model([x, xf], [c(x) for c in last] + [c(xf) for c in first])
    randomize(model)
    a = rng.normal(size=(2, 9, 3))
    af = rng.normal(size=(2, 3, 8))
    at = np.moveaxis(af, 1, -1)
    outs = predict64(model, [a, af])
    (dk0, b0), (dk1,), (sd2, sp2, b2), (sd3, sp3, b3) = [c.get_weights() for c in last]
    (dkf, bf), (sdf, spf) = [c.get_weights() for c in first]
    want = [np_depthwise1d(a, dk0, 2, "same") + b0,
            np.tanh(np_depthwise1d(a, dk1, 1, "valid", 2)),
            np_depthwise1d(a, sd2, 1, "same") @ sp2[0] + b2,
            np.maximum(np_depthwise1d(a, sd3, 2) @ sp3[0] + b3, 0),
            np.moveaxis(np_depthwise1d(at, dkf) + bf, -1, 1),
            np.moveaxis(np_depthwise1d(at, sdf, 1, "same") @ spf[0], -1, 1)]
    assert [o.shape for o in outs] == [r.shape for r in want]
    for got, ref in zip(outs, want):
        np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-9)
    check_gradients(model, [a, af], max_checks=300)


def test_weights_names_shapes_and_configs_follow_keras():
    """As Keras 3 builds them (checked in the parity env): DepthwiseConv1D kernel (k, cin, dm),
    SeparableConv1D depthwise_kernel (k, cin, dm) and pointwise_kernel (1, cin * dm, filters)."""
    x = Input(shape=(7, 3))
    d = DepthwiseConv1D(3, depth_multiplier=2)
    s = SeparableConv1D(4, 3, depth_multiplier=2, strides=2, padding="same")
    assert d(x).shape == (None, 5, 6)
    assert s(x).shape == (None, 4, 4)
    assert [(w.name, w.shape) for w in d.weights] == [("kernel", (3, 3, 2)), ("bias", (6,))]
    assert [(w.name, w.shape) for w in s.weights] == [
        ("depthwise_kernel", (3, 3, 2)), ("pointwise_kernel", (1, 6, 4)), ("bias", (4,))]
    assert (d.name, s.name) == ("depthwise_conv1d", "separable_conv1d")
    config = SeparableConv1D(2, 3).get_config()
    assert (config["kernel_size"], config["strides"], config["dilation_rate"],
            config["depth_multiplier"], config["padding"]) == ((3,), (1,), (1,), 1, "valid")
    for layer in [d, s, DepthwiseConv1D(2, data_format="channels_first", use_bias=False)]:
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config


def test_bad_arguments_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"DepthwiseConv1D.*padding.*'causal'"):
        DepthwiseConv1D(3, padding="causal")  # Keras 3 refuses it too
    with pytest.raises(ValueError, match=r"SeparableConv1D.*padding.*'causal'"):
        SeparableConv1D(2, 3, padding="causal")
    with pytest.raises(ValueError, match=r"dw.*rank 3.*\(None, 4, 4, 2\)"):
        DepthwiseConv1D(2, name="dw")(Input(shape=(4, 4, 2)))
    with pytest.raises(ValueError, match=r"SeparableConv1D.*depth_multiplier"):
        SeparableConv1D(2, 3, depth_multiplier=0)
    with pytest.raises(ValueError, match=r"sep.*non-positive output shape \(None, 0, 2\)"):
        SeparableConv1D(2, 5, name="sep")(Input(shape=(4, 3)))
