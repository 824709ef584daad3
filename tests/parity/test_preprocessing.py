"""pad_sequences and the Tokenizer against Keras 3's (keras.utils.pad_sequences and its legacy
keras.preprocessing.text) on the same inputs."""

import numpy as np
import pytest

pytest.importorskip("keras")
pytestmark = pytest.mark.parity

from parity_harness import keras  # noqa: E402

import fnjit  # noqa: E402

TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "Cat and dog: the end",
         "A dog, a cat; and a bird?", "the the the end"]


@pytest.mark.parametrize("kwargs", [{}, dict(maxlen=3), dict(maxlen=4, padding="post"),
                                    dict(maxlen=2, truncating="post", value=-1),
                                    dict(dtype="float32", maxlen=6)])
def test_pad_sequences_matches_keras(kwargs):
    seqs = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
    ours = fnjit.preprocessing.sequence.pad_sequences(seqs, **kwargs)
    theirs = keras.utils.pad_sequences(seqs, **kwargs)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("kwargs", [{}, dict(num_words=6, oov_token="<unk>"),
                                    dict(char_level=True), dict(lower=False, num_words=4)])
def test_tokenizer_matches_keras(kwargs):
    from keras.src.legacy.preprocessing.text import Tokenizer

    ours, theirs = fnjit.preprocessing.text.Tokenizer(**kwargs), Tokenizer(**kwargs)
    ours.fit_on_texts(TEXTS[:4])
    theirs.fit_on_texts(TEXTS[:4])
    assert ours.word_index == theirs.word_index
    assert ours.texts_to_sequences(TEXTS) == theirs.texts_to_sequences(TEXTS)
    for mode in ("binary", "count", "freq", "tfidf"):
        np.testing.assert_allclose(ours.texts_to_matrix(TEXTS, mode),
                                   theirs.texts_to_matrix(TEXTS, mode), rtol=1e-12)
    assert ours.to_json() == theirs.to_json()
