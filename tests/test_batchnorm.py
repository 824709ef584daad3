"""BatchNormalization: inference forward against numpy, the training-mode backward (batch
statistics) against finite differences of the training forward, moving statistics after a
training step against Keras' formula, a frozen layer, weights and summary."""

import numpy as np
import pytest
from gradcheck import check_gradients, outputs_checking_gradients

import fnjit as keras
from fnjit import layers

rng = np.random.default_rng(7)


def _set_stats(layer, k):
    weights = [rng.normal(size=k) + 1, rng.normal(size=k), rng.normal(size=k),
               rng.uniform(0.5, 2.0, size=k)]
    if not layer.scale:
        weights.pop(0)
    if not layer.center:
        weights.pop(1 if layer.scale else 0)
    layer.set_weights(weights)


def test_batchnorm_training_gradients_and_inference_forward():
    """Channels last on 2-D, channels first (axis=1) on 3-D, and without gamma / beta."""
    a = keras.Input(shape=(3,))
    b = keras.Input(shape=(2, 4))
    bn_last = layers.BatchNormalization()
    bn_first = layers.BatchNormalization(axis=1, epsilon=0.01)
    bn_plain = layers.BatchNormalization(center=False, scale=False)
    # A non-linear layer after each, so that the loss is not invariant to the normalisation.
    outs = [layers.Activation("tanh")(bn_last(layers.Dense(3)(a))),
            layers.Activation("tanh")(bn_first(b)),
            layers.Activation("sigmoid")(bn_plain(b))]
    model = keras.Model([a, b], outs)
    for layer, k in ((bn_last, 3), (bn_first, 2), (bn_plain, 4)):
        _set_stats(layer, k)
    xa, xb = rng.normal(size=(6, 3)), rng.normal(size=(6, 2, 4))
    got = outputs_checking_gradients(model, [xa, xb], training=True)

    def infer(layer, x, axis):
        w = {v.name: v.numpy().astype(np.float64) for v in layer.weights}
        shape = [1] * x.ndim
        shape[axis] = -1
        g = w.get("gamma", np.ones(1)).reshape(shape)
        c = w.get("beta", np.zeros(1)).reshape(shape)
        m, v = w["moving_mean"].reshape(shape), w["moving_variance"].reshape(shape)
        return g * (x - m) / np.sqrt(v + layer.epsilon) + c

    k, bias = model.get_layer("dense").get_weights()
    np.testing.assert_allclose(got[0], np.tanh(infer(bn_last, xa @ k + bias, 1)), rtol=1e-7)
    np.testing.assert_allclose(got[1], np.tanh(infer(bn_first, xb, 1)), rtol=1e-7)
    np.testing.assert_allclose(got[2], 1 / (1 + np.exp(-infer(bn_plain, xb, 2))), rtol=1e-7)


def test_moving_statistics_follow_keras_formula_after_a_train_step():
    x = keras.Input(shape=(2, 3))
    bn = layers.BatchNormalization(momentum=0.9)
    model = keras.Model(x, bn(x))
    model.compile("sgd", "mse")
    _set_stats(bn, 3)
    mean0, var0 = bn.moving_mean.numpy(), bn.moving_variance.numpy()
    data = rng.normal(size=(8, 2, 3)).astype("float32") * 2 + 1
    model.train_on_batch(data, np.zeros_like(data))
    batch_mean = data.reshape(-1, 3).mean(axis=0)
    batch_var = data.reshape(-1, 3).var(axis=0)  # biased, as Keras 3's ops.moments
    np.testing.assert_allclose(bn.moving_mean.numpy(), mean0 * 0.9 + batch_mean * 0.1,
                               rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), var0 * 0.9 + batch_var * 0.1,
                               rtol=1e-5)
    # Inference (evaluate / predict) leaves them alone.
    model.evaluate(data, np.zeros_like(data), verbose=0)
    model.predict(data, verbose=0)
    np.testing.assert_allclose(bn.moving_mean.numpy(), mean0 * 0.9 + batch_mean * 0.1,
                               rtol=1e-5)


def test_frozen_batchnorm_runs_in_inference_mode():
    x = keras.Input(shape=(3,))
    bn = layers.BatchNormalization()
    model = keras.Model(x, layers.Dense(2)(bn(x)))
    _set_stats(bn, 3)
    bn.trainable = False
    stats = [w.numpy() for w in bn.weights]
    # Training and inference losses agree (the default check asserts it), gradients flow.
    check_gradients(model, [rng.normal(size=(5, 3))])
    assert [w.name for w in model.trainable_weights] == ["kernel", "bias"]
    for before, after in zip(stats, bn.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_batchnorm_weights_defaults_and_summary():
    x = keras.Input(shape=(4,))
    bn = layers.BatchNormalization()
    model = keras.Model(x, bn(x))
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name for w in bn.non_trainable_weights] == ["moving_mean", "moving_variance"]
    gamma, beta, mean, var = bn.get_weights()
    np.testing.assert_array_equal(gamma, np.ones(4))
    np.testing.assert_array_equal(var, np.ones(4))
    np.testing.assert_array_equal(beta, np.zeros(4))
    np.testing.assert_array_equal(mean, np.zeros(4))
    assert (bn.axis, bn.momentum, bn.epsilon) == (-1, 0.99, 1e-3)
    lines = []
    model.summary(print_fn=lines.append)
    # The row counts every weight of the layer, trainable or not (as Keras prints it).
    assert "batch_normalization (BatchNo (None, 4)                 16" in lines
    assert "Total params: 16" in lines and "Trainable params: 8" in lines
    assert "Non-trainable params: 8" in lines
    with pytest.raises(ValueError, match="non-batch axis"):
        layers.BatchNormalization(axis=0)(x)


def test_keras1_and_2_arguments_are_refused_where_they_change_the_numbers():
    """renorm, a virtual batch, an adjustment and Keras 1's mode 1/2 change what the layer
    computes: refused by name, not dropped; at their neutral values (and renorm_momentum,
    fused, which change nothing here) accepted."""
    for legacy, value in (("renorm", True), ("renorm_clipping", {"rmax": 3.0}),
                          ("virtual_batch_size", 8), ("adjustment", lambda shape: (1, 0)),
                          ("mode", 2)):
        with pytest.raises(ValueError, match=rf"BatchNormalization: {legacy}=.*not supported"):
            layers.BatchNormalization(**{legacy: value})
    bn = layers.BatchNormalization(renorm=False, renorm_clipping=None, renorm_momentum=0.9,
                                   fused=True, virtual_batch_size=None, adjustment=None, mode=0)
    assert bn.get_config() == layers.BatchNormalization(name=bn.name).get_config()
