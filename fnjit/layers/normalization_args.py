"""The arguments the normalizing layers share, checked once: the axes (BatchNormalization,
LayerNormalization, GroupNormalization, UnitNormalization, Normalization), epsilon, and the
gamma and beta weights with their initializers, regularizers and constraints."""

from __future__ import annotations

import numpy as np


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def int_axes(layer, axis, none_ok=False):
    """`axis`, an int or a list or tuple of ints (or None where `none_ok`: no axis), as a
    tuple of ints; anything else is a TypeError naming the layer."""
    if axis is None and none_ok:
        return ()
    if _is_int(axis):
        return (int(axis),)
    if isinstance(axis, (list, tuple)) and all(_is_int(a) for a in axis):
        return tuple(int(a) for a in axis)
    kinds = "an int, a list of ints or None" if none_ok else "an int or a list of ints"
    raise TypeError(f"{layer._what}: axis must be {kinds}, got {axis!r}")


def non_batch_axes(layer, axes, input_shape, role, why=""):
    """`axes` (ints, maybe negative) as the sorted non-negative axes of `input_shape` they
    name: in range, not the batch axis (`why` says why not), of known size (`role` says what
    they are for). Errors name the layer, its `axis` and the shape."""
    rank = len(input_shape)
    shape = tuple(input_shape)
    if any(not -rank <= a < rank for a in axes):
        raise ValueError(f"{layer._what}: axis={layer.axis} is out of range for input shape "
                         f"{shape}")
    axes = sorted({a % rank for a in axes})
    if axes and axes[0] == 0:
        raise ValueError(f"{layer._what}: axis={layer.axis} includes the batch axis of input "
                         f"shape {shape}{why}")
    if any(input_shape[a] is None for a in axes):
        raise ValueError(f"{layer._what}: the axes {layer.axis} {role} must be known in input "
                         f"shape {shape}")
    return axes


def channel_axis(layer, input_shape):
    """`layer.axis`, one int, as a non-negative non-batch axis of `input_shape` (the channel
    axis of BatchNormalization and GroupNormalization)."""
    rank = len(input_shape)
    if not -rank <= layer.axis < rank or layer.axis % rank == 0:
        raise ValueError(f"{layer._what}: axis={layer.axis} must be a non-batch axis of the "
                         f"input shape {tuple(input_shape)}")
    return layer.axis % rank


def positive_epsilon(layer, epsilon):
    epsilon = float(epsilon)
    if epsilon <= 0:
        raise ValueError(f"{layer._what}: epsilon must be positive, got {epsilon}")
    return epsilon


def build_gamma_beta(layer, shape):
    """layer.gamma and layer.beta of `shape` (None where layer.scale / layer.center is off),
    in Keras' order, with the layer's initializers, regularizers and constraints."""
    layer.gamma = layer.add_weight("gamma", shape, layer.gamma_initializer,
                                   regularizer=layer.gamma_regularizer,
                                   constraint=layer.gamma_constraint) if layer.scale else None
    layer.beta = layer.add_weight("beta", shape, layer.beta_initializer,
                                  regularizer=layer.beta_regularizer,
                                  constraint=layer.beta_constraint) if layer.center else None
