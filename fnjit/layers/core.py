"""Dense, Activation, Dropout, Flatten."""

from __future__ import annotations

import math
import warnings

from .. import activations, backend, initializers
from .base import Layer


class Dense(Layer):
    """y = activation(x @ kernel + bias) on the last axis. Weights: kernel (in, units), bias."""

    supports_masking = True  # Keras 3: the mask passes through

    def __init__(self, units=None, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, output_dim=None, init=None, **kwargs):
        if output_dim is not None or init is not None:  # Keras 1
            units = output_dim if units is None else units
            kernel_initializer = init if init is not None else kernel_initializer
            warnings.warn(f"Dense(output_dim=..., init=...) is Keras 1; use Dense({units}"
                          + (f", kernel_initializer={init!r}" if init is not None else "") + ")",
                          DeprecationWarning, stacklevel=2)
        super().__init__(**kwargs)
        if units is None or int(units) != units or units <= 0:
            raise ValueError(f"Dense {self.name!r}: units must be a positive int, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self._weight_options(kernel_regularizer=kernel_regularizer,
                             bias_regularizer=bias_regularizer,
                             kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"Dense {self.name!r}: the last axis of its input must be known, "
                             f"got input shape {input_shape}")
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units),
                                      self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def lower(self, ctx, inputs):
        (x,) = inputs
        params = [ctx.param(self.kernel)] + ([ctx.param(self.bias)] if self.use_bias else [])
        (y,) = ctx.op("dense", [x] + params, [ctx.shape(x)[:-1] + (self.units,)],
                      attrs={"use_bias": self.use_bias})
        return [activations.lower(ctx, y, self.activation)]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                **self._weight_options_config("kernel_regularizer", "bias_regularizer",
                                              "kernel_constraint", "bias_constraint")}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("kernel_initializer", "bias_initializer"):
            if isinstance(config.get(key), dict):
                config[key] = initializers.get(initializers.snake(config[key]["class_name"]))
        return cls(**config)


class Activation(Layer):
    supports_masking = True  # Keras 3: the mask passes through

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def lower(self, ctx, inputs):
        return [activations.lower(ctx, inputs[0], self.activation)]

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


def refuse_seed(layer, seed):
    """A layer's own `seed=` is refused, not ignored: its random draws come from one generator
    per model, seeded by fnjit.utils.set_random_seed."""
    if seed is not None:
        raise ValueError(f"{type(layer).__name__} {layer.name!r}: seed= is not supported: random "
                         "draws come from one generator per model, seeded by "
                         "fnjit.utils.set_random_seed")


class Dropout(Layer):
    """Zeroes a fraction `rate` of its inputs in training, scaling the rest by 1 / (1 - rate)."""

    supports_masking = True  # Keras 3: the mask passes through

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout {self.name!r}: rate must be in [0, 1), got {rate!r}")
        if noise_shape is not None:
            raise ValueError(f"Dropout {self.name!r}: noise_shape is not supported yet")
        refuse_seed(self, seed)
        self.rate = float(rate)
        self.seed = seed

    def lower(self, ctx, inputs):
        (x,) = inputs
        if self.rate == 0 or ctx.training is False:  # called with training=False: identity
            return [x]
        shape = ctx.shape(x)
        return ctx.op("dropout", [x], [shape], attrs={"rate": self.rate}, saved_shapes=[shape])

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class Flatten(Layer):
    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if any(d is None for d in rest):
            raise ValueError(f"Flatten {self.name!r}: all non-batch dimensions of its input "
                             f"must be known, got {input_shape}")
        return (input_shape[0], math.prod(rest))

    def lower(self, ctx, inputs):
        (x,) = inputs
        shape = ctx.shape(x)
        if len(shape) == 2:
            return [x]
        # As Keras: channels_first data is flattened in channels_last order, so that the
        # weights of the Dense layer after it do not depend on the data format.
        if (self.data_format or backend.image_data_format()) == "channels_first":
            from .conv_base import to_channels_last

            x = to_channels_last(ctx, x)
        return ctx.op("reshape", [x], [self.compute_output_shape(shape)])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


# Keras 2's keras.layers.core path (Keras 2.0-2.8 defined ActivityRegularization there).
from .identity import ActivityRegularization  # noqa: E402, F401
