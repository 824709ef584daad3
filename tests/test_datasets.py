"""Data set loaders read local files only, with Keras' signatures and return shapes."""

import hashlib
import pickle

import numpy as np
import pytest

from fnjit import utils
from fnjit.datasets import boston_housing, digits, mnist


def test_digits_from_scikit_learn():
    pytest.importorskip("sklearn")
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1437, 8, 8) and x_test.shape == (360, 8, 8)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert x_train.max() == 16 and set(np.unique(y_test)) == set(range(10))
    (again, _), _ = digits.load_data()
    np.testing.assert_array_equal(again, x_train)  # the split is deterministic
    (x2, _), (x3, _) = digits.load_data(test_split=0.5, seed=1)
    assert len(x2) == 898 and not np.array_equal(x2[:10], x_train[:10])


def test_mnist_reads_a_local_npz_and_never_downloads(tmp_path, monkeypatch):
    arrays = {"x_train": np.zeros((5, 28, 28), np.uint8), "y_train": np.arange(5, dtype=np.uint8),
              "x_test": np.ones((2, 28, 28), np.uint8), "y_test": np.arange(2, dtype=np.uint8)}
    np.savez(tmp_path / "mnist.npz", **arrays)
    (x, y), (xt, yt) = mnist.load_data(path=tmp_path / "mnist.npz")
    assert x.shape == (5, 28, 28) and list(yt) == [0, 1]
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(FileNotFoundError, match=r"never downloads.*mnist\.npz"):
        mnist.load_data()
    (tmp_path / "keras" / "datasets").mkdir(parents=True)
    (tmp_path / "mnist.npz").rename(tmp_path / "keras" / "datasets" / "mnist.npz")
    assert mnist.load_data()[1][0].shape == (2, 28, 28)  # found in Keras' cache folder
    np.savez(tmp_path / "bad.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a mnist .npz"):
        mnist.load_data(tmp_path / "bad.npz")


def test_boston_housing_split(tmp_path):
    np.savez(tmp_path / "b.npz", x=np.arange(50.0).reshape(10, 5), y=np.arange(10.0))
    (x, y), (xt, yt) = boston_housing.load_data(tmp_path / "b.npz", test_split=0.3)
    assert x.shape == (7, 5) and xt.shape == (3, 5)
    np.testing.assert_array_equal(x[:, 0] / 5, y)  # rows and labels shuffled together


def test_get_file_is_local_only_and_checks_hashes(tmp_path):
    data = tmp_path / "datasets" / "thing.bin"
    data.parent.mkdir()
    data.write_bytes(b"payload")
    sha = hashlib.sha256(b"payload").hexdigest()
    assert utils.get_file("thing.bin", origin="https://example.invalid/thing.bin",
                          cache_dir=tmp_path, file_hash=sha) == str(data)
    with pytest.raises(ValueError, match="expected"):
        utils.get_file("thing.bin", cache_dir=tmp_path, file_hash="0" * 64)
    with pytest.raises(FileNotFoundError, match="never downloads"):
        utils.get_file("other.bin", origin="https://example.invalid/other.bin",
                       cache_dir=tmp_path)


# ---- imdb, reuters: .npz of ragged object arrays, read without running pickled code ---------
def ragged(*lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = [list(x) for x in lists]
    return out


class Evil:
    """Pickles as a call of builtins.print: a loader that ran it would print."""

    def __reduce__(self):
        return (print, ("pickled code ran",))


def write_imdb(folder):
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "imdb.npz", x_train=ragged([1, 2, 3], [4, 5], [6], [7, 8, 9, 1]),
             y_train=np.array([0, 1, 0, 1]), x_test=ragged([2, 2], [9, 1, 1]),
             y_test=np.array([1, 0]))


def test_imdb_prepares_sequences_as_keras(tmp_path, monkeypatch):
    from fnjit.datasets import imdb

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(FileNotFoundError, match=r"never downloads.*imdb\.npz"):
        imdb.load_data()
    write_imdb(tmp_path / "keras" / "datasets")
    rng = np.random.RandomState(113)
    train, test = rng.permutation(4), rng.permutation(2)
    raw_train = [[1, 2, 3], [4, 5], [6], [7, 8, 9, 1]]
    (x, y), (xt, yt) = imdb.load_data()
    # start_char 1, words + 3; num_words None: the largest index (12) itself becomes oov 2
    shifted = [[1] + [w + 3 for w in raw_train[k]] for k in train]
    assert x.dtype == object and x.shape == (4,)
    assert list(x) == [[2 if w == 12 else w for w in s] for s in shifted]
    np.testing.assert_array_equal(y, np.array([0, 1, 0, 1])[train])
    assert list(xt) == [[[1, 5, 5], [1, 2, 4, 4]][k] for k in test]
    np.testing.assert_array_equal(yt, np.array([1, 0])[test])
    # num_words 7 and skip_top 2: words outside [2, 7) are oov; oov_char None removes them
    (x, _), _ = imdb.load_data(num_words=7, skip_top=2, seed=0)
    order = np.random.RandomState(0).permutation(4)
    assert list(x) == [[[2, 4, 5, 6], [2, 2, 2], [2, 2], [2, 2, 2, 2, 4]][k] for k in order]
    (x, _), _ = imdb.load_data(num_words=7, skip_top=2, oov_char=None, start_char=None,
                               index_from=0, seed=0)
    assert list(x) == [[[2, 3], [4, 5], [6], []][k] for k in order]
    (x, y), (xt, _) = imdb.load_data(maxlen=4)  # kept: len < 4 after the start marker
    assert sorted(len(s) for s in x) == [2, 3] and len(xt) == 1
    with pytest.raises(ValueError, match="maxlen"):
        imdb.load_data(maxlen=2)
    (tmp_path / "keras" / "datasets" / "imdb_word_index.json").write_text('{"the": 1, "a": 2}')
    assert imdb.get_word_index() == {"the": 1, "a": 2}


