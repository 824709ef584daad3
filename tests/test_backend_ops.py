"""The backend (K) operations, each through a Lambda layer: forward against numpy written here,
backward against finite differences; and the errors for what cannot be compiled."""

import numpy as np
import pytest
from gradcheck import outputs_checking_gradients

import fnjit as keras
from fnjit import backend as K
from fnjit import layers
from fnjit.ops import UnsupportedOperation

rng = np.random.default_rng(11)

# name -> (K expression of inputs x (n, 3, 4) and y (n, 3, 4), the same in numpy)
CASES = {
    "arithmetic": (lambda x, y: (x + y) * (x - 2.0) / (y * y + 1) - 3 / (x * x + 2) + 1.5 * y,
                   lambda x, y: (x + y) * (x - 2.0) / (y * y + 1) - 3 / (x * x + 2) + 1.5 * y),
    "negative_pow": (lambda x, y: -x + x ** 3 + 2.0 ** y + K.pow(K.square(y) + 1, 0.7) +
                     K.power(K.square(x) + 1, y),
                     lambda x, y: -x + x ** 3 + 2.0 ** y + (y * y + 1) ** 0.7 +
                     (x * x + 1) ** y),
    "unary": (lambda x, y: K.exp(x) + K.log(K.square(y) + 0.5) + K.sqrt(K.abs(x) + 1) +
              K.sigmoid(y) * K.tanh(x) + K.relu(x) + K.elu(y),
              lambda x, y: np.exp(x) + np.log(y * y + 0.5) + np.sqrt(np.abs(x) + 1) +
              1 / (1 + np.exp(-y)) * np.tanh(x) + np.maximum(x, 0) +
              np.where(y > 0, y, np.exp(y) - 1)),
    "max_min_clip": (lambda x, y: K.maximum(x, y) + K.minimum(x, 0.3) * K.maximum(0.1, y) +
                     K.clip(x, -0.5, 0.6) + K.minimum(x, y),
                     lambda x, y: np.maximum(x, y) + np.minimum(x, 0.3) * np.maximum(0.1, y) +
                     np.clip(x, -0.5, 0.6) + np.minimum(x, y)),
    "broadcast": (lambda x, y: x * K.mean(y, axis=-1, keepdims=True) + x / (K.sum(y, 0) ** 2 + 1)
                  - K.max(y, axis=(1, 2), keepdims=True) + K.mean(y) * K.min(x, axis=1, keepdims=True),
                  lambda x, y: x * y.mean(-1, keepdims=True) + x / (y.sum(0) ** 2 + 1)
                  - y.max(axis=(1, 2), keepdims=True) + y.mean() * x.min(axis=1)[:, None, :]),
    "reductions": (lambda x, y: K.concatenate([K.sum(x * y, axis=1), K.max(x, axis=1),
                                               K.min(y, axis=-2), K.expand_dims(K.mean(x, [1, 2]), 1),
                                               K.var(y, axis=1), K.std(x, axis=1)], axis=-1),
                   lambda x, y: np.concatenate([(x * y).sum(1), x.max(1), y.min(-2),
                                                x.mean((1, 2))[:, None], y.var(1), x.std(1)],
                                               axis=-1)),
    "shapes": (lambda x, y: K.concatenate([K.reshape(x, (-1, 12)),
                                           K.batch_flatten(K.permute_dimensions(y, (0, 2, 1))),
                                           K.squeeze(K.expand_dims(K.sum(x, 1), 1), 1)]),
               lambda x, y: np.concatenate([x.reshape(-1, 12),
                                            y.transpose(0, 2, 1).reshape(-1, 12), x.sum(1)],
                                           axis=1)),
    "products": (lambda x, y: K.batch_flatten(K.batch_dot(x, y, axes=(2, 2))) +
                 K.sum(K.dot(x, K.reshape(K.mean(y, axis=(0, 1)), (4, 1)))),
                 lambda x, y: np.einsum("nik,njk->nij", x, y).reshape(-1, 9) +
                 (x @ y.mean((0, 1)).reshape(4, 1)).sum()),
    "softmax_normalize": (lambda x, y: K.softmax(x, axis=1) + K.softmax(y) +
                          K.l2_normalize(x, axis=1) + K.cast(x, "float32"),
                          lambda x, y: np.exp(x) / np.exp(x).sum(1, keepdims=True) +
                          np.exp(y) / np.exp(y).sum(-1, keepdims=True) +
                          x / np.sqrt((x * x).sum(1, keepdims=True)) + x),
}


def test_each_backend_op_through_a_lambda():
    x, y = keras.Input(shape=(3, 4)), keras.Input(shape=(3, 4))
    names = list(CASES)
    outs = [layers.Lambda(lambda t, f=CASES[k][0]: f(t[0], t[1]), name=k)([x, y])
            for k in names]
    model = keras.Model([x, y], outs)
    dx, dy = rng.normal(size=(4, 3, 4)), rng.normal(size=(4, 3, 4))
    dx[np.abs(dx) < 0.05] += 0.1  # away from abs's kink
    got = outputs_checking_gradients(model, [dx, dy], training=True, max_checks=40)
    for k, g in zip(names, got):
        np.testing.assert_allclose(g, CASES[k][1](dx, dy), rtol=1e-7, atol=1e-10, err_msg=k)


def test_lambda_output_shape_arguments_and_non_differentiable_ops():
    x = keras.Input(shape=(5,))
    scaled = layers.Lambda(lambda t, k: t * k, arguments={"k": 3.0}, output_shape=(5,))(x)
    picked = layers.Lambda(lambda t: K.concatenate([K.expand_dims(K.argmax(t)),
                                                    K.greater(t, t * 0.5)]))(x)
    assert scaled.shape == (None, 5) and picked.shape == (None, 6)
    model = keras.Model(x, [scaled, picked])
    data = rng.normal(size=(3, 5)).astype("float32")
    s, p = model.predict(data, verbose=0)
    np.testing.assert_allclose(s, data * 3, rtol=1e-6)
    np.testing.assert_array_equal(p[:, 0], data.argmax(1))
    np.testing.assert_array_equal(p[:, 1:], (data > data * 0.5).astype("float32"))
    with pytest.raises(ValueError, match="output_shape"):
        layers.Lambda(lambda t: t, output_shape=(4,))(x)


@pytest.mark.parametrize("fn, what", [
    (lambda t: np.exp(t), "numpy.exp"),
    (lambda t: np.mean(t, axis=1), "numpy.mean"),
    (lambda t: t.numpy(), "has no attribute 'numpy'"),
    (lambda t: t if t > 0 else -t, "bool()"),
    (lambda t: 2.0, "returned float"),
    (lambda t: K.exp(np.ones(5)), "no constant arrays"),
])
def test_unsupported_calls_in_a_lambda_are_named(fn, what):
    x = keras.Input(shape=(5,))
    with pytest.raises(UnsupportedOperation) as info:
        layers.Lambda(fn, name="my_lambda")(x)
    assert what in str(info.value) and "my_lambda" in str(info.value)


def test_k_ops_on_keras_tensors_ask_for_a_lambda():
    x = keras.Input(shape=(5,))
    with pytest.raises(TypeError, match="Lambda"):
        K.mean(x)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        layers.Lambda(lambda t: t[0] + t[1])([x, keras.Input(shape=(4,))])
