"""The differentiable backend operations (`fnjit.backend`, imported as K) and the symbolic tensors
they work on.

While a model is lowered, a Lambda layer's function, a custom loss and a custom metric receive
`SymbolicTensor`s: values of the IR graph being built. Each K function (and each arithmetic
operator) on them appends IR ops through the LoweringContext and returns a new SymbolicTensor,
so that whatever a user function computes is compiled and differentiated like any layer. The
maths lives in the templates: elementwise, broadcast, reduce, transpose, batch_matmul, and the
existing activation, softmax, reshape, concatenate and dense ops.

A Lambda layer learns its output shape by tracing its function into a scratch graph
(`trace_shapes`): nothing is compiled for that.

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
    "SymbolicTensor", "abs", "add", "argmax", "argmin", "batch_dot", "batch_flatten", "cast",
    "clip", "concatenate", "divide", "dot", "elu", "equal", "exp", "expand_dims", "greater",
    "greater_equal", "int_shape", "l2_normalize", "leaky_relu", "less", "less_equal", "log",
    "max", "maximum", "mean", "min", "minimum", "multiply", "ndim", "negative", "not_equal",
    "permute_dimensions", "pow", "power", "prod_shape", "relu", "reshape", "sigmoid",
    "softmax", "sqrt", "square", "squeeze", "std", "subtract", "sum", "tanh", "transpose",
    "var",
]


class UnsupportedOperation(TypeError):
    """A user function did something with a symbolic tensor that cannot be compiled."""


class SymbolicTensor:
    """An IR value seen from user code: a Lambda's function, a custom loss or metric."""

    __array_priority__ = 1000  # numpy defers binary operators to us (then raises, below)

    def __init__(self, ctx, value):
        self._ctx = ctx
        self._value = value

    @property
    def value(self):
        """The IR value name."""
        return self._value

    @property
    def shape(self):
        return tuple(self._ctx.shape(self._value))

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def dtype(self):
        return self._ctx.dtype(self._value)

    def __repr__(self):
        return f"<SymbolicTensor {self._value} shape={self.shape} dtype={self.dtype}>"

    # ---- arithmetic: the K functions -------------------------------------------------------
    def __add__(self, other):
        return add(self, other)

    def __radd__(self, other):
        return add(other, self)

    def __sub__(self, other):
        return subtract(self, other)

    def __rsub__(self, other):
        return subtract(other, self)

    def __mul__(self, other):
        return multiply(self, other)

    def __rmul__(self, other):
        return multiply(other, self)

    def __truediv__(self, other):
        return divide(self, other)

    def __rtruediv__(self, other):
        return divide(other, self)

    def __pow__(self, other):
        return pow(self, other)

    def __rpow__(self, other):
        return pow(other, self)

    def __neg__(self):
        return negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return abs(self)

    # ---- what cannot be compiled: say so, naming the call ----------------------------------
    def _unsupported(self, what, hint="use the fnjit.backend (K) functions"):
        return UnsupportedOperation(
            f"{self._ctx.origin}: {what} cannot be applied to a symbolic tensor "
            f"({self._value}, shape {self.shape}): the function is compiled, not run on data; "
            f"{hint}")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise self._unsupported(f"numpy.{ufunc.__name__}",
                                f"use K.{ufunc.__name__} or another fnjit.backend function")

    def __array_function__(self, func, types, args, kwargs):
        raise self._unsupported(f"numpy.{func.__name__}",
                                f"use K.{func.__name__} or another fnjit.backend function")

    def __array__(self, *args, **kwargs):
        raise self._unsupported("numpy.asarray (conversion to a numpy array)")

    def __bool__(self):
        raise self._unsupported("bool() (a Python `if` or `and` on tensor values)",
                                "use K.maximum, K.minimum, K.clip or the comparison functions")

    def __float__(self):
        raise self._unsupported("float() (or a math module function)")

    def __int__(self):
        raise self._unsupported("int()")

    def __index__(self):
        raise self._unsupported("use as an index")

    def __iter__(self):
        raise self._unsupported("iteration")

    def __len__(self):
        raise self._unsupported("len()", "use K.int_shape(x)")

    def __getitem__(self, key):
        raise self._unsupported("indexing / slicing", "slicing is not supported yet")


