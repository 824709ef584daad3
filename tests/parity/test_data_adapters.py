"""fit, evaluate and predict on a PyDataset and on a generator against Keras 3 (JAX backend):
the same batches in the same epochs give the same weights, losses and predictions."""

import warnings

import numpy as np
import pytest

pytest.importorskip("keras")
pytestmark = pytest.mark.parity

import keras  # noqa: E402  (parity_harness has chosen the JAX backend)
import parity_harness  # noqa: E402, F401

import fnjit  # noqa: E402

data = np.random.default_rng(4)
X = data.normal(size=(20, 3)).astype("float32")
Y = data.normal(size=(20, 2)).astype("float32")


def _dataset(lib):
    class Batches(lib.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.asked = []

        def __len__(self):
            return 5

        def __getitem__(self, i):
            self.asked.append(i)
            return X[i * 4:(i + 1) * 4], Y[i * 4:(i + 1) * 4]
    return Batches()


def _model(lib, weights=None):
    model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(4, activation="tanh"),
                            lib.layers.Dense(2)])
    model.compile(lib.optimizers.SGD(0.1), "mse")
    if weights is not None:
        model.set_weights(weights)
    return model


@pytest.mark.parametrize("steps", [None, 3, 7])
def test_pydataset_epochs_match_keras(steps):
    theirs = _model(keras)
    ours = _model(fnjit, theirs.get_weights())
    runs = {}
    for name, lib, model in (("keras", keras, theirs), ("fnjit", fnjit, ours)):
        ds = _dataset(lib)
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            hist = model.fit(ds, epochs=3, steps_per_epoch=steps, shuffle=False, verbose=0)
        runs[name] = (ds.asked, hist.history["loss"])  # an epoch's loss: its batches
    # (Keras reads batch 0 once more first, to learn the shapes: the batches asked for differ)
    np.testing.assert_allclose(runs["fnjit"][1], runs["keras"][1], rtol=1e-5)
    for w, v in zip(theirs.get_weights(), ours.get_weights()):
        np.testing.assert_allclose(v, w, rtol=1e-4, atol=1e-6)


def test_generator_evaluate_predict_and_validation_match_keras():
    theirs = _model(keras)
    ours = _model(fnjit, theirs.get_weights())

    def gen(n=5):
        for i in range(n):
            rows = slice(i % 5 * 4, i % 5 * 4 + 4)
            yield X[rows], Y[rows], np.linspace(0.5, 2, 4).astype("float32")

    out = {}
    for name, model in (("keras", theirs), ("fnjit", ours)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hist = model.fit(gen(10), steps_per_epoch=5, epochs=2, shuffle=False, verbose=0,
                             validation_data=gen(4), validation_steps=2)
            out[name] = (hist.history, model.evaluate(gen(), verbose=0),
                         model.predict(((x,) for x, _, _ in gen()), verbose=0))
    np.testing.assert_allclose(out["fnjit"][0]["loss"], out["keras"][0]["loss"], rtol=1e-5)
    # The first validation only: from the second on, Keras 3 starts a validation generator
    # again with the two batches it peeked at (0 and 1) where fnjit, as Keras 2, goes on
    # (batches 2 and 3).
    assert out["fnjit"][0]["val_loss"][0] == pytest.approx(out["keras"][0]["val_loss"][0],
                                                           rel=1e-5)
    assert out["fnjit"][1] == pytest.approx(out["keras"][1], rel=1e-5)
    np.testing.assert_allclose(out["fnjit"][2], out["keras"][2], rtol=1e-4, atol=1e-6)
