"""Elementwise ops (the `elementwise` template): arithmetic, comparisons, the activations as
functions, clip, select (K.switch) and the functions composed of them (zeros_like, one_hot).
A Python number operand becomes a constant of a unary variant (x + 1 is add_scalar).
"""

from __future__ import annotations

import builtins

import numpy as np

from .. import activations as _activations
from ..tracing import SymbolicTensor, UnsupportedOperation
from .emit import _broadcast_shape, _check, _constant, _ctx, _emit, _is_scalar, broadcast_to
from .shapes import expand_dims


def _unary(fn, x, **consts):
    x = _check(x, fn, _ctx([x], fn))
    if not isinstance(x, SymbolicTensor):
        raise TypeError(f"K.{fn} expects a symbolic tensor, got {type(x).__name__}")
    return _emit("elementwise", [x], x.shape, fn=fn, **{k: float(v) for k, v in consts.items()})


def _binary(fn, a, b, scalar_left, scalar_right, python):
    """`fn` on two operands; a Python number becomes a constant of a unary variant:
    scalar_right(x, c) for x fn c, scalar_left(c, x) for c fn x."""
    if _is_scalar(a) and _is_scalar(b):
        return python(a, b)
    ctx = _ctx([a, b], fn)
    a, b = _check(a, fn, ctx), _check(b, fn, ctx)
    if _is_scalar(b):
        return scalar_right(a, b)
    if _is_scalar(a):
        return scalar_left(a, b)
    shape = _broadcast_shape(ctx, a.shape, b.shape, fn)
    return _emit("elementwise", [broadcast_to(a, shape), broadcast_to(b, shape)], shape, fn=fn)


def add(a, b):
    return _binary("add", a, b, lambda c, x: _unary("add_scalar", x, a=c),
                   lambda x, c: x if c == 0 else _unary("add_scalar", x, a=c),
                   lambda p, q: p + q)


def subtract(a, b):
    return _binary("sub", a, b, lambda c, x: _unary("rsub_scalar", x, a=c),
                   lambda x, c: x if c == 0 else _unary("add_scalar", x, a=-c),
                   lambda p, q: p - q)


def multiply(a, b):
    return _binary("mul", a, b, lambda c, x: _unary("mul_scalar", x, a=c),
                   lambda x, c: x if c == 1 else _unary("mul_scalar", x, a=c),
                   lambda p, q: p * q)


def divide(a, b):
    return _binary("div", a, b, lambda c, x: _unary("rdiv_scalar", x, a=c),
                   lambda x, c: _unary("mul_scalar", x, a=1.0 / c), lambda p, q: p / q)


def pow(x, a):
    """x ** a (Keras 2's K.pow, with a number or a tensor exponent)."""
    def scalar_exponent(t, c):
        if c == 1:
            return t
        if c == 2:
            return square(t)
        if c == 0.5:
            return sqrt(t)
        return _unary("pow_scalar", t, a=c)
    return _binary("pow", x, a, lambda c, t: _unary("rpow_scalar", t, a=c), scalar_exponent,
                   lambda p, q: p ** q)


power = pow


def maximum(a, b):
    return _binary("maximum", a, b, lambda c, x: _unary("max_scalar", x, a=c),
                   lambda x, c: _unary("max_scalar", x, a=c), builtins.max)


def minimum(a, b):
    return _binary("minimum", a, b, lambda c, x: _unary("min_scalar", x, a=c),
                   lambda x, c: _unary("min_scalar", x, a=c), builtins.min)


def _comparison(fn, flipped):
    def compare(a, b):
        return _binary(fn, a, b, lambda c, x: _unary(f"{flipped}_scalar", x, a=c),
                       lambda x, c: _unary(f"{fn}_scalar", x, a=c), lambda p, q: float(
            {"equal": p == q, "not_equal": p != q, "greater": p > q, "greater_equal": p >= q,
             "less": p < q, "less_equal": p <= q}[fn]))
    compare.__name__ = fn
    compare.__doc__ = f"1.0 where a {fn.replace('_', ' ')} b, else 0.0 (no gradient)."
    return compare


equal = _comparison("equal", "equal")
not_equal = _comparison("not_equal", "not_equal")
greater = _comparison("greater", "less")
greater_equal = _comparison("greater_equal", "less_equal")
less = _comparison("less", "greater")
less_equal = _comparison("less_equal", "greater_equal")


def negative(x):
    return _unary("neg", x)


def exp(x):
    return _unary("exp", x)


