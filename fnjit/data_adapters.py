"""The batches fit, evaluate and predict read: from arrays (sliced here, checked once by the
trainer), from Python generators and iterators, and from `keras.utils.PyDataset` (Keras 2's
`Sequence`), whose batches the trainer checks one by one. Keras 3's semantics:

- A batch is a tuple `(x,)`, `(x, y)` or `(x, y, sample_weight)` (a list counts as a tuple, as
  Keras 3's PyDataset and Keras 2 took it); anything else (an array, a dict) is `x` alone.
- A generator is read once: its batches continue from one epoch to the next. When it runs out
  before `steps_per_epoch` batches, Keras' "ran out of data" warning is given and the epoch
  ends; an exhausted generator ends training before the next epoch (Keras 2's rule: Keras 3
  replays the two batches it peeked at, which nobody means).
- A PyDataset is read by index: `steps_per_epoch` (default `len`) indices per epoch, in a
  permutation drawn per pass over it when shuffling; a pass that ends before the epoch's steps
  ends the epoch with the warning, and the next epoch starts a new pass, as in Keras 3.
  Its `on_epoch_begin` / `on_epoch_end` are called at each epoch's start and end (Keras 3
  calls on_epoch_end one extra time per fit and evaluate; fnjit once per epoch).
"""

from __future__ import annotations

import collections.abc
import itertools
import math
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import random as _random

RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset or "
           "generator can generate at least `steps_per_epoch * epochs` batches.")


def whole_number(value, what, caller, least=1):
    """An integer argument of at least `least`, or an error naming it (the data helpers')."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{caller}: `{what}` must be an integer >= {least}. Received: "
                         f"{what}={value!r}")
    return int(value)


class PyDataset:
    """Keras 3's base class for batches produced by Python: subclass it with `__len__` (or a
    `num_batches` property; None for an endless dataset) and `__getitem__(index)` returning a
    batch. `workers` > 1 reads up to `max_queue_size` batches ahead in that many threads, in
    order; `use_multiprocessing=True` (processes) is refused: fnjit reads in threads only."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = whole_number(workers, "workers", "PyDataset")
        if use_multiprocessing:
            raise ValueError("PyDataset: use_multiprocessing=True is not supported: fnjit reads "
                             "batches in threads (workers=...), not in processes")
        self._use_multiprocessing = False
        self._max_queue_size = whole_number(max_queue_size, "max_queue_size", "PyDataset")

    # Keras 2's Sequence subclasses often skip super().__init__(): the defaults then hold.
    @property
    def workers(self):
        return getattr(self, "_workers", 1)

    @property
    def use_multiprocessing(self):
        return getattr(self, "_use_multiprocessing", False)

    @property
    def max_queue_size(self):
        return getattr(self, "_max_queue_size", 10)

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index)")

    @property
    def num_batches(self):
        """The number of batches, or None for an endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must define __len__ or the "
                                  "num_batches property")

    def __iter__(self):
        indices = range(self.num_batches) if self.num_batches is not None else itertools.count()
        for index in indices:
            yield self[index]

    def on_epoch_begin(self):
        """Called at the start of every epoch."""

    def on_epoch_end(self):
        """Called at the end of every epoch."""


Sequence = PyDataset  # Keras 3's alias of Keras 2's name


def is_batch_source(data):
    """Whether `data` gives batches itself (a PyDataset, a generator or an iterator) rather
    than being arrays that fnjit cuts into batches."""
    return isinstance(data, (PyDataset, collections.abc.Iterator))


def unpack(batch):
    """(x, y, sample_weight) of one batch, absent parts None."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple):
        return batch, None, None
    if not 1 <= len(batch) <= 3:
        raise ValueError(f"a batch must be a tuple (x,), (x, y) or (x, y, sample_weight); got "
                         f"a tuple of {len(batch)} items")
    return batch + (None,) * (3 - len(batch))


def refuse_with_source(caller, **given):
    """Arguments that arrays take but a generator or PyDataset carries itself (or has no
    meaning for it): refused by name, as Keras 3 refuses y and sample_weight (Keras 3 ignores
    batch_size there silently; fnjit refuses it)."""
    for name, value in given.items():
        if value is not None:
            raise ValueError(f"{caller}: {name} cannot be given when x is a generator, an "
                             f"iterator or a PyDataset: its batches carry their own "
                             f"{'size' if 'batch_size' in name else 'data'} (yield (x, y) or "
                             "(x, y, sample_weight) batches)")


