"""predict over arrays runs every batch in one call of the generated driver (predict_batches)
when no callback listens to each batch: the same outputs as batch by batch, checked against
numpy; and the Python tier counts that call as one call per batch (FNJIT_NATIVE_AFTER)."""

import numpy as np
import pytest

import fnjit as keras
from fnjit import callbacks, layers


def two_in_two_out():
    a, b = keras.Input(shape=(5,)), keras.Input(shape=(3,))
    h = layers.Dense(4, activation="relu")(layers.concatenate([a, b]))
    model = keras.Model([a, b], [layers.Dense(2)(h), layers.Dense(1, activation="sigmoid")(h)])
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32)
                       for w in model.get_weights()])
    return model


def numpy_outputs(model, xa, xb):
    k0, b0, k1, b1, k2, b2 = model.get_weights()
    h = np.maximum(np.concatenate([xa, xb], 1) @ k0 + b0, 0)
    return h @ k1 + b1, 1 / (1 + np.exp(-(h @ k2 + b2)))


class BatchCounter(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_predict_batch_end(self, batch, logs=None):
        self.batches += 1


@pytest.mark.parametrize("batch_size, steps", [(7, None), (32, None), (4, 3), (50, None)])
def test_one_call_gives_the_outputs_of_batch_by_batch(batch_size, steps):
    model = two_in_two_out()
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(23, 5)), rng.normal(size=(23, 3))
    rows = 23 if steps is None else min(23, steps * batch_size)
    counter = BatchCounter()
    per_batch = model.predict([xa, xb], batch_size=batch_size, steps=steps, verbose=0,
                              callbacks=[counter])
    one_call = model.predict([xa, xb], batch_size=batch_size, steps=steps, verbose=0)
    assert counter.batches == -(-rows // batch_size)  # that path did run batch by batch
    want = numpy_outputs(model, xa[:rows], xb[:rows])
    for got_one, got_each, w in zip(one_call, per_batch, want):
        assert got_one.shape == w.shape and got_one.dtype == np.float32
        np.testing.assert_allclose(got_one, w, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(got_one, got_each)


def test_one_output_comes_back_as_one_array():
    x = keras.Input(shape=(4,))
    model = keras.Model(x, layers.Dense(3)(x))
    data = np.arange(40, dtype=np.float32).reshape(10, 4)
    out = model.predict(data, batch_size=3, verbose=0)
    k, b = model.get_weights()
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, data @ k + b, rtol=1e-5)


def test_the_python_tier_counts_each_batch(monkeypatch, tmp_path):
    # A cache of its own and a shape no other test builds: nothing compiled already.
    monkeypatch.setenv("FNJIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("FNJIT_NATIVE_AFTER", "5")
    x = keras.Input(shape=(13,))
    model = keras.Model(x, layers.Dense(11)(x))
    model.predict(np.ones((4, 13)), batch_size=2, verbose=0)  # 2 batches: Python still
    (program,) = model._programs.values()
    assert not program.native
    model.predict(np.ones((8, 13)), batch_size=2, verbose=0)  # 6 batches in all: native
    assert program.native
