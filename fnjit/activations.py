"""Activations by name, as `keras.activations`. A layer lowers an activation to the elementwise
`activation` op (templates/activation.j2) or, for softmax, the `softmax` op. The functions here
are the numpy forms, for use outside compiled code."""

from __future__ import annotations

import math

import numpy as np

ELEMENTWISE = ("relu", "sigmoid", "tanh", "elu", "selu", "softplus", "softsign", "hard_sigmoid",
               "exponential", "swish", "gelu", "leaky_relu")
ALIASES = {"silu": "swish", None: "linear"}
# Activations an op may apply to its own output and differentiate from that output alone
# (templates/_activations.j2, FROM_OUTPUT): a convolution fuses these (templates/conv.j2).
FUSED = ("relu", "sigmoid", "tanh")
NAMES = ("linear", "softmax") + ELEMENTWISE + tuple(a for a in ALIASES if a)


def linear(x):
    return x


def relu(x):
    return np.maximum(x, 0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def tanh(x):
    return np.tanh(x)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def get(identifier) -> str:
    """The canonical name of an activation given by name, function, or None (linear)."""
    if callable(identifier):
        identifier = getattr(identifier, "__name__", identifier)
    identifier = ALIASES.get(identifier, identifier)
    if identifier not in ("linear", "softmax") + ELEMENTWISE:
        raise ValueError(f"unknown activation {identifier!r}; choose one of {sorted(NAMES)}")
    return identifier


def lower(ctx, x, name, axis=-1):
    """Emit the op for activation `name` on IR value `x`; returns the new value."""
    if name == "linear":
        return x
    if name == "softmax":
        shape = ctx.shape(x)
        if not -len(shape) <= axis < len(shape) or (axis % len(shape) == 0 and shape[0] is None):
            raise ValueError(f"{ctx.origin}: softmax over axis {axis} of a tensor of shape "
                             f"{shape}: the axis must exist and not be the batch axis")
        axis %= len(shape)
        inner = math.prod(shape[axis + 1:])
        # The last axis (or one followed by axes of size 1) works on rows; others on 3-D views.
        attrs = {"size": shape[axis], "inner": inner} if inner > 1 else None
        return ctx.op("softmax", [x], [shape], attrs=attrs)[0]
    return ctx.op("activation", [x], [ctx.shape(x)], attrs={"fn": name})[0]
