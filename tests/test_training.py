"""compile / fit / evaluate / predict: learning, Keras' log names, data forms, optimizers."""

import numpy as np
import pytest

import fnjit as keras
from fnjit import Input, Model, layers, optimizers

rng = np.random.default_rng(3)


def _blobs(n=400, k=3, d=6):
    centers = rng.normal(scale=3, size=(k, d))
    y = rng.integers(0, k, n)
    x = (centers[y] + rng.normal(size=(n, d))).astype("float32")
    return x, y


def test_mlp_learns_and_history_uses_keras_names():
    keras.utils.set_random_seed(0)
    x, y = _blobs()
    inputs = Input(shape=(6,))
    h = layers.Dense(16, activation="relu")(inputs)
    h = layers.Dropout(0.1)(h)
    model = Model(inputs, layers.Dense(3, activation="softmax")(h))
    model.compile(optimizer=optimizers.RMSprop(learning_rate=0.01),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, keras.utils.to_categorical(y, 3), epochs=5, batch_size=32,
                     validation_split=0.25, verbose=0)
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(hist.history["loss"]) == 5
    assert hist.history["loss"][-1] < hist.history["loss"][0] * 0.5
    assert hist.history["val_accuracy"][-1] > 0.9
    probs = model.predict(x, batch_size=64, verbose=0)  # last batch partial
    assert probs.shape == (400, 3) and np.allclose(probs.sum(-1), 1, atol=1e-5)


def test_two_inputs_two_outputs_dicts_and_loss_weights():
    a = Input(shape=(4,), name="main_input")
    b = Input(shape=(2,), name="aux_input")
    h = layers.Dense(8, activation="relu")(a)
    aux_out = layers.Dense(1, activation="sigmoid", name="aux_output")(h)
    x = layers.concatenate([h, b])
    main_out = layers.Dense(1, activation="sigmoid", name="main_output")(x)
    model = Model(inputs=[a, b], outputs=[main_out, aux_out])
    model.compile(optimizer="rmsprop", loss={"main_output": "binary_crossentropy",
                                             "aux_output": "binary_crossentropy"},
                  loss_weights={"main_output": 1.0, "aux_output": 0.2}, metrics=["acc"])
    xa, xb = rng.normal(size=(64, 4)), rng.normal(size=(64, 2))
    labels = (xa[:, :1] > 0).astype("float32")
    hist = model.fit({"main_input": xa, "aux_input": xb},
                     {"main_output": labels, "aux_output": labels}, epochs=3, verbose=0)
    assert set(hist.history) == {"loss", "main_output_loss", "aux_output_loss",
                                 "main_output_acc", "aux_output_acc"}
    h = hist.history
    for i in range(3):  # the total is the weighted sum of the unweighted per-output losses
        assert h["loss"][i] == pytest.approx(h["main_output_loss"][i] +
                                             0.2 * h["aux_output_loss"][i], rel=1e-6)
    logs = model.evaluate([xa, xb], [labels, labels], return_dict=True, verbose=0)
    pm, pa = model.predict([xa, xb], verbose=0)
    bce = keras.losses.binary_crossentropy
    assert logs["main_output_loss"] == pytest.approx(bce(labels, pm).mean(), rel=1e-4)
    assert logs["aux_output_loss"] == pytest.approx(bce(labels, pa).mean(), rel=1e-4)
    assert logs["loss"] == pytest.approx(bce(labels, pm).mean() + 0.2 * bce(labels, pa).mean(),
                                         rel=1e-4)
    with pytest.raises(ValueError, match=r"unknown output\(s\) \['nope'\]"):
        model.compile("sgd", loss={"nope": "mse"})
    with pytest.raises(ValueError, match="missing target"):
        model.fit([xa, xb], {"main_output": labels}, verbose=0)


def _one_step(opt, lr_check):
    """Weights after one and two steps of `opt`, against the update rule written in numpy."""
    keras.backend.set_floatx("float64")
    x = Input(shape=(3,))
    model = Model(x, layers.Dense(2)(x))
    model.compile(opt, "mse")
    data, target = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    w = [a.astype(np.float64) for a in model.get_weights()]
    state = {}
    for step in range(2):
        pred = data @ w[0] + w[1]
        d = 2 * (pred - target) / pred.size
        grads = [data.T @ d, d.sum(0)]
        model.train_on_batch(data, target)
        w = [lr_check(state, i, wi, g, step + 1) for i, (wi, g) in enumerate(zip(w, grads))]
    for got, want in zip(model.get_weights(), w):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_sgd_momentum_nesterov_decay():
    def rule(s, i, w, g, t):
        lr = 0.1 / (1 + 0.5 * (t - 1))
        m = s.get(i, 0) * 0.9 - lr * g
        s[i] = m
        return w + 0.9 * m - lr * g
    _one_step(optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True, decay=0.5), rule)


def test_plain_sgd_with_keras1_lr():
    with pytest.warns(DeprecationWarning):
        opt = optimizers.SGD(lr=0.05)
    _one_step(opt, lambda s, i, w, g, t: w - 0.05 * g)


def test_rmsprop():
    def rule(s, i, w, g, t):
        v = 0.9 * s.get(i, 0) + 0.1 * g * g
        s[i] = v
        return w - 0.01 * g / np.sqrt(v + 1e-7)
    _one_step(optimizers.RMSprop(learning_rate=0.01), rule)


def test_adagrad():
    def rule(s, i, w, g, t):
        a = s.get(i, 0.1) + g * g
        s[i] = a
        return w - 0.01 * g / np.sqrt(a + 1e-7)
    _one_step(optimizers.Adagrad(learning_rate=0.01), rule)


def test_adam():
    def rule(s, i, w, g, t):
        m, v = s.get(i, (0, 0))
        m = m + (g - m) * 0.1
        v = v + (g * g - v) * 0.001
        s[i] = (m, v)
        alpha = 0.01 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        return w - alpha * m / (np.sqrt(v) + 1e-7)
    _one_step(optimizers.Adam(learning_rate=0.01), rule)


def test_nan_in_data_does_not_crash():
    x = Input(shape=(2,))
    model = Model(x, layers.Dense(1, activation="sigmoid")(x))
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    data = np.array([[np.nan, 1.0], [0.0, 1.0]])
    hist = model.fit(data, np.array([[1.0], [0.0]]), verbose=0)
    assert np.isnan(hist.history["loss"][0])
    assert np.isnan(model.predict(data, verbose=0)).all()


def test_train_test_predict_on_batch_and_fit_verbose_output(capsys):
    x = Input(shape=(2,))
    model = Model(x, layers.Dense(2, activation="softmax")(x))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    data, labels = rng.normal(size=(10, 2)), rng.integers(0, 2, (10, 1))
    loss, acc = model.train_on_batch(data, labels)
    assert np.isfinite(loss) and 0 <= acc <= 1
    assert model.test_on_batch(data, labels) == pytest.approx(
        model.evaluate(data, labels, verbose=0))
    assert model.predict_on_batch(data).shape == (10, 2)
    model.fit(data, labels, epochs=2, batch_size=4, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "3/3 ━" in out and "loss:" in out
    model.fit(data, labels, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""
