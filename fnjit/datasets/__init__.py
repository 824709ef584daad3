"""Data sets with Keras' loader signatures, read from local files only: fnjit never downloads.
`mnist.load_data()` reads `mnist.npz` from the path given or from Keras' cache folder
(`~/.keras/datasets/`, or $KERAS_HOME/datasets); imdb and reuters read their .npz and word
index there, cifar10 and cifar100 the unpacked python batches; `digits.load_data()` uses the
handwritten digits scikit-learn ships. Pickled parts are read without running code
(_safe_pickle.py)."""

from . import boston_housing, cifar10, cifar100, digits, fashion_mnist, imdb, mnist, reuters

__all__ = ["boston_housing", "cifar10", "cifar100", "digits", "fashion_mnist", "imdb",
           "mnist", "reuters"]
