"""Identity (its input unchanged, Keras 3's placeholder layer) and Rescaling."""

from __future__ import annotations

from .base import Layer


class Identity(Layer):
    def lower(self, ctx, inputs):
        return list(inputs)


class Rescaling(Layer):
    """y = x * scale + offset (Keras 3's Rescaling; numbers only: a per-channel array of
    scales is refused, compiled code has no constant arrays). The elementwise ops of
    templates/elementwise.j2."""

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
