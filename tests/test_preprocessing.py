"""keras.preprocessing.sequence.pad_sequences and keras.preprocessing.text against hand
computations (tests/parity/test_preprocessing.py compares them with Keras 3's)."""

import numpy as np
import pytest

import fnjit
from fnjit.preprocessing.sequence import pad_sequences
from fnjit.preprocessing.text import (
    Tokenizer,
    hashing_trick,
    text_to_word_sequence,
    tokenizer_from_json,
)


def test_pad_sequences_padding_and_truncating():
    seqs = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=3), [
        [1, 2, 3], [0, 0, 4], [0, 0, 0], [7, 8, 9]])
    np.testing.assert_array_equal(
        pad_sequences(seqs, maxlen=3, padding="post", truncating="post", value=-1),
        [[1, 2, 3], [4, -1, -1], [-1, -1, -1], [5, 6, 7]])
    assert pad_sequences(seqs).shape == (4, 5)  # the longest
    assert pad_sequences(seqs).dtype == np.int32
    assert fnjit.utils.pad_sequences is pad_sequences
    assert pad_sequences([[[1, 2]], [[3, 4], [5, 6]]]).tolist() == [[[0, 0], [1, 2]],
                                                                    [[3, 4], [5, 6]]]
    with pytest.raises(ValueError, match="padding type"):
        pad_sequences(seqs, padding="middle")
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences([["a"]], value="x")


TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "Cat and dog: the end"]


def test_tokenizer_indices_sequences_and_matrices():
    tok = Tokenizer(num_words=5, oov_token="<oov>")
    tok.fit_on_texts(TEXTS)
    # counts: the 4, cat 2, dog 2, then each once in order of appearance; OOV first
    assert list(tok.word_index)[:6] == ["<oov>", "the", "cat", "dog", "sat", "on"]
    assert tok.word_index["the"] == 2 and tok.document_count == 3
    assert tok.texts_to_sequences(["the cat ate a fish"]) == [[2, 3, 1, 1, 1]]
    assert tok.sequences_to_texts([[2, 3, 9]]) == ["the cat <oov>"]
    counts = tok.texts_to_matrix(["the the cat"], mode="count")
    np.testing.assert_array_equal(counts, [[0, 0, 2, 1, 0]])
    freq = tok.texts_to_matrix(["the the cat"], mode="freq")
    np.testing.assert_allclose(freq, [[0, 0, 2 / 3, 1 / 3, 0]])
    tfidf = tok.texts_to_matrix(["the the cat"], mode="tfidf")
    # "the" is in 3 documents, "cat" in 2
    np.testing.assert_allclose(tfidf[0, 2], (1 + np.log(2)) * np.log(1 + 3 / 4))
    np.testing.assert_allclose(tfidf[0, 3], np.log(1 + 3 / 3))
    binary = tok.texts_to_matrix(["the the cat"])
    np.testing.assert_array_equal(binary, [[0, 0, 1, 1, 0]])
    with pytest.raises(ValueError, match="vectorization mode"):
        tok.texts_to_matrix(["x"], mode="bm25")


def test_tokenizer_without_oov_drops_unknown_words_and_round_trips_json():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    assert tok.texts_to_sequences(["the zebra cat"]) == [[1, 2]]
    back = tokenizer_from_json(tok.to_json())
    assert back.word_index == tok.word_index
    assert back.texts_to_sequences(TEXTS) == tok.texts_to_sequences(TEXTS)
    np.testing.assert_array_equal(back.texts_to_matrix(TEXTS, "tfidf"),
                                  tok.texts_to_matrix(TEXTS, "tfidf"))


def test_text_helpers():
    assert text_to_word_sequence("Hello, World!  again") == ["hello", "world", "again"]
    a = hashing_trick("a b a", 10, hash_function="md5")
    assert a[0] == a[2] and all(1 <= i <= 9 for i in a)
    char = Tokenizer(char_level=True)
    char.fit_on_texts(["aab"])
    assert char.word_index == {"a": 1, "b": 2}
