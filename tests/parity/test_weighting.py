"""Loss weights, sample weights, class weights and weighted metrics against Keras 3 (JAX
backend): the numbers evaluate, train_on_batch and fit report, and the weights after training
steps, from identical weights."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.parity

from parity_harness import close  # noqa: E402

import fnjit  # noqa: E402

rng = np.random.default_rng(5)


def two_outputs(lib):
    x = lib.Input((3,), name="x")
    h = lib.layers.Dense(4, activation="tanh", name="h")(x)
    o1 = lib.layers.Dense(2, name="o1")(h)
    o2 = lib.layers.Dense(1, activation="sigmoid", name="o2")(h)
    model = lib.Model(x, [o1, o2])
    model.compile(lib.optimizers.SGD(learning_rate=0.1), ["mse", "binary_crossentropy"],
                  loss_weights=[1.0, 0.2], metrics=[["mae"], ["mae"]],
                  weighted_metrics=[["mae"], []])
    return model


def same_logs(got, want, what):
    assert sorted(got) == sorted(want), what  # Keras 3's dict is in alphabetical order
    for key in want:
        close(np.float32(got[key]), np.float32(want[key]), 1e-4, f"{what}: {key}")


def test_sample_and_loss_weights_match_keras():
    kmodel, fmodel = two_outputs(keras), two_outputs(fnjit)
    fmodel.set_weights(kmodel.get_weights())
    x = rng.normal(size=(10, 3)).astype("float32")
    ys = [rng.normal(size=(10, 2)).astype("float32"),
          (rng.random((10, 1)) > 0.5).astype("float32")]
    sw = [rng.random(10).astype("float32"), rng.random(10).astype("float32")]
    sw[0][3] = 0
    for weights in (None, sw, sw[1]):
        same_logs(fmodel.evaluate(x, ys, sample_weight=weights, batch_size=4, verbose=0,
                                  return_dict=True),
                  kmodel.evaluate(x, ys, sample_weight=weights, batch_size=4, verbose=0,
                                  return_dict=True), f"evaluate, sample_weight={weights}")
    for step in range(3):
        same_logs(fmodel.train_on_batch(x, ys, sample_weight=sw, return_dict=True),
                  kmodel.train_on_batch(x, ys, sample_weight=sw, return_dict=True),
                  f"train_on_batch {step}")
    for k, (f, w) in enumerate(zip(fmodel.get_weights(), kmodel.get_weights())):
        close(f, w, 1e-4, f"weight {k} after three weighted steps")


@pytest.mark.parametrize("one_hot", [False, True])
def test_class_weight_matches_keras(one_hot):
    loss = "categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"

    def build(lib):
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(3, activation="softmax")])
        model.compile(lib.optimizers.SGD(learning_rate=0.5), loss)
        return model

    kmodel, fmodel = build(keras), build(fnjit)
    fmodel.set_weights(kmodel.get_weights())
    x = rng.normal(size=(9, 3)).astype("float32")
    labels = np.arange(9) % 3
    y = np.eye(3, dtype="float32")[labels] if one_hot else labels
    cw = {0: 2.0, 2: 0.5}
    fh = fmodel.fit(x, y, class_weight=cw, batch_size=9, epochs=2, shuffle=False, verbose=0)
    kh = kmodel.fit(x, y, class_weight=cw, batch_size=9, epochs=2, shuffle=False, verbose=0)
    close(np.float32(fh.history["loss"]), np.float32(kh.history["loss"]), 1e-4, "fit loss")
    for k, (f, w) in enumerate(zip(fmodel.get_weights(), kmodel.get_weights())):
        close(f, w, 1e-4, f"weight {k} after two class-weighted epochs")
