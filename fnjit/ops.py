"""The differentiable operations: `fnjit.ops` (Keras 3's keras.ops names) and `fnjit.backend`
(Keras 2's K names), one set of functions.

On symbolic tensors (fnjit/tracing.py: inside a Lambda, a custom layer's `call`, a custom loss
or metric) each function appends IR ops through the LoweringContext and returns a new
SymbolicTensor, so that whatever user code computes is compiled and differentiated like any
layer; a weight (Variable) or a numpy array used there becomes an IR param (a constant is a
non-trainable one). On numpy arrays, outside a model, the same names compute eagerly with numpy
(fnjit/eager.py), as keras.ops do. The maths lives in the templates: elementwise, broadcast,
reduce, transpose, batch_matmul, slice, select, random, and the existing activation, softmax,
reshape, concatenate, dense and embedding ops.

Shapes follow the IR: `None` first for the batch axis; a value reduced over the batch axis has
no batch axis any more (K.mean(x) is a scalar of shape ()).
"""

from __future__ import annotations

import builtins
import math
import numbers

import numpy as np

from . import activations as _activations

__all__ = [
    "SymbolicTensor", "abs", "add", "all", "any", "argmax", "argmin", "batch_dot",
    "batch_flatten", "binary_crossentropy", "cast", "categorical_crossentropy", "clip",
    "concatenate", "constant", "divide", "dot", "dtype", "einsum", "elu", "equal", "exp",
    "expand_dims", "flatten", "gather", "getitem", "greater", "greater_equal", "hard_sigmoid",
    "int_shape", "l2_normalize", "leaky_relu", "less", "less_equal", "log", "matmul", "max",
    "maximum", "mean", "min", "minimum", "multiply", "ndim", "negative", "not_equal", "one_hot",
    "ones", "ones_like", "permute_dimensions", "pow", "power", "prod", "prod_shape",
    "random_binomial", "random_normal", "random_uniform", "relu", "repeat", "repeat_elements",
    "reshape", "shape", "sigmoid", "sign", "softmax", "softplus", "softsign", "sqrt", "square",
    "squeeze", "stack", "std", "subtract", "sum", "switch", "take", "tanh", "tile",
    "transpose", "var", "where", "zeros", "zeros_like",
]


from .tracing import (  # noqa: F401  (re-exported: ops.SymbolicTensor, ops.trace)
    SymbolicTensor,
    UnsupportedOperation,
    add_traced_loss,
    current_context,
    losses_ignored,
    per_sample,
    trace,
    trace_shapes,
)

# ---- helpers ------------------------------------------------------------------------------

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
    from .layers.base import Variable

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


def _unary(fn, x, **consts):
    x = _check(x, fn, _ctx([x], fn))
    if not isinstance(x, SymbolicTensor):
        raise TypeError(f"K.{fn} expects a symbolic tensor, got {type(x).__name__}")
    return _emit("elementwise", [x], x.shape, fn=fn, **{k: float(v) for k, v in consts.items()})


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


# ---- elementwise ----------------------------------------------------------------------------

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


# ---- reductions -----------------------------------------------------------------------------

def _axes(x, axis, fname):
    if axis is None:
        return list(range(x.ndim))
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    return sorted({_axis(x, int(a), fname) for a in axes})


