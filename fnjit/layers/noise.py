"""Training-only noise: GaussianNoise, GaussianDropout, AlphaDropout, SpatialDropout1D/2D/3D
(templates/dropout.j2, drawn fresh at every training step from the seeded generator that
Dropout uses); each is the identity in predict and evaluate. Keras 2's keras.layers.noise."""

from __future__ import annotations

import math

from .. import backend
from .base import Layer
from .core import refuse_seed


class _Noise(Layer):
    """One `dropout` op with the noise of the subclass; no weights."""

    supports_masking = True  # Keras 3: the mask passes through

    def _check_rate(self, rate):
        if not 0 <= rate < 1:
            raise ValueError(f"{self._what}: rate must be in [0, 1), got {rate!r}")
        return float(rate)

    def _attrs(self, shape):
        raise NotImplementedError

    def _mask_shape(self, shape):
        return shape

    def lower(self, ctx, inputs):
        (x,) = inputs
        attrs = self._attrs(ctx.shape(x))
        if attrs is None or ctx.training is False:  # a call with training=False: identity
            return [x]
        shape = ctx.shape(x)
        return ctx.op("dropout", [x], [shape], attrs=attrs,
                      saved_shapes=[self._mask_shape(shape)])


class GaussianNoise(_Noise):
    """y = x + N(0, stddev) in training."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not stddev >= 0:
            raise ValueError(f"{self._what}: stddev must be >= 0, got {stddev!r}")
        self.stddev = float(stddev)
        refuse_seed(self, seed)
        self.seed = seed

    def _attrs(self, shape):
        return {"rate": 0.0, "noise": "additive", "stddev": self.stddev} if self.stddev else None

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Noise):
    """y = x * N(1, sqrt(rate / (1 - rate))) in training."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = self._check_rate(rate)
        refuse_seed(self, seed)
        self.seed = seed

    def _attrs(self, shape):
        if self.rate == 0:
            return None
        return {"rate": self.rate, "noise": "gaussian",
                "stddev": math.sqrt(self.rate / (1 - self.rate))}

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_Noise):
    """Dropout that keeps SELU's self-normalisation: dropped units are set to -alpha * scale,
    then y = a x' + b restores the mean and variance (Keras' a and b)."""

    ALPHA = 1.6732632423543772848170429916717
    SCALE = 1.0507009873554804934193349852946

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if noise_shape is not None:
            raise ValueError(f"{self._what}: noise_shape is not supported yet")
        self.rate = self._check_rate(rate)
        self.noise_shape = None
        refuse_seed(self, seed)
        self.seed = seed

    def _attrs(self, shape):
        if self.rate == 0:
            return None
        alpha_p = -self.ALPHA * self.SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        return {"rate": self.rate, "noise": "alpha", "a": a, "b": -a * alpha_p * self.rate,
                "alpha": alpha_p}

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": None,
                "seed": self.seed}


class _SpatialDropout(_Noise):
    """Dropout of whole feature maps: one mask entry per (sample, channel)."""

    rank = 1

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = self._check_rate(rate)
        refuse_seed(self, seed)
        self.seed = seed
        if self.rank == 1:
            if data_format is not None:
                raise TypeError(f"{self._what}: unexpected keyword argument data_format")
            self.data_format = None
        else:
            self.data_format = data_format or backend.image_data_format()
            if self.data_format not in ("channels_last", "channels_first"):
                raise ValueError(f"{self._what}: data_format must be 'channels_last' or "
                                 f"'channels_first', got {data_format!r}")

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{self._what} expects inputs of rank {self.rank + 2}, got shape "
                             f"{tuple(input_shape)}")

    def lower(self, ctx, inputs):
        (x,) = inputs
        if self.rate == 0 or ctx.training is False:
            return [x]
        if self.data_format == "channels_first":
            from .conv_base import to_channels_first, to_channels_last

            (y,) = self._lower_last(ctx, to_channels_last(ctx, x))
            return [to_channels_first(ctx, y)]
        return self._lower_last(ctx, x)

    def _lower_last(self, ctx, x):
        shape = ctx.shape(x)
        return ctx.op("dropout", [x], [shape],
                      attrs={"rate": self.rate, "noise": "spatial", "channels": shape[-1]},
                      saved_shapes=[(None, shape[-1])])

    def get_config(self):
        config = {**super().get_config(), "rate": self.rate, "seed": self.seed}
        if self.rank > 1:
            config["data_format"] = self.data_format
        return config


class SpatialDropout1D(_SpatialDropout):
    rank = 1


class SpatialDropout2D(_SpatialDropout):
    rank = 2


class SpatialDropout3D(_SpatialDropout):
    rank = 3


__all__ = ["GaussianNoise", "GaussianDropout", "AlphaDropout", "SpatialDropout1D",
           "SpatialDropout2D", "SpatialDropout3D"]
