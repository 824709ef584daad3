"""keras.utils.timeseries_dataset_from_array and split_dataset; Keras 2's TimeseriesGenerator,
skipgrams and make_sampling_table: against the examples of Keras' documentation and hand
computation."""

import math
import random
import warnings

import numpy as np
import pytest

import fnjit as keras
from fnjit import layers
from fnjit.preprocessing.sequence import TimeseriesGenerator, make_sampling_table, skipgrams
from fnjit.utils import split_dataset, timeseries_dataset_from_array


def _all(ds):
    xs, ys = zip(*(ds[i] for i in range(len(ds))))
    return np.concatenate(xs), np.concatenate(ys)


def test_timeseries_windows_follow_keras_examples():
    # Keras' example 1: steps 0..98, sequence_length=10, sampling_rate=2, sequence_stride=3
    ds = timeseries_dataset_from_array(np.arange(99), None, sequence_length=10,
                                       sampling_rate=2, sequence_stride=3, batch_size=None)
    assert len(ds) == 27
    np.testing.assert_array_equal(ds[0], np.arange(0, 20, 2))
    np.testing.assert_array_equal(ds[1], np.arange(3, 23, 2))
    np.testing.assert_array_equal(ds[26], np.arange(78, 98, 2))
    # example 2: the past 10 steps predict the next
    data = np.arange(50.0)
    ds = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10, batch_size=4)
    x, y = ds[0]
    assert x.shape == (4, 10) and len(ds) == math.ceil(31 / 4)
    np.testing.assert_array_equal(x[0], data[:10])
    assert y[0] == data[10] and y[3] == data[13]
    x, y = _all(ds)
    np.testing.assert_array_equal(y, data[10:41])
    np.testing.assert_array_equal(x[:, -1] + 1, y)
    # start_index / end_index bound the steps used; a target belongs to a window's first step
    ds = timeseries_dataset_from_array(data, data * 10, sequence_length=3, start_index=5,
                                       end_index=12, batch_size=100)
    x, y = ds[0]
    np.testing.assert_array_equal(x[:, 0], np.arange(5, 10))
    np.testing.assert_array_equal(x[-1], [9, 10, 11])
    np.testing.assert_array_equal(y, np.arange(5, 10) * 10)
    assert keras.preprocessing.timeseries_dataset_from_array is timeseries_dataset_from_array


def test_timeseries_shuffle_permutes_windows_with_keras_seed_rule():
    data = np.arange(30.0)[:, None]
    plain = timeseries_dataset_from_array(data, data[:, 0], sequence_length=4, batch_size=5)
    mixed = timeseries_dataset_from_array(data, data[:, 0], sequence_length=4, batch_size=5,
                                          shuffle=True, seed=7)
    x, y = _all(mixed)
    px, py = _all(plain)
    order = np.arange(27)
    np.random.RandomState(7).shuffle(order)  # Keras: RandomState(seed).shuffle(starts)
    np.testing.assert_array_equal(y, order)
    np.testing.assert_array_equal(x, px[order])
    mixed.on_epoch_end()  # a new order every epoch
    assert not np.array_equal(_all(mixed)[1], order)
    assert sorted(_all(mixed)[1]) == list(range(27))


def test_fit_reads_a_timeseries_dataset_as_its_batches():
    data = np.random.default_rng(0).normal(size=(40, 2)).astype("float32")
    ds = timeseries_dataset_from_array(data, data[:, 0], sequence_length=5, batch_size=8)
    x, y = _all(ds)

    def model():
        keras.utils.set_random_seed(0)
        m = keras.Sequential([keras.Input((5, 2)), layers.Flatten(), layers.Dense(1)])
        m.compile(keras.optimizers.SGD(0.05), "mse")
        return m

    a, b = model(), model()
    a.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    with pytest.warns(UserWarning, match="shuffle=True"):  # it orders its own batches
        b.fit(ds, epochs=2, verbose=0)
    np.testing.assert_allclose(a.get_weights()[0], b.get_weights()[0], rtol=1e-6)


def test_timeseries_arguments_are_checked_as_keras_does():
    data = np.arange(20)
    for kwargs, name in ((dict(start_index=20), "start_index"), (dict(end_index=20), "end_index"),
                         (dict(start_index=5, end_index=5), "end_index"),
                         (dict(sampling_rate=0), "sampling_rate"),
                         (dict(sequence_stride=20), "sequence_stride"),
                         (dict(format="torch"), "format")):
        with pytest.raises(ValueError, match=name):
            timeseries_dataset_from_array(data, None, 3, **kwargs)
    with pytest.raises(ValueError, match="no window"):
        timeseries_dataset_from_array(data, None, 30)


