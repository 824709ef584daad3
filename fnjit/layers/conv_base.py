"""What every convolution layer shares: the geometry arguments and shapes, the lowering of
channels_first around channels_last ops, and `_Conv`, the base of Conv1D-3D and of the
transposed convolutions (fnjit/layers/conv_transpose.py)."""

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

    def _add_bias(self, size):
        """The bias weight (size,), or None without use_bias."""
        self.bias = self.add_weight("bias", (size,), self.bias_initializer,
                                    **self._options("bias")) if self.use_bias else None

    def _conv_op(self, ctx, x, kind, kernel, channels, use_bias, **attrs):
        """Op `kind` (conv, depthwise_conv) over channels_last `x` with `kernel` (and the bias
        where `use_bias`) and this layer's geometry, giving `channels` output channels."""
        shape = ctx.shape(x)
        spatial = shape[1:-1]
        params = [ctx.param(kernel)] + ([ctx.param(self.bias)] if use_bias else [])
        return ctx.op(kind, [x] + params,
                      [(shape[0],) + self._output_spatial(spatial) + (channels,)],
                      attrs={**self._geometry(spatial), "use_bias": use_bias, **attrs})[0]

    def _fused_activation(self):
        """The activation the convolution op applies to its own output, or None (then an
        activation op follows it)."""
        return None

    def lower(self, ctx, inputs):
        (x,) = inputs
        if self.data_format == "channels_first":
            x = to_channels_last(ctx, x)
        y = self._lower_channels_last(ctx, x)
        if self.data_format == "channels_first":
            y = to_channels_first(ctx, y)
        fused = self._fused_activation() is not None
        return [activations.lower(ctx, y, "linear" if fused else self.activation)]

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
        self.filters = cu.positive_int(filters, "filters", self._what)
        if groups != 1:
            raise ValueError(f"{self._what}: groups={groups!r} is not supported yet (only 1)")
        self.groups = 1
        self.kernel_initializer = initializers.get(kernel_initializer)

    def _out_channels(self, in_channels):
        return self.filters

    def _kernel_shape(self, in_channels):
        return self.kernel_size + (in_channels, self.filters)

    def build(self, input_shape):
        _, channels = self._check_input(input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight("kernel", self._kernel_shape(channels),
                                      self.kernel_initializer, **self._options("kernel"))
        self._add_bias(self.filters)

    def _lower_channels_last(self, ctx, x):
        fused = self._fused_activation()
        return self._conv_op(ctx, x, "conv", self.kernel, self.filters, self.use_bias,
                             **({"activation": fused} if fused else {}))

    def _fused_activation(self):
        """relu, sigmoid or tanh run in the conv op, on each block of output rows while it is
        in cache (templates/conv.j2); elementwise, so a channels_first layer's transpose after
        the op does not change it. A 1x1 kernel with unit strides is one GEMM with no blocks:
        an activation op follows it."""
        pointwise = all(k == 1 for k in self.kernel_size + self.strides)
        return self.activation if self.activation in activations.FUSED and not pointwise \
            else None

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "groups": self.groups,
                "kernel_initializer": initializers.serialize(self.kernel_initializer)}
