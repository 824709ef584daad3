"""Convolution layers: Conv1D, Conv2D, Conv3D, DepthwiseConv1D/2D, SeparableConv1D/2D, and the
Keras 1 spellings Convolution1D / Convolution2D.

All of them lower to channels_last ops (templates/conv.j2, templates/depthwise_conv.j2); a
channels_first layer moves the channel axis with a `transpose` op on each side, which costs one
pass over the input and one over the output.
"""

from __future__ import annotations

from .. import initializers
from . import conv_utils as cu
from .conv_base import _BaseConv, _Conv, to_channels_first, to_channels_last  # noqa: F401
from .conv_transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose


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
        self.depth_multiplier = cu.positive_int(depth_multiplier, "depth_multiplier",
                                                self._what)
        self.depthwise_initializer = initializers.get(depthwise_initializer)

    def _out_channels(self, in_channels):
        return in_channels * self.depth_multiplier

    def build(self, input_shape):
        _, channels = self._check_input(input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight("kernel", self.kernel_size +
                                      (channels, self.depth_multiplier),
                                      self.depthwise_initializer, **self._options("depthwise"))
        self._add_bias(channels * self.depth_multiplier)

    def _lower_channels_last(self, ctx, x):
        return self._conv_op(ctx, x, "depthwise_conv", self.kernel,
                             ctx.shape(x)[-1] * self.depth_multiplier, self.use_bias)

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
        self.filters = cu.positive_int(filters, "filters", self._what)
        self.depth_multiplier = cu.positive_int(depth_multiplier, "depth_multiplier",
                                                self._what)
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
        self._add_bias(self.filters)

    def _lower_channels_last(self, ctx, x):
        shape = ctx.shape(x)
        out = self._output_spatial(shape[1:-1])
        mid = self._conv_op(ctx, x, "depthwise_conv", self.depthwise_kernel,
                            shape[-1] * self.depth_multiplier, use_bias=False)
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
