"""RepeatVector: (batch, d) -> (batch, n, d), the input repeated n times."""

from __future__ import annotations

from .base import Layer


class RepeatVector(Layer):
    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if n is None or int(n) != n or n <= 0:
            raise ValueError(f"RepeatVector {self.name!r}: n must be a positive int, got {n!r}")
        self.n = int(n)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list) or len(input_shape) != 2:
            raise ValueError(f"RepeatVector {self.name!r} expects an input of shape "
                             f"(batch, features), got {input_shape}")
        return (input_shape[0], self.n, input_shape[1])

    def lower(self, ctx, inputs):
        (x,) = inputs
        _, d = ctx.shape(x)
        return ctx.op("repeat_vector", [x], [(None, self.n, d)])

    def get_config(self):
        return {**super().get_config(), "n": self.n}
