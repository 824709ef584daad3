"""Data sets with Keras' loader signatures, read from local files only: fnjit never downloads.
`mnist.load_data()` reads `mnist.npz` from the path given or from Keras' cache folder
(`~/.keras/datasets/`); `digits.load_data()` uses the handwritten digits scikit-learn ships."""

from . import boston_housing, digits, fashion_mnist, mnist

__all__ = ["boston_housing", "digits", "fashion_mnist", "mnist"]
