"""MNIST handwritten digits, from a local `mnist.npz` (as Keras caches it)."""

from __future__ import annotations

import numpy as np

from ._local import find

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


def load_npz(name, path, origin):
    file = find(name, path, origin)
    try:
        with np.load(file, allow_pickle=False) as f:
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    except (KeyError, ValueError, OSError) as e:
        raise ValueError(f"{name}.load_data: {str(file)!r} is not a {name} .npz file with "
                         f"x_train, y_train, x_test, y_test ({e})") from None


def load_data(path="mnist.npz"):
    """((x_train, y_train), (x_test, y_test)): uint8 images (n, 28, 28) and labels 0-9."""
    return load_npz("mnist", path, ORIGIN)
