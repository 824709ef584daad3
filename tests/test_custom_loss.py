"""Custom losses and metrics: functions of (y_true, y_pred) written with K operations, lowered
into the training program. The loss's gradient against finite differences of the compiled
evaluation; the metric in History under its name; Keras' own loss functions stay built-in."""

import numpy as np
import pytest

import fnjit as keras
from fnjit import backend as K
from fnjit import layers, losses

rng = np.random.default_rng(13)


def weighted_error(y_true, y_pred):
    """Per-sample values plus a scalar: Keras averages the sum over everything."""
    return K.mean(K.square(y_pred - y_true) * K.abs(y_true), axis=-1) + 0.1 * K.mean(y_pred)


def mean_pred(y_true, y_pred):
    return K.mean(y_pred)


def test_custom_loss_forward_and_gradient(float64):
    x = keras.Input(shape=(3,))
    model = keras.Model(x, layers.Dense(2, activation="tanh")(x))
    model.compile(keras.optimizers.SGD(learning_rate=0.0), loss=weighted_error)
    xs = [rng.normal(size=(6, 3))]
    ys = [rng.normal(size=(6, 2))]
    program = model._program("train")
    store = model._store
    store.bind()
    n = len(xs[0])

    def loss():
        logs = np.zeros(program.n_logs)
        program.evaluate(store.params, store.state, xs, ys, logs)
        return logs[0] / n

    k, b = model.get_weights()
    pred = np.tanh(xs[0] @ k + b)
    want = np.mean(np.mean((pred - ys[0]) ** 2 * np.abs(ys[0]), axis=-1) + 0.1 * pred.mean())
    assert loss() == pytest.approx(want, rel=1e-12)
    assert model.evaluate(xs, ys, verbose=0) == pytest.approx(want, rel=1e-12)

    grads = np.zeros_like(store.params)
    program.gradients(store.params, store.state, grads, xs, ys, np.zeros(program.n_logs))
    for i in range(store.params.size):
        old = store.params[i]
        store.params[i] = old + 1e-6
        up = loss()
        store.params[i] = old - 1e-6
        down = loss()
        store.params[i] = old
        assert grads[i] == pytest.approx((up - down) / 2e-6, rel=1e-5, abs=1e-9)


def test_custom_metric_in_history_under_its_name():
    x = keras.Input(shape=(4,))
    model = keras.Model(x, layers.Dense(1, activation="sigmoid")(x))
    model.compile(keras.optimizers.SGD(learning_rate=0.0), loss="binary_crossentropy",
                  metrics=["accuracy", mean_pred])
    data = rng.normal(size=(32, 4)).astype("float32")
    labels = (rng.random((32, 1)) > 0.5).astype("float32")
    history = model.fit(data, labels, epochs=2, batch_size=8, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "mean_pred"}
    want = model.predict(data, verbose=0).mean()
    np.testing.assert_allclose(history.history["mean_pred"], [want, want], rtol=1e-5)
    assert model.metrics_names == ["loss", "accuracy", "mean_pred"]
    _, _, metric = model.evaluate(data, labels, verbose=0)
    assert metric == pytest.approx(want, rel=1e-5)


def test_loss_resolution_keeps_builtins_and_accepts_functions():
    assert losses.get(losses.categorical_crossentropy) == "categorical_crossentropy"
    assert losses.get("mse") == "mean_squared_error"
    assert losses.get(weighted_error) is weighted_error

    class Scaled(losses.Loss):
        def call(self, y_true, y_pred):
            return K.square(y_pred - y_true) * 2

    resolved = losses.get(Scaled(name="scaled"))
    assert callable(resolved) and resolved.__name__ == "scaled"
    with pytest.raises(ValueError, match="unknown loss"):
        losses.get("no_such_loss")


def test_custom_loss_errors_name_the_function():
    x = keras.Input(shape=(2,))
    model = keras.Model(x, layers.Dense(2)(x))

    def numpy_loss(y_true, y_pred):
        return np.mean(y_pred - y_true)

    model.compile("sgd", loss=numpy_loss)
    with pytest.raises(TypeError) as info:
        model.fit(np.zeros((2, 2)), np.zeros((2, 2)), verbose=0)
    assert "numpy.mean" in str(info.value) and "numpy_loss" in str(info.value)
