"""CIFAR-100: 32x32 colour images in 100 fine or 20 coarse classes, from the python files of
cifar-100-python.tar.gz unpacked in Keras' data folder (cifar-100-python/)."""

from __future__ import annotations

import numpy as np

from ._cifar import arrange, folder, load_batch

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"


def load_data(label_mode="fine"):
    """((x_train, y_train), (x_test, y_test)) with the `label_mode` ('fine': 100 classes,
    'coarse': 20) labels as int64 (n, 1), as Keras gives them."""
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"cifar100.load_data: label_mode must be 'fine' or 'coarse'; got "
                         f"{label_mode!r}")
    where = folder("cifar100", "cifar-100-python", ORIGIN, "train")
    key = f"{label_mode}_labels"
    return (arrange(*load_batch("cifar100", where / "train", key), np.int64),
            arrange(*load_batch("cifar100", where / "test", key), np.int64))
