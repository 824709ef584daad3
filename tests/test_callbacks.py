"""Callbacks and progress output. One compiled model serves the module; the monitor logic
(patience, cooldown, best-only) is driven with hand-made logs so each rule is pinned exactly."""

import io
import os
import re

import numpy as np
import pytest

import fnjit
from fnjit import Input, Model, callbacks, layers

rng = np.random.default_rng(7)
X = rng.normal(size=(24, 4)).astype("float32")
Y = np.eye(3, dtype="float32")[rng.integers(0, 3, 24)]


@pytest.fixture(scope="module")
def model(fresh_globals):
    fresh_globals()  # fnjit's defaults, whatever ran before (this is built before conftest's reset)
    x = Input((4,))
    m = Model(x, layers.Dense(3, activation="softmax")(layers.Dense(6, activation="relu")(x)))
    m.compile(fnjit.optimizers.SGD(0.05), "categorical_crossentropy", metrics=["accuracy"])
    return m


def test_checkpoint_names_files_by_epoch_and_logs(model, tmp_path):
    pattern = str(tmp_path / "w.{epoch:02d}-{val_loss:.3f}.weights.h5")
    history = model.fit(X, Y, epochs=2, batch_size=8, validation_split=0.25, verbose=0,
                        callbacks=[callbacks.ModelCheckpoint(pattern, save_weights_only=True)])
    want = sorted(f"w.{e + 1:02d}-{v:.3f}.weights.h5"
                  for e, v in enumerate(history.history["val_loss"]))
    assert sorted(os.listdir(tmp_path)) == want


def test_checkpoint_every_n_batches_and_period(model, tmp_path):
    pattern = str(tmp_path / "b{epoch}-{batch}.weights.h5")
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0,  # 3 batches an epoch
              callbacks=[callbacks.ModelCheckpoint(pattern, save_weights_only=True,
                                                   save_freq=2)])
    assert sorted(os.listdir(tmp_path)) == ["b1-2.weights.h5", "b2-1.weights.h5",
                                            "b2-3.weights.h5"]
    with pytest.warns(DeprecationWarning, match="period"):
        cb = callbacks.ModelCheckpoint(str(tmp_path / "p{epoch}.keras"), period=2)
    model.fit(X, Y, epochs=4, verbose=0, callbacks=[cb])
    assert sorted(p for p in os.listdir(tmp_path) if p.startswith("p")) == ["p2.keras",
                                                                           "p4.keras"]
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        callbacks.ModelCheckpoint("x.keras", save_weights_only=True)


def test_checkpoint_save_best_only_keeps_the_best(model, tmp_path):
    path = tmp_path / "best.weights.h5"
    cb = callbacks.ModelCheckpoint(str(path), monitor="val_accuracy", save_best_only=True,
                                   save_weights_only=True)
    cb.set_model(model)
    original = model.get_weights()
    saved = {}
    for epoch, acc in enumerate([0.5, 0.7, 0.6, 0.7, 0.8]):
        model.set_weights([np.full_like(w, epoch) for w in original])
        cb.on_epoch_end(epoch, {"val_accuracy": acc})
        model.load_weights(path)
        saved[epoch] = float(model.get_weights()[0].flat[0])
    model.set_weights(original)
    # 'auto' maximises accuracies: saved at epochs 0, 1 and 4 only (0.7 again is no improvement)
    assert saved == {0: 0, 1: 1, 2: 1, 3: 1, 4: 4}


def test_auto_mode_direction():
    def op(monitor):
        cb = callbacks.EarlyStopping(monitor=monitor)
        cb._set_monitor_op()
        return cb.monitor_op

    assert op("val_acc") is np.greater and op("out_categorical_accuracy") is np.greater
    assert op("val_loss") is np.less and op("mae") is np.less
    with pytest.raises(ValueError, match="mode='max' or mode='min'"):
        op("val_something")


def _drive(cb, values, key="val_loss", model=None):
    """Run epochs with the given monitored values; returns the epoch at which it stopped."""
    model = model or type("M", (), {"stop_training": False})()
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, value in enumerate(values):
        cb.on_epoch_end(epoch, {key: value})
        if model.stop_training:
            return epoch
    return None


