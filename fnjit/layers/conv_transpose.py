"""Conv1DTranspose, Conv2DTranspose, Conv3DTranspose (templates/conv.j2 with attr `transpose`):
the adjoint of a convolution, with Keras 3's output sizes and padding (those of its JAX
backend), kernel (*kernel_size, filters, in_channels) and bias (filters,)."""

from __future__ import annotations

from . import conv_utils as cu
from .conv_base import _Conv


def transpose_geometry(length, kernel, stride, padding, output_padding):
    """(output length, top pad of the equivalent convolution) as Keras 3 computes them: the
    output starts at (length - 1) * stride - kernel + 2 and grows by a left and a right pad."""
    if padding == "valid":
        extra = max(kernel, stride) - kernel if output_padding is None else output_padding
        left, right = kernel - 1, kernel - 1 + extra
    else:
        total = stride + kernel - 2 if output_padding is None else \
            kernel + kernel % 2 - 2 + output_padding
        left = min(total // 2 + total % 2, kernel - 1)
        right = total - left
    if length is None:
        return None, kernel - 1 - left
    return (length - 1) * stride - kernel + 2 + left + right, kernel - 1 - left


class _ConvTranspose(_Conv):
    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, **kwargs)
        if self.padding not in ("valid", "same"):
            raise ValueError(f"{self._what}: padding must be 'valid' or 'same', got {padding!r}")
        if max(self.dilation_rate) > 1:
            raise ValueError(f"{self._what}: dilation_rate={self.dilation_rate} is not "
                             "supported yet (only 1)")
        if output_padding is not None:
            output_padding = cu.normalize_tuple(output_padding, self.rank, "output_padding",
                                                self._what, allow_zero=True)
            for p, s in zip(output_padding, self.strides):
                if not 0 <= p < s:
                    raise ValueError(f"{self._what}: output_padding {output_padding} must be "
                                     f"smaller than strides {self.strides}")
        self.output_padding = output_padding

    def _lengths(self, spatial):
        ops = self.output_padding or (None,) * self.rank
        return [transpose_geometry(n, k, s, self.padding, p) for n, k, s, p in
                zip(spatial, self.kernel_size, self.strides, ops)]

    def _output_spatial(self, spatial):
        return tuple(n for n, _ in self._lengths(spatial))

    def _geometry(self, spatial):
        pads = [pad for _, pad in self._lengths(spatial)]
        return {"strides": self.strides, "dilation": (1,) * self.rank, "pad": tuple(pads),
                "transpose": True}

    def _kernel_shape(self, in_channels):
        return self.kernel_size + (self.filters, in_channels)

    def _fused_activation(self):
        """None: the transposed op has no fused epilogue (templates/conv.j2 runs it as the
        convolution's backward), so an activation op follows it."""
        return None

    def get_config(self):
        config = super().get_config()
        config.pop("groups")
        return {**config, "output_padding": self.output_padding}


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution over (batch, steps, channels)."""

    rank = 1


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution over (batch, height, width, channels) (or channels_first)."""

    rank = 2


class Conv3DTranspose(_ConvTranspose):
    """Transposed 3-D convolution over (batch, depth, height, width, channels) (or
    channels_first). Keras 3 puts data_format before output_padding here."""

    rank = 3

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 output_padding=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, output_padding=output_padding,
                         data_format=data_format, **kwargs)
