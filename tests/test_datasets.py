"""Data set loaders read local files only, with Keras' signatures and return shapes."""

import hashlib

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