def log(x):
    return _unary("log", x)


def log1p(x):
    """log(1 + x), exact for small x (keras.ops.log1p)."""
    return _unary("log1p", x)


def sqrt(x):
    return _unary("sqrt", x)


def abs(x):  # noqa: A001  (Keras' name)
    return _unary("abs", x)


def square(x):
    return _unary("square", x)


def clip(x, min_value, max_value):
    if max_value is not None and min_value is not None and max_value < min_value:
        max_value = min_value  # as Keras 2 does
    if min_value is None:
        return minimum(x, max_value)
    if max_value is None:
        return maximum(x, min_value)
    return _unary("clip", x, a=min_value, b=max_value)


def _activation(x, name, fname, **kw):
    ctx = _ctx([x], fname)
    _check(x, fname, ctx)
    return SymbolicTensor(ctx, _activations.lower(ctx, x._value, name, **kw))


def sigmoid(x):
    return _activation(x, "sigmoid", "sigmoid")


def tanh(x):
    return _activation(x, "tanh", "tanh")


def softmax(x, axis=-1):
    return _activation(x, "softmax", "softmax", axis=axis)


def relu(x, alpha=0.0, max_value=None, threshold=0.0, negative_slope=None):
    """Keras' relu: x above `threshold` (clipped to [0, max_value] when given), and
    negative_slope * (x - threshold) below it. `alpha` is Keras 2's name of negative_slope."""
    slope = float(alpha if negative_slope is None else negative_slope)
    if slope == 0 and max_value is None and threshold == 0:
        return _activation(x, "relu", "relu")
    if max_value is None and threshold == 0:
        return leaky_relu(x, slope)
    if max_value is None:
        return _unary("relu_threshold", x, a=threshold, b=slope)
    return _unary("relu_threshold_max", x, a=threshold, b=slope, c=max_value)


def leaky_relu(x, negative_slope=0.2):
    return _unary("leaky_relu_slope", x, a=negative_slope)


def elu(x, alpha=1.0):
    if alpha == 1.0:
        return _activation(x, "elu", "elu")
    return _unary("elu_alpha", x, a=alpha)


def cast(x, dtype):
    """Casting between float types is the identity (compiled code has one float type)."""
    if str(np.dtype(dtype)) not in ("float16", "float32", "float64"):
        origin = x._ctx.origin + ": " if isinstance(x, SymbolicTensor) else ""
        raise UnsupportedOperation(f"{origin}K.cast to {dtype!r} is not supported: compiled "
                                   "tensors are floats")
    return x


def sign(x):
    """-1, 0 or 1 (no gradient)."""
    return _unary("sign", x)


def softplus(x):
    return _activation(x, "softplus", "softplus")


def softsign(x):
    return _activation(x, "softsign", "softsign")


def hard_sigmoid(x):
    """Keras 3's: clip(x / 6 + 0.5, 0, 1)."""
    return _activation(x, "hard_sigmoid", "hard_sigmoid")


def switch(condition, then_expression, else_expression):
    """then where condition is nonzero, else else (K.switch; ops.where). The condition may
    have fewer axes (it is broadcast); gradients reach only the chosen side."""
    ctx = _ctx([condition, then_expression, else_expression], "switch")
    c, a, b = (_check(t, "switch", ctx) for t in (condition, then_expression, else_expression))
    tensors = [t for t in (c, a, b) if isinstance(t, SymbolicTensor)]
    shape = tensors[0].shape
    for t in tensors[1:]:
        shape = _broadcast_shape(ctx, shape, t.shape, "switch")
    c, a, b = (broadcast_to(t if isinstance(t, SymbolicTensor) else
                            _constant(ctx, np.full((1,) * len(shape), t)), shape)
               for t in (c, a, b))
    return _emit("select", [c, a, b], shape)


def where(condition, x1, x2):
    return switch(condition, x1, x2)


def zeros_like(x, dtype=None):
    return multiply(x, 0.0)


def ones_like(x, dtype=None):
    return add(multiply(x, 0.0), 1.0)


def one_hot(indices, num_classes):
    """1.0 at each index's position along a new last axis of `num_classes` (none for an index
    outside [0, num_classes)); no gradient."""
    x = expand_dims(indices, -1)
    shape = x.shape[:-1] + (int(num_classes),)
    classes = _constant(x._ctx, np.arange(num_classes).reshape((1,) * (x.ndim - 1) +
                                                               (int(num_classes),)))
    return equal(broadcast_to(x, shape), broadcast_to(classes, shape))
