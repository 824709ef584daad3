"""`.keras` files across the two libraries: a conv model and an LSTM model saved by fnjit
(compiled and trained, so with optimizer state) load in Keras 3 with the same predictions, and
the files Keras saves of them load back in fnjit."""

import numpy as np
import pytest

pytest.importorskip("keras")
pytest.importorskip("h5py")
pytestmark = pytest.mark.parity

from parity_harness import OUTPUT_RTOL, close, keras  # noqa: E402

import fnjit  # noqa: E402


def conv_model(lib):
    L = lib.layers
    x = lib.Input((6, 6, 2))
    y = L.Conv2D(3, 3, padding="same", activation="relu")(x)
    y = L.SeparableConv2D(4, 2, strides=2)(y)
    y = L.DepthwiseConv2D(2)(L.ZeroPadding2D(1)(y))
    y = L.MaxPooling2D()(y)
    y = L.Flatten()(L.UpSampling2D()(y))
    return lib.Model(x, L.Dense(3, activation="softmax")(y))


def lstm_model(lib):
    L = lib.layers
    tokens = lib.Input((5,), dtype="int32")
    y = L.Embedding(9, 4)(tokens)
    seq, h, c = L.LSTM(3, return_sequences=True, return_state=True)(y)
    y = L.TimeDistributed(L.Dense(2, activation="tanh"))(seq)
    y = L.GRU(2, go_backwards=True)(L.Conv1D(2, 2)(y))
    y = L.Concatenate()([y, L.SimpleRNN(2)(seq), h, c])
    return lib.Model(tokens, L.Dense(1, activation="sigmoid")(y))


MODELS = {"conv": (conv_model, (6, 6, 2), "categorical_crossentropy"),
          "lstm": (lstm_model, (5,), "binary_crossentropy")}


@pytest.mark.parametrize("which", list(MODELS))
def test_keras_file_loads_in_keras_and_back(which, tmp_path):
    make, shape, loss = MODELS[which]
    rng = np.random.default_rng(5)
    if which == "lstm":
        x = rng.integers(0, 9, size=(6,) + shape).astype("int32")
        y = rng.integers(0, 2, size=(6, 1)).astype("float32")
    else:
        x = rng.normal(size=(6,) + shape).astype("float32")
        y = np.eye(3, dtype="float32")[rng.integers(0, 3, size=6)]
    model = make(fnjit)
    model.compile("adam", loss)
    model.fit(x, y, epochs=2, batch_size=3, verbose=0)
    ours = model.predict(x, verbose=0)
    model.save(tmp_path / "fnjit.keras")

    theirs = keras.models.load_model(tmp_path / "fnjit.keras")
    close(theirs.predict(x, verbose=0), ours, OUTPUT_RTOL, f"{which}: Keras on fnjit's file")
    assert [w.shape for w in theirs.get_weights()] == [w.shape for w in model.get_weights()]
    assert type(theirs.optimizer).__name__ == "Adam"

    theirs.save(tmp_path / "keras.keras")
    back = fnjit.models.load_model(tmp_path / "keras.keras")
    close(back.predict(x, verbose=0), ours, OUTPUT_RTOL, f"{which}: fnjit on Keras' file")
    for want, got in zip(model.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(got, want)


OPTIMIZER_STATES = {
    "nadam": ("Nadam", dict(learning_rate=0.05)),
    "adam_amsgrad": ("Adam", dict(learning_rate=0.05, amsgrad=True)),
    "adamw_clipnorm": ("AdamW", dict(learning_rate=0.05, clipnorm=0.1)),
    "ftrl": ("Ftrl", dict(learning_rate=0.1, l1_regularization_strength=0.01)),
    "rmsprop_centered_momentum": ("RMSprop", dict(learning_rate=0.05, momentum=0.5,
                                                  centered=True)),
    "adadelta": ("Adadelta", dict(learning_rate=1.0)),
    "lion_schedule": ("Lion", dict(learning_rate=("ExponentialDecay", dict(
        initial_learning_rate=0.05, decay_steps=1, decay_rate=0.5)))),
}


@pytest.mark.parametrize("which", list(OPTIMIZER_STATES))
def test_optimizer_state_carries_across_libraries(which, tmp_path):
    """Two steps in one library, save, two more steps in the other after loading: the same
    weights as the first library's own four steps (slots, step count and Nadam's momentum
    product in Keras 3's variable order)."""
    from parity_harness import WEIGHT_RTOL, fnjit_optimizer, keras_optimizer

    name, kwargs = OPTIMIZER_STATES[which]
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 3)).astype("float32")
    y = rng.normal(size=(5, 2)).astype("float32")
    w0 = [rng.normal(size=(3, 4)).astype("float32"), np.zeros(4, "float32"),
          rng.normal(size=(4, 2)).astype("float32"), np.zeros(2, "float32")]

    def make(lib, optimizer):
        i = lib.Input((3,))
        model = lib.Model(i, lib.layers.Dense(2)(lib.layers.Dense(4, activation="tanh")(i)))
        model.set_weights(w0)
        model.compile(optimizer(name, **kwargs), "mse")
        return model

    for first, second, load in ((fnjit, keras, keras.models.load_model),
                                (keras, fnjit, fnjit.models.load_model)):
        opt = {fnjit: fnjit_optimizer, keras: keras_optimizer}
        start = make(first, opt[first])
        for _ in range(2):
            start.train_on_batch(x, y)
        path = tmp_path / f"{first.__name__}.keras"
        start.save(path)
        for _ in range(2):
            start.train_on_batch(x, y)
        resumed = load(path)
        assert type(resumed.optimizer).__name__ == name
        for _ in range(2):
            resumed.train_on_batch(x, y)
        for got, want, w in zip(resumed.get_weights(), start.get_weights(), w0):
            close(np.asarray(got), np.asarray(want), WEIGHT_RTOL,
                  f"{which}: {second.__name__} resuming {first.__name__}'s file",
                  scale=max(float(np.max(np.abs(np.asarray(want) - w))), 1e-6))
