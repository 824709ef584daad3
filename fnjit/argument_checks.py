"""Checks of what fit / evaluate / predict are given: arrays of real numbers, integer data
that an integer dtype holds exactly, counts (batch_size, steps, epochs), verbose, and Keras'
class_weight turned into per-sample weights. Each refuses with an error naming the argument.
"""

from __future__ import annotations

import math

import numpy as np

from . import backend


def _numeric_array(data, what):
    """`data` as a numpy array of real numbers (bool, int or float), or a clear error."""
    try:
        a = np.asarray(data)
    except ValueError as e:  # numpy refuses ragged nested lists
        raise ValueError(f"{what}: cannot be made an array (ragged rows?): {e}") from None
    if a.dtype.kind not in "biuf":
        kind = {"c": "complex", "O": "object (ragged rows or mixed types?)", "U": "string",
                "S": "bytes"}.get(a.dtype.kind, str(a.dtype))
        raise TypeError(f"{what}: arrays of {kind} dtype {a.dtype} are not supported; give "
                        "real numbers (float, int or bool)")
    return a


def _check_integers(a, dtype, what):
    """Refuse values that an integer dtype cannot hold exactly: a narrowing cast would wrap
    them (2**32 + 9 as int32 is 9) or cut them (3.5 to 3)."""
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a) | (a != np.floor(a))
        if bad.any():
            raise ValueError(f"{what} has integer dtype {dtype} but its data holds non-integer "
                             f"values such as {a[bad].ravel()[:3]}")
    info = np.iinfo(dtype)
    bad = (a < info.min) | (a > info.max)
    if bad.any():
        raise ValueError(f"{what} has dtype {dtype} but its data holds values out of its range "
                         f"[{info.min}, {info.max}] such as {a[bad].ravel()[:3]}")


def _class_weights_to_samples(class_weight, y, caller):
    """Keras' conversion: each sample weighs class_weight[its class] (1 for a class not
    named); the class is the argmax of a one-hot row, else the (rounded) label."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"{caller}: class_weight must be a dict {{class index: weight}}, got "
                        f"{type(class_weight).__name__}")
    table = {}
    for c, w in class_weight.items():
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)):
            raise ValueError(f"{caller}: class_weight keys must be integer class indices, got "
                             f"{c!r}")
        if isinstance(w, bool) or not isinstance(w, (int, float, np.number)) or \
                not math.isfinite(w):
            raise ValueError(f"{caller}: class_weight[{c}] must be a finite number, got {w!r}")
        table[int(c)] = float(w)
    labels = y if y.ndim == 1 else (y.argmax(-1) if y.shape[-1] != 1 else y[..., 0])
    if labels.ndim != 1:
        raise ValueError(f"{caller}: class_weight needs one class per sample; the targets of "
                         f"shape {y.shape} have several (use sample_weight)")
    labels = np.round(labels).astype(np.int64)
    return np.array([table.get(int(c), 1.0) for c in labels], backend.floatx())


def _count(value, what, caller, default=None, least=1):
    """An integer argument of at least `least` (batch_size, steps, epochs...), None giving
    `default`."""
    if value is None:
        return default
    words = "a positive integer" if least == 1 else f"an integer >= {least}"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{caller}: {what} must be {words}, got {value!r}")
    if value < least:
        raise ValueError(f"{caller}: {what} must be {words}, got {value}")
    return int(value)


def _verbosity(verbose, caller):
    """Keras' verbose: 'auto' (1 here), 0 silent, 1 progress bar, 2 one line per epoch."""
    if verbose == "auto":
        return 1
    if isinstance(verbose, (bool, int, np.integer)) and int(verbose) in (0, 1, 2):
        return int(verbose)
    raise ValueError(f"{caller}: verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
