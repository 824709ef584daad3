"""The tracer: symbolic tensors, and running user code on them.

While a model is lowered, a Lambda layer's function, a custom layer's `call`, a custom loss and
a custom metric receive `SymbolicTensor`s: values of the IR graph being built. Each ops/backend
function (fnjit/ops/) and each Python operator on them appends IR ops through the
LoweringContext and returns a new SymbolicTensor, so that whatever user code computes is
compiled and differentiated like any layer. A `Variable` (a weight) used in traced code becomes
an IR param of the context being traced (`current_context`).

A layer learns its output shape by tracing into a scratch graph (`trace_shapes`): nothing is
compiled for that.
"""

from __future__ import annotations

import contextlib
import os
import traceback

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_TRACING = []  # the contexts being traced into, innermost last


class UnsupportedOperation(TypeError):
    """User code did something with a symbolic tensor that cannot be compiled."""


class SymbolicTensor:
    """An IR value seen from user code: a Lambda's function, a custom layer's call, a custom
    loss or metric."""

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

    # ---- operators: the ops functions --------------------------------------------------------
    def __add__(self, other):
        return _ops().add(self, other)

    def __radd__(self, other):
        return _ops().add(other, self)

    def __sub__(self, other):
        return _ops().subtract(self, other)

    def __rsub__(self, other):
        return _ops().subtract(other, self)

    def __mul__(self, other):
        return _ops().multiply(self, other)

    def __rmul__(self, other):
        return _ops().multiply(other, self)

    def __truediv__(self, other):
        return _ops().divide(self, other)

    def __rtruediv__(self, other):
        return _ops().divide(other, self)

    def __pow__(self, other):
        return _ops().pow(self, other)

    def __rpow__(self, other):
        return _ops().pow(other, self)

    def __matmul__(self, other):
        return _ops().matmul(self, other)

    def __rmatmul__(self, other):
        return _ops().matmul(other, self)

    def __neg__(self):
        return _ops().negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops().abs(self)

    def __gt__(self, other):
        return _ops().greater(self, other)

    def __ge__(self, other):
        return _ops().greater_equal(self, other)

    def __lt__(self, other):
        return _ops().less(self, other)

    def __le__(self, other):
        return _ops().less_equal(self, other)

    def __getitem__(self, key):
        return _ops().getitem(self, key)

    # ---- what cannot be compiled: say so, naming the call ----------------------------------
    def _unsupported(self, what, hint="use the fnjit.ops / fnjit.backend (K) functions"):
        return UnsupportedOperation(
            f"{self._ctx.origin}: {what} cannot be applied to a symbolic tensor "
            f"({self._value}, shape {self.shape}): the function is compiled, not run on data; "
            f"{hint}")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise self._unsupported(f"numpy.{ufunc.__name__}",
                                f"use ops.{ufunc.__name__} or another fnjit.ops function")

    def __array_function__(self, func, types, args, kwargs):
        raise self._unsupported(f"numpy.{func.__name__}",
                                f"use ops.{func.__name__} or another fnjit.ops function")

    def __array__(self, *args, **kwargs):
        raise self._unsupported("numpy.asarray (conversion to a numpy array)")

    def __bool__(self):
        raise self._unsupported("bool() (a Python `if` or `and` on tensor values)",
                                "use K.switch, K.maximum, K.minimum, K.clip or the comparison "
                                "functions")

    def __float__(self):
        raise self._unsupported("float() (or a math module function)")

    def __int__(self):
        raise self._unsupported("int()")

    def __index__(self):
        raise self._unsupported("use as an index")

    def __iter__(self):
        raise self._unsupported("iteration", "index with static integers, e.g. x[:, 0]")

    def __len__(self):
        raise self._unsupported("len()", "use K.int_shape(x)")


def _ops():
    from . import ops

    return ops


def current_context():
    """The lowering context being traced into, or None outside tracing."""
    return _TRACING[-1] if _TRACING else None


