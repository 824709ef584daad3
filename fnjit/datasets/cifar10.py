"""CIFAR-10: 32x32 colour images in 10 classes, from the python batches of
cifar-10-python.tar.gz unpacked in Keras' data folder (cifar-10-batches-py/)."""

from __future__ import annotations

import numpy as np

from ._cifar import arrange, folder, load_batch

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def load_data():
    """((x_train, y_train), (x_test, y_test)): uint8 images (n, 32, 32, 3) (channels first
    under that image data format) and uint8 labels (n, 1)."""
    where = folder("cifar10", "cifar-10-batches-py", ORIGIN, "data_batch_1")
    parts = [load_batch("cifar10", where / f"data_batch_{i}", "labels") for i in range(1, 6)]
    x_train = np.concatenate([x for x, _ in parts])
    y_train = [label for _, labels in parts for label in labels]
    x_test, y_test = load_batch("cifar10", where / "test_batch", "labels")
    return arrange(x_train, y_train, np.uint8), arrange(x_test, y_test, np.uint8)
