"""Convolution layers: Conv1D, Conv2D, Conv3D, DepthwiseConv1D/2D, SeparableConv1D/2D, and the
Keras 1 spellings Convolution1D / Convolution2D.

All of them lower to channels_last ops (templates/conv.j2, templates/depthwise_conv.j2); a
channels_first layer moves the channel axis with a `transpose` op on each side, which costs one
pass over the input and one over the output.
"""

from __future__ import annotations

from .. import activations, initializers, ops
from . import conv_utils as cu
from .base import Layer


def to_channels_last(ctx, x):
    """(n, C, *S) -> (n, *S, C)."""
    r = len(ctx.shape(x))
    return ops.permute_value(ctx, x, (0,) + tuple(range(2, r)) + (1,))


def to_channels_first(ctx, y):
    """(n, *S, C) -> (n, C, *S)."""
    r = len(ctx.shape(y))
    return ops.permute_value(ctx, y, (0, r - 1) + tuple(range(1, r - 1)))


class _BaseConv(Layer):
    """What every convolution shares: geometry arguments, shapes, channels_first lowering."""

    rank = 2
    allows_causal = False  # padding='causal': Conv1D only, as in Keras

    def __init__(self, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, bias_initializer="zeros",
                 lora_rank=None, **kwargs):
        if lora_rank is not None:
            raise ValueError(f"{type(self).__name__}: lora_rank is not supported")
        super().__init__(**kwargs)
        what = f"{type(self).__name__} {self.name!r}"
        self.kernel_size = cu.normalize_tuple(kernel_size, self.rank, "kernel_size", what)
        self.strides = cu.normalize_tuple(strides, self.rank, "strides", what)
        self.dilation_rate = cu.normalize_tuple(dilation_rate, self.rank, "dilation_rate", what)
        self.padding = cu.normalize_padding(padding, what, allow_causal=self.allows_causal)
        self.data_format = cu.normalize_data_format(data_format, what)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{what}: strides > 1 is not supported together with "
                             f"dilation_rate > 1 (as in Keras); got strides={self.strides}, "
                             f"dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)

    def _out_channels(self, in_channels):
        raise NotImplementedError

    input_rank_fixed = True

    def input_axes(self, input_shape):
        return (1,) if self.data_format == "channels_first" else (-1,)

    def _set_options(self, options):
        """The `<role>_regularizer` / `<role>_constraint` arguments of the subclass's weights."""
        self._option_keys = tuple(options)
        self._weight_options(**options)

    def _options(self, role):
        return {"regularizer": getattr(self, f"{role}_regularizer"),
                "constraint": getattr(self, f"{role}_constraint")}

    def _check_input(self, input_shape):
        cu.check_rank(self._what, input_shape, self.rank)
        spatial, channels = cu.split_channels(input_shape, self.data_format)
        # Spatial dimensions may be None (a sequence of any length): the model is lowered for
        # the concrete shape of the data at hand. The channels size the kernel.
        if channels is None:
            raise ValueError(f"{self._what}: the channel dimension of its input must be known, "
                             f"got input shape {tuple(input_shape)}")
        return spatial, channels

    def compute_output_shape(self, input_shape):
        spatial, channels = self._check_input(input_shape)
        out = self._output_spatial(spatial)
        shape = cu.join_channels(input_shape[0], out, self._out_channels(channels),
                                 self.data_format)
        cu.check_positive(self._what, input_shape, shape, self.data_format)
        return shape

    def _output_spatial(self, spatial):
        """The output's spatial sizes for input sizes `spatial` (None stays None)."""
        return tuple(cu.output_length(n, k, s, self.padding, d) for n, k, s, d in
                     zip(spatial, self.kernel_size, self.strides, self.dilation_rate))

    def _geometry(self, spatial):
        """The op attrs strides, dilation, pad (zeros before the first element), per axis."""
        pads = [cu.pad_before(n, k, s, self.padding, d) for n, k, s, d in
                zip(spatial, self.kernel_size, self.strides, self.dilation_rate)]
        return {"strides": self.strides, "dilation": self.dilation_rate, "pad": tuple(pads)}

    def _lower_channels_last(self, ctx, x):
        raise NotImplementedError

    def lower(self, ctx, inputs):
        (x,) = inputs
        if self.data_format == "channels_first":
            x = to_channels_last(ctx, x)
        y = self._lower_channels_last(ctx, x)
        if self.data_format == "channels_first":
            y = to_channels_first(ctx, y)
        return [activations.lower(ctx, y, self.activation)]

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "activation": self.activation, "use_bias": self.use_bias,
                "bias_initializer": initializers.serialize(self.bias_initializer),
                **self._weight_options_config(*self._option_keys)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key, value in list(config.items()):
            if key.endswith("_initializer") and isinstance(value, dict):
                init = initializers.get(initializers.snake(value["class_name"]))
                for attr, v in value.get("config", {}).items():
                    setattr(init, attr, v)
                config[key] = init
        return cls(**config)


