"""Utilities, as `keras.utils`."""

from __future__ import annotations

import numpy as np

from . import random as _random


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer class labels: shape (n,) or (n, 1) -> (n, num_classes)."""
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    if y.size and (not np.all(np.isfinite(y)) or np.any(y < 0) or np.any(y != np.floor(y))):
        raise ValueError("to_categorical: labels must be non-negative integers")
    y = y.astype(int)
    num_classes = int(num_classes if num_classes is not None else (y.max() + 1 if y.size else 0))
    if y.size and y.max() >= num_classes:
        raise ValueError(f"to_categorical: label {y.max()} does not fit num_classes="
                         f"{num_classes}")
    out = np.zeros(y.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out


def normalize(x, axis=-1, order=2):
    x = np.asarray(x, dtype=float)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    norm[norm == 0] = 1
    return x / norm


def set_random_seed(seed):
    """Seed initialisers, shuffling and dropout (and numpy's global generator)."""
    np.random.seed(seed)
    _random.set_seed(seed)
