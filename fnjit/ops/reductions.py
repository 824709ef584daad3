"""Reductions over axes (the `reduce` template: sum, mean, max, min, prod, argmax, argmin)
and what is built on them: var, std, any, all, and l2_normalize (its own template).
"""

from __future__ import annotations

from .elementwise import not_equal, sqrt, square, subtract
from .emit import _axis, _check, _ctx, _emit, prod_shape, reshape_to


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


def l2_normalize(x, axis=-1):
    """x / max(||x||, epsilon) along `axis` (Keras 3: x * min(rsqrt(sum x^2), 1 / epsilon))."""
    from ..backend import epsilon

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


def prod(x, axis=None, keepdims=False):
    return _reduce("prod", x, axis, keepdims)


def any(x, axis=None, keepdims=False):  # noqa: A001
    """1.0 where some element along `axis` is nonzero (no gradient)."""
    return max(not_equal(x, 0.0), axis, keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001
    return min(not_equal(x, 0.0), axis, keepdims)
