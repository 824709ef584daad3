"""fnjit's random state: one numpy Generator for initialisers and shuffling, and a seed for the
generated code's own generator (dropout, random tensors); and `keras.random`'s normal, uniform
and SeedGenerator for user code."""

from __future__ import annotations

import numpy as np

_GENERATOR = np.random.default_rng()


def set_seed(seed: int):
    global _GENERATOR
    _GENERATOR = np.random.default_rng(seed)


def generator(seed=None) -> np.random.Generator:
    return np.random.default_rng(seed) if seed is not None else _GENERATOR


def draw_seed() -> int:
    return int(_GENERATOR.integers(0, 2**31 - 1))


# ---- keras.random: random tensors in user code ------------------------------------------------

class SeedGenerator:
    """Keras 3's seed state for `fnjit.random` draws: outside a model each draw advances it;
    inside a traced call the compiled code draws afresh at every step (as a SeedGenerator does
    under Keras' tracing), from the generator fnjit.utils.set_random_seed seeds."""

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs:
            raise TypeError(f"SeedGenerator: unexpected arguments {sorted(kwargs)}")
        self._generator = np.random.default_rng(seed)


def _draw(kind, shape, params, dtype, seed):
    from . import ops
    from .tracing import current_context

    if current_context() is not None:
        return getattr(ops, f"random_{kind}")(shape, *params, dtype=dtype,
                                              seed=None if isinstance(seed, SeedGenerator)
                                              else seed)
    from . import backend

    gen = seed._generator if isinstance(seed, SeedGenerator) else generator(seed)
    draw = gen.normal if kind == "normal" else gen.uniform
    return draw(*params, size=tuple(shape)).astype(dtype or backend.floatx())


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return _draw("normal", shape, (mean, stddev), dtype, seed)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return _draw("uniform", shape, (minval, maxval), dtype, seed)
