"""Weight constraints, as `keras.constraints`: projections applied to a weight after every
optimizer update (Keras 3 applies them to each trainable weight right after the update).

The built-in constraints are compiled into the training step, after the update
(templates/constraint.j2; `lowered` gives the template its attributes). Any other callable, and
a norm constraint whose axes are not contiguous, runs in Python right after each native step on
the weight's view into the flat parameter buffer (fnjit/param_store.py): it gets the weight as a
numpy array and returns the projected value of the same shape. Called on a numpy array, the
built-in constraints compute the same formula with numpy.
"""

from __future__ import annotations

import numpy as np

from . import registry
from .backend import epsilon


def _norms(w, axis):
    axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class: `__call__(w)` returns the projected weight."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MaxNorm(Constraint):
    """Rescales the slices along `axis` whose L2 norm exceeds `max_value`."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = np.clip(norms, 0, self.max_value)
        return w * (desired / (epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves the norm of each slice along `axis` by `rate` toward [min_value, max_value]."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + \
            (1 - self.rate) * norms
        return w * (desired / (epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class NonNeg(Constraint):
    """max(w, 0)."""

    def __call__(self, w):
        return np.maximum(w, 0)


class UnitNorm(Constraint):
    """Each slice along `axis` divided by its L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm

_CLASSES = (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)
_BY_NAME = {cls.__name__: cls for cls in _CLASSES}
_BY_NAME.update({"constraint": Constraint, "max_norm": MaxNorm, "min_max_norm": MinMaxNorm,
                 "non_neg": NonNeg, "unit_norm": UnitNorm})


def serialize(constraint):
    """Keras 3's form: {"module", "class_name", "config", "registered_name"}; None for None."""
    return registry.serialize(constraint, Constraint, _CLASSES, "keras.constraints", "constraint")


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        return get(config)
    return registry.deserialize(config, _BY_NAME, _CLASSES, "constraint", custom_objects)


def get(identifier):
    """None, a name ("max_norm", "NonNeg"...), a config dict, a class, an instance or a
    callable of one numpy array."""
    return registry.get(identifier, Constraint, _BY_NAME, deserialize, "constraint")


def lowered(constraint, shape):
    """The attributes of templates/constraint.j2 for a built-in constraint on a weight of
    `shape`, or None where the template cannot express it (a user callable or subclass, or
    norm axes that are not contiguous)."""
    kind = type(constraint)
    if kind is NonNeg:
        return {"kind": "non_neg"}
    if kind not in (MaxNorm, MinMaxNorm, UnitNorm):
        return None
    rank = len(shape)
    axes = constraint.axis if isinstance(constraint.axis, (list, tuple)) else [constraint.axis]
    try:
        axes = sorted({int(a) % rank if -rank <= int(a) < rank else None for a in axes})
    except TypeError:
        axes = [None]
    if not axes or None in axes:
        raise ValueError(f"{kind.__name__}: axis={constraint.axis!r} is not an axis of a weight "
                         f"of shape {tuple(shape)}")
    if axes != list(range(axes[0], axes[-1] + 1)):
        return None
    lo, hi, rate = {MaxNorm: lambda c: (0.0, c.max_value, 1.0),
                    MinMaxNorm: lambda c: (c.min_value, c.max_value, c.rate),
                    UnitNorm: lambda c: (1.0, 1.0, 1.0)}[kind](constraint)
    return {"kind": "norm", "outer": int(np.prod(shape[:axes[0]])),
            "size": int(np.prod(shape[axes[0]:axes[-1] + 1])),
            "inner": int(np.prod(shape[axes[-1] + 1:])), "lo": float(lo), "hi": float(hi),
            "rate": float(rate), "epsilon": float(epsilon())}


def apply(constraint, variable):
    """Project `variable` in place (its value stays a view into the flat buffer)."""
    value = np.asarray(constraint(variable.value))
    if value.shape != variable.value.shape:
        raise ValueError(f"constraint {constraint!r} of weight {variable.path!r} returned shape "
                         f"{value.shape}; it must keep the weight's shape {variable.value.shape}")
    variable.value[...] = value


__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "apply", "deserialize",
           "get", "lowered", "max_norm", "min_max_norm", "non_neg", "serialize", "unit_norm"]
