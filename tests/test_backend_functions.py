"""The Keras 2 backend functions and keras.ops names added for custom code: each compiled (through
a Lambda or a custom layer) against numpy written here with finite-difference gradients, and the
same expression run eagerly on numpy arrays (as keras.ops do) against the same numpy."""

import numpy as np
import pytest
from gradcheck import outputs_checking_gradients

import fnjit as keras
from fnjit import backend as K
from fnjit import layers, ops
from fnjit.ops import UnsupportedOperation

rng = np.random.default_rng(17)


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


def _softmax(v, axis=-1):
    e = np.exp(v - v.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


# (K expression of x, y (any sign) and p (positive, summing to one along the last axis), the
# same in numpy); inputs of shape (n, 3, 4). Each added function once.
CASES = [
    (lambda x, y, p: K.sign(x) * y, lambda x, y, p: np.sign(x) * y),
    (lambda x, y, p: K.softplus(x), lambda x, y, p: np.log1p(np.exp(x))),
    (lambda x, y, p: K.softsign(x), lambda x, y, p: x / (1 + np.abs(x))),
    (lambda x, y, p: ops.log1p(p), lambda x, y, p: np.log1p(p)),
    (lambda x, y, p: K.hard_sigmoid(2 * x), lambda x, y, p: np.clip(2 * x / 6 + 0.5, 0, 1)),
    (lambda x, y, p: K.switch(K.greater(x, y), x * y, y - x),
     lambda x, y, p: np.where(x > y, x * y, y - x)),
    (lambda x, y, p: ops.where(x > 0.2, x, 0.0), lambda x, y, p: np.where(x > 0.2, x, 0.0)),
    (lambda x, y, p: (x < 0.1) + (x >= 0.3) + K.equal(x, x) - K.not_equal(x, y) + (0.5 > y),
     lambda x, y, p: 1.0 * (x < 0.1) + (x >= 0.3) + 1.0 - (x != y) + (0.5 > y)),
    (lambda x, y, p: K.zeros_like(x) + K.ones_like(y) * p,
     lambda x, y, p: np.zeros_like(x) + np.ones_like(y) * p),
    (lambda x, y, p: K.prod(x, axis=-1), lambda x, y, p: x.prod(-1)),
    (lambda x, y, p: K.prod(y, axis=1, keepdims=True), lambda x, y, p: y.prod(1, keepdims=True)),
    (lambda x, y, p: K.concatenate([K.any(K.greater(x, 1.0), axis=-1),
                                    K.all(K.greater(p, 0.1), axis=1)], axis=-1),
     lambda x, y, p: np.concatenate([np.any(x > 1.0, -1), np.all(p > 0.1, 1)], -1)),
    (lambda x, y, p: K.std(x, axis=-1), lambda x, y, p: x.std(-1)),
    (lambda x, y, p: K.stack([x, y], axis=1), lambda x, y, p: np.stack([x, y], 1)),
    (lambda x, y, p: K.tile(x, (1, 2, 3)), lambda x, y, p: np.tile(x, (1, 2, 3))),
    (lambda x, y, p: K.repeat_elements(x, 2, axis=-1), lambda x, y, p: np.repeat(x, 2, -1)),
    (lambda x, y, p: K.repeat(K.sum(x, axis=1), 2),
     lambda x, y, p: np.repeat(x.sum(1)[:, None, :], 2, 1)),
    (lambda x, y, p: x[:, 1], lambda x, y, p: x[:, 1]),
    (lambda x, y, p: x[:, ::-1, 1:3] * y[..., -1:], lambda x, y, p: x[:, ::-1, 1:3] * y[..., -1:]),
    (lambda x, y, p: y[:, None, 0, ::2], lambda x, y, p: y[:, None, 0, ::2]),
    (lambda x, y, p: ops.matmul(x, np.arange(8.0).reshape(4, 2) / 8),
     lambda x, y, p: x @ (np.arange(8.0).reshape(4, 2) / 8)),
    (lambda x, y, p: ops.matmul(x, K.permute_dimensions(y, (0, 2, 1))),
     lambda x, y, p: x @ y.transpose(0, 2, 1)),
    (lambda x, y, p: x @ K.constant([[1.0], [2.0], [0.0], [-1.0]]),
     lambda x, y, p: x @ np.array([[1.0], [2.0], [0.0], [-1.0]])),
    (lambda x, y, p: ops.einsum("nij,nkj->nik", x, y),
     lambda x, y, p: np.einsum("nij,nkj->nik", x, y)),
    (lambda x, y, p: ops.einsum("nqhd,nkhd->nhqk", K.reshape(x, (-1, 3, 2, 2)),
                                K.reshape(y, (-1, 3, 2, 2))),
     lambda x, y, p: np.einsum("nqhd,nkhd->nhqk", x.reshape(-1, 3, 2, 2),
                               y.reshape(-1, 3, 2, 2))),
    (lambda x, y, p: ops.einsum("nij,jk->nki", x, np.arange(8.0).reshape(4, 2)),
     lambda x, y, p: np.einsum("nij,jk->nki", x, np.arange(8.0).reshape(4, 2))),
    (lambda x, y, p: ops.einsum("nij->nj", p), lambda x, y, p: p.sum(1)),
    (lambda x, y, p: K.categorical_crossentropy(K.softmax(y), p),
     lambda x, y, p: -(_softmax(y) * np.log(p / p.sum(-1, keepdims=True))).sum(-1)),
    (lambda x, y, p: K.categorical_crossentropy(p, x, from_logits=True),
     lambda x, y, p: -(p * np.log(_softmax(x))).sum(-1)),
    (lambda x, y, p: K.binary_crossentropy(K.sigmoid(y), K.sigmoid(x)),
     lambda x, y, p: -(_sigmoid(y) * np.log(_sigmoid(x)) +
                       (1 - _sigmoid(y)) * np.log(1 - _sigmoid(x)))),
    (lambda x, y, p: K.binary_crossentropy(p, x, from_logits=True),
     lambda x, y, p: -(p * np.log(_sigmoid(x)) + (1 - p) * np.log(1 - _sigmoid(x)))),
]

def _data(n=3):
    x, y = rng.normal(size=(n, 3, 4)), rng.normal(size=(n, 3, 4))
    p = rng.uniform(0.05, 1.0, size=(n, 3, 4))
    return x, y, p / p.sum(-1, keepdims=True)


def test_each_function_compiled_matches_numpy_and_finite_differences():
    x, y, p = (keras.Input(shape=(3, 4)) for _ in range(3))
    outs = layers.Lambda(lambda t: [f(*t) for f, _ in CASES])([x, y, p])
    model = keras.Model([x, y, p], outs)
    data = _data()
    got = outputs_checking_gradients(model, list(data), max_checks=40)
    for k, ((_, ref), out) in enumerate(zip(CASES, got)):
        np.testing.assert_allclose(out, ref(*data), rtol=1e-9, atol=1e-12,
                                   err_msg=f"case {k}")


def test_each_function_runs_eagerly_on_arrays_as_numpy():
    data = [a.astype("float32") for a in _data(2)]
    for k, (f, ref) in enumerate(CASES):
        got = f(*data)
        assert isinstance(got, np.ndarray), f"case {k}: {type(got)}"
        np.testing.assert_allclose(got, ref(*data), rtol=2e-5, atol=1e-6, err_msg=f"case {k}")
    a, b = data[0][0], data[1][0]
    np.testing.assert_array_equal(ops.concatenate([a, b]), np.concatenate([a, b], -1))
    assert K.mean(np.arange(6.0)) == 2.5 and K.int_shape(a) == (3, 4) and K.ndim(a) == 2
    np.testing.assert_array_equal(K.argmax(a), a.argmax(-1))
    np.testing.assert_array_equal(K.one_hot(np.array([0, 2]), 3), np.eye(3)[[0, 2]])
    np.testing.assert_array_equal(K.gather(np.eye(3), np.array([2, 0])), np.eye(3)[[2, 0]])
    np.testing.assert_allclose(K.batch_dot(data[0], data[1], axes=(2, 2)),
                               np.einsum("nik,njk->nij", data[0], data[1]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(K.l2_normalize(a, axis=1),
                               a / np.sqrt((a * a).sum(1, keepdims=True)), rtol=1e-6)
    assert K.floatx() == "float32" and K.epsilon() == 1e-7
    assert K.image_data_format() == "channels_last"
    assert K.dtype(a) == "float32" and K.cast(a, "int32").dtype == np.int32
    np.testing.assert_array_equal(K.zeros((2, 3)), np.zeros((2, 3), "float32"))
    np.testing.assert_array_equal(K.ones((2,)), np.ones(2, "float32"))
    assert K.random_normal((1000,), seed=1).std() == pytest.approx(1.0, abs=0.1)


class Lookup(layers.Layer):
    """A weight table read by integer ids, with one-hot codes beside it."""

    def build(self, input_shape):
        self.table = self.add_weight(shape=(5, 2), initializer="random_normal", name="table")

    def call(self, ids):
        flat = K.flatten(self.table)
        return K.concatenate([K.gather(self.table, ids), K.one_hot(ids, 5),
                              K.expand_dims(ids * 0.0, -1) + flat[3]], axis=-1)


def test_gather_and_one_hot_of_integer_ids():
    ids = keras.Input(shape=(3,), dtype="int32")
    layer = Lookup()
    model = keras.Model(ids, layer(ids))
    data = np.array([[0, 4, 2], [1, 1, 3]], "int32")
    (got,) = outputs_checking_gradients(model, [data])
    table = layer.table.numpy()
    np.testing.assert_allclose(got[..., :2], table[data], rtol=1e-12)
    np.testing.assert_array_equal(got[..., 2:7], np.eye(5)[data])
    np.testing.assert_allclose(got[..., 7], np.full((2, 3), table.reshape(-1)[3]), rtol=1e-6)
    with pytest.raises(ValueError, match="index 7"):
        model.predict(np.array([[0, 7, 1]], "int32"), verbose=0)


def test_random_tensors_are_drawn_fresh_at_every_call():
    x = keras.Input(shape=(200, 50))
    noise = layers.Lambda(lambda t: [t + K.random_normal(K.shape(t), mean=1.0, stddev=2.0),
                                     K.random_uniform((None, 200, 50), -1.0, 3.0) + t,
                                     K.random_binomial(K.shape(t), p=0.25) + t])(x)
    model = keras.Model(x, noise)
    data = np.zeros((4, 200, 50), "float32")
    first, second = model.predict(data, verbose=0), model.predict(data, verbose=0)
    normal, uniform, binomial = first
    assert normal.mean() == pytest.approx(1.0, abs=0.05)
    assert normal.std() == pytest.approx(2.0, abs=0.05)
    assert uniform.min() >= -1.0 and uniform.max() < 3.0
    assert uniform.mean() == pytest.approx(1.0, abs=0.05)
    assert set(np.unique(binomial)) == {0.0, 1.0}
    assert binomial.mean() == pytest.approx(0.25, abs=0.02)
    for a, b in zip(first, second):
        assert not np.array_equal(a, b)
    with pytest.raises(UnsupportedOperation, match="seed"):
        layers.Lambda(lambda t: t + K.random_normal(K.shape(t), seed=3))(x)


@pytest.mark.parametrize("fn, what", [
    (lambda t: t[0], "batch axis"),
    (lambda t: t[:, t], "indexing with SymbolicTensor"),
    (lambda t: t[:, 7], "out of range"),
    (lambda t: K.flatten(t), "batch_flatten"),
    (lambda t: ops.einsum("ni,ni->i", t, t), "einsum"),
    (lambda t: ops.einsum("n...->n", t), "einsum"),
    (lambda t: K.cast(t, "int32"), "int32"),
])
def test_what_cannot_be_compiled_is_refused_by_name(fn, what):
    with pytest.raises((UnsupportedOperation, IndexError)) as info:
        layers.Lambda(fn, name="refused")(keras.Input(shape=(5,)))
    assert what in str(info.value) and "refused" in str(info.value)
