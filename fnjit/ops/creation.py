"""K.constant, K.zeros, K.ones: numpy arrays (used in a traced call, an array becomes a
constant of the compiled code).
"""

from __future__ import annotations

import numpy as np


def constant(value, dtype=None, shape=None, name=None):
    """A numpy array (used in a traced call, it becomes a constant of the compiled code)."""
    from .. import backend

    a = np.asarray(value, dtype=dtype or backend.floatx())
    return np.broadcast_to(a, shape).copy() if shape is not None else a


def zeros(shape, dtype=None, name=None):
    from .. import backend

    return np.zeros(shape, dtype or backend.floatx())


def ones(shape, dtype=None, name=None):
    from .. import backend

    return np.ones(shape, dtype or backend.floatx())
