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


def blocks_of(model, monkeypatch, *args):
    """predict(*args) without a batch size, and the block sizes its one call was given."""
    from fnjit.codegen.program import Program

    seen, run = [], Program.predict_batches

    def spy(self, params, state, xs, batch):
        seen.append(batch)
        return run(self, params, state, xs, batch)

    monkeypatch.setattr(Program, "predict_batches", spy)
    return model.predict(*args, verbose=0), seen


def test_without_a_batch_size_samples_that_never_meet_run_in_larger_blocks(monkeypatch):
    """Keras' default batch of 32 only bounds memory where no sample's outputs depend on
    another's: such a model runs larger blocks, with the same numbers; one that mixes samples
    (a mean over the batch) keeps Keras' groups of 32, whose numbers it depends on; so do the
    recurrent layers (measured slower on larger blocks, codegen/batching.py)."""
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(size=(100, 5)), rng.normal(size=(100, 3))
    model = two_in_two_out()
    outs, seen = blocks_of(model, monkeypatch, [xa, xb])
    assert seen == [model._programs[next(iter(model._programs))].default_predict_block(32)]
    assert seen[0] >= 100
    for got, want in zip(outs, numpy_outputs(model, xa, xb)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

    x = keras.Input(shape=(3,))
    centred = keras.Model(x, layers.Lambda(lambda t: t - keras.ops.mean(t, axis=0))(x))
    out, seen = blocks_of(centred, monkeypatch, xb)
    assert seen[-1] == 32
    want = np.concatenate([g - g.mean(0) for g in np.split(xb, [32, 64, 96])])
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)

    # Batch statistics at inference (training=True): also Keras' groups of 32.
    normed = keras.Model(x, layers.BatchNormalization()(x, training=True))
    out, seen = blocks_of(normed, monkeypatch, xb)
    assert seen[-1] == 32
    want = np.concatenate([(g - g.mean(0)) / np.sqrt(g.var(0) + 1e-3)
                           for g in np.split(xb, [32, 64, 96])])
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)

    s = keras.Input(shape=(4, 3))
    recurrent = keras.Model(s, layers.SimpleRNN(2)(s))
    _, seen = blocks_of(recurrent, monkeypatch, rng.normal(size=(40, 4, 3)))
    assert seen[-1] == 32


def test_the_block_holds_predict_block_bytes_of_values(monkeypatch):
    """The block is as many samples as PREDICT_BLOCK_BYTES of the values its ops write: here
    Dense(3)'s 3 floats a sample, Dense(7)'s product 7 and its relu 7, 17 float32 = 68 bytes
    (the inputs are the caller's, not counted)."""
    from fnjit.codegen.batching import PREDICT_BLOCK_BYTES

    x = keras.Input(shape=(5,))
    model = keras.Model(x, layers.Dense(7, activation="relu")(layers.Dense(3)(x)))
    _, seen = blocks_of(model, monkeypatch, np.ones((40, 5)))
    assert seen == [PREDICT_BLOCK_BYTES // 68]
