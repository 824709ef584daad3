"""Helpers every op of fnjit.ops uses: its arguments checked and turned into IR values (a
weight or a numpy array used in a traced call becomes an IR param), IR ops emitted, and the static
shape arithmetic (broadcasting, reshapes, strides, transposes) that layers use too.
"""

from __future__ import annotations

import builtins
import math
import numbers

import numpy as np

from ..tracing import SymbolicTensor, UnsupportedOperation, current_context


def _is_scalar(v):
    return isinstance(v, numbers.Real) and not isinstance(v, np.ndarray)


def _is_variable(v):
    return type(v).__name__ == "Variable" and hasattr(v, "path")


def _ctx(args, fname):
    """The lowering context of the first symbolic tensor among `args` (or, for weights and
    constant arrays inside a traced call, the context being traced into)."""
    for a in args:
        if isinstance(a, SymbolicTensor):
            return a._ctx
    for a in args:
        if type(a).__name__ == "KerasTensor":
            raise TypeError(f"K.{fname} was called on a KerasTensor ({a.name}) outside a layer: "
                            f"wrap it in a Lambda layer, e.g. Lambda(lambda x: K.{fname}(x))(t), "
                            "or write a custom layer whose call uses it")
    if current_context() is not None:
        return current_context()
    kinds = ", ".join(type(a).__name__ for a in args)
    raise TypeError(f"K.{fname} expects a symbolic tensor (inside a Lambda layer, a custom "
                    f"layer's call, a custom loss or metric), got {kinds}")


_CONSTANTS = {}  # (dtype, shape, bytes) -> Variable: one IR param per distinct constant


def _constant(ctx, array):
    from ..layers.base import Variable

    a = np.ascontiguousarray(array, dtype=ctx.graph.floatx)
    key = (a.dtype.str, a.shape, a.tobytes())
    var = _CONSTANTS.get(key)
    if var is None:
        var = _CONSTANTS[key] = Variable(a.copy(), "constant", f"constant_{len(_CONSTANTS)}",
                                         trainable=False)
    return SymbolicTensor(ctx, ctx.param(var))


def _check(x, fname, ctx=None):
    if isinstance(x, SymbolicTensor):
        if ctx is not None and x._ctx is not ctx:
            raise ValueError(f"K.{fname}: tensors from two different models were mixed")
        return x
    if _is_scalar(x):
        return x
    if ctx is not None and _is_variable(x):  # a weight used in a traced call: an IR param
        return SymbolicTensor(ctx, ctx.param(x))
    if ctx is not None and isinstance(x, (np.ndarray, list, tuple)):
        a = np.asarray(x)
        if a.dtype.kind in "biuf":
            return float(a) if a.ndim == 0 else _constant(ctx, a)
    where = ctx.origin + ": " if ctx is not None else ""
    raise UnsupportedOperation(f"{where}K.{fname} got a {type(x).__name__}; tensors, weights, "
                               "numeric arrays and Python numbers are supported")


def _emit(kind, inputs, shape, **attrs):
    ctx = inputs[0]._ctx
    (v,) = ctx.op(kind, [t._value for t in inputs], [tuple(shape)], attrs=attrs or None)
    return SymbolicTensor(ctx, v)


def prod_shape(dims):
    return int(math.prod(dims))


def _axis(x, axis, fname):
    r = x.ndim
    if not -r <= axis < r:
        raise ValueError(f"{x._ctx.origin}: K.{fname}: axis {axis} is out of range for a tensor "
                         f"of shape {x.shape}")
    return axis % r


def _broadcast_shape(ctx, a, b, fname):
    r = builtins.max(len(a), len(b))
    pa = (1,) * (r - len(a)) + tuple(a)
    pb = (1,) * (r - len(b)) + tuple(b)
    out = []
    for da, db in zip(pa, pb):
        if da == db or db == 1:
            out.append(da)
        elif da == 1:
            out.append(db)
        else:
            out = None
            break
    if out is None or builtins.any(d is None for d in out[1:]):
        raise ValueError(f"{ctx.origin}: K.{fname}: shapes {tuple(a)} and {tuple(b)} cannot be "
                         "broadcast together")
    return tuple(out)


def broadcast_to(x, shape):
    """x repeated along the axes where it has size 1 (or is missing on the left)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    padded = (1,) * (len(shape) - x.ndim) + x.shape
    strides = []
    for d, (have, want) in enumerate(zip(padded, shape)):
        strides.append(prod_shape(padded[d + 1:]) if have == want else 0)
    return _emit("broadcast", [x], shape, strides=tuple(strides))


def reshape_to(x, shape):
    """A copy of x in a new static shape of the same size (the `reshape` op)."""
    if tuple(shape) == x.shape:
        return x
    return _emit("reshape", [x], shape)


def permute_value(ctx, value, pattern):
    """Emit the `transpose` op reordering the axes of IR value `value` (y axis d = x axis
    pattern[d]); returns the new value. Also used by channels_first layers."""
    shape = ctx.shape(value)
    inverse = tuple(int(i) for i in np.argsort(pattern))
    out = tuple(shape[p] for p in pattern)
    r = len(shape)
    # A rotation moves the first k per-sample axes to the end (channels_first <-> last): each
    # sample is then one matrix transpose, done in cache-sized tiles.
    rotate = next((k for k in range(1, r - 1) if tuple(pattern) ==
                   (0,) + tuple(range(k + 1, r)) + tuple(range(1, k + 1))), 0)
    return ctx.op("transpose", [value], [out],
                  attrs={"perm": tuple(pattern), "rotate": rotate,
                         "strides": tuple(_strides(shape)[p] for p in pattern),
                         "inverse_strides": tuple(_strides(out)[p] for p in inverse)})[0]


def _strides(shape):
    """Element strides of a contiguous array (the batch axis, first, never matters)."""
    return tuple(prod_shape(shape[d + 1:]) for d in range(len(shape)))
