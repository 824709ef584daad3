"""Utilities, as `keras.utils`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import random as _random
from .data_adapters import PyDataset, Sequence
from .dataset_utils import split_dataset, timeseries_dataset_from_array
from .plotting import model_to_dot, plot_model
from .progbar import Progbar
from .saving.config import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)

__all__ = ["to_categorical", "normalize", "set_random_seed", "plot_model", "model_to_dot",
           "Progbar", "get_file", "register_keras_serializable", "get_custom_objects",
           "custom_object_scope", "CustomObjectScope", "get_registered_name",
           "get_registered_object", "pad_sequences", "PyDataset", "Sequence",
           "timeseries_dataset_from_array", "split_dataset", "load_img", "img_to_array",
           "array_to_img", "save_img"]


if TYPE_CHECKING:  # at run time through __getattr__ below
    from .preprocessing.image_files import array_to_img, img_to_array, load_img, save_img
    from .preprocessing.sequence import pad_sequences

# fnjit.preprocessing's, imported on first use (fnjit/__init__.py says why).
_FROM_PREPROCESSING = {"array_to_img": "image_files", "img_to_array": "image_files",
                       "load_img": "image_files", "save_img": "image_files",
                       "pad_sequences": "sequence"}


def __getattr__(name):
    if name in _FROM_PREPROCESSING:
        import importlib

        module = importlib.import_module(f"fnjit.preprocessing.{_FROM_PREPROCESSING[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer class labels: shape (n,) or (n, 1) -> (n, num_classes)."""
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    if y.size and (not np.all(np.isfinite(y)) or np.any(y < 0) or np.any(y != np.floor(y))):
        raise ValueError("to_categorical: labels must be non-negative integers")
    y = y.astype(int)
    num_classes = int(num_classes if num_classes is not None else (y.max() + 1 if y.size else 0))
    if y.size and y.max() >= num_classes:
        raise ValueError(f"to_categorical: label {y.max()} does not fit num_classes="
                         f"{num_classes}")
    out = np.zeros(y.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out


def normalize(x, axis=-1, order=2):
    x = np.asarray(x, dtype=float)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    norm[norm == 0] = 1
    return x / norm


def set_random_seed(seed):
    """Seed initialisers, shuffling and dropout (and numpy's global generator)."""
    np.random.seed(seed)
    _random.set_seed(seed)


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, **kwargs):
    """The local path of a file Keras would download to its cache. fnjit never downloads: the
    file must already be at `cache_dir/cache_subdir/fname` (default ~/.keras/datasets/) or be
    an existing path; with `file_hash` (or md5_hash) its content is checked."""
    import hashlib
    from pathlib import Path

    from .datasets._local import cache_dir as default_cache_dir

    if fname is None:
        if origin is None:
            raise ValueError("get_file: give fname (or origin, whose last part names the file)")
        fname = origin.rstrip("/").split("/")[-1]
    base = Path(cache_dir).expanduser() / cache_subdir if cache_dir else \
        default_cache_dir().parent / cache_subdir
    path = Path(fname).expanduser() if Path(fname).expanduser().is_file() else base / fname
    if not path.is_file():
        raise FileNotFoundError(f"get_file: {str(path)!r} does not exist. fnjit never "
                                f"downloads; fetch {origin or fname} yourself and put it there")
    wanted = file_hash or md5_hash
    if wanted:
        algo = "md5" if md5_hash or (hash_algorithm == "auto" and len(wanted) == 32) else \
            ("sha256" if hash_algorithm == "auto" else hash_algorithm)
        digest = hashlib.new(algo, path.read_bytes()).hexdigest()
        if digest != wanted:
            raise ValueError(f"get_file: {str(path)!r} has {algo} {digest}, expected {wanted}")
    return str(path)
