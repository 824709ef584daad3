"""BackupAndRestore: an interrupted fit resumes where its backup was (epoch, weights, optimizer
moments) and ends as the uninterrupted fit ends; RemoteMonitor is refused."""

import json

import numpy as np
import pytest

import fnjit as keras
from fnjit import layers
from fnjit.callbacks import BackupAndRestore, Callback, RemoteMonitor

data = np.random.default_rng(2)
X = data.normal(size=(24, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype("float32")


def _model(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="tanh"),
                              layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.05), "mse")  # moments and step count matter
    return model


class Interrupt(Callback):
    def __init__(self, epoch=None, batch=None):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch
        if epoch == self.epoch:
            raise KeyboardInterrupt("stopped")

    def on_train_batch_end(self, batch, logs=None):
        if self.current == 1 and batch == self.batch:
            raise KeyboardInterrupt("stopped")


def _fit(model, callbacks, epochs=4):
    return model.fit(X, Y, batch_size=6, epochs=epochs, shuffle=False, verbose=0,
                     callbacks=callbacks)


def test_an_interrupted_fit_resumes_and_ends_as_an_uninterrupted_one(tmp_path):
    whole = _model(0)
    _fit(whole, [])
    backup = tmp_path / "backup"
    first = _model(0)
    with pytest.raises(KeyboardInterrupt):
        _fit(first, [Interrupt(epoch=2), BackupAndRestore(backup)])
    assert json.loads((backup / "training_metadata.json").read_text()) == {"epoch": 2}
    assert first.optimizer.iterations == 8
    # a new model (another process): other initial weights, fresh optimizer
    resumed = _model(1)
    hist = _fit(resumed, [BackupAndRestore(backup)])
    assert hist.epoch == [2, 3]
    assert resumed.optimizer.iterations == 16
    for w, v in zip(whole.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(v, w, rtol=1e-5, atol=1e-6)
    assert not backup.exists()  # deleted when fit ended normally
    # without the optimizer's moments the end differs: the test can see them
    plain = _model(0)
    _fit(plain, [], epochs=2)
    plain.compile(keras.optimizers.Adam(0.05), "mse")
    _fit(plain, [], epochs=2)
    assert not np.allclose(plain.get_weights()[0], whole.get_weights()[0], atol=1e-4)


def test_backup_every_n_batches_resumes_in_its_epoch(tmp_path):
    backup = tmp_path / "b"
    model = _model(0)
    with pytest.raises(KeyboardInterrupt):
        _fit(model, [BackupAndRestore(backup, save_freq=3, delete_checkpoint=False),
                     Interrupt(batch=1)])
    # batches 0-3 of epoch 0, then 0-1 of epoch 1: saved after the 3rd and the 6th
    assert json.loads((backup / "training_metadata.json").read_text()) == {"epoch": 1}
    saved = model.get_weights()  # as they were after the 6th batch
    fresh = _model(3)
    hist = _fit(fresh, [BackupAndRestore(backup, save_freq=3, delete_checkpoint=False)],
                epochs=1)
    assert hist.epoch == []  # it had reached epoch 1 of 1: nothing left to run
    for w, v in zip(saved, fresh.get_weights()):
        np.testing.assert_allclose(v, w, rtol=1e-6)
    assert fresh.optimizer.iterations == 6
    assert (backup / "latest.weights.h5").exists()  # delete_checkpoint=False keeps it


def test_double_checkpoint_falls_back_on_a_damaged_backup(tmp_path):
    backup = tmp_path / "b"
    model = _model(0)
    with pytest.raises(KeyboardInterrupt):
        _fit(model, [Interrupt(epoch=3), BackupAndRestore(backup, double_checkpoint=True)])
    assert json.loads((backup / "training_metadata.json.bkp").read_text()) == {"epoch": 2}
    (backup / "latest.weights.h5").write_bytes(b"damaged")
    hist = _fit(_model(1), [BackupAndRestore(backup, double_checkpoint=True)])
    assert hist.epoch == [2, 3]  # from the previous backup
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "latest.weights.h5").write_bytes(b"damaged")
    with pytest.raises(ValueError, match="latest.weights.h5"):
        _fit(_model(1), [BackupAndRestore(tmp_path / "c")])


def test_arguments_are_checked_and_remote_monitor_is_refused():
    for bad in ("batch", 0, True):
        with pytest.raises(ValueError, match="save_freq"):
            BackupAndRestore("d", save_freq=bad)
    with pytest.raises(ValueError, match="backup_dir"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match="network"):
        RemoteMonitor()
