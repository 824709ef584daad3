"""CIFAR's python batches: pickled dicts {b"data": uint8 (n, 3072), b"labels" | b"fine_labels"
| b"coarse_labels": list, ...}, read with the arrays-only unpickler, from the folder the
tarball unpacks to inside Keras' data folder."""

from __future__ import annotations

import numpy as np

from .. import backend
from ._local import cache_dir
from ._safe_pickle import RefusedPickle, load_pickle


def folder(name, inner, origin, first_file):
    """Keras' data folder's `inner` (Keras 2's place) or `<inner>-target/<inner>` (Keras
    3's), holding `first_file`; otherwise an error saying where to unpack `origin`."""
    candidates = [cache_dir() / inner, cache_dir() / f"{inner}-target" / inner]
    for candidate in candidates:
        if (candidate / first_file).is_file():
            return candidate
    raise FileNotFoundError(
        f"{name}.load_data: no local {inner}/{first_file} (looked in "
        f"{', '.join(str(c) for c in candidates)}). fnjit never downloads data; fetch {origin} "
        f"yourself and unpack it in {cache_dir()} (set KERAS_HOME to use another folder than "
        "~/.keras) so that it holds " + str(candidates[0] / first_file))


def load_batch(name, file, label_key):
    """(images (n, 3, 32, 32) uint8, labels list) of one pickled batch."""
    try:
        with open(file, "rb") as fh:
            batch = load_pickle(fh, encoding="bytes")
        batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
        data, labels = batch["data"], batch[label_key]
        data = np.asarray(data, dtype=np.uint8).reshape(len(data), 3, 32, 32)
    except (KeyError, ValueError, AttributeError, EOFError, RefusedPickle) as e:
        raise ValueError(f"{name}.load_data: {str(file)!r} is not a CIFAR python batch (a "
                         f"dict with data (n, 3072) and {label_key}) ({type(e).__name__}: "
                         f"{e})") from None
    if len(labels) != len(data):
        raise ValueError(f"{name}.load_data: {str(file)!r} has {len(data)} images but "
                         f"{len(labels)} labels")
    return data, labels


def arrange(x, labels, label_dtype):
    """Images in Keras' image data format, labels as a column (Keras: uint8 for CIFAR-10,
    int64 for CIFAR-100)."""
    if backend.image_data_format() == "channels_last":
        x = x.transpose(0, 2, 3, 1)
    return x, np.asarray(labels, dtype=label_dtype).reshape(-1, 1)
