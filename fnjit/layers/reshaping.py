"""Reshaping layers: Reshape and Permute; ZeroPadding1D/2D/3D and Cropping1D/2D/3D (one
shifted-window op, templates/pad.j2), UpSampling1D/2D/3D (nearest, templates/upsample.j2). 1-D
layers work on (batch, steps, features). (RepeatVector lives with the recurrent layers.)"""

from __future__ import annotations

from .. import ops
from . import conv_utils as cu
from .base import Layer


def _pairs(value, rank, what, layer):
    """Keras' padding / cropping argument -> ((before, after),) * rank.
    int: the same on every side; rank ints: symmetric per axis; rank pairs: as given."""
    if isinstance(value, int):
        value = (value,) * rank if rank > 1 else (value, value)
    value = tuple(value)
    if rank == 1:
        return (cu.normalize_tuple(value, 2, what, layer, allow_zero=True),)
    if len(value) != rank:
        raise ValueError(f"{layer}: {what} must be an int, a tuple of {rank} ints or a tuple of "
                         f"{rank} pairs of ints, got {value!r}")
    return tuple(cu.normalize_tuple(v, 2, what, layer, allow_zero=True) for v in value)


def _known_shape(layer, shape):
    """`shape`, whose non-batch dimensions a template needs known (a ValueError otherwise)."""
    if any(d is None for d in shape[1:]):
        raise ValueError(f"{layer._what}: all non-batch dimensions of its input must be known, "
                         f"got {shape}")
    return shape


class _Window(Layer):
    """The output is a window onto the input, shifted by `offset` and zero outside it. The
    amounts are kept as Keras keeps them, under the name of the argument (`padding` or
    `cropping`): one (before, after) pair for 1-D layers, a pair per axis otherwise."""

    rank = 2
    sign = 1  # +1: padding (grow), -1: cropping (shrink)
    arg = "padding"

    def __init__(self, amounts, data_format="channels_last", **kwargs):
        super().__init__(**kwargs)
        self._amounts = _pairs(amounts, self.rank, self.arg, self._what)
        self.data_format = cu.normalize_data_format(data_format, self._what)
        setattr(self, self.arg, self._amounts[0] if self.rank == 1 else self._amounts)

    def compute_output_shape(self, input_shape):
        cu.check_rank(self._what, input_shape, self.rank)
        spatial, channels = cu.split_channels(input_shape, self.data_format)
        out = [None if n is None else n + self.sign * (a + b)
               for n, (a, b) in zip(spatial, self._amounts)]
        shape = cu.join_channels(input_shape[0], out, channels, self.data_format)
        if any(d is not None and d <= 0 for d in out):
            raise ValueError(f"{self._what}: {self.arg}={self._amounts} leaves nothing of an "
                             f"input of shape {tuple(input_shape)}")
        return shape

    def lower(self, ctx, inputs):
        (x,) = inputs
        shape = _known_shape(self, ctx.shape(x))
        offset = tuple(self.sign * before for before, _ in self._amounts)
        return ctx.op("pad", [x], [self.compute_output_shape(shape)],
                      attrs={"offset": offset, "data_format": self.data_format})

    def get_config(self):
        config = {**super().get_config(), self.arg: getattr(self, self.arg)}
        return config if self.rank == 1 else {**config, "data_format": self.data_format}


class ZeroPadding1D(_Window):
    rank, sign, arg = 1, 1, "padding"

    def __init__(self, padding=1, **kwargs):
        super().__init__(padding, **kwargs)


class ZeroPadding2D(_Window):
    rank, sign, arg = 2, 1, "padding"

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_Window):
    rank, sign, arg = 3, 1, "padding"

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class Cropping1D(_Window):
    rank, sign, arg = 1, -1, "cropping"

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, **kwargs)


class Cropping2D(_Window):
    rank, sign, arg = 2, -1, "cropping"

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Window):
    rank, sign, arg = 3, -1, "cropping"

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class _UpSampling(Layer):
    rank = 2

    def __init__(self, size, data_format="channels_last", interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        what = f"{type(self).__name__} {self.name!r}"
        self.size = cu.normalize_tuple(size, self.rank, "size", what)
        self.data_format = cu.normalize_data_format(data_format, what)
        if interpolation != "nearest":
            raise ValueError(f"{what}: interpolation={interpolation!r} is not supported yet; "
                             "only 'nearest'")
        self.interpolation = interpolation

    def compute_output_shape(self, input_shape):
        cu.check_rank(f"{type(self).__name__} {self.name!r}", input_shape, self.rank)
        spatial, channels = cu.split_channels(input_shape, self.data_format)
        out = [None if n is None else n * s for n, s in zip(spatial, self.size)]
        return cu.join_channels(input_shape[0], out, channels, self.data_format)

    def lower(self, ctx, inputs):
        (x,) = inputs
        shape = _known_shape(self, ctx.shape(x))
        return ctx.op("upsample", [x], [self.compute_output_shape(shape)],
                      attrs={"data_format": self.data_format})


class UpSampling1D(_UpSampling):
    rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__(size, **kwargs)

    def get_config(self):
        return {**super().get_config(), "size": self.size[0]}


class UpSampling2D(_UpSampling):
    rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


class UpSampling3D(_UpSampling):
    """Nearest only, with no `interpolation` argument, as in Keras 3."""

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        if "interpolation" in kwargs:
            raise ValueError(f"UpSampling3D: interpolation={kwargs['interpolation']!r} is not "
                             "an argument of UpSampling3D (it repeats nearest values only)")
        super().__init__(size, data_format, **kwargs)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


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


__all__ = ["Reshape", "Permute", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
           "Cropping1D", "Cropping2D", "Cropping3D", "UpSampling1D", "UpSampling2D",
           "UpSampling3D"]
