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

# Pairs (K expression, the same in numpy) of inputs x, y (any sign) and p (positive), all of
# shape (n, 3, 4): each op once, with as little glue as possible (compile time is the budget).
ELEMENTWISE = [
    (lambda x, y, p: x + y, lambda x, y, p: x + y),
    (lambda x, y, p: x - 2.0, lambda x, y, p: x - 2.0),
    (lambda x, y, p: 3 - x, lambda x, y, p: 3 - x),
    (lambda x, y, p: x * y, lambda x, y, p: x * y),
    (lambda x, y, p: 1.5 * x, lambda x, y, p: 1.5 * x),
    (lambda x, y, p: x / p, lambda x, y, p: x / p),
    (lambda x, y, p: 2 / p, lambda x, y, p: 2 / p),
    (lambda x, y, p: -x, lambda x, y, p: -x),
    (lambda x, y, p: p ** 1.7, lambda x, y, p: p ** 1.7),
    (lambda x, y, p: 2.0 ** x, lambda x, y, p: 2.0 ** x),
    (lambda x, y, p: K.pow(p, y), lambda x, y, p: p ** y),
    (lambda x, y, p: K.exp(x), lambda x, y, p: np.exp(x)),
    (lambda x, y, p: K.log(p), lambda x, y, p: np.log(p)),
    (lambda x, y, p: K.sqrt(p), lambda x, y, p: np.sqrt(p)),
    (lambda x, y, p: K.abs(x), lambda x, y, p: np.abs(x)),
    (lambda x, y, p: K.square(x), lambda x, y, p: x * x),
    (lambda x, y, p: K.maximum(x, y), lambda x, y, p: np.maximum(x, y)),
    (lambda x, y, p: K.minimum(x, y), lambda x, y, p: np.minimum(x, y)),
    (lambda x, y, p: K.maximum(x, 0.3), lambda x, y, p: np.maximum(x, 0.3)),
    (lambda x, y, p: K.minimum(0.3, x), lambda x, y, p: np.minimum(x, 0.3)),
    (lambda x, y, p: K.clip(x, -0.5, 0.6), lambda x, y, p: np.clip(x, -0.5, 0.6)),
    (lambda x, y, p: K.sigmoid(x), lambda x, y, p: 1 / (1 + np.exp(-x))),
    (lambda x, y, p: K.tanh(x), lambda x, y, p: np.tanh(x)),
    (lambda x, y, p: K.relu(x), lambda x, y, p: np.maximum(x, 0)),
    (lambda x, y, p: K.elu(x, 0.5), lambda x, y, p: np.where(x > 0, x, 0.5 * (np.exp(x) - 1))),
    (lambda x, y, p: K.cast(x, "float32"), lambda x, y, p: x),
]
STRUCTURAL = [
    (lambda x, y, p: K.sum(x, axis=1), lambda x, y, p: x.sum(1)),
    (lambda x, y, p: K.mean(x, axis=[1, 2], keepdims=True),
     lambda x, y, p: x.mean((1, 2), keepdims=True)),
    (lambda x, y, p: K.max(x, axis=-1), lambda x, y, p: x.max(-1)),
    (lambda x, y, p: K.min(x, axis=1), lambda x, y, p: x.min(1)),
    (lambda x, y, p: K.var(x, axis=-1), lambda x, y, p: x.var(-1)),
    # Broadcasting: from (n, 3, 1), from () (over the batch too), from (3,) (non-adjacent axes).
    (lambda x, y, p: x * K.mean(y, axis=-1, keepdims=True),
     lambda x, y, p: x * y.mean(-1, keepdims=True)),
    (lambda x, y, p: x - K.mean(y), lambda x, y, p: x - y.mean()),
    (lambda x, y, p: K.permute_dimensions(y, (0, 2, 1)) + K.sum(x, axis=[0, 2]),
     lambda x, y, p: y.transpose(0, 2, 1) + x.sum((0, 2))),
    (lambda x, y, p: K.concatenate([x, y], axis=1), lambda x, y, p: np.concatenate([x, y], 1)),
    (lambda x, y, p: K.reshape(x, (-1, 2, 6)), lambda x, y, p: x.reshape(-1, 2, 6)),
    (lambda x, y, p: K.squeeze(K.expand_dims(x, 2), 2), lambda x, y, p: x),
    (lambda x, y, p: K.batch_dot(x, y, axes=(2, 2)),
     lambda x, y, p: np.einsum("nik,njk->nij", x, y)),
    (lambda x, y, p: K.dot(x, K.reshape(K.mean(y, axis=(0, 1)), (4, 1))),
     lambda x, y, p: x @ y.mean((0, 1)).reshape(4, 1)),
    (lambda x, y, p: K.softmax(x, axis=1),
     lambda x, y, p: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (lambda x, y, p: K.l2_normalize(x, axis=1),
     lambda x, y, p: x / np.sqrt((x * x).sum(1, keepdims=True))),
]


@pytest.mark.parametrize("cases", [ELEMENTWISE, STRUCTURAL], ids=["elementwise", "structural"])
def test_each_backend_op_through_a_lambda(cases):
    x, y, p = (keras.Input(shape=(3, 4)) for _ in range(3))
    if cases is ELEMENTWISE:  # one output (one loss in the check) for ops of equal shapes
        outs = layers.Lambda(lambda t: K.concatenate([f(*t) for f, _ in cases], axis=1))(
            [x, y, p])
    else:
        outs = layers.Lambda(lambda t: [f(*t) for f, _ in cases])([x, y, p])
    model = keras.Model([x, y, p], outs)
    dx, dy = rng.normal(size=(4, 3, 4)), rng.normal(size=(4, 3, 4))
    dx[np.abs(dx) < 0.05] += 0.1  # away from the kinks of abs, relu
    dp = rng.uniform(0.5, 2.0, size=(4, 3, 4))
    got = outputs_checking_gradients(model, [dx, dy, dp], training=True, max_checks=30)
    if cases is ELEMENTWISE:
        got = np.split(got[0], len(cases), axis=1)
    for (_, ref), g in zip(cases, got):
        np.testing.assert_allclose(g, ref(dx, dy, dp), rtol=1e-7, atol=1e-10)


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
    (lambda t: [v for v in t], "iteration"),
    (lambda t: t if K.greater(t, t * 0) else -t, "bool()"),
    (lambda t: 2.0, "returned float"),
    (lambda t: K.exp(np.ones(5)), "returned ndarray"),  # eager numpy: not from the input
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
