"""Weight and activity regularizers, as `keras.regularizers`.

A regularizer maps a tensor to a scalar penalty that training adds to the loss. While a model is
lowered, a regularizer is called on a symbolic tensor (a weight, or a layer's output for an
activity regularizer) and computes with the fnjit.backend (K) functions, so that the penalty and
its gradient are compiled into the training step like any loss. Called on a numpy array, the
built-in regularizers return the same number computed by numpy.

As in Keras 3: weight penalties count for trainable weights only; an activity penalty is divided
by the batch size; both are part of the reported `loss` in fit and evaluate (not of the
per-output losses). A callable of one tensor written with K functions is a regularizer too.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import ops, registry


def _is_symbolic(x):
    return isinstance(x, ops.SymbolicTensor)


def _factor(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"regularizer argument {name} must be a finite float, got {value!r}")
    return float(value)


class Regularizer:
    """Base class: `__call__(x)` returns a scalar penalty."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x^2)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(0.0 if l1 is None else l1, "l1")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        if not _is_symbolic(x):
            x = np.asarray(x)
            return self.l1 * np.sum(np.abs(x)) + self.l2 * np.sum(np.square(x))
        terms = []
        if self.l1:
            terms.append(ops.sum(ops.abs(x)) * self.l1)
        if self.l2:
            terms.append(ops.sum(ops.square(x)) * self.l2)
        if not terms:
            return ops.sum(x) * 0.0
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """l1 * sum(|x|)."""

    def __init__(self, l1=0.01):
        super().__init__(l1=0.01 if l1 is None else l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """l2 * sum(x^2)."""

    def __init__(self, l2=0.01):
        super().__init__(l2=0.01 if l2 is None else l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """factor * mean over pairs of |<u_i, u_j>| / 2 for the L2-normalised rows (mode="rows") or
    columns of a 2-D weight, i != j (Keras 3's formula)."""

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _factor(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f'OrthogonalRegularizer: mode must be one of {{"rows", "columns"}}, '
                             f"got mode={mode!r}")
        self.mode = mode

    def __call__(self, x):
        if len(x.shape) != 2:
            raise ValueError(f"OrthogonalRegularizer needs a rank-2 weight, got shape "
                             f"{tuple(x.shape)}")
        axis = 1 if self.mode == "rows" else 0
        size = x.shape[1 - axis]
        pairs = size * (size - 1.0) / 2.0
        scale = self.factor * 0.5 / pairs
        if not _is_symbolic(x):
            x = np.asarray(x)
            u = x / np.maximum(np.sqrt(np.sum(x * x, axis=axis, keepdims=True)), 1e-12)
            p = u @ u.T if axis == 1 else u.T @ u
            return scale * np.sum(np.abs(p * (1 - np.eye(size))))
        u = ops.l2_normalize(x, axis=axis)
        p = ops.dot(u, ops.transpose(u)) if axis == 1 else ops.dot(ops.transpose(u), u)
        # The diagonal of p is ||u_i||^2 >= 0: sum |p| off the diagonal = sum |p| - sum u^2.
        return (ops.sum(ops.abs(p)) - ops.sum(ops.square(u))) * scale

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


# Keras' lower-case aliases.
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

_CLASSES = (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)
_BY_NAME = {cls.__name__: cls for cls in _CLASSES}
_BY_NAME.update({"l1": L1, "l2": L2, "l1l2": L1L2, "regularizer": Regularizer,
                 "orthogonal_regularizer": OrthogonalRegularizer})


def serialize(regularizer):
    """Keras 3's form: {"module", "class_name", "config", "registered_name"}; None for None."""
    return registry.serialize(regularizer, Regularizer, _CLASSES, "keras.regularizers",
                              "regularizer")


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        return get(config)
    return registry.deserialize(config, _BY_NAME, _CLASSES, "regularizer", custom_objects)


def get(identifier):
    """None, a name ("l1", "l2", "l1_l2", "L1L2", "orthogonal_regularizer"...), a config dict,
    a class, an instance or a callable of one tensor."""
    # Keras 2's l1_l2(): both factors 0.01 (as Keras' docs say)
    return registry.get(identifier, Regularizer, _BY_NAME, deserialize, "regularizer",
                        aliases={"l1_l2": lambda: L1L2(l1=0.01, l2=0.01)})


__all__ = ["L1", "L1L2", "L2", "OrthogonalRegularizer", "Regularizer", "deserialize", "get",
           "l1", "l1_l2", "l2", "orthogonal_regularizer", "serialize"]
