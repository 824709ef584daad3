"""Fashion-MNIST, from a local .npz holding x_train, y_train, x_test, y_test (Keras itself
caches the four original .gz files; pack them with numpy.savez once)."""

from __future__ import annotations

from .mnist import load_npz

ORIGIN = "https://github.com/zalandoresearch/fashion-mnist (the four *-ubyte.gz files)"


def load_data(path="fashion-mnist.npz"):
    return load_npz("fashion_mnist", path, ORIGIN)
