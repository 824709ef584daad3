"""Operations composed of the primitive ones in fnjit/ops.py (no template of their own): the
zeros/ones families, any/all, stack, tile and repeats, one_hot, the crossentropies as
functions. fnjit/ops.py exports them, so they dispatch (symbolic tensors or numpy) like the rest.
"""

from __future__ import annotations

import builtins

import numpy as np

from . import ops


def zeros_like(x, dtype=None):
    return ops.multiply(x, 0.0)


def ones_like(x, dtype=None):
    return ops.add(ops.multiply(x, 0.0), 1.0)


def any(x, axis=None, keepdims=False):  # noqa: A001
    """1.0 where some element along `axis` is nonzero (no gradient)."""
    return ops.max(ops.not_equal(x, 0.0), axis, keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001
    return ops.min(ops.not_equal(x, 0.0), axis, keepdims)


def stack(tensors, axis=0):
    tensors = list(tensors)
    r = tensors[0].ndim + 1
    if not -r <= axis < r:
        raise ValueError(f"{tensors[0]._ctx.origin}: K.stack: axis {axis} is out of range")
    return ops.concatenate([ops.expand_dims(t, axis % r) for t in tensors], axis % r)


def _repeat_axis(x, axis, times, before):
    """x repeated `times` along `axis`: whole (before=True: tile) or element by element."""
    s = x.shape
    if times == 1:
        return x
    at = axis if before else axis + 1
    lifted = ops.reshape_to(x, s[:at] + (1,) + s[at:])
    spread = ops.broadcast_to(lifted, s[:at] + (times,) + s[at:])
    return ops.reshape_to(spread, s[:axis] + (s[axis] * times,) + s[axis + 1:])


def tile(x, n):
    n = [int(k) for k in (n if isinstance(n, (list, tuple)) else [n])]
    n = [1] * (x.ndim - len(n)) + n
    if len(n) != x.ndim:
        raise ValueError(f"{x._ctx.origin}: K.tile: {len(n)} repetitions for a tensor of shape "
                         f"{x.shape}")
    if x.shape[:1] == (None,) and n[0] != 1:
        raise ops.UnsupportedOperation(f"{x._ctx.origin}: K.tile along the batch axis")
    for axis, times in enumerate(n):
        x = _repeat_axis(x, axis, times, before=True)
    return x


def repeat_elements(x, rep, axis):
    axis = ops._axis(x, axis, "repeat_elements")
    if axis == 0 and x.shape[:1] == (None,):
        raise ops.UnsupportedOperation(f"{x._ctx.origin}: K.repeat_elements along the batch axis")
    return _repeat_axis(x, axis, int(rep), before=False)


def repeat(x, n):
    """K.repeat: (batch, dim) -> (batch, n, dim)."""
    if x.ndim != 2:
        raise ValueError(f"{x._ctx.origin}: K.repeat needs a 2-D tensor, got {x.shape}")
    return ops.broadcast_to(ops.expand_dims(x, 1), (x.shape[0], int(n), x.shape[1]))


def one_hot(indices, num_classes):
    """1.0 at each index's position along a new last axis of `num_classes` (none for an index
    outside [0, num_classes)); no gradient."""
    x = ops.expand_dims(indices, -1)
    shape = x.shape[:-1] + (int(num_classes),)
    classes = ops._constant(x._ctx, np.arange(num_classes).reshape((1,) * (x.ndim - 1) +
                                                               (int(num_classes),)))
    return ops.equal(ops.broadcast_to(x, shape), ops.broadcast_to(classes, shape))


# ---- losses as functions (K.categorical_crossentropy, K.binary_crossentropy) --------------------

def _logsumexp(x, axis):
    top = ops.max(x, axis, keepdims=True)
    return ops.add(ops.log(ops.sum(ops.exp(ops.subtract(x, top)), axis, keepdims=True)), top)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per sample: -sum(target * log(p)) along `axis`; p = output normalised and clipped to
    [epsilon, 1 - epsilon], or softmax(output) with from_logits."""
    from .backend import epsilon

    if from_logits:
        logp = ops.subtract(output, _logsumexp(output, axis))
    else:
        p = ops.divide(output, ops.sum(output, axis, keepdims=True))
        logp = ops.log(ops.clip(p, epsilon(), 1.0 - epsilon()))
    return ops.negative(ops.sum(ops.multiply(target, logp), axis))


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise: -(t log p + (1 - t) log(1 - p)) with p clipped to [epsilon, 1 - epsilon];
    with from_logits, the stable relu(o) - o t + log(1 + exp(-|o|))."""
    from .backend import epsilon

    if from_logits:
        return ops.add(ops.subtract(ops.relu(output), ops.multiply(output, target)),
                       ops.log(ops.add(ops.exp(ops.negative(ops.abs(output))), 1.0)))
    p = ops.clip(output, epsilon(), 1.0 - epsilon())
    return ops.negative(ops.add(ops.multiply(target, ops.log(p)),
                                ops.multiply(ops.subtract(1.0, target),
                                             ops.log(ops.subtract(1.0, p)))))


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
    ctx = ops._ctx(list(operands), "einsum")
    tensors = [ops._check(o, "einsum", ctx) for o in operands]
    text = subscripts.replace(" ", "")
    ins, _, out = text.partition("->")
    terms = ins.split(",")
    if not _ or "." in text or len(terms) != len(tensors) or len(tensors) not in (1, 2) or \
            builtins.any(len(set(t)) != len(t) for t in terms + [out]) or \
            builtins.any(len(t) != o.ndim for t, o in zip(terms, tensors)):
        raise ops.UnsupportedOperation(
            f"{ctx.origin}: ops.einsum({subscripts!r}) on shapes {[o.shape for o in tensors]}: "
            "supported are one or two operands with an explicit '->' output, one letter per "
            "axis, no '...' and no repeated letter within an operand")
    return _einsum(list(terms), out, tensors)


def _einsum(terms, out, tensors):
    # Letters no one else reads are summed first.
    for k, (t, x) in enumerate(zip(terms, tensors)):
        others = set(out).union(*[u for j, u in enumerate(terms) if j != k])
        gone = [d for d, c in enumerate(t) if c not in others]
        if gone:
            tensors[k] = ops.sum(x, gone)
            terms[k] = "".join(c for c in t if c in others)
    if len(tensors) == 1:
        return ops.permute_dimensions(tensors[0], [terms[0].index(c) for c in out])
    (ta, tb), (a, b) = terms, tensors
    if a.shape[:1] != (None,) and b.shape[:1] == (None,):
        ta, tb, a, b = tb, ta, b, a  # the batched operand first
    batch = ta[0] if a.shape[:1] == (None,) else None
    batched_b = b.shape[:1] == (None,)
    if (batch is not None and batch not in out) or \
            batched_b != (batch is not None and tb[:1] == batch):
        raise ops.UnsupportedOperation(
            f"{a._ctx.origin}: ops.einsum('{ta},{tb}->{out}'): the batch axis must keep its "
            "letter in the output and be the first axis of each batched operand")
    shared = [c for c in out if c in ta and c in tb and c != batch]
    if shared:  # unrolled: one product per index of the first shared letter, then stacked
        c = shared[0]
        parts = [_einsum([ta.replace(c, ""), tb.replace(c, "")], out.replace(c, ""),
                         [_take(a, ta.index(c), i), _take(b, tb.index(c), i)])
                 for i in range(a.shape[ta.index(c)])]
        return ops.stack(parts, axis=out.index(c))
    contract = [c for c in ta if c in tb and c != batch]
    fa = [c for c in ta if c not in tb and c != batch]
    fb = [c for c in tb if c not in ta and c != batch]
    size = dict(zip(ta, a.shape)) | dict(zip(tb, b.shape))
    lead = [batch] if batch else []
    k = ops.prod_shape([size[c] for c in contract])
    left = ops.reshape_to(
        ops.permute_dimensions(a, [ta.index(c) for c in lead + fa + contract]),
        tuple(size[c] for c in lead) + (ops.prod_shape([size[c] for c in fa]), k))
    if batch and batch in tb:  # both batched: per-sample products
        right = ops.reshape_to(
            ops.permute_dimensions(b, [tb.index(c) for c in [batch] + contract + fb]),
            (None, k, ops.prod_shape([size[c] for c in fb])))
        y = ops.batch_dot(left, right, axes=(2, 1))
    else:
        right = ops.reshape_to(
            ops.permute_dimensions(b, [tb.index(c) for c in contract + fb]),
            (k, ops.prod_shape([size[c] for c in fb])))
        y = ops.dot(left, right)
    got = lead + fa + fb
    y = ops.reshape_to(y, tuple(size[c] for c in got))
    return ops.permute_dimensions(y, [got.index(c) for c in out])


def _take(x, axis, i):
    """x with index i taken along `axis` (a static slice)."""
    return ops.getitem(x, (slice(None),) * axis + (i,))
