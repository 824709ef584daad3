"""What a batch call prepares once (array specs, log layout, input shapes, the optimizer's
program key and scalars) follows every change after the first step: a new learning rate or
optimizer setting, a recompile with another loss or metrics, a new input shape, new weights.
Expected numbers come from numpy."""

import numpy as np
import pytest

from fnjit import Input, Model, layers, optimizers, utils


def _linear(units=2, features=3):
    x = Input(shape=(features,))
    return Model(x, layers.Dense(units)(x))


def _mse_grad(w, b, data, target):
    return 2 * (data @ w + b - target) / target.size


def test_rmsprop_rho_and_learning_rate_changed_after_a_step_take_effect(float64):
    model = _linear()
    opt = optimizers.RMSprop(learning_rate=0.01, rho=0.9)
    model.compile(opt, "mse")
    rng = np.random.default_rng(1)
    data, target = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    velocity = [np.zeros((3, 2)), np.zeros(2)]
    for lr, rho in ((0.01, 0.9), (0.05, 0.5), (0.002, 0.99)):
        opt.learning_rate, opt.rho = lr, rho
        w, b = model.get_weights()
        d = _mse_grad(w, b, data, target)
        grads = [data.T @ d, d.sum(0)]
        want = []
        for k, (value, g) in enumerate(zip((w, b), grads)):
            velocity[k] = rho * velocity[k] + (1 - rho) * g * g
            want.append(value - lr * g / np.sqrt(velocity[k] + opt.epsilon))
        model.train_on_batch(data, target)
        for got, expected in zip(model.get_weights(), want):
            np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_clipvalue_set_after_a_step_compiles_the_clipped_update(float64):
    model = _linear()
    opt = optimizers.SGD(learning_rate=0.1)
    model.compile(opt, "mse")
    rng = np.random.default_rng(2)
    data, target = rng.normal(size=(4, 3)) * 10, rng.normal(size=(4, 2))
    model.train_on_batch(data, target)
    opt.clipvalue = 0.01
    w, b = model.get_weights()
    d = _mse_grad(w, b, data, target)
    assert np.abs(data.T @ d).max() > 0.01  # the clip bites
    model.train_on_batch(data, target)
    np.testing.assert_allclose(model.get_weights()[0],
                               w - 0.1 * np.clip(data.T @ d, -0.01, 0.01), rtol=1e-9)
    np.testing.assert_allclose(model.get_weights()[1],
                               b - 0.1 * np.clip(d.sum(0), -0.01, 0.01), rtol=1e-9)


def test_a_recompile_with_another_loss_and_metrics_changes_targets_and_logs():
    model = _linear(units=3)
    rng = np.random.default_rng(3)
    data = rng.normal(size=(6, 3)).astype("float32")
    onehot = np.eye(3, dtype="float32")[[0, 1, 2, 0, 1, 2]]
    model.compile("sgd", "mse")
    for _ in range(2):  # (the second call runs on what the first one settled)
        assert list(model.train_on_batch(data, onehot, return_dict=True)) == ["loss"]
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    labels = np.array([0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match=r"expected arrays of shape \(None,\)"):
        model.train_on_batch(data, onehot)  # one-hot rows: the targets are class indices now
    logs = model.test_on_batch(data, labels, return_dict=True)
    logits = data @ model.get_weights()[0] + model.get_weights()[1]
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert sorted(logs) == ["accuracy", "loss"]
    # (Dense without softmax: Keras' crossentropy of these outputs as probabilities)
    assert logs["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == labels))
    model.test_on_batch(data, labels)
    model.compile("sgd", "mae")
    logs = model.test_on_batch(data, onehot, return_dict=True)
    assert list(logs) == ["loss"]
    assert logs["loss"] == pytest.approx(np.abs(logits - onehot).mean(), rel=1e-5)


def test_a_new_input_shape_is_checked_and_computed_afresh():
    x = Input(shape=(None, 2))
    model = Model(x, layers.Dense(1)(layers.GlobalAveragePooling1D()(x)))
    model.compile("sgd", "mse")
    rng = np.random.default_rng(4)
    for steps in (3, 5, 3):
        data = rng.normal(size=(4, steps, 2)).astype("float32")
        w, b = model.get_weights()
        np.testing.assert_allclose(model.predict_on_batch(data), data.mean(1) @ w + b,
                                   rtol=1e-5)
        model.train_on_batch(data, np.zeros((4, 1), "float32"))
    with pytest.raises(ValueError, match=r"expected arrays of shape \(None, None, 2\), got "
                                         r"\(4, 3, 3\)"):
        model.predict_on_batch(np.zeros((4, 3, 3), "float32"))


def test_set_weights_between_calls_is_what_the_next_call_uses(float64):
    model = _linear()
    model.compile(optimizers.SGD(learning_rate=0.1), "mse")
    rng = np.random.default_rng(5)
    data, target = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    model.train_on_batch(data, target)
    model.predict_on_batch(data)
    w, b = rng.normal(size=(3, 2)), rng.normal(size=2)
    model.set_weights([w, b])
    np.testing.assert_allclose(model.predict_on_batch(data), data @ w + b, rtol=1e-12)
    assert model.test_on_batch(data, target) == pytest.approx(
        np.mean((data @ w + b - target) ** 2), rel=1e-12)
    d = _mse_grad(w, b, data, target)
    model.train_on_batch(data, target)
    np.testing.assert_allclose(model.get_weights()[0], w - 0.1 * data.T @ d, rtol=1e-12)



def test_the_log_layout_read_before_the_first_program_follows_its_masks():
    """metrics_names before any program knows no masked output yet; the program built next
    finds the mask, and the accuracy it logs is per unmasked step."""
    utils.set_random_seed(4)
    ids = Input((4,), dtype="int32")
    e = layers.Embedding(5, 2, mask_zero=True)(ids)
    model = Model(ids, layers.Dense(2, activation="softmax")(layers.LSTM(3,
                                                                         return_sequences=True)(e)))
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    assert model.metrics_names == ["loss", "accuracy"]
    data = np.array([[1, 2, 0, 0], [3, 4, 1, 0], [2, 0, 0, 0]], "int32")
    targets = np.array([[0, 1, 0, 1], [1, 1, 0, 0], [0, 1, 1, 1]])
    logs = model.test_on_batch(data, targets, return_dict=True)
    hits = model.predict_on_batch(data).argmax(-1) == targets
    mask = data != 0
    assert hits[mask].mean() != hits.mean()  # the mask changes the value
    assert logs["accuracy"] == pytest.approx(hits[mask].mean())