class _Conv(_BaseConv):
    """Conv1D / Conv2D / Conv3D: weights kernel (*kernel_size, cin, filters), bias (filters,)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        options = dict(kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                       kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, **kwargs)
        self._set_options(options)
        if filters is None or int(filters) != filters or filters <= 0:
            raise ValueError(f"{self._what}: filters must be a positive int, got {filters!r}")
        if groups != 1:
            raise ValueError(f"{self._what}: groups={groups!r} is not supported yet (only 1)")
        self.filters = int(filters)
        self.groups = 1
        self.kernel_initializer = initializers.get(kernel_initializer)

    def _out_channels(self, in_channels):
        return self.filters

    def build(self, input_shape):
        _, channels = self._check_input(input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight("kernel", self.kernel_size + (channels, self.filters),
                                      self.kernel_initializer, **self._options("kernel"))
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                    **self._options("bias")) if self.use_bias else None

    def _lower_channels_last(self, ctx, x):
        shape = ctx.shape(x)
        spatial = shape[1:-1]
        out = self._output_spatial(spatial)
        params = [ctx.param(self.kernel)] + ([ctx.param(self.bias)] if self.use_bias else [])
        return ctx.op("conv", [x] + params, [(shape[0],) + out + (self.filters,)],
                      attrs={**self._geometry(spatial), "use_bias": self.use_bias})[0]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "groups": self.groups,
                "kernel_initializer": initializers.serialize(self.kernel_initializer)}


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels); padding may also be 'causal'."""

    rank = 1
    allows_causal = True


class Conv2D(_Conv):
    """2-D convolution over (batch, height, width, channels) (or channels_first)."""

    rank = 2


class Conv3D(_Conv):
    """3-D convolution over (batch, depth, height, width, channels) (or channels_first)."""

    rank = 3


