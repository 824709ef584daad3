"""Random tensors in a traced call (the `random` template): drawn fresh by the compiled code at
every step, seeded from fnjit.utils.set_random_seed.
"""

from __future__ import annotations

from ..tracing import SymbolicTensor, UnsupportedOperation
from .emit import _ctx


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
