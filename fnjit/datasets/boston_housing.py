"""Boston housing prices, from a local `boston_housing.npz` (arrays x and y), split as Keras
splits it: shuffled with `seed`, the last `test_split` fraction held out."""

from __future__ import annotations

import numpy as np

from ._local import find

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/boston_housing.npz"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    if not 0 <= test_split < 1:
        raise ValueError(f"boston_housing.load_data: test_split must be in [0, 1), got "
                         f"{test_split}")
    file = find("boston_housing", path, ORIGIN)
    with np.load(file, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    order = np.random.RandomState(seed).permutation(len(x))
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
