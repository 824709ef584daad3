"""Shapes and indexing: reshape, expand/squeeze, transposes, concatenate, static indexing
(the `slice` template), gather (the `embedding` template), stack, tile and repeats.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..tracing import SymbolicTensor, UnsupportedOperation
from .emit import (
    _axis,
    _check,
    _ctx,
    _emit,
    _strides,
    broadcast_to,
    permute_value,
    prod_shape,
    reshape_to,
)


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
