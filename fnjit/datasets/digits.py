"""The 1,797 handwritten digits (8x8, grey levels 0-16) that scikit-learn ships inside its
package: a real image data set that needs no download (the `examples` extra)."""

from __future__ import annotations

import numpy as np


def load_data(test_split=0.2, seed=113):
    """((x_train, y_train), (x_test, y_test)): uint8 images (n, 8, 8) with values 0-16 and
    uint8 labels 0-9, shuffled with `seed`, the last `test_split` fraction held out."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("digits.load_data needs scikit-learn, which ships the data; install "
                          "it with `pip install fnjit[examples]`") from None
    if not 0 <= test_split < 1:
        raise ValueError(f"digits.load_data: test_split must be in [0, 1), got {test_split}")
    data = load_digits()
    x = data.images.astype(np.uint8)
    y = data.target.astype(np.uint8)
    order = np.random.RandomState(seed).permutation(len(x))
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
