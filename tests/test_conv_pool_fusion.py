"""A convolution whose output only a max pooling reads (strides equal to its windows, no
padding) runs fused in the inference forward (codegen/fusion.py, conv.j2's
`conv_max_pool_forward`): its numbers are those of a numpy convolution then pooling, trailing
rows and columns no window covers, biases, activations and NaNs included; the other pairs, and
the training step, keep the two ops."""

import numpy as np
from pooling_reference import np_pool
from test_conv import np_conv1d, np_conv2d

import fnjit as keras
from fnjit import layers

rng = np.random.default_rng(7)

ACT = {None: lambda v: v, "relu": lambda v: np.where(v <= 0, 0.0, v),
       "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh}


def np_max_pool(y, size):
    """Windows `size`, strides `size`, no padding; a NaN in a window wins (np.max)."""
    n, c = y.shape[0], y.shape[-1]
    spatial = [d // k for d, k in zip(y.shape[1:-1], size)]
    y = y[(slice(None),) + tuple(slice(0, s * k) for s, k in zip(spatial, size))]
    shape = [n] + [v for s, k in zip(spatial, size) for v in (s, k)] + [c]
    return y.reshape(shape).max(axis=tuple(range(2, 2 + 2 * len(size), 2)))


def randomize(model):
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5
                       for w in model.get_weights()])


def calls(model, kind, kernel):
    return model.generated_source(kind).count(f"    {kernel}(")


# (filters, kernel, activation, use_bias, conv strides, conv padding, pool windows)
FUSED_2D = [(5, 3, "relu", True, 1, "valid", 2),  # 9x9 -> 4x4: row and column 8 unread
            (3, 2, "sigmoid", False, 1, "valid", 3),
            (4, 3, "tanh", True, 2, "same", 2),
            (2, 3, None, True, 1, "valid", (2, 3))]


def fused_model():
    image = keras.Input(shape=(11, 10, 2))
    seq = keras.Input(shape=(13, 3))
    outs, convs = [], []
    for f, k, act, bias, s, pad, pool in FUSED_2D:
        convs.append(layers.Conv2D(f, k, strides=s, padding=pad, activation=act,
                                   use_bias=bias))
        outs.append(layers.MaxPooling2D(pool)(convs[-1](image)))
    convs.append(layers.Conv1D(4, 3, activation="relu"))
    outs.append(layers.MaxPooling1D(2)(convs[-1](seq)))
    model = keras.Model([image, seq], outs)
    randomize(model)
    return model, convs


def fused_reference(convs, image, seq):
    refs = []
    for conv, (_, _, act, bias, s, pad, pool) in zip(convs, FUSED_2D):
        ws = [w.astype(np.float64) for w in conv.get_weights()]
        y = np_conv2d(image.astype(np.float64), ws[0], (s, s), pad)
        if bias:
            y = y + ws[1]
        pool = pool if isinstance(pool, tuple) else (pool, pool)
        refs.append(np_max_pool(ACT[act](y), pool))
    kernel, b = (w.astype(np.float64) for w in convs[-1].get_weights())
    refs.append(np_max_pool(ACT["relu"](np_conv1d(seq.astype(np.float64), kernel) + b), (2,)))
    return refs


def test_fused_conv_and_max_pooling_give_numpys_numbers_with_nans():
    model, convs = fused_model()
    image = rng.normal(size=(5, 11, 10, 2)).astype(np.float32)
    seq = rng.normal(size=(5, 13, 3)).astype(np.float32)
    image[1, 4, 4, 0] = np.nan  # under the first windows of several branches
    seq[2, 5, 1] = np.nan
    outs = model.predict([image, seq], verbose=0)
    assert calls(model, "predict", "conv_max_pool_forward") == 5
    assert calls(model, "predict", "max_pool_forward") == 0
    for out, ref in zip(outs, fused_reference(convs, image, seq)):
        assert out.shape == ref.shape
        assert np.isnan(ref).any()  # the NaN reached some windows...
        np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))  # ...and won them
        np.testing.assert_allclose(out, ref, rtol=2e-5, atol=2e-6, equal_nan=True)


def test_the_training_step_keeps_the_convolutions_output_and_predict_fuses():
    image = keras.Input(shape=(9, 9, 1))
    h = layers.MaxPooling2D(2)(layers.Conv2D(3, 2, activation="relu")(image))
    model = keras.Model(image, layers.Dense(1)(layers.Flatten()(h)))
    randomize(model)
    model.compile(optimizer="sgd", loss="mse")
    xs = rng.normal(size=(4, 9, 9, 1)).astype(np.float32)
    before = model.predict(xs, verbose=0)
    model.train_on_batch(xs, np.zeros((4, 1), np.float32))
    source = model.generated_source("train")

    def entry(name):  # the text of one entry point of the driver
        body = source[source.index(f"def {name}("):]
        return body[:body.index("\n@")]

    # one input channel: the planar variants (conv.j2, im2col_planar)
    assert "    planar_conv_forward(" in entry("train_step")
    assert "    max_pool_forward(" in entry("train_step")
    assert "conv_max_pool_forward(" not in entry("train_step")
    assert "    planar_conv_max_pool_forward(" in entry("forward")
    ws = model.get_weights()
    assert not np.allclose(model.predict(xs, verbose=0), before)  # it trained...
    y = np_max_pool(ACT["relu"](np_conv2d(xs.astype(np.float64), ws[0]) + ws[1]), (2, 2))
    ref = y.reshape(4, -1) @ ws[2] + ws[3]  # ...and predict reads the new weights
    np.testing.assert_allclose(model.predict(xs, verbose=0), ref, rtol=2e-5, atol=2e-6)


def test_pairs_that_do_not_fuse_keep_their_numbers():
    """Overlapping windows, 'same' pooling over a partial window, average pooling, and a
    convolution read twice."""
    image = keras.Input(shape=(10, 10, 2))
    convs = [layers.Conv2D(3, k, activation="relu") for k in (3, 2, 3, 3)]
    a = layers.MaxPooling2D(3, strides=2)(convs[0](image))
    b = layers.MaxPooling2D(2, padding="same")(convs[1](image))  # 9x9 -> 5x5
    c = layers.AveragePooling2D(2)(convs[2](image))
    twice = convs[3](image)
    d = layers.Add()([layers.MaxPooling2D(2)(twice), layers.AveragePooling2D(2)(twice)])
    model = keras.Model(image, [a, b, c, d])
    randomize(model)
    xs = rng.normal(size=(3, 10, 10, 2)).astype(np.float32)
    outs = model.predict(xs, verbose=0)
    assert calls(model, "predict", "conv_max_pool_forward") == 0
    ys = []
    for conv in convs:
        w, bias = (v.astype(np.float64) for v in conv.get_weights())
        ys.append(ACT["relu"](np_conv2d(xs.astype(np.float64), w) + bias))
    refs = [np_pool(ys[0], (3, 3), (2, 2), "valid", "max"),
            np_pool(ys[1], (2, 2), (2, 2), "same", "max"),
            np_pool(ys[2], (2, 2), (2, 2), "valid", "avg"),
            np_max_pool(ys[3], (2, 2)) + np_pool(ys[3], (2, 2), (2, 2), "valid", "avg")]
    for out, ref in zip(outs, refs):
        assert out.shape == ref.shape
        np.testing.assert_allclose(out, ref, rtol=2e-5, atol=2e-6)
