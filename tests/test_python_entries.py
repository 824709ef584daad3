"""Large models run Python entry points over native kernels: same results as native entries."""

import numpy as np

import fnjit as keras
from fnjit import layers
from fnjit.codegen import render


def _trained(seed):
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    x = keras.Input(shape=(5,))
    h = layers.Dense(8, activation="tanh")(x)
    out = layers.Dense(3, activation="softmax")(layers.concatenate([h, x]))
    model = keras.Model(x, out)
    model.compile(keras.optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    data = rng.normal(size=(40, 5)).astype("float32")
    labels = np.eye(3, dtype="float32")[rng.integers(0, 3, 40)]
    hist = model.fit(data, labels, epochs=3, batch_size=16, verbose=0)
    return model, hist.history, model.predict(data, verbose=0)


def test_python_entries_compute_what_native_entries_compute(monkeypatch):
    native, native_hist, native_pred = _trained(1)
    assert "jit = numba.njit(cache=True" in native.generated_source()
    monkeypatch.setattr(render, "NATIVE_ENTRY_MAX_STEPS", 0)
    python, python_hist, python_pred = _trained(1)
    assert "def jit(entry):" in python.generated_source()
    np.testing.assert_allclose(python_pred, native_pred, rtol=1e-5)
    for key in native_hist:
        np.testing.assert_allclose(python_hist[key], native_hist[key], rtol=1e-5)


def test_predict_per_batch_when_the_driver_has_no_predict_batches_entry(monkeypatch):
    """A driver without the one-call predict_batches entry (the CUDA target's) runs Keras'
    predict one batch at a time and joins the batches: one batch, several, an uneven last one,
    each output (numpy Dense layers from the model's weights as reference)."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(3)
    x = keras.Input(shape=(4,))
    first = layers.Dense(3, activation="tanh")(x)
    second = layers.Dense(2)(first)
    model = keras.Model(x, [first, second])
    data = np.random.default_rng(1).normal(size=(7, 4)).astype("float32")
    model.predict(data, verbose=0)  # builds the program
    (program,) = model._programs.values()
    for module in program.driver.loaded:
        monkeypatch.delattr(module, "predict_batches")
    w1, b1, w2, b2 = model.get_weights()
    h = np.tanh(data @ w1 + b1)
    for batch_size in (32, 3, 7):
        got = model.predict(data, batch_size=batch_size, verbose=0)
        np.testing.assert_allclose(got[0], h, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got[1], h @ w2 + b2, rtol=1e-5, atol=1e-5)