def _is_user_file(filename):
    path = os.path.abspath(filename)
    return filename.endswith(".py") and not path.startswith(_PACKAGE + os.sep) and \
        "site-packages" not in path and not path.startswith(_STDLIB)


_STDLIB = os.path.dirname(os.__file__)


def _user_line(tb):
    """`file:line: code` of the innermost traceback frame outside fnjit (the user's line)."""
    frames = [f for f in traceback.extract_tb(tb) if _is_user_file(f.filename)]
    if not frames:
        return ""
    f = frames[-1]
    return f" (at {f.filename}:{f.lineno}: {(f.line or '').strip()})"


SUPPORTED = ("the fnjit.ops / fnjit.backend (K) functions (e.g. ops.matmul, K.mean, K.exp, "
             "K.concatenate), Python arithmetic and comparison operators, indexing with "
             "static ints and slices, and calling layers")


def trace(ctx, fn, values, *, single=True, arguments=None, where=""):
    """Call `fn` on symbolic tensors for IR `values` (a list; one tensor when `single`).
    Returns (list of output value names, whether fn returned a list)."""
    syms = [SymbolicTensor(ctx, v) for v in values]
    arg = syms[0] if single else syms
    where = where or ctx.origin
    _TRACING.append(ctx)
    try:
        out = fn(arg, **(arguments or {}))
    except UnsupportedOperation as e:
        line = _user_line(e.__traceback__)
        text = str(e)
        if where not in text:  # raised where no layer was known: name it
            text = f"{where}: {text}"
        if line and "(at " not in text:
            text += line
        if text != str(e):
            raise UnsupportedOperation(text) from e
        raise
    except ValueError as e:  # a shape or axis error: add the user's line
        line = _user_line(e.__traceback__)
        if type(e) is ValueError and line and "(at " not in str(e):
            raise ValueError(f"{e}{line}") from e
        raise
    except (TypeError, AttributeError) as e:
        raise UnsupportedOperation(
            f"{where}: the function failed on symbolic tensors "
            f"({type(e).__name__}: {e}){_user_line(e.__traceback__)}; tensors there are "
            f"symbolic (compiled, not run on data): supported are {SUPPORTED}") from e
    finally:
        _TRACING.pop()
    multi = isinstance(out, (list, tuple))
    outs = list(out) if multi else [out]
    for o in outs:
        if not isinstance(o, SymbolicTensor) or o._ctx is not ctx:
            raise UnsupportedOperation(
                f"{where}: the function returned {type(o).__name__}; it must return a tensor "
                f"computed from its inputs with {SUPPORTED}")
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
    return _ops().broadcast_to(SymbolicTensor(ctx, value), (None,) + tuple(shape))._value


# ---- losses added in traced code (Layer.add_loss) --------------------------------------------

_IGNORE_LOSSES = [0]


@contextlib.contextmanager
def losses_ignored():
    """A second trace of the same call (its inference branch) adds no losses again."""
    _IGNORE_LOSSES[0] += 1
    try:
        yield
    finally:
        _IGNORE_LOSSES[0] -= 1


def add_traced_loss(loss, who):
    """Record `loss` (summed over its elements, as Keras 3) as a term of the training loss of
    the model being lowered. Outside a traced call there is nothing to add it to."""
    ctx = current_context()
    if ctx is None:
        raise ValueError(f"{who}: add_loss(...) works inside a layer's or subclassed model's "
                         "`call` (traced when the model is compiled); Keras 3 refuses it on a "
                         "functional model too: add the loss in a layer's call")
    ops = _ops()
    if isinstance(loss, (int, float)):
        raise ValueError(f"{who}: add_loss got the constant {loss!r}; a loss must be a tensor "
                         "computed from the layer's inputs or weights")
    loss = ops._check(loss, "add_loss", ctx)
    if _IGNORE_LOSSES[0]:
        return
    total = ops.sum(loss) if loss.ndim else loss
    ctx.added_losses.append(per_sample(ctx, total._value))
