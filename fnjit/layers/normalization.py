"""BatchNormalization (templates/batchnorm.j2)."""

from __future__ import annotations

import math

from .. import initializers
from .base import Layer
from .normalization_args import build_gamma_beta, channel_axis, positive_epsilon

# Keras 1 and 2 arguments, accepted at the value that computes what this layer does and refused
# at any other (renorm=True, a virtual batch, an adjustment or Keras 1's mode=1/2 change the
# numbers). These have no effect here as in Keras: renorm_momentum without renorm, `fused` (an
# implementation choice).
_LEGACY = {"renorm": False, "renorm_clipping": None, "virtual_batch_size": None,
           "adjustment": None, "mode": 0}
_LEGACY_NO_EFFECT = ("renorm_momentum", "fused")
_INITIALIZERS = ("beta_initializer", "gamma_initializer", "moving_mean_initializer",
                 "moving_variance_initializer")


class BatchNormalization(Layer):
    """Normalises each channel (the `axis`) with the batch statistics in training and the moving
    statistics in inference, then scales by gamma and shifts by beta. Weights, Keras' order:
    [gamma, beta, moving_mean, moving_variance]; the moving statistics are non-trainable and
    updated by every training step. A layer with trainable=False runs in inference mode."""

    supports_masking = True  # Keras 3: the mask passes through

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, **kwargs):
        for legacy, neutral in _LEGACY.items():
            value = kwargs.pop(legacy, neutral)
            same = value is None if neutral is None else \
                isinstance(value, (bool, int)) and value == neutral
            if not same:
                raise ValueError(f"BatchNormalization: {legacy}={value!r} (Keras 1 or 2) is "
                                 f"not supported: only {legacy}={neutral!r}, the computation "
                                 "Keras 3 has")
        for legacy in _LEGACY_NO_EFFECT:
            kwargs.pop(legacy, None)
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise ValueError(f"BatchNormalization {self.name!r}: one axis is supported, "
                                 f"got axis={axis}")
            axis = axis[0]
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = positive_epsilon(self, epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        if synchronized:
            raise ValueError(f"BatchNormalization {self.name!r}: synchronized=True (statistics "
                             "across devices) is not supported: fnjit trains on one device")
        self.synchronized = False
        self._weight_options(beta_regularizer=beta_regularizer,
                             gamma_regularizer=gamma_regularizer,
                             beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        for key, value in zip(_INITIALIZERS, (beta_initializer, gamma_initializer,
                                              moving_mean_initializer,
                                              moving_variance_initializer)):
            setattr(self, key, initializers.get(value))

    def input_axes(self, input_shape):
        return (channel_axis(self, input_shape),)

    def build(self, input_shape):
        axis = channel_axis(self, input_shape)
        if input_shape[axis] is None:
            raise ValueError(f"BatchNormalization {self.name!r}: axis {self.axis} of the input "
                             f"shape {tuple(input_shape)} must be known")
        shape = (input_shape[axis],)
        build_gamma_beta(self, shape)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape,
                                               self.moving_variance_initializer, trainable=False)

    def lower(self, ctx, inputs):
        (x,) = inputs
        shape = ctx.shape(x)
        axis = channel_axis(self, shape)
        weights = [w for w in (self.gamma, self.beta) if w is not None]
        params = [ctx.param(w) for w in weights + [self.moving_mean, self.moving_variance]]
        channels = shape[axis]
        attrs = {"channels": channels, "inner": math.prod(shape[axis + 1:]),
                 "epsilon": self.epsilon, "momentum": self.momentum, "center": self.center,
                 "scale": self.scale,
                 # Frozen (trainable=False) or called with training=False: moving statistics.
                 "batch_stats": self.trainable and ctx.training is not False}
        return ctx.op("batchnorm", [x] + params, [shape], attrs=attrs,
                      saved_shapes=[(channels,), (channels,)])

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                **{k: initializers.serialize(getattr(self, k)) for k in _INITIALIZERS},
                **self._weight_options_config("beta_regularizer", "gamma_regularizer",
                                              "beta_constraint", "gamma_constraint"),
                "synchronized": self.synchronized}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in _INITIALIZERS:
            if isinstance(config.get(key), dict):
                config[key] = initializers.get(initializers.snake(config[key]["class_name"]))
        return cls(**config)


# Keras 2's keras.layers.normalization path.
from .layer_normalization import (  # noqa: E402, F401
    GroupNormalization,
    LayerNormalization,
    UnitNormalization,
)
