"""Products: K.dot (the `dense` template without bias), batch_dot (`batch_matmul`), matmul,
and einsum written with them (sums, transposes, reshapes, dot / batch_dot).
"""

from __future__ import annotations

import builtins

from ..tracing import SymbolicTensor, UnsupportedOperation
from .emit import _check, _ctx, _emit, prod_shape, reshape_to
from .reductions import sum
from .shapes import getitem, permute_dimensions, stack


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