def _reduce(fn, x, axis, keepdims, fname=None):
    fname = fname or fn
    ctx = _ctx([x], fname)
    x = _check(x, fname, ctx)
    axes = _axes(x, axis, fname)
    if not axes:
        return x
    runs = []  # maximal runs of adjacent axes, as (start, stop)
    for a in axes:
        if runs and runs[-1][1] == a:
            runs[-1] = (runs[-1][0], a + 1)
        else:
            runs.append((a, a + 1))
    final = tuple(1 if d in axes else s for d, s in enumerate(x.shape)) if keepdims else \
        tuple(s for d, s in enumerate(x.shape) if d not in axes)
    if fn.startswith("arg") and len(runs) > 1:
        raise ValueError(f"{ctx.origin}: K.{fname} reduces one axis")
    y = x
    for k, (start, stop) in enumerate(reversed(runs)):  # the last run first: axes keep places
        shape = y.shape
        kept = shape[:start] + (1,) * (stop - start) + shape[stop:]
        last = k == len(runs) - 1
        y = _emit("reduce", [y], final if last else kept, fn=fn,
                  red=0 if start == 0 else prod_shape(shape[start:stop]),
                  inner=prod_shape(shape[stop:]))
    return y


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return _reduce("sum", x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return _reduce("mean", x, axis, keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return _reduce("max", x, axis, keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return _reduce("min", x, axis, keepdims)


def argmax(x, axis=-1):
    """The index of the largest element along `axis`, as a float (no gradient)."""
    return _reduce("argmax", x, axis, False)


def argmin(x, axis=-1):
    return _reduce("argmin", x, axis, False)


def var(x, axis=None, keepdims=False):
    """The biased variance."""
    centred = subtract(x, mean(x, axis, keepdims=True))
    return mean(square(centred), axis, keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis, keepdims))


# ---- shapes ---------------------------------------------------------------------------------

def int_shape(x):
    return x.shape


def ndim(x):
    return x.ndim


def reshape(x, shape):
    """K.reshape: `shape` includes the batch axis (-1 or None there for a batched tensor); one
    other axis may be -1."""
    ctx = _ctx([x], "reshape")
    shape = [None if d is None else int(d) for d in shape]
    batched = x.shape[:1] == (None,)
    if batched:
        if shape[0] not in (-1, None):
            raise ValueError(f"{ctx.origin}: K.reshape to {tuple(shape)}: the first axis of a "
                             "batched tensor must stay the batch axis (-1 or None)")
        rest = shape[1:]
    else:
        rest = shape
    size = prod_shape(x.shape[1:] if batched else x.shape)
    out = _resolve_shape(rest, size, f"{ctx.origin}: K.reshape of shape {x.shape}")
    return reshape_to(x, ((None,) if batched else ()) + out)


def _resolve_shape(dims, size, where):
    """Fill one -1 in `dims` so that they hold `size` elements."""
    unknown = [i for i, d in enumerate(dims) if d in (-1, None)]
    if len(unknown) > 1 or builtins.any(d is not None and d < -1 or d == 0 for d in dims):
        raise ValueError(f"{where}: target shape {tuple(dims)} may have one -1 and positive "
                         "sizes otherwise")
    known = prod_shape([d for d in dims if d not in (-1, None)])
    if unknown:
        if size % known:
            raise ValueError(f"{where}: cannot reshape {size} elements into {tuple(dims)}")
        dims = list(dims)
        dims[unknown[0]] = size // known
    elif known != size:
        raise ValueError(f"{where}: cannot reshape {size} elements into {tuple(dims)}")
    return tuple(dims)


def reshape_to(x, shape):
    """A copy of x in a new static shape of the same size (the `reshape` op)."""
    if tuple(shape) == x.shape:
        return x
    return _emit("reshape", [x], shape)


def expand_dims(x, axis=-1):
    r = x.ndim + 1
    if not -r <= axis < r:
        raise ValueError(f"{x._ctx.origin}: K.expand_dims: axis {axis} is out of range for a "
                         f"tensor of shape {x.shape}")
    axis %= r
    if axis == 0 and x.shape[:1] == (None,):
        raise ValueError(f"{x._ctx.origin}: K.expand_dims cannot add an axis before the batch")
    return reshape_to(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x, axis):
    axis = _axis(x, axis, "squeeze")
    if x.shape[axis] != 1:
        raise ValueError(f"{x._ctx.origin}: K.squeeze: axis {axis} of shape {x.shape} is not 1")
    return reshape_to(x, x.shape[:axis] + x.shape[axis + 1:])


def batch_flatten(x):
    return reshape_to(x, x.shape[:1] + (prod_shape(x.shape[1:]),))


def permute_dimensions(x, pattern):
    ctx = _ctx([x], "permute_dimensions")
    pattern = tuple(int(p) for p in pattern)
    if sorted(pattern) != list(range(x.ndim)):
        raise ValueError(f"{ctx.origin}: K.permute_dimensions: pattern {pattern} is not a "
                         f"permutation of the {x.ndim} axes of shape {x.shape}")
    if x.shape[:1] == (None,) and pattern[0] != 0:
        raise ValueError(f"{ctx.origin}: K.permute_dimensions: pattern {pattern} moves the batch "
                         "axis; the batch axis must stay first")
    if pattern == tuple(range(x.ndim)):
        return x
    return SymbolicTensor(ctx, permute_value(ctx, x._value, pattern))


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


def transpose(x, axes=None):
    return permute_dimensions(x, tuple(reversed(range(x.ndim))) if axes is None else axes)


def concatenate(tensors, axis=-1):
    ctx = _ctx(list(tensors), "concatenate")
    tensors = [_check(t, "concatenate", ctx) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    first = tensors[0]
    axis = _axis(first, axis, "concatenate")
    if axis == 0 and first.shape[:1] == (None,):
        raise ValueError(f"{ctx.origin}: K.concatenate cannot join along the batch axis")
    rest = [t.shape[:axis] + t.shape[axis + 1:] for t in tensors]
    if builtins.any(t.ndim != first.ndim for t in tensors) or \
            builtins.any(r != rest[0] for r in rest):
        raise ValueError(f"{ctx.origin}: K.concatenate along axis {axis}: shapes "
                         f"{[t.shape for t in tensors]} differ in another axis")
    shape = list(first.shape)
    shape[axis] = builtins.sum(t.shape[axis] for t in tensors)
    return _emit("concatenate", tensors, shape, axis=axis)


# ---- products -------------------------------------------------------------------------------

def dot(x, y):
    """x @ y over the last axis of x, for a 2-D y without a batch axis."""
    ctx = _ctx([x, y], "dot")
    if not isinstance(y, SymbolicTensor) or y.ndim != 2 or y.shape[0] is None:
        shape = getattr(y, "shape", None)
        raise ValueError(f"{ctx.origin}: K.dot needs a 2-D right operand without a batch axis, "
                         f"got shape {shape}; for two batched tensors use K.batch_dot")
    if x.shape[-1] != y.shape[0]:
        raise ValueError(f"{ctx.origin}: K.dot: shapes {x.shape} and {y.shape} do not align")
    return _emit("dense", [x, y], x.shape[:-1] + y.shape[1:], use_bias=False)


def _move_axis(x, source, dest):
    order = [d for d in range(x.ndim) if d != source]
    order.insert(dest, source)
    return permute_dimensions(x, order)


def batch_dot(x, y, axes=None):
    """Keras' batch_dot: per sample, the dot product of x and y along axes[0] of x and axes[1]
    of y; the result has x's other axes then y's other axes (at least (batch, 1))."""
    ctx = _ctx([x, y], "batch_dot")
    x, y = _check(x, "batch_dot", ctx), _check(y, "batch_dot", ctx)
    if x.ndim < 2 or y.ndim < 2 or x.shape[0] is not None or y.shape[0] is not None:
        raise ValueError(f"{ctx.origin}: K.batch_dot needs two batched tensors of rank >= 2, "
                         f"got shapes {x.shape} and {y.shape}")
    if axes is None:
        axes = (x.ndim - 1, y.ndim - 1 if y.ndim == 2 else y.ndim - 2)
    elif isinstance(axes, int):
        axes = (axes, axes)
    a0, a1 = (int(a) % n if -n <= int(a) < n else -1 for a, n in zip(axes, (x.ndim, y.ndim)))
    if a0 <= 0 or a1 <= 0:
        raise ValueError(f"{ctx.origin}: K.batch_dot: axes {tuple(axes)} must name non-batch "
                         f"axes of shapes {x.shape} and {y.shape}")
    if x.shape[a0] != y.shape[a1]:
        raise ValueError(f"{ctx.origin}: K.batch_dot: x.shape[{a0}] != y.shape[{a1}] "
                         f"({x.shape[a0]} != {y.shape[a1]}) for shapes {x.shape} and {y.shape}")
    x_free = [d for i, d in enumerate(x.shape) if i not in (0, a0)]
    y_free = [d for i, d in enumerate(y.shape) if i not in (0, a1)]
    out = (None,) + tuple(x_free) + tuple(y_free)
    if len(out) == 1:
        out += (1,)
    xs = _move_axis(x, a0, x.ndim - 1)  # (n, ..., k)
    ys = _move_axis(y, a1, 1)  # (n, k, ...)
    return _emit("batch_matmul", [xs, ys], out, i=prod_shape(x_free), k=x.shape[a0],
                 j=prod_shape(y_free))


def l2_normalize(x, axis=-1):
    """x / max(||x||, epsilon) along `axis` (Keras 3: x * min(rsqrt(sum x^2), 1 / epsilon))."""
    from .backend import epsilon

    ctx = _ctx([x], "l2_normalize")
    if axis is None:  # the whole tensor: only meaningful without a batch axis
        if x.shape[:1] == (None,):
            raise ValueError(f"{ctx.origin}: K.l2_normalize(axis=None) of a batched tensor")
        return reshape_to(l2_normalize(reshape_to(x, (prod_shape(x.shape),)), 0), x.shape)
    axis = _axis(x, axis, "l2_normalize")
    if axis == 0 and x.shape[:1] == (None,):
        raise ValueError(f"{ctx.origin}: K.l2_normalize along the batch axis")
    return _emit("l2_normalize", [x], x.shape, size=x.shape[axis],
                 inner=prod_shape(x.shape[axis + 1:]), epsilon=epsilon())


def matmul(a, b):
    """numpy's matmul: a batched (or not) tensor times a 2-D weight or constant, or two batched
    tensors of rank 3 (per-sample matrix products)."""
    ctx = _ctx([a, b], "matmul")
    a, b = _check(a, "matmul", ctx), _check(b, "matmul", ctx)
    if b.ndim == 2 and b.shape[0] is not None:
        return dot(a, b)
    if a.ndim == b.ndim == 3 and a.shape[0] is None and b.shape[0] is None:
        return batch_dot(a, b, axes=(2, 1))
    raise UnsupportedOperation(f"{ctx.origin}: ops.matmul of shapes {a.shape} and {b.shape}: "
                               "supported are (..., k) @ (k, m) with a weight or constant on the "
                               "right, and two batched (n, i, k) @ (n, k, j)")


# ---- elementwise functions built on the ops above ---------------------------------------------

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


# ---- reductions built on reduce ----------------------------------------------------------------

def prod(x, axis=None, keepdims=False):
    return _reduce("prod", x, axis, keepdims)


# ---- shapes -------------------------------------------------------------------------------------

def shape(x):
    """The static shape, None for the batch axis (as Keras 3's ops.shape on symbolic tensors;
    Keras 2's K.shape returned a tensor: use its entries as sizes, e.g. in random_normal)."""
    return x.shape


def dtype(x):
    return str(x.dtype)


def flatten(x):
    """All elements in one axis: only for a tensor without a batch axis (a weight); a batched
    tensor keeps its batch axis with K.batch_flatten."""
    if x.shape[:1] == (None,):
        raise UnsupportedOperation(f"{x._ctx.origin}: K.flatten of a batched tensor {x.shape} "
                                   "would merge samples; use K.batch_flatten(x)")
    return reshape_to(x, (prod_shape(x.shape),))


def getitem(x, key):
    """x[key] with static ints, slices, Ellipsis and None: a strided view copied (the `slice`
    op). The batch axis must be kept whole (`x[:, ...]`)."""
    ctx = x._ctx
    keys = list(key) if isinstance(key, tuple) else [key]
    if builtins.sum(k is Ellipsis for k in keys) > 1:
        raise IndexError(f"{ctx.origin}: an index can have only one Ellipsis")
    if Ellipsis in keys:
        at = keys.index(Ellipsis)
        fill = x.ndim - builtins.sum(k is not None for k in keys if k is not Ellipsis)
        keys[at:at + 1] = [slice(None)] * fill
    keys += [slice(None)] * (x.ndim - builtins.sum(k is not None for k in keys))
    strides = _strides(x.shape)
    offset, out_shape, out_strides, d = 0, [], [], 0
    for k in keys:
        if k is None:
            out_shape.append(1)
            out_strides.append(0)
            continue
        if d >= x.ndim:
            raise IndexError(f"{ctx.origin}: too many indices for a tensor of shape {x.shape}")
        size = x.shape[d]
        if isinstance(k, SymbolicTensor) or not isinstance(k, (int, np.integer, slice)):
            raise UnsupportedOperation(
                f"{ctx.origin}: indexing with {type(k).__name__} is not supported; indices "
                "must be static ints, slices, Ellipsis or None (gather with K.gather)")
        if size is None:
            if k != slice(None):
                raise UnsupportedOperation(f"{ctx.origin}: indexing the batch axis with {k!r}; "
                                           "keep it whole (x[:, ...])")
            out_shape.append(None)
            out_strides.append(0)  # the batch axis's stride is set below
        elif isinstance(k, slice):
            start, stop, step = k.indices(size)
            out_shape.append(len(range(start, stop, step)))
            out_strides.append(strides[d] * step)
            offset += start * strides[d]
        else:
            i = int(k)
            if not -size <= i < size:
                raise IndexError(f"{ctx.origin}: index {i} is out of range for axis {d} of "
                                 f"size {size} (shape {x.shape})")
            offset += (i % size) * strides[d]
        d += 1
    if x.shape[:1] == (None,):  # the batch axis: one sample's elements apart
        out_strides[out_shape.index(None)] = prod_shape(x.shape[1:])
    if tuple(out_shape) == x.shape and offset == 0 and tuple(out_strides) == \
            tuple(prod_shape(x.shape[1:]) if s is None else st
                  for s, st in zip(x.shape, strides)):
        return x
    if not out_shape:  # one element: gathered as shape (1,) (kernels take a strides tuple)
        return reshape_to(_emit("slice", [x], (1,), offset=int(offset), strides=(0,)), ())
    return _emit("slice", [x], out_shape, offset=int(offset),
                 strides=tuple(int(s) for s in out_strides))


def gather(reference, indices):
    """reference[indices] along its first axis (K.gather): a weight table indexed by integer
    ids that come straight from a model Input (checked before each call). No gradient
    reaches the indices."""
    ctx = _ctx([reference, indices], "gather")
    table, ids = _check(reference, "gather", ctx), _check(indices, "gather", ctx)
    if not isinstance(table, SymbolicTensor) or table.shape[:1] == (None,):
        raise UnsupportedOperation(f"{ctx.origin}: K.gather needs a table without a batch axis "
                                   "(a weight) as reference")
    ctx.index_input(ids._value, table.shape[0])
    (v,) = ctx.op("embedding", [ids._value, table._value],
                  [ids.shape + tuple(table.shape[1:])])
    return SymbolicTensor(ctx, v)


take = gather


# ---- random tensors: drawn fresh at every step ---------------------------------------------------

def _random(dist, shape, a, b, seed, fname):
    ctx = _ctx([], fname)
    if seed is not None:
        raise UnsupportedOperation(f"{ctx.origin}: K.{fname}(seed={seed!r}) inside a model: "
                                   "draws follow fnjit.utils.set_random_seed; leave seed=None")
    shape = tuple(None if d is None else int(d) for d in shape)
    if None in shape[1:]:
        raise ValueError(f"{ctx.origin}: K.{fname}: only the first axis of {shape} may be None "
                         "(the batch)")
    (v,) = ctx.op("random", [], [shape], attrs={"dist": dist, "a": float(a), "b": float(b)})
    return SymbolicTensor(ctx, v)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return _random("normal", shape, mean, stddev, seed, "random_normal")


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return _random("uniform", shape, minval, maxval, seed, "random_uniform")


def random_binomial(shape, p=0.0, dtype=None, seed=None):
    return _random("binomial", shape, p, 0.0, seed, "random_binomial")


# ---- composed of the primitives above (no template of their own) -------------------------
# zeros/ones families, any/all, stack, tile and repeats, one_hot, the crossentropies as
# functions; exported like the rest, so they dispatch (symbolic tensors or numpy) too.

def zeros_like(x, dtype=None):
    return multiply(x, 0.0)


def ones_like(x, dtype=None):
    return add(multiply(x, 0.0), 1.0)


def any(x, axis=None, keepdims=False):  # noqa: A001
    """1.0 where some element along `axis` is nonzero (no gradient)."""
    return max(not_equal(x, 0.0), axis, keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001
    return min(not_equal(x, 0.0), axis, keepdims)


def stack(tensors, axis=0):
    tensors = list(tensors)
    r = tensors[0].ndim + 1
    if not -r <= axis < r:
        raise ValueError(f"{tensors[0]._ctx.origin}: K.stack: axis {axis} is out of range")
    return concatenate([expand_dims(t, axis % r) for t in tensors], axis % r)


def _repeat_axis(x, axis, times, before):
    """x repeated `times` along `axis`: whole (before=True: tile) or element by element."""
    s = x.shape
    if times == 1:
        return x
    at = axis if before else axis + 1
    lifted = reshape_to(x, s[:at] + (1,) + s[at:])
    spread = broadcast_to(lifted, s[:at] + (times,) + s[at:])
    return reshape_to(spread, s[:axis] + (s[axis] * times,) + s[axis + 1:])


def tile(x, n):
    n = [int(k) for k in (n if isinstance(n, (list, tuple)) else [n])]
    n = [1] * (x.ndim - len(n)) + n
    if len(n) != x.ndim:
        raise ValueError(f"{x._ctx.origin}: K.tile: {len(n)} repetitions for a tensor of shape "
                         f"{x.shape}")
    if x.shape[:1] == (None,) and n[0] != 1:
        raise UnsupportedOperation(f"{x._ctx.origin}: K.tile along the batch axis")
    for axis, times in enumerate(n):
        x = _repeat_axis(x, axis, times, before=True)
    return x


def repeat_elements(x, rep, axis):
    axis = _axis(x, axis, "repeat_elements")
    if axis == 0 and x.shape[:1] == (None,):
        raise UnsupportedOperation(f"{x._ctx.origin}: K.repeat_elements along the batch axis")
    return _repeat_axis(x, axis, int(rep), before=False)


def repeat(x, n):
    """K.repeat: (batch, dim) -> (batch, n, dim)."""
    if x.ndim != 2:
        raise ValueError(f"{x._ctx.origin}: K.repeat needs a 2-D tensor, got {x.shape}")
    return broadcast_to(expand_dims(x, 1), (x.shape[0], int(n), x.shape[1]))


def one_hot(indices, num_classes):
    """1.0 at each index's position along a new last axis of `num_classes` (none for an index
    outside [0, num_classes)); no gradient."""
    x = expand_dims(indices, -1)
    shape = x.shape[:-1] + (int(num_classes),)
    classes = _constant(x._ctx, np.arange(num_classes).reshape((1,) * (x.ndim - 1) +
                                                               (int(num_classes),)))
    return equal(broadcast_to(x, shape), broadcast_to(classes, shape))


# ---- losses as functions (K.categorical_crossentropy, K.binary_crossentropy) --------------------

def _logsumexp(x, axis):
    top = max(x, axis, keepdims=True)
    return add(log(sum(exp(subtract(x, top)), axis, keepdims=True)), top)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per sample: -sum(target * log(p)) along `axis`; p = output normalised and clipped to
    [epsilon, 1 - epsilon], or softmax(output) with from_logits."""
    from .backend import epsilon

    if from_logits:
        logp = subtract(output, _logsumexp(output, axis))
    else:
        p = divide(output, sum(output, axis, keepdims=True))
        logp = log(clip(p, epsilon(), 1.0 - epsilon()))
    return negative(sum(multiply(target, logp), axis))


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise: -(t log p + (1 - t) log(1 - p)) with p clipped to [epsilon, 1 - epsilon];
    with from_logits, the stable relu(o) - o t + log(1 + exp(-|o|))."""
    from .backend import epsilon

    if from_logits:
        return add(subtract(relu(output), multiply(output, target)),
                       log(add(exp(negative(abs(output))), 1.0)))
    p = clip(output, epsilon(), 1.0 - epsilon())
    return negative(add(multiply(target, log(p)),
                                multiply(subtract(1.0, target),
                                             log(subtract(1.0, p)))))


def constant(value, dtype=None, shape=None, name=None):
    """A numpy array (used in a traced call, it becomes a constant of the compiled code)."""
    from . import backend

    a = np.asarray(value, dtype=dtype or backend.floatx())
    return np.broadcast_to(a, shape).copy() if shape is not None else a


def zeros(shape, dtype=None, name=None):
    from . import backend

    return np.zeros(shape, dtype or backend.floatx())


def ones(shape, dtype=None, name=None):
    from . import backend

    return np.ones(shape, dtype or backend.floatx())


def einsum(subscripts, *operands):
    """numpy's einsum for one or two operands, without `...` or repeated letters in an operand,
    as the ops above: sums, transposes, reshapes, dot / batch_dot; a letter shared by both
    operands and the output other than the batch axis is unrolled (slices, then stack)."""
    ctx = _ctx(list(operands), "einsum")
    tensors = [_check(o, "einsum", ctx) for o in operands]
    text = subscripts.replace(" ", "")
    ins, _, out = text.partition("->")
    terms = ins.split(",")
    if not _ or "." in text or len(terms) != len(tensors) or len(tensors) not in (1, 2) or \
            builtins.any(len(set(t)) != len(t) for t in terms + [out]) or \
            builtins.any(len(t) != o.ndim for t, o in zip(terms, tensors)):
        raise UnsupportedOperation(
            f"{ctx.origin}: einsum({subscripts!r}) on shapes {[o.shape for o in tensors]}: "
            "supported are one or two operands with an explicit '->' output, one letter per "
            "axis, no '...' and no repeated letter within an operand")
    return _einsum(list(terms), out, tensors)


def _einsum(terms, out, tensors):
    # Letters no one else reads are summed first.
    for k, (t, x) in enumerate(zip(terms, tensors)):
        others = set(out).union(*[u for j, u in enumerate(terms) if j != k])
        gone = [d for d, c in enumerate(t) if c not in others]
        if gone:
            tensors[k] = sum(x, gone)
            terms[k] = "".join(c for c in t if c in others)
    if len(tensors) == 1:
        return permute_dimensions(tensors[0], [terms[0].index(c) for c in out])
    (ta, tb), (a, b) = terms, tensors
    if a.shape[:1] != (None,) and b.shape[:1] == (None,):
        ta, tb, a, b = tb, ta, b, a  # the batched operand first
    batch = ta[0] if a.shape[:1] == (None,) else None
    batched_b = b.shape[:1] == (None,)
    if (batch is not None and batch not in out) or \
            batched_b != (batch is not None and tb[:1] == batch):
        raise UnsupportedOperation(
            f"{a._ctx.origin}: einsum('{ta},{tb}->{out}'): the batch axis must keep its "
            "letter in the output and be the first axis of each batched operand")
    shared = [c for c in out if c in ta and c in tb and c != batch]
    if shared:  # unrolled: one product per index of the first shared letter, then stacked
        c = shared[0]
        parts = [_einsum([ta.replace(c, ""), tb.replace(c, "")], out.replace(c, ""),
                         [_take(a, ta.index(c), i), _take(b, tb.index(c), i)])
                 for i in range(a.shape[ta.index(c)])]
        return stack(parts, axis=out.index(c))
    contract = [c for c in ta if c in tb and c != batch]
    fa = [c for c in ta if c not in tb and c != batch]
    fb = [c for c in tb if c not in ta and c != batch]
    size = dict(zip(ta, a.shape)) | dict(zip(tb, b.shape))
    lead = [batch] if batch else []
    k = prod_shape([size[c] for c in contract])
    left = reshape_to(
        permute_dimensions(a, [ta.index(c) for c in lead + fa + contract]),
        tuple(size[c] for c in lead) + (prod_shape([size[c] for c in fa]), k))
    if batch and batch in tb:  # both batched: per-sample products
        right = reshape_to(
            permute_dimensions(b, [tb.index(c) for c in [batch] + contract + fb]),
            (None, k, prod_shape([size[c] for c in fb])))
        y = batch_dot(left, right, axes=(2, 1))
    else:
        right = reshape_to(
            permute_dimensions(b, [tb.index(c) for c in contract + fb]),
            (k, prod_shape([size[c] for c in fb])))
        y = dot(left, right)
    got = lead + fa + fb
    y = reshape_to(y, tuple(size[c] for c in got))
    return permute_dimensions(y, [got.index(c) for c in out])


def _take(x, axis, i):
    """x with index i taken along `axis` (a static slice)."""
    return getitem(x, (slice(None),) * axis + (i,))



# ---- dispatch: IR ops for symbolic tensors, numpy for arrays ---------------------------------

def _leaves(args, kwargs):
    for a in list(args) + list(kwargs.values()):
        if isinstance(a, (list, tuple)):
            yield from a
        else:
            yield a


def _symbolic_call(args, kwargs):
    """Whether a call appends IR ops: it has a symbolic tensor (or a KerasTensor, which the
    traced form refuses with advice), or a weight while a call is being traced."""
    tracing = current_context() is not None
    for a in _leaves(args, kwargs):
        if isinstance(a, SymbolicTensor) or type(a).__name__ == "KerasTensor" or \
                (tracing and _is_variable(a)):
            return True
    return False


def _lift(value, ctx, fname):
    """Weights and arrays among a traced call's arguments (also inside lists) as tensors."""
    if _is_variable(value) or isinstance(value, np.ndarray) and value.ndim > 0:
        return _check(value, fname, ctx)
    if isinstance(value, list) and builtins.any(
            isinstance(v, SymbolicTensor) or _is_variable(v) for v in value):
        return [_lift(v, ctx, fname) for v in value]
    return value


def _dispatching(name, traced, eager):
    def dispatch(*args, **kwargs):
        # Random tensors in a traced call are drawn by the compiled code at every step.
        if _symbolic_call(args, kwargs) or eager is None or (
                name.startswith("random_") and current_context() is not None):
            ctx = current_context()
            if ctx is None:
                ctx = next((a._ctx for a in _leaves(args, kwargs)
                            if isinstance(a, SymbolicTensor)), None)
            if ctx is not None:
                args = [_lift(a, ctx, name) for a in args]
                kwargs = {k: _lift(v, ctx, name) for k, v in kwargs.items()}
            return traced(*args, **kwargs)
        return eager(*args, **kwargs)
    dispatch.__name__ = dispatch.__qualname__ = name
    dispatch.__doc__ = traced.__doc__
    dispatch.__wrapped__ = traced
    return dispatch


def _install_dispatch():
    from .eager import FUNCTIONS

    for name, eager in FUNCTIONS.items():
        if name in globals():
            globals()[name] = _dispatching(name, globals()[name], eager)


_install_dispatch()
