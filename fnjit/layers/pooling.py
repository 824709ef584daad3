"""Pooling layers: MaxPooling1D/2D/3D, AveragePooling1D/2D/3D (templates/pool.j2) and the global
poolings (templates/global_pool.j2). Channels_first inputs need no transpose: pooling treats
every channel alike, so each channel is pooled as a one-channel image."""

from __future__ import annotations

import math

from . import conv_utils as cu
from .base import Layer


class _Pooling(Layer):
    rank = 2
    mode = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        renames = {"border_mode": ("padding", None),
                   "dim_ordering": ("data_format", cu.dim_ordering)}
        if self.rank == 1:
            renames.update(pool_length=("pool_size", None), stride=("strides", None))
        old = {k: v for k, v in kwargs.items() if k in renames}
        if cu.translate_keras1(type(self).__name__, kwargs, renames):
            cls = type(self).__name__
            new = {renames[k][0]: kwargs[renames[k][0]] for k in old}
            cu.warn_keras1(cu.call_text(cls, kwargs=old), cu.call_text(cls, kwargs=new))
            pool_size = kwargs.pop("pool_size", pool_size)
            strides = kwargs.pop("strides", strides)
            padding = kwargs.pop("padding", padding)
            data_format = kwargs.pop("data_format", data_format)
        super().__init__(**kwargs)
        what = f"{type(self).__name__} {self.name!r}"
        self.pool_size = cu.normalize_tuple(pool_size, self.rank, "pool_size", what)
        self.strides = cu.normalize_tuple(self.pool_size if strides is None else strides,
                                          self.rank, "strides", what)
        self.padding = cu.normalize_padding(padding, what)
        self.data_format = cu.normalize_data_format(data_format, what)

    def compute_output_shape(self, input_shape):
        cu.check_rank(self._what, input_shape, self.rank)
        spatial, channels = cu.split_channels(input_shape, self.data_format)
        out = [cu.output_length(n, k, s, self.padding) for n, k, s in
               zip(spatial, self.pool_size, self.strides)]
        shape = cu.join_channels(input_shape[0], out, channels, self.data_format)
        cu.check_positive(self._what, input_shape, shape, self.data_format)
        return shape

    def lower(self, ctx, inputs):
        (x,) = inputs
        shape = ctx.shape(x)
        spatial, _ = cu.split_channels(shape, self.data_format)
        pads = [cu.pad_before(n, k, s, self.padding) for n, k, s in
                zip(spatial, self.pool_size, self.strides)]
        attrs = {"mode": self.mode, "pool_size": self.pool_size, "strides": self.strides,
                 "pad": tuple(pads), "data_format": self.data_format}
        return ctx.op("pool", [x], [self.compute_output_shape(shape)], attrs=attrs)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling1D(_Pooling):
    rank, mode = 1, "max"


class MaxPooling2D(_Pooling):
    rank, mode = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(_Pooling):
    rank, mode = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    rank, mode = 1, "avg"


class AveragePooling2D(_Pooling):
    rank, mode = 2, "avg"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(_Pooling):
    """pool_size has no default, as in Keras 3."""

    rank, mode = 3, "avg"

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    rank = 2
    mode = "max"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        if "dim_ordering" in kwargs:
            data_format = cu.dim_ordering(kwargs.pop("dim_ordering"))
            cu.warn_keras1(f"{type(self).__name__}(dim_ordering=...)",
                           f"{type(self).__name__}(data_format={data_format!r})")
        super().__init__(**kwargs)
        self.data_format = cu.normalize_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape):
        what = f"{type(self).__name__} {self.name!r}"
        cu.check_rank(what, input_shape, self.rank)
        spatial, channels = cu.split_channels(input_shape, self.data_format)
        if channels is None:
            raise ValueError(f"{what}: the channel dimension of its input must be known, "
                             f"got input shape {tuple(input_shape)}")
        if self.keepdims:
            return cu.join_channels(input_shape[0], (1,) * self.rank, channels,
                                    self.data_format)
        return (input_shape[0], channels)

    def lower(self, ctx, inputs):
        (x,) = inputs
        shape = ctx.shape(x)
        if math.prod(cu.split_channels(shape, self.data_format)[0]) == 0:
            raise ValueError(f"{self.name}: empty spatial dimensions {shape}")
        return ctx.op("global_pool", [x], [self.compute_output_shape(shape)],
                      attrs={"mode": self.mode, "data_format": self.data_format})

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalMaxPooling1D(_GlobalPooling):
    rank, mode = 1, "max"


class GlobalMaxPooling2D(_GlobalPooling):
    rank, mode = 2, "max"


class GlobalMaxPooling3D(_GlobalPooling):
    rank, mode = 3, "max"


class GlobalAveragePooling1D(_GlobalPooling):
    """With a mask (Keras masking), the mean over the unmasked steps
    (templates/masked_average.j2); its output has no mask, as in Keras 3."""

    rank, mode = 1, "avg"
    supports_masking = True

    def lower_mask(self, ctx, inputs, outputs):
        return [None]

    def lower(self, ctx, inputs):
        mask = ctx.masks[0] if ctx.masks else None
        if mask is None:
            return super().lower(ctx, inputs)
        (x,) = inputs
        if self.data_format != "channels_last":
            raise ValueError(f"{ctx.origin}: a mask (Keras masking) with "
                             f"data_format={self.data_format!r} is not supported; use "
                             "channels_last")
        return ctx.op("masked_average", [x, mask], [self.compute_output_shape(ctx.shape(x))])


class GlobalAveragePooling2D(_GlobalPooling):
    rank, mode = 2, "avg"


class GlobalAveragePooling3D(_GlobalPooling):
    rank, mode = 3, "avg"


# Keras' short aliases.
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = \
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = \
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D


__all__ = ["MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
           "AveragePooling2D", "AveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
           "GlobalMaxPooling3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
           "GlobalAveragePooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D",
           "AvgPool2D", "AvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D",
           "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D"]
