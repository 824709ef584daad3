"""Conv3D: forward against numpy written here (naive loops over every output position and tap),
backward against finite differences, Keras 3's weights, config, `.keras` round trip and errors."""

import math

import numpy as np
import pytest
from gradcheck import check_gradients, predict64

import fnjit
from fnjit import Input, Model, layers
from fnjit.layers import Conv3D

rng = np.random.default_rng(23)


def np_conv3d(x, w, strides=(1, 1, 1), padding="valid", dilation=(1, 1, 1)):
    """channels_last x (n, d, h, w, cin), w (kd, kh, kw, cin, cout); every tap a loop."""
    k = w.shape[:3]
    if padding == "same":
        pads = []
        for size, kk, s, d in zip(x.shape[1:4], k, strides, dilation):
            total = max((math.ceil(size / s) - 1) * s + (kk - 1) * d + 1 - size, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, ((0, 0), *pads, (0, 0)))
    out = [(size - (kk - 1) * d - 1) // s + 1
           for size, kk, s, d in zip(x.shape[1:4], k, strides, dilation)]
    y = np.zeros((x.shape[0], *out, w.shape[4]))
    for o in range(out[0]):
        for i in range(out[1]):
            for j in range(out[2]):
                for r in range(k[0]):
                    for p in range(k[1]):
                        for q in range(k[2]):
                            patch = x[:, o * strides[0] + r * dilation[0],
                                      i * strides[1] + p * dilation[1],
                                      j * strides[2] + q * dilation[2]]
                            y[:, o, i, j] += patch @ w[r, p, q]
    return y


def randomize(model):
    for layer in model.layers:
        layer.set_weights([rng.normal(size=w.shape) * 0.5 for w in layer.get_weights()])


def test_conv3d_forward_and_gradients():
    """valid, strides + same, dilation + same without bias, 1x1x1, channels_first, one input
    channel (the planar im2col, whose flat offsets take every sample's depth): one model, so
    that the test pays for one compilation."""
    x = Input(shape=(5, 4, 6, 2))
    xf = Input(shape=(2, 5, 4, 3))  # channels_first
    x1 = Input(shape=(4, 5, 5, 1))
    last = [Conv3D(3, (2, 3, 2), activation="tanh"),
            Conv3D(2, 3, strides=(2, 1, 2), padding="same"),
            Conv3D(2, (2, 2, 3), dilation_rate=(2, 1, 2), padding="same", use_bias=False),
            Conv3D(3, 1)]
    first = [Conv3D(2, (3, 2, 2), strides=(1, 2, 1), padding="same",
                    data_format="channels_first")]
    planar = Conv3D(2, (2, 3, 2), padding="same")
    model = Model([x, xf, x1], [c(x) for c in last] + [c(xf) for c in first] + [planar(x1)])
    randomize(model)
    a = rng.normal(size=(2, 5, 4, 6, 2))
    af = rng.normal(size=(2, 2, 5, 4, 3))
    a1 = rng.normal(size=(2, 4, 5, 5, 1))
    outs = predict64(model, [a, af, a1])
    w = [c.get_weights() for c in last]
    wf = first[0].get_weights()
    at = np.moveaxis(af, 1, -1)
    want = [np.tanh(np_conv3d(a, w[0][0]) + w[0][1]),
            np_conv3d(a, w[1][0], (2, 1, 2), "same") + w[1][1],
            np_conv3d(a, w[2][0], (1, 1, 1), "same", (2, 1, 2)),
            np_conv3d(a, w[3][0]) + w[3][1],
            np.moveaxis(np_conv3d(at, wf[0], (1, 2, 1), "same") + wf[1], -1, 1),
            np_conv3d(a1, planar.get_weights()[0], padding="same") + planar.get_weights()[1]]
    assert [o.shape for o in outs] == [r.shape for r in want]
    for got, ref in zip(outs, want):
        np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-9)
    check_gradients(model, [a, af, a1], max_checks=300)


def test_conv3d_weights_shapes_and_config_follow_keras():
    """Shapes, names and defaults as Keras 3 gives them (checked in the parity env)."""
    layer = Conv3D(4, (2, 3, 1))
    assert layer(Input(shape=(5, 6, 7, 3))).shape == (None, 4, 4, 7, 4)
    assert [(v.name, v.shape) for v in layer.weights] == [("kernel", (2, 3, 1, 3, 4)),
                                                          ("bias", (4,))]
    assert layer.name == "conv3d"
    config = Conv3D(2, 3).get_config()
    assert (config["kernel_size"], config["strides"], config["dilation_rate"],
            config["padding"], config["data_format"], config["groups"]) == \
        ((3, 3, 3), (1, 1, 1), (1, 1, 1), "valid", "channels_last", 1)
    same = Conv3D(2, 3, strides=2, padding="same", data_format="channels_first")
    assert same(Input(shape=(3, 5, 6, 7))).shape == (None, 2, 3, 3, 4)
    clone = Conv3D.from_config(same.get_config())
    assert clone.get_config() == same.get_config()


def test_conv3d_keras_file_round_trip(tmp_path):
    x = Input(shape=(3, 4, 4, 2))
    model = Model(x, Conv3D(3, 2, padding="same", name="vol")(x))
    randomize(model)
    a = rng.normal(size=(2, 3, 4, 4, 2)).astype("float32")
    model.save(tmp_path / "c3.keras")
    loaded = fnjit.models.load_model(tmp_path / "c3.keras")
    assert isinstance(loaded.get_layer("vol"), Conv3D)
    for got, want in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(loaded.predict(a, verbose=0), model.predict(a, verbose=0),
                               rtol=1e-6)