def test_early_stopping_patience_baseline_and_start_epoch():
    values = [1.0, 0.9, 0.95, 0.97, 0.99, 0.98]
    assert _drive(callbacks.EarlyStopping(patience=2), values) == 3
    assert _drive(callbacks.EarlyStopping(patience=0), values) == 2
    assert _drive(callbacks.EarlyStopping(patience=2, min_delta=0.2), values) == 2
    # A baseline that is never beaten: improvements do not reset the count.
    assert _drive(callbacks.EarlyStopping(patience=2), [1.0, 0.9, 0.95]) is None
    assert _drive(callbacks.EarlyStopping(patience=2, baseline=0.5), [1.0, 0.9, 0.95]) == 2
    assert _drive(callbacks.EarlyStopping(patience=1, start_from_epoch=3),
                  [1, 2, 3, 4, 5, 6]) == 4


def test_early_stopping_stops_fit_and_restores_best_weights(model):
    marks = []
    mark = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: marks.append(model.get_weights()))
    stop = callbacks.EarlyStopping(monitor="loss", min_delta=100, patience=1,
                                   restore_best_weights=True)
    history = model.fit(X, Y, epochs=10, verbose=0, callbacks=[mark, stop])
    assert len(history.history["loss"]) == 2 and stop.stopped_epoch == 1
    for want, got in zip(marks[0], model.get_weights()):  # epoch 0 was the "best"
        np.testing.assert_array_equal(got, want)


def test_reduce_lr_on_plateau_with_cooldown_and_floor(model):
    opt = model.optimizer
    cb = callbacks.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=1, min_lr=0.02)
    cb.set_model(model)
    opt.learning_rate = 0.1
    cb.on_train_begin()
    rates = []
    for epoch in range(6):
        logs = {"val_loss": 1.0}
        cb.on_epoch_end(epoch, logs)
        rates.append(logs["learning_rate"])
    assert rates == pytest.approx([0.1, 0.1, 0.05, 0.025, 0.02, 0.02])
    assert opt.learning_rate == pytest.approx(0.02)
    opt.learning_rate = 0.05


def test_learning_rate_scheduler_takes_effect_without_recompiling(model):
    model.fit(X, Y, epochs=1, verbose=0)  # compiled
    programs = dict(model._programs)
    before = model.get_weights()
    seen = []
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: 0.0)
    history = model.fit(X, Y, epochs=2, verbose=0, callbacks=[sched, callbacks.LambdaCallback(
        on_epoch_begin=lambda e, logs: seen.append(model.optimizer.learning_rate))])
    assert seen == [0.0, 0.0] and history.history["learning_rate"] == [0.0, 0.0]
    for want, got in zip(before, model.get_weights()):  # lr 0: nothing moves
        np.testing.assert_array_equal(got, want)
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[
        callbacks.LearningRateScheduler(lambda epoch: 0.05)])
    assert not np.array_equal(before[0], model.get_weights()[0])
    assert model._programs == programs  # the same compiled programs throughout


def test_terminate_on_nan_stops_after_the_bad_batch(model):
    bad = Y.copy()
    bad[0, 0] = np.nan  # a NaN target makes the first batch's loss NaN
    batches = []
    saved = model.get_weights()
    history = model.fit(X, bad, epochs=3, batch_size=8, shuffle=False, verbose=0, callbacks=[
        callbacks.TerminateOnNaN(),
        callbacks.LambdaCallback(on_batch_end=lambda b, logs: batches.append(b))])
    model.set_weights(saved)
    assert batches == [0] and len(history.history["loss"]) == 1
    with pytest.raises(RuntimeError, match="NaN or Inf loss"):
        model.fit(X, bad, epochs=1, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[callbacks.TerminateOnNaN(raise_error=True)])
    model.set_weights(saved)


def test_csv_logger_writes_append_and_atomically(model, tmp_path, monkeypatch):
    path = tmp_path / "log.csv"
    history = model.fit(X, Y, epochs=2, validation_split=0.25, verbose=0,
                        callbacks=[callbacks.CSVLogger(str(path))])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,accuracy,loss,val_accuracy,val_loss"
    assert [line.split(",")[0] for line in lines[1:]] == ["0", "1"]
    assert float(lines[2].split(",")[2]) == pytest.approx(history.history["loss"][1])
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(str(path),
                                                                        append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[3].startswith("0,") and lines[3].endswith(",NA,NA")
    before = path.read_bytes()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt
    from fnjit.codegen import atomic
    monkeypatch.setattr(atomic.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(str(path),
                                                                            append=True)])
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["log.csv"]
    semi = tmp_path / "semi.csv"
    monkeypatch.undo()
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(str(semi), ";")])
    assert semi.read_text().startswith("epoch;accuracy;loss")