class _DepthwiseConv(_BaseConv):
    """Each input channel convolved with its own `depth_multiplier` filters.
    Weights (Keras 3 names): kernel (*kernel_size, cin, depth_multiplier), bias (cin * dm,)."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None,
                 bias_constraint=None, **kwargs):
        options = dict(depthwise_regularizer=depthwise_regularizer,
                       bias_regularizer=bias_regularizer,
                       depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint)
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, **kwargs)
        self._set_options(options)
        if int(depth_multiplier) != depth_multiplier or depth_multiplier <= 0:
            raise ValueError(f"{self._what}: depth_multiplier must be a positive int, got "
                             f"{depth_multiplier!r}")
        self.depth_multiplier = int(depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)

    def _out_channels(self, in_channels):
        return in_channels * self.depth_multiplier

    def build(self, input_shape):
        _, channels = self._check_input(input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight("kernel", self.kernel_size +
                                      (channels, self.depth_multiplier),
                                      self.depthwise_initializer, **self._options("depthwise"))
        self.bias = self.add_weight("bias", (channels * self.depth_multiplier,),
                                    self.bias_initializer, **self._options("bias")) \
            if self.use_bias else None

    def _lower_channels_last(self, ctx, x):
        shape = ctx.shape(x)
        spatial = shape[1:-1]
        out = self._output_spatial(spatial)
        params = [ctx.param(self.kernel)] + ([ctx.param(self.bias)] if self.use_bias else [])
        return ctx.op("depthwise_conv", [x] + params,
                      [(shape[0],) + out + (shape[-1] * self.depth_multiplier,)],
                      attrs={**self._geometry(spatial), "use_bias": self.use_bias})[0]

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": initializers.serialize(self.depthwise_initializer)}


class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise convolution over (batch, steps, channels): kernel (k, cin, depth_multiplier)."""

    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise convolution over (batch, height, width, channels): kernel (kh, kw, cin, dm)."""

    rank = 2


class _SeparableConv(_BaseConv):
    """A depthwise convolution followed by a 1x1 convolution mixing the channels. Weights:
    depthwise_kernel (*kernel_size, cin, dm), pointwise_kernel (1, ..., cin * dm, filters), bias."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        options = dict(depthwise_regularizer=depthwise_regularizer,
                       pointwise_regularizer=pointwise_regularizer,
                       bias_regularizer=bias_regularizer,
                       depthwise_constraint=depthwise_constraint,
                       pointwise_constraint=pointwise_constraint, bias_constraint=bias_constraint)
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, **kwargs)
        self._set_options(options)
        if filters is None or int(filters) != filters or filters <= 0:
            raise ValueError(f"{self._what}: filters must be a positive int, got {filters!r}")
        if int(depth_multiplier) != depth_multiplier or depth_multiplier <= 0:
            raise ValueError(f"{self._what}: depth_multiplier must be a positive int, got "
                             f"{depth_multiplier!r}")
        self.filters = int(filters)
        self.depth_multiplier = int(depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)

    def _out_channels(self, in_channels):
        return self.filters

    def build(self, input_shape):
        _, channels = self._check_input(input_shape)
        self.compute_output_shape(input_shape)
        mid = channels * self.depth_multiplier
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
            self.depthwise_initializer, **self._options("depthwise"))
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (1,) * self.rank + (mid, self.filters),
            self.pointwise_initializer, **self._options("pointwise"))
        self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                    **self._options("bias")) if self.use_bias else None

    def _lower_channels_last(self, ctx, x):
        shape = ctx.shape(x)
        spatial = shape[1:-1]
        out = self._output_spatial(spatial)
        (mid,) = ctx.op("depthwise_conv", [x, ctx.param(self.depthwise_kernel)],
                        [(shape[0],) + out + (shape[-1] * self.depth_multiplier,)],
                        attrs={**self._geometry(spatial), "use_bias": False})
        params = [ctx.param(self.pointwise_kernel)] + \
            ([ctx.param(self.bias)] if self.use_bias else [])
        return ctx.op("conv", [mid] + params, [(shape[0],) + out + (self.filters,)],
                      attrs={"strides": (1,) * self.rank, "dilation": (1,) * self.rank,
                             "pad": (0,) * self.rank, "use_bias": self.use_bias})[0]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                "pointwise_initializer": initializers.serialize(self.pointwise_initializer)}


class SeparableConv1D(_SeparableConv):
    """Separable convolution over (batch, steps, channels): depthwise_kernel (k, cin, dm),
    pointwise_kernel (1, cin * dm, filters)."""

    rank = 1


class SeparableConv2D(_SeparableConv):
    """Separable convolution over (batch, height, width, channels): depthwise_kernel
    (kh, kw, cin, dm), pointwise_kernel (1, 1, cin * dm, filters)."""

    rank = 2


# ---- Keras 1 spellings ---------------------------------------------------------------------

