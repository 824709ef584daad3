"""Image files and PIL images (keras.utils.load_img, img_to_array, array_to_img, save_img),
through Pillow, an optional dependency (`pip install fnjit[images]`): without it these refuse
with an error that says to install it."""

from __future__ import annotations

import io
import pathlib
import warnings

import numpy as np

from .. import backend
from ..saving.files import atomic_path

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")
COLOR_MODES = {"grayscale": ("L", "I;16", "I"), "rgb": ("RGB",), "rgba": ("RGBA",)}


def pil_image(caller):
    """PIL.Image, or an ImportError naming `caller` and the install command."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"{caller} needs Pillow to read and write image files, which is not "
                          "installed: `pip install pillow` (or `pip install fnjit[images]`)"
                          ) from None
    return Image


def data_format_of(data_format, caller):
    data_format = data_format or backend.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{caller}: data_format must be 'channels_last' or 'channels_first'; "
                         f"got {data_format!r}")
    return data_format


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False):
    """The image file at `path` (a path or a BytesIO) as a PIL image in `color_mode`
    ('grayscale', 'rgb', 'rgba'), resized to `target_size` = (height, width) when given, with
    PIL's `interpolation`; `keep_aspect_ratio` crops the centre to the target's aspect first."""
    image_module = pil_image("load_img")
    if color_mode not in COLOR_MODES:
        raise ValueError(f"load_img: color_mode must be one of {sorted(COLOR_MODES)}; got "
                         f"{color_mode!r}")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"load_img: interpolation must be one of {INTERPOLATIONS}; got "
                         f"{interpolation!r}")
    if isinstance(path, io.BytesIO):
        img = image_module.open(path)
    elif isinstance(path, (str, bytes, pathlib.Path)):
        with open(path, "rb") as f:
            img = image_module.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"load_img: path must be a path or an io.BytesIO; got "
                        f"{type(path).__name__}")
    if img.mode not in COLOR_MODES[color_mode]:
        img = img.convert(COLOR_MODES[color_mode][0])
    if target_size is None:
        return img
    height, width = (int(n) for n in target_size)
    if img.size == (width, height):
        return img
    resample = getattr(image_module.Resampling, interpolation.upper())
    box = None
    if keep_aspect_ratio:
        w, h = img.size
        crop_h, crop_w = min(h, (w * height) // width), min(w, (h * width) // height)
        top, left = (h - crop_h) // 2, (w - crop_w) // 2
        box = (left, top, left + crop_w, top + crop_h)
    return img.resize((width, height), resample, box=box)


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image as a 3-D array (height, width, channels), channels first when asked."""
    data_format = data_format_of(data_format, "img_to_array")
    x = np.asarray(img, dtype=dtype or backend.floatx())
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise ValueError(f"img_to_array: an image must have 2 or 3 dimensions; got shape "
                         f"{x.shape}")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A 3-D array with 1, 3 or 4 channels as a PIL image ('L' or 'I', 'RGB', 'RGBA');
    `scale` maps the array's range onto 0-255 first."""
    image_module = pil_image("array_to_img")
    data_format = data_format_of(data_format, "array_to_img")
    x = np.array(x, dtype=dtype or backend.floatx())
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected one image of rank 3; got shape {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        if np.max(x) != 0:
            x = x / np.max(x)
        x = x * 255
    channels = x.shape[2]
    if channels == 1:
        if np.max(x) > 255:
            return image_module.fromarray(x[:, :, 0].astype("int32"), "I")
        return image_module.fromarray(x[:, :, 0].astype("uint8"), "L")
    if channels in (3, 4):
        return image_module.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    raise ValueError(f"array_to_img: an image must have 1, 3 or 4 channels; got shape "
                     f"{x.shape} ({channels} channels, {data_format})")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Array `x` saved as an image file; `file_format` defaults to the path's suffix, and
    `kwargs` go to PIL's Image.save (quality=..., for instance). RGBA is saved as RGB in JPEG."""
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower()
    if not file_format:
        raise ValueError(f"save_img: no image format for {path!r}: give file_format='png' (or "
                         "another) or a path ending in one")
    if file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("save_img: JPEG has no alpha channel; saving the image as RGB",
                      stacklevel=2)
        img = img.convert("RGB")
    if isinstance(path, (str, pathlib.Path)):  # a file: written whole or not at all
        with atomic_path(path) as tmp:
            img.save(tmp, format=file_format, **kwargs)
    else:
        img.save(path, format=file_format, **kwargs)
