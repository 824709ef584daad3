"""The ops/backend functions on numpy arrays, outside a model: what Keras 3's `keras.ops` do
eagerly (`ops.concatenate([a, b])` on arrays returns an array), so that user code between
models runs. fnjit/ops/dispatch.py dispatches here when no argument is a symbolic tensor; each
function computes what its compiled counterpart computes (the tests compare them).
"""

from __future__ import annotations

import builtins

import numpy as np


def _f(x):
    """An array: integers and Python numbers or lists become the backend's float type (as
    Keras' float ops); float arrays keep theirs."""
    from . import backend

    a = np.asarray(x)
    if a.dtype.kind in "biu" or not isinstance(x, (np.ndarray, np.generic)):
        return a.astype(backend.floatx())
    return a


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _relu(x, alpha=0.0, max_value=None, threshold=0.0, negative_slope=None):
    x = _f(x)
    slope = alpha if negative_slope is None else negative_slope
    y = np.where(x > threshold, x, 0)
    if max_value is not None:
        y = np.minimum(np.maximum(y, 0), max_value)
    return (y - slope * np.maximum(threshold - x, 0)).astype(x.dtype)


def _softmax(x, axis=-1):
    x = _f(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _l2_normalize(x, axis=-1):
    from .backend import epsilon

    x = _f(x)
    s = (x * x).sum(axis=axis, keepdims=True)
    return x * np.minimum(1 / np.sqrt(s), 1 / epsilon()).astype(x.dtype)


def _clip(x, min_value, max_value):
    if max_value is not None and min_value is not None and max_value < min_value:
        max_value = min_value
    return np.clip(_f(x), min_value, max_value)


def _batch_dot(x, y, axes=None):
    x, y = _f(x), _f(y)
    if axes is None:
        axes = (x.ndim - 1, y.ndim - 1 if y.ndim == 2 else y.ndim - 2)
    elif isinstance(axes, int):
        axes = (axes, axes)
    a0, a1 = axes[0] % x.ndim, axes[1] % y.ndim
    xs = np.moveaxis(x, a0, -1).reshape(len(x), -1, x.shape[a0])
    ys = np.moveaxis(y, a1, 1).reshape(len(y), y.shape[a1], -1)
    free = [d for i, d in enumerate(x.shape) if i not in (0, a0)] + \
        [d for i, d in enumerate(y.shape) if i not in (0, a1)]
    out = np.matmul(xs, ys).reshape([len(x)] + free)
    return out.reshape(len(x), 1) if out.ndim == 1 else out


def _reshape(x, shape):
    return np.reshape(_f(x), [-1 if d is None else d for d in shape])


def _repeat_elements(x, rep, axis):
    return np.repeat(_f(x), rep, axis=axis)


def _one_hot(indices, num_classes):
    i = np.asarray(indices)
    return (i[..., None] == np.arange(num_classes)).astype(_f(0.0).dtype)


def _categorical_crossentropy(target, output, from_logits=False, axis=-1):
    from .backend import epsilon

    t, o = _f(target), _f(output)
    if from_logits:
        top = o.max(axis=axis, keepdims=True)
        logp = o - (np.log(np.exp(o - top).sum(axis=axis, keepdims=True)) + top)
    else:
        p = o / o.sum(axis=axis, keepdims=True)
        logp = np.log(np.clip(p, epsilon(), 1 - epsilon()))
    return -(t * logp).sum(axis=axis)


def _binary_crossentropy(target, output, from_logits=False):
    from .backend import epsilon

    t, o = _f(target), _f(output)
    if from_logits:
        return np.maximum(o, 0) - o * t + np.log(1 + np.exp(-np.abs(o)))
    p = np.clip(o, epsilon(), 1 - epsilon())
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def _random(draw):
    def sample(shape, *params, dtype=None, seed=None, **named):
        from . import backend
        from . import random as fnrandom

        gen = np.random.default_rng(seed) if seed is not None else fnrandom.generator()
        return draw(gen, tuple(shape), *params, **named).astype(dtype or backend.floatx())
    return sample


def _hard_sigmoid(x):
    x = _f(x)
    return np.clip(x / 6 + 0.5, 0, 1).astype(x.dtype)


def _var(x, axis=None, keepdims=False):
    return np.var(_f(x), axis=_axis(axis), keepdims=keepdims)


def _cast(x, dtype):
    return np.asarray(x).astype(dtype)


def _stack(tensors, axis=0):
    return np.stack([_f(t) for t in tensors], axis=axis)


def _concatenate(tensors, axis=-1):
    return np.concatenate([_f(t) for t in tensors], axis=axis)


def _compare(fn):
    return lambda a, b: fn(_f(a), _f(b)).astype(_f(0.0).dtype)


def _reduce(fn):
    return lambda x, axis=None, keepdims=False: fn(_f(x), axis=_axis(axis), keepdims=keepdims)


def _unary(fn):
    return lambda x: fn(_f(x))


def _binary(fn):
    return lambda a, b: fn(_f(a), _f(b))


def _permute(x, pattern):
    return np.transpose(_f(x), pattern)


FUNCTIONS = {
    "add": _binary(np.add), "subtract": _binary(np.subtract),
    "multiply": _binary(np.multiply), "divide": _binary(np.divide),
    "pow": _binary(np.power), "power": _binary(np.power),
    "maximum": _binary(np.maximum), "minimum": _binary(np.minimum),
    "equal": _compare(np.equal), "not_equal": _compare(np.not_equal),
    "greater": _compare(np.greater), "greater_equal": _compare(np.greater_equal),
    "less": _compare(np.less), "less_equal": _compare(np.less_equal),
    "negative": _unary(np.negative), "exp": _unary(np.exp), "log": _unary(np.log),
    "log1p": _unary(np.log1p),
    "sqrt": _unary(np.sqrt), "abs": _unary(np.abs), "square": _unary(np.square),
    "sign": _unary(np.sign), "tanh": _unary(np.tanh), "sigmoid": _unary(_sigmoid),
    "softplus": _unary(lambda x: np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))),
    "softsign": _unary(lambda x: x / (1 + np.abs(x))), "hard_sigmoid": _hard_sigmoid,
    "relu": _relu, "leaky_relu": lambda x, negative_slope=0.2: _relu(x, negative_slope),
    "elu": lambda x, alpha=1.0: np.where(_f(x) > 0, _f(x), alpha * (np.exp(_f(x)) - 1)),
    "softmax": _softmax, "clip": _clip, "cast": _cast, "l2_normalize": _l2_normalize,
    "sum": _reduce(np.sum), "mean": _reduce(np.mean), "max": _reduce(np.max),
    "min": _reduce(np.min), "prod": _reduce(np.prod), "var": _var,
    "std": lambda x, axis=None, keepdims=False: np.sqrt(_var(x, axis, keepdims)),
    "any": lambda x, axis=None, keepdims=False: np.any(x, axis=_axis(axis), keepdims=keepdims),
    "all": lambda x, axis=None, keepdims=False: np.all(x, axis=_axis(axis), keepdims=keepdims),
    "argmax": lambda x, axis=-1: np.argmax(x, axis=axis),
    "argmin": lambda x, axis=-1: np.argmin(x, axis=axis),
    "int_shape": lambda x: tuple(np.shape(x)), "shape": lambda x: tuple(np.shape(x)),
    "ndim": np.ndim, "dtype": lambda x: str(np.asarray(x).dtype),
    "reshape": _reshape, "expand_dims": lambda x, axis=-1: np.expand_dims(_f(x), axis),
    "squeeze": lambda x, axis: np.squeeze(_f(x), axis),
    "batch_flatten": lambda x: _f(x).reshape(len(x), -1),
    "flatten": lambda x: _f(x).reshape(-1),
    "permute_dimensions": _permute, "transpose": lambda x, axes=None: np.transpose(_f(x), axes),
    "concatenate": _concatenate, "stack": _stack,
    "tile": lambda x, n: np.tile(_f(x), n), "repeat_elements": _repeat_elements,
    "repeat": lambda x, n: np.repeat(_f(x)[:, None, :], n, axis=1),
    "dot": lambda x, y: np.dot(_f(x), _f(y)), "matmul": lambda a, b: np.matmul(_f(a), _f(b)),
    "batch_dot": _batch_dot,
    "switch": lambda c, a, b: np.where(np.asarray(c) != 0, a, b),
    "where": lambda c, a, b: np.where(np.asarray(c) != 0, a, b),
    "zeros_like": lambda x, dtype=None: np.zeros_like(_f(x), dtype=dtype),
    "ones_like": lambda x, dtype=None: np.ones_like(_f(x), dtype=dtype),
    "gather": lambda reference, indices: np.take(reference, np.asarray(indices), axis=0),
    "take": lambda reference, indices: np.take(reference, np.asarray(indices), axis=0),
    "one_hot": _one_hot, "getitem": lambda x, key: np.asarray(x)[key],
    "categorical_crossentropy": _categorical_crossentropy,
    "binary_crossentropy": _binary_crossentropy,
    "random_normal": _random(lambda g, s, mean=0.0, stddev=1.0: g.normal(mean, stddev, s)),
    "random_uniform": _random(lambda g, s, minval=0.0, maxval=1.0: g.uniform(minval, maxval,
                                                                             s)),
    "random_binomial": _random(lambda g, s, p=0.0: g.binomial(1, p, s)),
    "einsum": lambda subscripts, *operands: np.einsum(subscripts, *[_f(o) for o in operands]),
}

assert builtins.all(callable(f) for f in FUNCTIONS.values())
