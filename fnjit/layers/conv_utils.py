"""Argument handling and shape arithmetic shared by the convolution, pooling and reshaping
layers: Keras' rules for tuples, padding and output lengths, data formats, and the Keras 1
argument spellings."""

from __future__ import annotations

import numbers
import warnings

from .. import backend


def normalize_tuple(value, rank, what, layer, allow_zero=False):
    """An int or a sequence of `rank` ints -> a tuple of `rank` ints (Keras' standardize_tuple)."""
    if isinstance(value, int):
        value = (value,) * rank
    try:
        value = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{layer}: {what} must be an int or a tuple of {rank} ints, "
                         f"got {value!r}") from None
    if len(value) != rank:
        raise ValueError(f"{layer}: {what} must be an int or a tuple of {rank} ints, "
                         f"got {value!r}")
    low = 0 if allow_zero else 1
    if any(v < low for v in value):
        raise ValueError(f"{layer}: every entry of {what} must be >= {low}, got {value!r}")
    return value


def positive_int(value, what, layer):
    """`value` (filters, depth_multiplier) as a positive int, or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not float(value).is_integer() or value <= 0:
        raise ValueError(f"{layer}: {what} must be a positive int, got {value!r}")
    return int(value)


def normalize_padding(value, layer, allow_causal=False):
    padding = str(value).lower()
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    if padding not in allowed:
        raise ValueError(f"{layer}: padding must be one of {allowed}, got {value!r}")
    return padding


def normalize_data_format(value, layer):
    """None means `fnjit.backend.image_data_format()`, read when the layer is made."""
    fmt = backend.image_data_format() if value is None else str(value).lower()
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: data_format must be 'channels_last' or 'channels_first', "
                         f"got {value!r}")
    return fmt


def output_length(length, window, stride, padding, dilation=1):
    """Keras' output length of a sliding window (None stays None)."""
    if length is None:
        return None
    if padding in ("same", "causal"):
        return (length + stride - 1) // stride
    return (length - (window - 1) * dilation - 1) // stride + 1


def pad_before(length, window, stride, padding, dilation=1):
    """Zeros implied before the first element: for 'same', half the total padding
    max((ceil(in / s) - 1) * s + (k - 1) * d + 1 - in, 0), rounded down, as Keras (and TF)."""
    if padding == "valid":
        return 0
    span = (window - 1) * dilation
    if padding == "causal":
        return span
    out = (length + stride - 1) // stride
    return max((out - 1) * stride + span + 1 - length, 0) // 2


def split_channels(shape, data_format):
    """(spatial dims, channels) of a per-batch shape (batch first)."""
    if data_format == "channels_first":
        return tuple(shape[2:]), shape[1]
    return tuple(shape[1:-1]), shape[-1]


def join_channels(batch, spatial, channels, data_format):
    if data_format == "channels_first":
        return (batch, channels) + tuple(spatial)
    return (batch,) + tuple(spatial) + (channels,)


def check_rank(layer, input_shape, rank):
    if len(input_shape) != rank + 2:
        raise ValueError(f"{layer}: expects inputs of rank {rank + 2} (batch, "
                         f"{rank} spatial dims and channels), got shape {tuple(input_shape)}")


def check_positive(layer, input_shape, output_shape, data_format):
    spatial, _ = split_channels(output_shape, data_format)
    if any(d is not None and d <= 0 for d in spatial):
        hint = ""
        if data_format == "channels_last":
            hint = (" If the input is channels-first (e.g. (3, 256, 256)), pass "
                    "data_format='channels_first' or call "
                    "fnjit.backend.set_image_data_format('channels_first').")
        raise ValueError(f"{layer}: input shape {tuple(input_shape)} gives a non-positive "
                         f"output shape {tuple(output_shape)} ({data_format}).{hint}")


def translate_keras1(cls_name, kwargs, renames):
    """Rename Keras 1 keyword arguments in `kwargs`, in place; returns the old names used.
    `renames`: old name -> (new name, value converter or None)."""
    used = [k for k in renames if k in kwargs]
    for old in used:
        new, convert = renames[old]
        value = kwargs.pop(old)
        if new in kwargs:
            raise TypeError(f"{cls_name}: got both {old!r} (Keras 1) and {new!r}")
        kwargs[new] = convert(value) if convert else value
    return used


def call_text(name, args=(), kwargs=None):
    """`Conv2D(64, (3, 3), padding='same')`, for messages."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in (kwargs or {}).items()]
    return f"{name}({', '.join(parts)})"


def warn_keras1(old, new, stacklevel=3):
    warnings.warn(f"{old} is the Keras 1 spelling; use {new}", DeprecationWarning,
                  stacklevel=stacklevel)


def dim_ordering(value):
    """Keras 1 `dim_ordering` ('th', 'tf', 'default') -> data_format."""
    return {"th": "channels_first", "tf": "channels_last", "default": None}.get(value, value)


KERAS1_POOLING = {"border_mode": ("padding", None), "dim_ordering": ("data_format", dim_ordering),
                  "pool_length": ("pool_size", None), "stride": ("strides", None)}
