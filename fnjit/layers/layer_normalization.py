"""LayerNormalization (templates/layer_norm.j2), UnitNormalization (templates/l2_normalize.j2)."""

from __future__ import annotations

import math

from .. import initializers
from .base import Layer


def refuse_unsupported(layer, **arguments):
    """Regularizers and constraints are not compiled yet: refuse them by name rather than train
    without them."""
    for arg, value in arguments.items():
        if value is not None:
            raise ValueError(f"{layer._what}: {arg} is not supported yet")


class LayerNormalization(Layer):
    """Normalises each sample over `axis` (the last by default; a list of adjacent axes too):
    y = (x - mean) / sqrt(var + epsilon) * gamma + beta, the statistics taken per sample and
    per position of the other axes. Weights, Keras' order: [gamma, beta], each of the shape of
    the normalised axes."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        refuse_unsupported(self, beta_regularizer=beta_regularizer,
                           gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint,
                           gamma_constraint=gamma_constraint)
        if rms_scaling:
            raise ValueError(f"{self._what}: rms_scaling=True (deprecated in Keras 3, which "
                             "scales by the variance) is not supported")
        if isinstance(axis, (list, tuple)):
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError(f"{self._what}: axis must be an int or a list of ints, got {axis!r}")
        self.epsilon = float(epsilon)
        if self.epsilon <= 0:
            raise ValueError(f"{self._what}: epsilon must be positive, got {epsilon}")
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)

    def _axes(self, input_shape):
        """The normalised axes, non-negative and sorted; they must be one adjacent run of known
        non-batch axes."""
        rank = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if not axes or any(not -rank <= a < rank for a in axes):
            raise ValueError(f"{self._what}: axis={self.axis} is out of range for input shape "
                             f"{tuple(input_shape)}")
        axes = sorted({a % rank for a in axes})
        if axes[0] == 0:
            raise ValueError(f"{self._what}: axis={self.axis} includes the batch axis of input "
                             f"shape {tuple(input_shape)}")
        if axes != list(range(axes[0], axes[-1] + 1)):
            raise ValueError(f"{self._what}: axis={self.axis} must be adjacent axes (input shape "
                             f"{tuple(input_shape)})")
        if any(input_shape[a] is None for a in axes):
            raise ValueError(f"{self._what}: the normalised axes {self.axis} of input shape "
                             f"{tuple(input_shape)} must be known")
        return axes

    def build(self, input_shape):
        shape = tuple(input_shape[a] for a in self._axes(input_shape))
        self.gamma = self.add_weight("gamma", shape, self.gamma_initializer) \
            if self.scale else None
        self.beta = self.add_weight("beta", shape, self.beta_initializer) \
            if self.center else None

    def lower(self, ctx, inputs):
        (x,) = inputs
        shape = ctx.shape(x)
        axes = self._axes(shape)
        params = [ctx.param(w) for w in (self.gamma, self.beta) if w is not None]
        stats = tuple(d for k, d in enumerate(shape) if k not in axes)
        attrs = {"size": math.prod(shape[a] for a in axes),
                 "inner": math.prod(shape[axes[-1] + 1:]), "epsilon": self.epsilon,
                 "center": self.center, "scale": self.scale}
        return ctx.op("layer_norm", [x] + params, [shape], attrs=attrs,
                      saved_shapes=[stats, stats])

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "rms_scaling": False,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                "gamma_constraint": None}


class UnitNormalization(Layer):
    """y = x / max(||x||, 1e-12), the norm along `axis` (Keras 3's ops.normalize; one axis, or
    a list of adjacent axes); templates/l2_normalize.j2. No weights."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError(f"{self._what}: axis must be an int or a list of ints, got {axis!r}")

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
