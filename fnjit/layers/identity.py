"""Identity (its input unchanged, Keras 3's placeholder layer), ActivityRegularization and
Rescaling."""

from __future__ import annotations

from .. import regularizers
from .base import Layer


class Identity(Layer):
    supports_masking = True  # Keras 3: the mask passes through

    def lower(self, ctx, inputs):
        return list(inputs)


class Rescaling(Layer):
    """y = x * scale + offset (Keras 3's Rescaling; numbers only: a per-channel array of
    scales is refused, compiled code has no constant arrays). The elementwise ops of
    templates/elementwise.j2."""

    supports_masking = True  # Keras 3: the mask passes through

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("scale", scale), ("offset", offset)):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"{self._what}: {arg} must be a number, got {value!r} "
                                 "(arrays of scales are not supported yet)")
        self.scale = float(scale)
        self.offset = float(offset)

    def lower(self, ctx, inputs):
        from .. import ops

        y = ops.SymbolicTensor(ctx, inputs[0]) * self.scale + self.offset
        return [y.value]

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class ActivityRegularization(Identity):
    """Its input unchanged; l1 * sum(|x|) + l2 * sum(x^2), divided by the batch size, joins
    the loss (Keras 3: the layer's activity_regularizer is L1L2(l1, l2), which fnjit/lowering.py
    adds to the program's penalties like any other layer's)."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = self.activity_regularizer.l1
        self.l2 = self.activity_regularizer.l2

    def get_config(self):
        config = {**super().get_config(), "l1": self.l1, "l2": self.l2}
        config.pop("activity_regularizer", None)  # Keras 3 writes l1 and l2 alone
        return config