def test_checkpoint_killed_midway_keeps_previous_checkpoint(model, tmp_path, monkeypatch):
    path = tmp_path / "ck.keras"
    cb = callbacks.ModelCheckpoint(str(path), monitor="loss")
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[cb])
    before = path.read_bytes()
    import zipfile

    def dies(self, name, data, *a, **k):
        raise KeyboardInterrupt("killed")
    monkeypatch.setattr(zipfile.ZipFile, "writestr", dies)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[cb])
    monkeypatch.undo()
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ck.keras"]


def test_lambda_callback_and_hook_order(model):
    events = []
    cb = callbacks.LambdaCallback(
        on_train_begin=lambda logs: events.append("train_begin"),
        on_epoch_begin=lambda e, logs: events.append(f"epoch_begin {e}"),
        on_train_batch_end=lambda b, logs: events.append(f"batch {b} {sorted(logs)}"),
        on_epoch_end=lambda e, logs: events.append(f"epoch_end {e} {sorted(logs)}"),
        on_train_end=lambda logs: events.append("train_end"))
    model.fit(X, Y, epochs=2, batch_size=12, verbose=0, initial_epoch=1, callbacks=[cb])
    assert events == ["train_begin", "epoch_begin 1", "batch 0 ['accuracy', 'loss']",
                      "batch 1 ['accuracy', 'loss']", "epoch_end 1 ['accuracy', 'loss']",
                      "train_end"]


# ---- progress output ----------------------------------------------------------------------

NUM = r"\d+\.\d{4}(e-\d+)?"


def test_fit_progress_verbose_1_2_and_0(model, capsys):
    model.fit(X, Y, epochs=2, batch_size=8, verbose=1)
    out = capsys.readouterr().out
    bar = "━" * 20
    line = rf"3/3 {bar} \d+s \d+(ms|us|s)/step - loss: {NUM} - accuracy: {NUM}"
    assert re.fullmatch(rf"Epoch 1/2\n{line}\nEpoch 2/2\n{line}\n", out), out
    model.fit(X, Y, epochs=2, batch_size=8, verbose=2, validation_data=(X, Y))
    out = capsys.readouterr().out
    line = rf"3/3 - \d+s - \d+(ms|us|s)/step - loss: {NUM} - accuracy: {NUM} - " \
           rf"val_loss: {NUM} - val_accuracy: {NUM}"
    assert re.fullmatch(rf"Epoch 1/2\n{line}\nEpoch 2/2\n{line}\n", out), out
    model.fit(X, Y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(X, Y, epochs=1, batch_size=8)  # one epoch: no "Epoch 1/1" line, as Keras 3
    assert capsys.readouterr().out.startswith("3/3 ━")


def test_evaluate_and_predict_progress(model, capsys):
    model.evaluate(X, Y, batch_size=10)
    out = capsys.readouterr().out
    assert re.fullmatch(rf"3/3 {'━' * 20} \d+s \d+(ms|us|s)/step - loss: {NUM} - "
                        rf"accuracy: {NUM}\n", out), out
    model.predict(X, batch_size=10)
    assert re.fullmatch(rf"3/3 {'━' * 20} \d+s \d+(ms|us|s)/step\n", capsys.readouterr().out)
    model.evaluate(X, Y, verbose=0)
    model.predict(X, verbose=0)
    assert capsys.readouterr().out == ""


def test_progbar_redraws_in_place_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty, log = Tty(), io.StringIO()
    for stream in (tty, log):
        bar = fnjit.utils.Progbar(4, interval=0, stream=stream)
        for step in range(1, 5):
            bar.update(step, [("loss", 0.5 / step)])
    assert tty.getvalue().count("\r") == 4 and "\x1b[32m" in tty.getvalue()
    assert "ETA" not in tty.getvalue() and re.search(r"2/4 .* \d+s \d+\w+/step", tty.getvalue())
    assert re.fullmatch(rf"4/4 {'━' * 20} \d+s \d+(ms|us|s)/step - loss: 0\.1250\n",
                        log.getvalue()), log.getvalue()
