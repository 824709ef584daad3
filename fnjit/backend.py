"""Global settings (`floatx`, `epsilon`, `image_data_format`) and naming, as in `keras.backend`.

The differentiable K operations that Lambda layers, custom losses and metrics use (K.mean,
K.exp, K.batch_dot, ...) are defined in fnjit/ops/ and exported here.
"""

from __future__ import annotations

import re

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_NAME_COUNTS: dict = {}


def floatx() -> str:
    return _FLOATX


def set_floatx(value: str):
    """float32 (default) or float64 (for gradient checks). Applies to models compiled after."""
    global _FLOATX
    if value not in ("float32", "float64"):
        raise ValueError(f"set_floatx: unknown floatx {value!r}; choose 'float32' or 'float64'")
    _FLOATX = value


def epsilon() -> float:
    return _EPSILON


def set_epsilon(value: float):
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    return _IMAGE_DATA_FORMAT


def set_image_data_format(value: str):
    global _IMAGE_DATA_FORMAT
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"set_image_data_format: unknown format {value!r}; choose "
                         "'channels_last' or 'channels_first'")
    _IMAGE_DATA_FORMAT = value


def clear_session():
    """Reset layer-name counters, so that new layers are named dense, dense_1, ... again."""
    _NAME_COUNTS.clear()


def snake_case(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()  # Conv2D -> conv2d, as Keras
    return s


def unique_name(prefix: str) -> str:
    """Keras' automatic names: `dense`, then `dense_1`, `dense_2`, ..."""
    count = _NAME_COUNTS.get(prefix, 0)
    _NAME_COUNTS[prefix] = count + 1
    return prefix if count == 0 else f"{prefix}_{count}"


# The differentiable operations, last: fnjit/ops/ reads the settings above at call time.
from .ops import *  # noqa: E402, F401, F403
