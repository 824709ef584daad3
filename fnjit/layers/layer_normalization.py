"""LayerNormalization and GroupNormalization (templates/layer_norm.j2), UnitNormalization
(templates/l2_normalize.j2)."""

from __future__ import annotations

import math

import numpy as np

from .. import initializers, ops
from .base import Layer
from .normalization_args import (
    build_gamma_beta,
    channel_axis,
    int_axes,
    non_batch_axes,
    positive_epsilon,
)


def refuse_unsupported(layer, **arguments):
    """Arguments a layer does not compile yet: refuse them by name rather than run without
    them."""
    for arg, value in arguments.items():
        if value is not None:
            raise ValueError(f"{layer._what}: {arg} is not supported yet")


_WEIGHT_OPTIONS = ("beta_regularizer", "gamma_regularizer", "beta_constraint",
                   "gamma_constraint")


class _AffineNormalization(Layer):
    """What LayerNormalization and GroupNormalization share: per-sample statistics, then
    gamma and beta (Keras' order [gamma, beta]) with their initializers, regularizers and
    constraints; one op, templates/layer_norm.j2."""

    supports_masking = True  # Keras 3: the mask passes through

    def __init__(self, epsilon, center, scale, beta_initializer, gamma_initializer,
                 beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                 **kwargs):
        super().__init__(**kwargs)
        self.epsilon = positive_epsilon(self, epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self._weight_options(beta_regularizer=beta_regularizer,
                             gamma_regularizer=gamma_regularizer,
                             beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)

    def _lower_stats(self, ctx, x, stats_shape, pre=1, groups=1, size=1, inner=1):
        """The op: x seen as (outer, pre, groups, size, inner), statistics per (outer, group,
        inner), saved with `stats_shape`."""
        params = [ctx.param(w) for w in (self.gamma, self.beta) if w is not None]
        attrs = {"pre": pre, "groups": groups, "size": size, "inner": inner,
                 "epsilon": self.epsilon, "center": self.center, "scale": self.scale}
        return ctx.op("layer_norm", [x] + params, [ctx.shape(x)], attrs=attrs,
                      saved_shapes=[stats_shape, stats_shape])

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                **self._weight_options_config(*_WEIGHT_OPTIONS)}


class LayerNormalization(_AffineNormalization):
    """Normalises each sample over `axis` (the last by default; a list of adjacent axes too):
    y = (x - mean) / sqrt(var + epsilon) * gamma + beta, the statistics taken per sample and
    per position of the other axes. Weights, Keras' order: [gamma, beta], each of the shape of
    the normalised axes."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 rms_scaling=False, **kwargs):
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        if rms_scaling:
            raise ValueError(f"{self._what}: rms_scaling=True (deprecated in Keras 3, which "
                             "scales by the variance) is not supported")
        axes = int_axes(self, axis)
        self.axis = list(axes) if isinstance(axis, (list, tuple)) else axes[0]

    def _axes(self, input_shape):
        """The normalised axes, non-negative and sorted; they must be one adjacent run of known
        non-batch axes."""
        if self.axis == []:
            raise ValueError(f"{self._what}: axis=[] names no axis of input shape "
                             f"{tuple(input_shape)}")
        axes = non_batch_axes(self, self.axis if isinstance(self.axis, list) else [self.axis],
                              input_shape, "normalised")
        if axes != list(range(axes[0], axes[-1] + 1)):
            raise ValueError(f"{self._what}: axis={self.axis} must be adjacent axes (input shape "
                             f"{tuple(input_shape)})")
        return axes

    def build(self, input_shape):
        build_gamma_beta(self, tuple(input_shape[a] for a in self._axes(input_shape)))

    def lower(self, ctx, inputs):
        (x,) = inputs
        shape = ctx.shape(x)
        axes = self._axes(shape)
        stats = tuple(d for k, d in enumerate(shape) if k not in axes)
        return self._lower_stats(ctx, x, stats, size=math.prod(shape[a] for a in axes),
                                 inner=math.prod(shape[axes[-1] + 1:]))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "rms_scaling": False}


class GroupNormalization(_AffineNormalization):
    """Splits the channels (`axis`) into `groups` of adjacent channels and normalises each
    sample over each group and all the other non-batch axes (Keras 3's GroupNormalization;
    groups=-1: one channel per group, instance normalization; groups=1: layer normalization
    over every axis). Weights, Keras' order: [gamma, beta], one entry per channel."""

    input_rank_fixed = True

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        if isinstance(groups, bool) or not isinstance(groups, int) or \
                (groups <= 0 and groups != -1):
            raise ValueError(f"GroupNormalization: groups must be a positive int, or -1 for "
                             f"instance normalization, got groups={groups!r}")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"GroupNormalization: axis must be an int (the channel axis), got "
                            f"axis={axis!r}")
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        self.groups = groups
        self.axis = axis

    def input_axes(self, input_shape):
        return (self.axis,)

    def build(self, input_shape):
        axis = channel_axis(self, input_shape)
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(f"{self._what}: axis {self.axis} of the input shape "
                             f"{tuple(input_shape)} must be known")
        if self.groups == -1:  # as Keras, which then saves groups as the channel count
            self.groups = channels
        if channels < self.groups or channels % self.groups:
            raise ValueError(f"{self._what}: groups={self.groups} must divide the "
                             f"{channels} channels of axis {self.axis} (input shape "
                             f"{tuple(input_shape)})")
        build_gamma_beta(self, (channels,))

    def lower(self, ctx, inputs):
        (x,) = inputs
        shape = ctx.shape(x)
        axis = channel_axis(self, shape)
        rank = len(shape)
        # The kernels want the channels last (each group a contiguous run): another channel
        # axis moves there and back, as channels_first convolutions do.
        last = tuple(a for a in range(rank) if a != axis) + (axis,)
        if axis != rank - 1:
            x = ops.permute_value(ctx, x, last)
        (y,) = self._lower_stats(ctx, x, (None, self.groups),
                                 pre=math.prod(shape[1:axis] + shape[axis + 1:]),
                                 groups=self.groups, size=shape[axis] // self.groups)
        if axis != rank - 1:
            y = ops.permute_value(ctx, y, tuple(int(a) for a in np.argsort(last)))
        return [y]

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis}


class UnitNormalization(Layer):
    """y = x / max(||x||, 1e-12), the norm along `axis` (Keras 3's ops.normalize; one axis, or
    a list of adjacent axes); templates/l2_normalize.j2. No weights."""

    supports_masking = True  # Keras 3: the mask passes through

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        axes = int_axes(self, axis)
        self.axis = list(axes) if isinstance(axis, (list, tuple)) else axes[0]

    _axes = LayerNormalization._axes  # the same rule: adjacent, known, non-batch axes

    def build(self, input_shape):
        self._axes(input_shape)

    def lower(self, ctx, inputs):
        (x,) = inputs
        shape = ctx.shape(x)
        axes = self._axes(shape)
        return ctx.op("l2_normalize", [x], [shape],
                      attrs={"size": math.prod(shape[a] for a in axes),
                             "inner": math.prod(shape[axes[-1] + 1:]), "epsilon": 1e-12})

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
