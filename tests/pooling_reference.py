"""The numpy reference of pooling that tests/test_pooling.py and tests/test_pooling3d.py check
the layers against (1-, 2- and 3-D), written independently of fnjit."""

import itertools
import math

import numpy as np


def np_pool(x, size, strides, padding, mode):
    """channels_last (n, *spatial, c), a loop over output positions. 'same' pads with NaN,
    which nanmax / nanmean then skip: padded cells neither win a max nor count in an average,
    as in Keras."""
    dims = len(size)
    if padding == "same":
        pads = []
        for n, k, s in zip(x.shape[1:1 + dims], size, strides):
            total = max((math.ceil(n / s) - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=np.nan)
    out = [(n - k) // s + 1 for n, k, s in zip(x.shape[1:1 + dims], size, strides)]
    reduce = np.nanmax if mode == "max" else np.nanmean
    y = np.empty((x.shape[0], *out, x.shape[-1]))
    for at in itertools.product(*(range(o) for o in out)):
        window = x[(slice(None),) + tuple(slice(p * s, p * s + k)
                                          for p, s, k in zip(at, strides, size))]
        y[(slice(None),) + at] = reduce(window, axis=tuple(range(1, dims + 1)))
    return y


def channels_first(f):
    """A channels_last reference applied to a channels_first array."""
    return lambda x: np.moveaxis(f(np.moveaxis(x, 1, -1)), -1, 1)
