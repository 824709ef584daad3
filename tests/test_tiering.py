"""Tiered entry points (codegen/program.py): a CPU driver's entries run as Python over the
compiled kernels for their first FNJIT_NATIVE_AFTER calls, then native; the numbers are the
same either way, and machine code already in the disk cache is used from the first call."""

import sys

import numba
import numpy as np
import pytest
from numba.core import event as numba_event

import fnjit as keras
from fnjit import layers


def _model(units=8):
    """Each test builds its own architecture (`units`): a driver module once loaded stays in the
    process, native entries compiled."""
    keras.utils.set_random_seed(3)
    x = keras.Input((6,))
    h = layers.Dense(units, activation="tanh")(x)
    h = layers.Dropout(0.3)(h)
    out = layers.Dense(3, activation="softmax")(layers.concatenate([h, x]))
    model = keras.Model(x, out)
    model.compile(keras.optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 6)).astype("float32")
    return x, np.eye(3, dtype="float32")[rng.integers(0, 3, 48)]


def _driver_compiles(recorder):
    return sorted({e[1].data["dispatcher"].py_func.__name__ for e in recorder.buffer
                   if e[1].is_start and e[1].data["dispatcher"].py_func.__name__ in
                   ("forward", "predict", "evaluate", "train_step")})


def _train(after, monkeypatch):
    monkeypatch.setenv("FNJIT_NATIVE_AFTER", str(after))
    model = _model(units=12)
    x, y = _data()
    hist = model.fit(x, y, epochs=3, batch_size=8, verbose=0)  # 18 train steps
    return model, hist.history, model.predict(x, batch_size=8, verbose=0)


def test_entries_go_native_after_their_threshold_with_the_same_numbers(monkeypatch, tmp_path):
    monkeypatch.setenv("FNJIT_CACHE_DIR", str(tmp_path))  # no machine code on disk yet
    python, python_hist, python_pred = _train(1000, monkeypatch)
    (prog,) = [p for p in python._programs.values() if "train_step" in p.driver.calls]
    assert not prog.native and prog.module.__name__.endswith("_py")
    assert prog.driver.calls["train_step"] == 18
    assert not isinstance(prog.module.train_step, numba.core.registry.CPUDispatcher)

    with numba_event.install_recorder("numba:compile") as compiles:
        tiered, tiered_hist, tiered_pred = _train(10, monkeypatch)
    (prog,) = [p for p in tiered._programs.values() if "train_step" in p.driver.calls]
    assert prog.native and prog.driver.native_entries == {"train_step"}
    assert isinstance(prog.module.train_step, numba.core.registry.CPUDispatcher)
    assert prog.driver.calls["train_step"] == 11  # the 11th call compiled it, then no count
    assert "train_step" in _driver_compiles(compiles)
    # Python entries and native ones run the same kernels in the same order: equal results,
    # through 8 native steps after 10 Python ones (Dropout's random masks included).
    np.testing.assert_array_equal(tiered.get_weights()[0], python.get_weights()[0])
    np.testing.assert_array_equal(tiered_pred, python_pred)
    for key in python_hist:
        np.testing.assert_allclose(tiered_hist[key], python_hist[key], rtol=1e-6)


def test_a_short_use_compiles_no_driver(monkeypatch, tmp_path):
    monkeypatch.setenv("FNJIT_CACHE_DIR", str(tmp_path))
    model = _model(units=9)
    x, y = _data()
    with numba_event.install_recorder("numba:compile") as compiles:
        model.train_on_batch(x, y)
        model.predict(x, verbose=0)
        model.evaluate(x, y, verbose=0)
    assert _driver_compiles(compiles) == []
    monkeypatch.setenv("FNJIT_NATIVE_AFTER", "0")  # the check can fail: native at once
    with numba_event.install_recorder("numba:compile") as control:
        _model(units=9).train_on_batch(x, y)
    assert _driver_compiles(control) == ["train_step"]


def test_machine_code_in_the_disk_cache_is_used_from_the_first_call(monkeypatch, tmp_path):
    monkeypatch.setenv("FNJIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("FNJIT_NATIVE_AFTER", "0")
    x, y = _data()
    first = _model(units=10)
    first.train_on_batch(x, y)
    monkeypatch.setenv("FNJIT_NATIVE_AFTER", "1000")
    second = _model(units=10)  # the same architecture: its train_step is in this process
    second.train_on_batch(x, y)
    (prog,) = second._programs.values()
    assert prog.native and "train_step" in prog.driver.native_entries
    # Another process would find it on disk: drop the loaded module, keep the files.
    sys.modules.pop(prog.driver.compiled.__name__)
    third = _model(units=10)
    with numba_event.install_recorder("numba:compile") as compiles:
        third.train_on_batch(x, y)
    (prog,) = third._programs.values()
    assert prog.native and _driver_compiles(compiles) == []  # loaded from the disk cache
    other = _model(units=11)  # another architecture: Python entries
    other.train_on_batch(x, y)
    assert not any(p.native for p in other._programs.values())


@pytest.mark.parametrize("bad", ["-2", "soon"])
def test_a_bad_threshold_is_refused(monkeypatch, bad):
    monkeypatch.setenv("FNJIT_NATIVE_AFTER", bad)
    model = _model()
    x, y = _data()
    with pytest.raises(ValueError, match="FNJIT_NATIVE_AFTER"):
        model.train_on_batch(x, y)