def test_split_dataset_sizes_and_shuffle():
    x, y = np.arange(10), np.arange(10) * 10
    left, right = split_dataset(x, left_size=0.8)
    np.testing.assert_array_equal(left, x[:8])
    np.testing.assert_array_equal(right, x[8:])
    left, right = split_dataset(x, left_size=3, right_size=2)  # the middle is left out
    np.testing.assert_array_equal(left, [0, 1, 2])
    np.testing.assert_array_equal(right, [8, 9])
    assert [len(p) for p in split_dataset(x, right_size=0.25)] == [8, 2]  # round(2.5) == 2
    (lx, ly), (rx, ry) = split_dataset((x, y), left_size=0.6, shuffle=True, seed=3)
    order = list(range(10))
    random.seed(3)  # Keras: random.seed(seed); random.shuffle(samples)
    random.shuffle(order)
    np.testing.assert_array_equal(np.concatenate([lx, rx]), order)
    np.testing.assert_array_equal(ly, lx * 10)
    for kwargs in (dict(), dict(left_size=0.0), dict(left_size=10), dict(left_size=0.7,
                                                                         right_size=0.6),
                   dict(left_size=8, right_size=5)):
        with pytest.raises(ValueError):
            split_dataset(x, **kwargs)
    with pytest.raises(TypeError, match="left_size"):
        split_dataset(x, left_size="half")
    with pytest.raises(ValueError, match="preferred_backend"):
        split_dataset(x, left_size=0.5, preferred_backend="torch")
    with pytest.raises(ValueError, match="different lengths"):
        split_dataset((x, y[:5]), left_size=0.5)


def test_timeseries_generator_follows_keras2():
    data = np.array([[i] for i in range(50)])
    targets = np.array([[i] for i in range(50)])
    gen = TimeseriesGenerator(data, targets, length=10, sampling_rate=2, batch_size=2)
    assert len(gen) == 20  # Keras 2's documented example
    x, y = gen[0]
    np.testing.assert_array_equal(x, [[[0], [2], [4], [6], [8]], [[1], [3], [5], [7], [9]]])
    np.testing.assert_array_equal(y, [[10], [11]])
    x, y = gen[19]
    np.testing.assert_array_equal(y, [[48], [49]])
    gen = TimeseriesGenerator(data, targets, length=3, stride=4, start_index=10, end_index=30,
                              batch_size=2, reverse=True)
    # rows 13, 17, 21, 25, 29 (end_index included), two per batch
    assert len(gen) == 3
    x, y = gen[2]
    np.testing.assert_array_equal(y, [[29]])
    np.testing.assert_array_equal(x, [[[28], [27], [26]]])
    np.random.seed(0)
    x, y = TimeseriesGenerator(data, targets, length=5, shuffle=True, batch_size=6)[0]
    np.testing.assert_array_equal(x[:, -1, 0] + 1, y[:, 0])  # rows drawn at random, aligned
    assert y.min() >= 5
    with pytest.raises(ValueError, match="same length"):
        TimeseriesGenerator(data, targets[:10], length=3)
    with pytest.raises(ValueError, match="end_index"):
        TimeseriesGenerator(data, targets, length=10, start_index=45)
    with pytest.raises(ValueError, match="stride"):
        TimeseriesGenerator(data, targets, length=3, stride=0)
    model = keras.Sequential([keras.Input((5, 1)), layers.Flatten(), layers.Dense(1)])
    model.compile("sgd", "mse")
    hist = model.fit(TimeseriesGenerator(data / 50, targets / 50, length=5, batch_size=8),
                     epochs=1, verbose=0)
    assert len(hist.history["loss"]) == 1


def test_make_sampling_table_by_hand():
    table = make_sampling_table(5, sampling_factor=1e-3)
    for r in (1, 2, 4):
        f = 1e-3 * (r * (math.log(r) + 0.577) + 0.5 - 1 / (12 * r))
        assert table[r] == pytest.approx(min(1.0, f / math.sqrt(f)), rel=1e-12)
    assert table[0] == table[1]  # rank 0 counts as rank 1
    assert make_sampling_table(10**6, 1e-5)[-1] == 1.0  # rare words always kept


def test_skipgrams_couples_labels_and_negatives():
    seq = [1, 2, 0, 3]
    couples, labels = skipgrams(seq, 5, window_size=1, negative_samples=0, shuffle=False)
    assert couples == [[1, 2], [2, 1]] and labels == [1, 1]  # 0 is no word: skipped
    couples, labels = skipgrams(seq, 5, window_size=2, negative_samples=0, shuffle=False,
                                categorical=True)
    assert couples == [[1, 2], [2, 1], [2, 3], [3, 2]] and labels == [[0, 1]] * 4
    random.seed(1)
    couples, labels = skipgrams(list(range(1, 9)), 20, window_size=2, negative_samples=2.0,
                                seed=5)
    positive = [c for c, lab in zip(couples, labels) if lab == 1]
    negative = [c for c, lab in zip(couples, labels) if lab == 0]
    assert len(positive) == 2 + 3 + 4 * 4 + 3 + 2 and len(negative) == 2 * len(positive)
    assert all(abs(a - b) <= 2 and a != b for a, b in positive)
    assert all(1 <= b < 20 for _, b in negative) and {a for a, _ in negative} <= set(range(1, 9))
    # the shuffle moves couples and labels together, fixed by the seed
    again = skipgrams(list(range(1, 9)), 20, window_size=2, negative_samples=0, seed=5)
    assert again == skipgrams(list(range(1, 9)), 20, window_size=2, negative_samples=0, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        couples, _ = skipgrams([1, 2, 3], 4, sampling_table=np.zeros(4), shuffle=False)
    assert couples == []  # a table of zeros keeps no word