def test_data_files_never_run_pickled_code(tmp_path, capsys, monkeypatch):
    from fnjit.datasets import cifar10, imdb

    evil = np.empty(1, dtype=object)
    evil[0] = Evil()
    np.savez(tmp_path / "imdb.npz", x_train=evil, y_train=np.zeros(1), x_test=evil,
             y_test=np.zeros(1))
    with pytest.raises(ValueError, match=r"builtins\.print.*refuses"):
        imdb.load_data(tmp_path / "imdb.npz")
    assert "pickled code ran" not in capsys.readouterr().out
    folder = tmp_path / "keras" / "datasets" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    with open(folder / "data_batch_1", "wb") as fh:
        pickle.dump({b"data": np.zeros((1, 3072), np.uint8), b"labels": [Evil()]}, fh)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(ValueError, match=r"builtins\.print"):
        cifar10.load_data()
    assert "pickled code ran" not in capsys.readouterr().out


def test_reuters_splits_after_shuffling(tmp_path):
    from fnjit.datasets import reuters

    xs = [[1, 2], [3], [4, 5, 6], [7], [8, 9], [10]]
    np.savez(tmp_path / "r.npz", x=ragged(*xs), y=np.arange(6))
    (x, y), (xt, yt) = reuters.load_data(tmp_path / "r.npz", test_split=0.34, num_words=100,
                                         seed=5)
    order = np.random.RandomState(5).permutation(6)
    assert len(x) == 3 and len(xt) == 3  # int(6 * 0.66) = 3
    np.testing.assert_array_equal(np.concatenate([y, yt]), order)
    assert list(x) + list(xt) == [[1] + [w + 3 for w in xs[k]] for k in order]
    assert len(reuters.get_label_names()) == 46 and reuters.get_label_names()[3] == "earn"
    with pytest.raises(ValueError, match="test_split"):
        reuters.load_data(tmp_path / "r.npz", test_split=2)
    np.savez(tmp_path / "bad.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="not a reuters .npz"):
        reuters.load_data(tmp_path / "bad.npz")


# ---- cifar10, cifar100: pickled python batches in Keras' data folder -----------------------
def write_cifar_batch(path, n, labels, offset):
    data = ((np.arange(n * 3072) + offset) % 251).astype(np.uint8).reshape(n, 3072)
    with open(path, "wb") as fh:
        pickle.dump({b"batch_label": b"x", b"data": data, **labels}, fh)
    return data


def test_cifar10_and_cifar100_read_the_python_batches(tmp_path, monkeypatch):
    from fnjit import backend
    from fnjit.datasets import cifar10, cifar100

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"cifar-10-python\.tar\.gz.*unpack"):
        cifar10.load_data()
    folder = tmp_path / "datasets" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    datas = [write_cifar_batch(folder / f"data_batch_{i}", 2, {b"labels": [i, 9 - i]}, i)
             for i in range(1, 6)]
    test = write_cifar_batch(folder / "test_batch", 3, {b"labels": [0, 1, 2]}, 7)
    (x, y), (xt, yt) = cifar10.load_data()
    assert x.shape == (10, 32, 32, 3) and x.dtype == np.uint8 and y.shape == (10, 1)
    np.testing.assert_array_equal(y[:, 0], [1, 8, 2, 7, 3, 6, 4, 5, 5, 4])
    # row 3072 = 3 colour planes of 32x32, moved last (channels_last)
    np.testing.assert_array_equal(x[3, 5, 7], datas[1][1].reshape(3, 32, 32)[:, 5, 7])
    np.testing.assert_array_equal(xt[2, :, :, 1], test[2].reshape(3, 32, 32)[1])
    assert yt.dtype == np.uint8 and list(yt[:, 0]) == [0, 1, 2]
    monkeypatch.setattr(backend, "image_data_format", lambda: "channels_first")
    assert cifar10.load_data()[0][0].shape == (10, 3, 32, 32)

    keras3 = tmp_path / "datasets" / "cifar-100-python-target" / "cifar-100-python"
    keras3.mkdir(parents=True)  # Keras 3's place
    for name, n in (("train", 4), ("test", 2)):
        write_cifar_batch(keras3 / name, n, {b"fine_labels": list(np.arange(50, 50 + n)),
                                             b"coarse_labels": list(range(n))}, 0)
    (x, y), (xt, yt) = cifar100.load_data(label_mode="coarse")
    assert x.shape == (4, 3, 32, 32) and list(y[:, 0]) == [0, 1, 2, 3] and y.dtype == np.int64
    assert list(cifar100.load_data()[1][1][:, 0]) == [50, 51]
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data(label_mode="medium")
    (keras3 / "test").write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8)}))
    with pytest.raises(ValueError, match="fine_labels"):
        cifar100.load_data()
