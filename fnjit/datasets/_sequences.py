"""Keras' preparation of the IMDB and Reuters word-index sequences: a start marker, indices
shifted by `index_from`, long reviews dropped, rare and too-frequent words made out-of-vocabulary
(or removed)."""

from __future__ import annotations

import numpy as np


def mark_and_shift(xs, start_char, index_from):
    start = [] if start_char is None else [start_char]
    return [start + [int(w) + index_from for w in x] for x in xs]


def drop_long(maxlen, xs, labels):
    """Sequences shorter than `maxlen` (Keras keeps len < maxlen) and their labels."""
    kept = [k for k, x in enumerate(xs) if len(x) < maxlen]
    return [xs[k] for k in kept], np.asarray(labels)[kept]


def limit_vocabulary(xs, num_words, skip_top, oov_char):
    """Words outside [skip_top, num_words) replaced by `oov_char`, or removed when it is None.
    `num_words` None: the largest index seen, itself excluded (Keras' rule)."""
    if not num_words:
        largest = [max(x) for x in xs if x]
        if not largest:
            raise ValueError("load_data: no word left in any sequence (is maxlen too small?)")
        num_words = max(largest)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def object_array(xs):
    """A 1-D object array of lists (np.array would make a 2-D array of equal-length lists)."""
    out = np.empty(len(xs), dtype=object)
    out[:] = xs
    return out