class ArrayBatches:
    """Batches sliced from arrays `parts` = (xs, ys, sws), as fit always cut them: `steps`
    batches per epoch (default one pass), wrapping past the end, shuffled per epoch."""

    exhausted = False

    def __init__(self, parts, batch_size, steps=None, shuffle=False):
        self.parts = parts
        self.n = len(parts[0][0])
        self.batch_size = batch_size
        self.steps = steps or math.ceil(self.n / batch_size)
        self.shuffle = shuffle

    def epoch(self):
        order = _random.generator().permutation(self.n) if self.shuffle else None
        for b in range(self.steps):
            lo = (b * self.batch_size) % self.n
            hi = min(lo + self.batch_size, self.n)
            rows = slice(lo, hi) if order is None else order[lo:hi]
            yield tuple([a[rows] for a in part] for part in self.parts)

    def end_epoch(self):
        pass


class IteratorBatches:
    """Batches from a generator or iterator, read once across all epochs."""

    def __init__(self, iterator, steps=None):
        self.iterator = iterator
        self.steps = steps
        self.exhausted = False

    def epoch(self):
        for _ in itertools.count() if self.steps is None else range(self.steps):
            try:
                batch = next(self.iterator)
            except StopIteration:
                self.exhausted = True
                if self.steps is not None:
                    warnings.warn(RAN_OUT, stacklevel=4)
                return
            yield unpack(batch)

    def end_epoch(self):
        pass


class SequenceBatches:
    """Batches of a PyDataset by index. `continuing` (fit's training data): an epoch goes on
    from where the last one stopped in the current pass; otherwise (validation, evaluate,
    predict) every epoch starts at batch 0."""

    exhausted = False

    def __init__(self, dataset, steps=None, shuffle=False, continuing=True, caller="fit"):
        self.dataset = dataset
        self.size = dataset.num_batches
        if self.size is not None:
            self.size = int(self.size)
            if self.size < 1:
                raise ValueError(f"{caller}: the PyDataset {type(dataset).__name__} has no "
                                 f"batches (len {self.size})")
        elif steps is None:
            raise ValueError(f"{caller}: the PyDataset {type(dataset).__name__} is endless "
                             "(num_batches is None): give the number of steps")
        self.given_steps = steps
        self.steps = steps or self.size
        self.shuffle = shuffle and self.size is not None
        self.continuing = continuing
        self._order = None
        self._pos = 0

    def _indices(self):
        if self.size is None:  # endless: indices count on
            first = self._pos
            self._pos += self.steps
            return range(first, self._pos)
        if self._order is None:
            self._order = _random.generator().permutation(self.size) if self.shuffle else \
                np.arange(self.size)
            self._pos = 0
        taken = self._order[self._pos:self._pos + self.steps]
        self._pos += len(taken)
        if self._pos >= self.size or not self.continuing:
            self._order = None
        return [int(i) for i in taken]

    def _read(self, indices):
        workers = self.dataset.workers
        if workers <= 1:
            for i in indices:
                yield self.dataset[i]
            return
        # Up to max_queue_size batches read ahead by `workers` threads, given back in order.
        ahead = max(self.dataset.max_queue_size, 1)
        with ThreadPoolExecutor(workers) as pool:
            pending = deque()
            for i in indices:
                pending.append(pool.submit(self.dataset.__getitem__, i))
                if len(pending) >= ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def epoch(self):
        self.dataset.on_epoch_begin()
        indices = self._indices()
        for batch in self._read(indices):
            yield unpack(batch)
        if self.given_steps is not None and len(indices) < self.given_steps:
            warnings.warn(RAN_OUT, stacklevel=4)

    def end_epoch(self):
        self.dataset.on_epoch_end()


def batch_source(data, caller, steps=None, shuffle=False, continuing=True):
    """The batches of a generator, iterator or PyDataset `data`."""
    if isinstance(data, PyDataset):
        if shuffle and getattr(data, "keeps_its_order", False):
            warnings.warn(f"`shuffle=True` was passed, but will be ignored since the data `x` "
                          f"was provided as a {type(data).__name__}, which orders (and "
                          "shuffles) its batches itself.", stacklevel=4)
            shuffle = False
        return SequenceBatches(data, steps, shuffle, continuing, caller)
    if shuffle:
        warnings.warn("`shuffle=True` was passed, but will be ignored since the data `x` was "
                      "provided as a generator. The generator is expected to yield "
                      "already-shuffled data.", stacklevel=4)
    return IteratorBatches(data, steps)
