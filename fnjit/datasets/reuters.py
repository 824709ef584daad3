"""Reuters newswire topics (46 classes), from a local `reuters.npz` (x: lists of word indices,
y: topics) and `reuters_word_index.json`, as Keras caches them; prepared and split as Keras
does it."""

from __future__ import annotations

import numpy as np

from . import _sequences as seq
from .imdb import read_npz, read_word_index

LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead")


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3):
    """((x_train, y_train), (x_test, y_test)): all newswires shuffled with `seed`, prepared,
    then the last `test_split` fraction held out; see Keras' reuters.load_data."""
    if not 0 <= test_split <= 1:
        raise ValueError(f"reuters.load_data: test_split must be in [0, 1], got {test_split}")
    xs, labels = read_npz("reuters", path, ("x", "y"))
    order = np.random.RandomState(seed).permutation(len(xs))
    xs, labels = seq.mark_and_shift(xs[order], start_char, index_from), labels[order]
    if maxlen:
        xs, labels = seq.drop_long(maxlen, xs, labels)
    xs = seq.limit_vocabulary(xs, num_words, skip_top, oov_char)
    cut = int(len(xs) * (1 - test_split))
    return ((seq.object_array(xs[:cut]), np.asarray(labels[:cut])),
            (seq.object_array(xs[cut:]), np.asarray(labels[cut:])))


def get_word_index(path="reuters_word_index.json"):
    return read_word_index("reuters", path)


def get_label_names():
    """The 46 topic names, by label index."""
    return LABEL_NAMES