_KERAS1_CONV = {"border_mode": ("padding", None), "init": ("kernel_initializer", None),
                "dim_ordering": ("data_format", cu.dim_ordering), "bias": ("use_bias", None),
                "W_regularizer": ("kernel_regularizer", None),
                "b_regularizer": ("bias_regularizer", None),
                "W_constraint": ("kernel_constraint", None),
                "b_constraint": ("bias_constraint", None)}


def _today(cls_name, filters, kernel_size, kwargs):
    shown = {k: v for k, v in kwargs.items() if k not in ("name", "input_shape")}
    return cu.call_text(cls_name, (filters, kernel_size), shown)


def Convolution2D(nb_filter=None, nb_row=None, nb_col=None, **kwargs):
    """Keras 1's Convolution2D(nb_filter, nb_row, nb_col, border_mode=, subsample=, init=):
    a Conv2D, with a DeprecationWarning that shows today's spelling."""
    filters = kwargs.pop("filters", nb_filter)
    kernel_size = kwargs.pop("kernel_size", None)
    if kernel_size is None:
        kernel_size = (nb_row, nb_col) if nb_col is not None else nb_row
    cu.translate_keras1("Convolution2D", kwargs, {**_KERAS1_CONV, "subsample": ("strides", None)})
    cu.warn_keras1("Convolution2D", _today("Conv2D", filters, kernel_size, kwargs))
    return Conv2D(filters, kernel_size, **kwargs)


def Convolution3D(nb_filter=None, kernel_dim1=None, kernel_dim2=None, kernel_dim3=None,
                  **kwargs):
    """Keras 1's Convolution3D(nb_filter, kernel_dim1, kernel_dim2, kernel_dim3, border_mode=,
    subsample=, init=): a Conv3D, with a DeprecationWarning that shows today's spelling."""
    filters = kwargs.pop("filters", nb_filter)
    kernel_size = kwargs.pop("kernel_size", None)
    if kernel_size is None:
        kernel_size = (kernel_dim1, kernel_dim2, kernel_dim3) if kernel_dim2 is not None \
            else kernel_dim1
    cu.translate_keras1("Convolution3D", kwargs, {**_KERAS1_CONV, "subsample": ("strides", None)})
    cu.warn_keras1("Convolution3D", _today("Conv3D", filters, kernel_size, kwargs))
    return Conv3D(filters, kernel_size, **kwargs)


def Convolution1D(nb_filter=None, filter_length=None, **kwargs):
    """Keras 1's Convolution1D(nb_filter, filter_length, border_mode=, subsample_length=):
    a Conv1D, with a DeprecationWarning that shows today's spelling."""
    filters = kwargs.pop("filters", nb_filter)
    kernel_size = kwargs.pop("kernel_size", filter_length)
    if "input_dim" in kwargs:  # Keras 1: input_dim = channels, input_length = steps
        kwargs["input_shape"] = (kwargs.pop("input_length", None), kwargs.pop("input_dim"))
    cu.translate_keras1("Convolution1D", kwargs,
                        {**_KERAS1_CONV, "subsample_length": ("strides", None)})
    cu.warn_keras1("Convolution1D", _today("Conv1D", filters, kernel_size, kwargs))
    return Conv1D(filters, kernel_size, **kwargs)


__all__ = ["Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D",
           "SeparableConv1D", "SeparableConv2D", "Convolution1D", "Convolution3D",
           "Convolution2D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"]

from .conv_transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose  # noqa: E402

# Keras 2 kept the padding, cropping and upsampling layers in keras.layers.convolutional.
from .reshaping import (  # noqa: E402, F401
                        Cropping1D,
                        Cropping2D,
                        Cropping3D,
                        UpSampling1D,
                        UpSampling2D,
                        UpSampling3D,
                        ZeroPadding1D,
                        ZeroPadding2D,
                        ZeroPadding3D,
)