def test_conv3d_bad_arguments_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"conv3d.*rank 5.*\(None, 8, 8, 3\)"):
        Conv3D(2, 3, name="conv3d")(Input(shape=(8, 8, 3)))
    with pytest.raises(ValueError, match=r"Conv3D.*padding.*'causal'"):
        Conv3D(2, 3, padding="causal")
    with pytest.raises(ValueError, match=r"Conv3D.*kernel_size.*\(3, 3\)"):
        Conv3D(2, (3, 3))
    with pytest.raises(ValueError, match=r"Conv3D.*groups"):
        Conv3D(2, 3, groups=2)
    with pytest.raises(ValueError, match=r"strides > 1.*dilation_rate > 1"):
        Conv3D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match=r"c3.*non-positive output shape \(None, 0, 2, 2, 2\)"):
        Conv3D(2, 3, name="c3")(Input(shape=(2, 4, 4, 1)))


def test_keras1_convolution3d_and_keras2_module_paths():
    from fnjit.layers import convolutional, pooling

    today = r"Conv3D\(4, \(3, 2, 1\), padding=.same., data_format=.channels_last., strides"
    with pytest.warns(DeprecationWarning, match=today):
        layer = convolutional.Convolution3D(4, 3, 2, 1, border_mode="same", subsample=(2, 2, 2),
                                            dim_ordering="tf")
    assert isinstance(layer, Conv3D)
    assert (layer.filters, layer.kernel_size, layer.strides, layer.padding, layer.data_format) \
        == (4, (3, 2, 1), (2, 2, 2), "same", "channels_last")
    # Keras 2: keras.layers.convolutional held the convolutions and the padding, cropping and
    # upsampling layers; keras.layers.pooling the poolings.
    for name in ["Conv3D", "Conv3DTranspose", "DepthwiseConv1D", "SeparableConv1D", "ZeroPadding3D",
                 "Cropping3D", "UpSampling3D", "ZeroPadding1D", "Cropping2D", "UpSampling2D"]:
        assert getattr(convolutional, name) is getattr(fnjit.layers, name)
    for name in ["MaxPooling3D", "AveragePooling3D", "GlobalMaxPooling3D",
                 "GlobalAveragePooling3D", "MaxPool3D", "AvgPool3D", "GlobalMaxPool3D",
                 "GlobalAvgPool3D"]:
        assert getattr(pooling, name) is getattr(fnjit.layers, name)


def np_conv3d_transpose(x, w, b, strides, pad, out):
    """y[n, o*sd + r - pf, i*sh + p - pt, j*sw + q - pl, f] += x[n, o, i, j, c] w[r, p, q, f, c]
    (pad: the zeros before the first element of the equivalent convolution)."""
    y = np.zeros((x.shape[0],) + out + (w.shape[3],))
    for o in range(x.shape[1]):
        for i in range(x.shape[2]):
            for j in range(x.shape[3]):
                for r in range(w.shape[0]):
                    for p in range(w.shape[1]):
                        for q in range(w.shape[2]):
                            at = (o * strides[0] + r - pad[0], i * strides[1] + p - pad[1],
                                  j * strides[2] + q - pad[2])
                            if all(0 <= a < n for a, n in zip(at, out)):
                                y[(slice(None),) + at] += x[:, o, i, j] @ w[r, p, q].T
    return y + b


def test_conv3d_transpose_forward_and_gradients():
    from gradcheck import outputs_checking_gradients

    x = Input(shape=(2, 3, 2, 2))
    xf = Input(shape=(2, 2, 3, 2))  # channels_first
    valid = layers.Conv3DTranspose(3, (2, 3, 2), strides=(2, 1, 2))
    same = layers.Conv3DTranspose(2, 3, strides=(1, 2, 2), padding="same", output_padding=(0, 1, 1))
    first = layers.Conv3DTranspose(2, 2, strides=2, padding="same", use_bias=False,
                                   data_format="channels_first")
    model = Model([x, xf], [valid(x), same(x), first(xf)])
    # Keras 3's sizes: valid (n-1)s + max(k, s); same with output_padding (n-1)s + k % 2 + op.
    assert valid.output.shape == (None, 4, 5, 4, 3)
    assert same.output.shape == (None, 2, 6, 4, 2)
    assert first.output.shape == (None, 2, 4, 6, 4)
    assert valid.kernel.shape == (2, 3, 2, 3, 2)
    randomize(model)
    a, af = rng.normal(size=(2, 2, 3, 2, 2)), rng.normal(size=(2, 2, 2, 3, 2))
    got = outputs_checking_gradients(model, [a, af])
    want = [np_conv3d_transpose(a, *valid.get_weights(), (2, 1, 2), (0, 0, 0), (4, 5, 4)),
            # same: the equivalent convolution's leading pad is k - 1 - left, where Keras 3 pads
            # total = k + k % 2 - 2 + output_padding, left = min(ceil(total / 2), k - 1)
            np_conv3d_transpose(a, *same.get_weights(), (1, 2, 2), (1, 0, 0), (2, 6, 4)),
            np.moveaxis(np_conv3d_transpose(np.moveaxis(af, 1, -1), first.get_weights()[0], 0.0,
                                            (2, 2, 2), (0, 0, 0), (4, 6, 4)), -1, 1)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-10)
    config = same.get_config()
    assert config["output_padding"] == (0, 1, 1) and config["strides"] == (1, 2, 2)
    assert layers.Conv3DTranspose.from_config(config).get_config() == config
    # Keras 3's positional order puts data_format before output_padding for the 3-D layer.
    assert layers.Conv3DTranspose(2, 2, 1, "valid", "channels_first").data_format == \
        "channels_first"
    with pytest.raises(ValueError, match=r"Conv3DTranspose.*output_padding.*\(2, 2, 2\)"):
        layers.Conv3DTranspose(2, 3, strides=2, output_padding=2)
