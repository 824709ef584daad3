"""keras.preprocessing.sequence: padding integer sequences to one length; Keras 2's
TimeseriesGenerator, skipgrams and make_sampling_table."""

from __future__ import annotations

import random

import numpy as np

from ..data_adapters import PyDataset, whole_number

__all__ = ["pad_sequences", "TimeseriesGenerator", "make_sampling_table", "skipgrams"]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """An array (len(sequences), maxlen) + item shape: each sequence truncated to its last
    (`truncating="pre"`) or first ("post") `maxlen` items, padded with `value` before ("pre")
    or after ("post"). `maxlen` defaults to the longest sequence (Keras' pad_sequences)."""
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: padding type "{padding}" not understood; use "pre" '
                         'or "post"')
    if truncating not in ("pre", "post"):
        raise ValueError(f'pad_sequences: truncating type "{truncating}" not understood; use '
                         '"pre" or "post"')
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: `sequences` must be a list of sequences")
    lengths, item_shape = [], None
    for k, s in enumerate(sequences):
        try:
            lengths.append(len(s))
        except TypeError:
            raise ValueError(f"pad_sequences: `sequences` must be a list of iterables; item "
                             f"{k} is {s!r}") from None
        if item_shape is None and len(s):
            item_shape = np.asarray(s).shape[1:]
    item_shape = item_shape or ()
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    if maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be >= 0, got {maxlen}")
    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype),
                                                                       np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_text:
        raise ValueError(f"pad_sequences: dtype {dtype} cannot hold the padding value "
                         f"{value!r}; use dtype=object for strings")
    out = np.full((len(lengths), maxlen) + tuple(item_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for k, s in enumerate(sequences):
        if not len(s):
            continue
        kept = np.asarray(s[-maxlen:] if truncating == "pre" else s[:maxlen], dtype=dtype)
        if kept.shape[1:] != tuple(item_shape):
            raise ValueError(f"pad_sequences: item shape {kept.shape[1:]} of sequence {k} "
                             f"differs from the first sequence's {tuple(item_shape)}")
        if padding == "post":
            out[k, :len(kept)] = kept
        else:
            out[k, maxlen - len(kept):] = kept
    return out


# ---- Keras 2's sequence helpers --------------------------------------------------------------

class TimeseriesGenerator(PyDataset):
    """Keras 2's batches of windows: the sample for step `row` is
    data[row - length:row:sampling_rate] (reversed in time with `reverse`) and its target
    targets[row], for rows start_index + length, + stride, ... up to end_index (inclusive;
    default the last step). With `shuffle`, each batch is `batch_size` rows drawn with
    replacement by numpy's global generator, as Keras 2 drew them."""

    def __init__(self, data, targets, length, sampling_rate=1, stride=1, start_index=0,
                 end_index=None, shuffle=False, reverse=False, batch_size=128):
        super().__init__()
        if len(data) != len(targets):
            raise ValueError(f"TimeseriesGenerator: data and targets have to be of same "
                             f"length. Data length is {len(data)} while target length is "
                             f"{len(targets)}")
        for what, value in (("length", length), ("sampling_rate", sampling_rate),
                            ("stride", stride), ("batch_size", batch_size)):
            whole_number(value, what, "TimeseriesGenerator")
        self.data, self.targets = data, targets
        self.length, self.sampling_rate, self.stride = length, sampling_rate, stride
        self.start_index = start_index + length
        self.end_index = len(data) - 1 if end_index is None else end_index
        self.shuffle, self.reverse, self.batch_size = shuffle, reverse, batch_size
        if self.start_index > self.end_index:
            raise ValueError(f"TimeseriesGenerator: `start_index+length={self.start_index} > "
                             f"end_index={self.end_index}` is disallowed, as no part of the "
                             "sequence would be left to be used as current step.")

    def __len__(self):
        span = self.batch_size * self.stride
        return (self.end_index - self.start_index + span) // span

    def __getitem__(self, index):
        if self.shuffle:
            rows = np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        else:
            first = self.start_index + self.batch_size * self.stride * index
            rows = np.arange(first, min(first + self.batch_size * self.stride,
                                        self.end_index + 1), self.stride)
        samples = np.array([self.data[row - self.length:row:self.sampling_rate]
                            for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        return (samples[:, ::-1, ...] if self.reverse else samples), targets


def make_sampling_table(size, sampling_factor=1e-5):
    """Keras 2's word2vec sampling probabilities by word rank: min(1, sqrt(f)) with
    f = sampling_factor * (r (ln r + 0.577) + 1/2 - 1/(12 r)), Zipf's law's inverse frequency
    of rank r (rank 0 counted as 1)."""
    rank = np.arange(size, dtype=float)
    rank[:1] = 1
    f = sampling_factor * (rank * (np.log(rank) + 0.577) + 0.5 - 1.0 / (12.0 * rank))
    return np.minimum(1.0, np.sqrt(f))


def skipgrams(sequence, vocabulary_size, window_size=4, negative_samples=1.0, shuffle=True,
              categorical=False, sampling_table=None, seed=None):
    """Keras 2's (word, context word) couples of a sequence of word indices, label 1, for
    every nonzero pair within `window_size` (a word kept with probability
    sampling_table[word]), then int(len * negative_samples) couples (word, random word in
    [1, vocabulary_size)) labelled 0; couples and labels shuffled together. Randomness comes
    from Python's `random` module, as in Keras 2; `seed` fixes the final shuffle."""
    couples, labels = [], []
    positive, negative = ([0, 1], [1, 0]) if categorical else (1, 0)
    for i, wi in enumerate(sequence):
        if not wi or (sampling_table is not None and sampling_table[wi] < random.random()):
            continue
        for j in range(max(0, i - window_size), min(len(sequence), i + window_size + 1)):
            if j != i and sequence[j]:
                couples.append([wi, sequence[j]])
                labels.append(positive)
    if negative_samples > 0:
        count = int(len(labels) * negative_samples)
        words = [c[0] for c in couples]
        random.shuffle(words)
        couples += [[words[k % len(words)], random.randint(1, vocabulary_size - 1)]
                    for k in range(count)]
        labels += [negative] * count
    if shuffle:
        seed = random.randint(0, 10**7) if seed is None else seed
        random.Random(seed).shuffle(couples)  # one permutation for both
        random.Random(seed).shuffle(labels)
    return couples, labels