# ---- helpers ------------------------------------------------------------------------------

def _is_scalar(v):
    return isinstance(v, numbers.Real) and not isinstance(v, np.ndarray)


def _ctx(args, fname):
    """The lowering context of the first symbolic tensor among `args`."""
    for a in args:
        if isinstance(a, SymbolicTensor):
            return a._ctx
    for a in args:
        if type(a).__name__ == "KerasTensor":
            raise TypeError(f"K.{fname} was called on a KerasTensor ({a.name}) outside a layer: "
                            f"wrap it in a Lambda layer, e.g. Lambda(lambda x: K.{fname}(x))(t)")
    kinds = ", ".join(type(a).__name__ for a in args)
    raise TypeError(f"K.{fname} expects a symbolic tensor (inside a Lambda layer, a custom loss "
                    f"or metric), got {kinds}")


def _check(x, fname, ctx=None):
    if isinstance(x, SymbolicTensor):
        if ctx is not None and x._ctx is not ctx:
            raise ValueError(f"K.{fname}: tensors from two different models were mixed")
        return x
    if _is_scalar(x):
        return x
    where = ctx.origin + ": " if ctx is not None else ""
    raise UnsupportedOperation(f"{where}K.{fname} got a {type(x).__name__}; only symbolic "
                               "tensors and Python numbers are supported (no constant arrays)")


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
    x = _check(x, fn)
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
    if out is None or any(d is None for d in out[1:]):
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
        def constant(x, c):
            raise UnsupportedOperation(f"{x._ctx.origin}: K.{fn} of a tensor and a number is "
                                       "not supported yet")
        return _binary(fn, a, b, constant, constant, lambda p, q: float(
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
    if len(unknown) > 1 or any(d is not None and d < -1 or d == 0 for d in dims):
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
    if any(t.ndim != first.ndim for t in tensors) or any(r != rest[0] for r in rest):
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


# ---- tracing user functions -----------------------------------------------------------------

def trace(ctx, fn, values, *, single=True, arguments=None, where=""):
    """Call `fn` on symbolic tensors for IR `values` (a list; one tensor when `single`).
    Returns (list of output value names, whether fn returned a list)."""
    syms = [SymbolicTensor(ctx, v) for v in values]
    arg = syms[0] if single else syms
    try:
        out = fn(arg, **(arguments or {}))
    except UnsupportedOperation as e:
        where = where or ctx.origin
        if where not in str(e):  # raised where no layer was known: name it
            raise UnsupportedOperation(f"{where}: {e}") from e
        raise
    except (TypeError, AttributeError) as e:
        raise UnsupportedOperation(
            f"{where or ctx.origin}: the function failed on symbolic tensors "
            f"({type(e).__name__}: {e}); inside a Lambda, custom loss or metric, tensors are "
            "symbolic: compute with the fnjit.backend (K) functions") from e
    multi = isinstance(out, (list, tuple))
    outs = list(out) if multi else [out]
    for o in outs:
        if not isinstance(o, SymbolicTensor) or o._ctx is not ctx:
            raise UnsupportedOperation(
                f"{where or ctx.origin}: the function returned {type(o).__name__}; it must "
                "return a tensor computed from its inputs with fnjit.backend (K) functions")
    return [o._value for o in outs], multi


def trace_shapes(fn, shapes, *, single=True, arguments=None, where="", floatx=None):
    """The output shape(s) of `fn` on inputs of `shapes`, traced into a scratch graph."""
    from . import backend
    from .lowering import LoweringContext

    ctx = LoweringContext(floatx or backend.floatx())
    ctx.origin = where
    values = [ctx.builder.input(f"in{i}", s) for i, s in enumerate(shapes)]
    outs, multi = trace(ctx, fn, values, single=single, arguments=arguments, where=where)
    result = [tuple(ctx.shape(v)) for v in outs]
    return result if multi else result[0]


def per_sample(ctx, value):
    """A value with a batch axis: one without (a scalar such as K.mean(y_pred)) is repeated
    along a new batch axis, so that its batch mean is itself and its gradient flows back."""
    shape = ctx.shape(value)
    if shape[:1] == (None,):
        return value
    return broadcast_to(SymbolicTensor(ctx, value), (None,) + tuple(shape))._value
