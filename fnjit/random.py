"""fnjit's random state: one numpy Generator for initialisers and shuffling, and a seed for the
generated code's own generator (dropout)."""

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
