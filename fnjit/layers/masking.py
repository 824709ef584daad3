"""Masking: marks the time steps whose features all equal `mask_value` as masked (Keras 3).

The mask, one bool per batch row and time step, travels beside the output on the graph
(fnjit/lowering.py) to the layers that use it (the recurrent layers, GlobalAveragePooling1D,
losses and metrics); the output is the input with masked steps zeroed, as Keras 3 computes it
(templates/mask.j2).
"""

from __future__ import annotations

import math

from .base import Layer


class Masking(Layer):
    """`Masking(mask_value=0.0)`: mask = any(x != mask_value, axis=-1); y = x * mask."""

    supports_masking = True
    makes_mask = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)) or \
                math.isnan(mask_value):
            raise ValueError(f"Masking {self.name!r}: mask_value must be a number (not NaN), "
                             f"got {mask_value!r}")
        self.mask_value = float(mask_value)

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 2:
            raise ValueError(f"{self._what} expects an input of shape (batch, ..., features), "
                             f"got {tuple(input_shape)}")
        return input_shape

    def _mask_op(self, ctx, x):
        return ctx.op("mask", [x], [ctx.shape(x), ctx.shape(x)[:-1]],
                      out_dtypes=[ctx.dtype(x), "bool"],
                      attrs={"value": self.mask_value, "reduce": True, "apply": True})

    def lower(self, ctx, inputs):
        y, _ = self._mask_op(ctx, inputs[0])
        return [y]

    def lower_mask(self, ctx, inputs, outputs):
        # The mask is the second output of the op `lower` emitted (its producer).
        op = next(o for o in reversed(ctx.graph.ops) if outputs[0] in o.outputs)
        return [op.outputs[1]]

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
