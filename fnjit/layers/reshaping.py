"""Reshape and Permute (RepeatVector lives with the recurrent layers)."""

from __future__ import annotations

from .. import ops
from .base import Layer


class Reshape(Layer):
    """The same elements per sample in `target_shape` (the batch axis excluded; one -1 is
    inferred)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, int):
            target_shape = (target_shape,)
        self.target_shape = tuple(int(d) for d in target_shape)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if any(d is None for d in rest):
            raise ValueError(f"Reshape {self.name!r}: every non-batch axis of the input must be "
                             f"known, got {input_shape}")
        out = ops._resolve_shape(list(self.target_shape), ops.prod_shape(rest),
                                 f"Reshape {self.name!r} of input shape {input_shape}")
        return (input_shape[0],) + out

    def lower(self, ctx, inputs):
        (x,) = inputs
        out = self.compute_output_shape(ctx.shape(x))
        if tuple(out) == tuple(ctx.shape(x)):
            return [x]
        return ctx.op("reshape", [x], [out])

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Reorders the non-batch axes: `dims` is a permutation of 1..rank-1 (output axis i + 1 is
    input axis dims[i])."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)

    def build(self, input_shape):
        if sorted(self.dims) != list(range(1, len(input_shape))):
            raise ValueError(f"Permute {self.name!r}: dims={self.dims} must be a permutation of "
                             f"{tuple(range(1, len(input_shape)))} for input shape "
                             f"{input_shape}")

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def lower(self, ctx, inputs):
        (x,) = inputs
        y = ops.permute_dimensions(ops.SymbolicTensor(ctx, x), (0,) + self.dims)
        return [y.value]

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}
