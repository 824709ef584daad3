"""keras.utils' dataset helpers on numpy: `timeseries_dataset_from_array` (a PyDataset of
sliding windows, which fit reads as Keras reads the tf.data.Dataset it returns) and
`split_dataset` for arrays and tuples of arrays."""

from __future__ import annotations

import math
import random

import numpy as np

from .data_adapters import PyDataset
from .data_adapters import whole_number as _whole


class TimeseriesDataset(PyDataset):
    """The windows of timeseries_dataset_from_array, `batch_size` per item. It orders its
    windows itself, as the tf.data.Dataset Keras returns does: fit's `shuffle` does not
    reorder its batches. With `shuffle`, the windows' start positions are permuted by
    numpy's RandomState(seed), as Keras does (Keras' further tf.data buffer shuffle is not
    reproduced), and permuted again at the end of every epoch."""

    keeps_its_order = True

    def __init__(self, data, targets, positions, sequence_length, sampling_rate, batch_size,
                 shuffle, seed):
        super().__init__()
        self.data, self.targets = data, targets
        self.positions = positions
        self.offsets = np.arange(sequence_length) * sampling_rate
        self.batch_size = batch_size
        self._rng = np.random.RandomState(seed) if shuffle else None
        if self._rng is not None:
            self._rng.shuffle(self.positions)

    def __len__(self):
        return len(self.positions) if self.batch_size is None else \
            math.ceil(len(self.positions) / self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"TimeseriesDataset: batch {index} out of range [0, {len(self)})")
        if self.batch_size is None:  # single windows, no batch axis
            starts = self.positions[index]
        else:
            starts = self.positions[index * self.batch_size:(index + 1) * self.batch_size]
        windows = self.data[np.add.outer(starts, self.offsets)]
        return windows if self.targets is None else (windows, self.targets[starts])

    def on_epoch_end(self):
        if self._rng is not None:
            self._rng.shuffle(self.positions)


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None, format="tf"):
    """Sliding windows over `data` (axis 0 is time): window k holds the `sequence_length`
    steps data[s], data[s + sampling_rate], ... from s = start_index + k * sequence_stride;
    its target is targets[s] (None: windows only). Keras' argument checks; `format` ("tf" or
    "grain") picks Keras' dataset type, and here both give the same PyDataset."""
    caller = "timeseries_dataset_from_array"
    if format not in ("tf", "grain"):
        raise ValueError(f'{caller}: `format` should be either "tf" or "grain". Received: '
                         f"format={format}")
    data = np.asarray(data)
    n = len(data)
    sequence_length = _whole(sequence_length, "sequence_length", caller)
    if start_index:
        start_index = _whole(start_index, "start_index", caller, least=0)
        if start_index >= n:
            raise ValueError(f"{caller}: `start_index` must be lower than the length of the "
                             f"data. Received: start_index={start_index}, for data of length "
                             f"{n}")
    if end_index:
        end_index = _whole(end_index, "end_index", caller)
        if start_index and end_index <= start_index:
            raise ValueError(f"{caller}: `end_index` must be higher than `start_index`. "
                             f"Received: start_index={start_index}, and end_index={end_index}")
        if end_index >= n:
            raise ValueError(f"{caller}: `end_index` must be lower than the length of the "
                             f"data. Received: end_index={end_index}, for data of length {n}")
    for what, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        _whole(value, what, caller)
        if value >= n:
            raise ValueError(f"{caller}: `{what}` must be lower than the length of the data. "
                             f"Received: {what}={value}, for data of length {n}")
    if batch_size is not None:
        batch_size = _whole(batch_size, "batch_size", caller)
    start_index = start_index or 0
    end_index = end_index or n
    count = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        count = min(count, len(targets))
    if count <= 0:
        raise ValueError(f"{caller}: no window of sequence_length={sequence_length} and "
                         f"sampling_rate={sampling_rate} fits in steps [{start_index}, "
                         f"{end_index})")
    positions = np.arange(0, count, sequence_stride)
    return TimeseriesDataset(data[start_index:end_index],
                             None if targets is None else targets[start_index:], positions,
                             sequence_length, sampling_rate, batch_size, shuffle,
                             np.random.randint(10**6) if seed is None else seed)


def _split_size(value, what, total):
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"split_dataset: invalid `{what}` type. Expected: int or float or "
                        f"None, received: type({what})={type(value).__name__}")
    if isinstance(value, (float, np.floating)):
        if not 0 < value < 1:
            raise ValueError(f"split_dataset: `{what}` should be either a positive integer "
                             f"smaller than {total}, or a float within the range (0, 1). "
                             f"Received: {what}={value}")
        return round(value * total)
    if not 0 < value < total:
        raise ValueError(f"split_dataset: `{what}` should be either a positive integer "
                         f"smaller than {total}, or a float within the range (0, 1). "
                         f"Received: {what}={value}")
    return int(value)


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None,
                  preferred_backend=None):
    """Split an array, or a tuple / list of arrays of one length, into the first `left_size`
    and the last `right_size` samples (ints count samples, floats are fractions rounded as
    Keras rounds; None is the complement of the other). With `shuffle`, the samples are
    first permuted as Keras permutes them (Python's random.shuffle seeded with `seed`).
    Returns numpy arrays (tuples of them), where Keras returns unbatched datasets: give them
    to fit with a batch_size. `preferred_backend` (the dataset type Keras returns) is
    refused: the result is always arrays."""
    if preferred_backend is not None:
        raise ValueError(f"split_dataset: preferred_backend={preferred_backend!r} is not "
                         "supported: fnjit returns numpy arrays")
    if isinstance(dataset, (list, tuple)):
        parts, single = [np.asarray(a) for a in dataset], False
    elif isinstance(dataset, np.ndarray):
        parts, single = [dataset], True
    else:
        raise TypeError(f"split_dataset: `dataset` must be a numpy array or a list/tuple of "
                        f"arrays, got {type(dataset).__name__}")
    lengths = {len(a) for a in parts}
    if len(lengths) != 1:
        raise ValueError(f"split_dataset: the arrays of `dataset` have different lengths "
                         f"{sorted(lengths)}")
    total = lengths.pop()
    if left_size is None and right_size is None:
        raise ValueError("split_dataset: at least one of `left_size` or `right_size` must be "
                         "specified. Received: left_size=None and right_size=None")
    if isinstance(left_size, float) and isinstance(right_size, float) and \
            left_size + right_size > 1:
        raise ValueError("split_dataset: the sum of `left_size` and `right_size` is greater "
                         "than 1. It must be less than or equal to 1.")
    left = _split_size(left_size, "left_size", total)
    right = _split_size(right_size, "right_size", total)
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"split_dataset: left_size + right_size = {left + right} is more "
                         f"than the {total} samples")
    if left == 0 or right == 0:
        raise ValueError(f"split_dataset: with {total} samples, left_size={left_size} and "
                         f"right_size={right_size} leave the {'left' if left == 0 else 'right'}"
                         " split empty")
    order = list(range(total))
    if shuffle:
        random.Random(random.randint(0, 10**6) if seed is None else seed).shuffle(order)
    order = np.asarray(order)
    out = [tuple(a[rows] for a in parts) for rows in (order[:left], order[total - right:])]
    return tuple(p[0] for p in out) if single else tuple(out)
