"""IMDB movie-review sentiment, from a local `imdb.npz` (x_train, y_train, x_test, y_test:
reviews as lists of word indices by frequency rank) and `imdb_word_index.json`, as Keras
caches them; prepared as Keras prepares them (fnjit/datasets/_sequences.py)."""

from __future__ import annotations

import json

import numpy as np

from . import _sequences as seq
from ._local import find
from ._safe_pickle import RefusedPickle, load_npz

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def read_npz(name, path, keys):
    """The arrays `keys` of data set `name`'s local .npz, or an error naming the file."""
    file = find(name, path, ORIGIN + f"{name}.npz")
    try:
        arrays = load_npz(file)
        return [arrays[k] for k in keys]
    except (KeyError, ValueError, OSError, EOFError, RefusedPickle) as e:
        raise ValueError(f"{name}.load_data: {str(file)!r} is not a {name} .npz file with "
                         f"{', '.join(keys)} ({type(e).__name__}: {e})") from None


def read_word_index(name, path):
    file = find(name, path, ORIGIN + f"{name}_word_index.json")
    with open(file, encoding="utf-8") as fh:
        return json.load(fh)


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3):
    """((x_train, y_train), (x_test, y_test)): reviews (object arrays of lists of word
    indices) and labels 0/1, each split shuffled with `seed`; see Keras' imdb.load_data."""
    x_train, y_train, x_test, y_test = read_npz("imdb", path,
                                                ("x_train", "y_train", "x_test", "y_test"))
    x_train, y_train, x_test, y_test = _shuffle_pairs(seed, x_train, y_train, x_test, y_test)
    x_train = seq.mark_and_shift(x_train, start_char, index_from)
    x_test = seq.mark_and_shift(x_test, start_char, index_from)
    if maxlen:
        x_train, y_train = seq.drop_long(maxlen, x_train, y_train)
        x_test, y_test = seq.drop_long(maxlen, x_test, y_test)
        if not x_train or not x_test:
            raise ValueError(f"imdb.load_data: no review is shorter than maxlen={maxlen}; "
                             "increase maxlen")
    xs = seq.limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    n = len(x_train)
    return ((seq.object_array(xs[:n]), np.asarray(y_train)),
            (seq.object_array(xs[n:]), np.asarray(y_test)))


def _shuffle_pairs(seed, x_train, y_train, x_test, y_test):
    """Train, then test, each in its own permutation from one RandomState(seed), as Keras."""
    rng = np.random.RandomState(seed)
    train, test = rng.permutation(len(x_train)), rng.permutation(len(x_test))
    return x_train[train], y_train[train], x_test[test], y_test[test]


def get_word_index(path="imdb_word_index.json"):
    """The dict word -> index (frequency rank, before `index_from`) of the local JSON file."""
    return read_word_index("imdb", path)
