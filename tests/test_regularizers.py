"""Regularizers and constraints: the penalty is part of the loss the step minimises and of the
reported loss (numbers against numpy), its gradient matches finite differences, constraints
project the weights after each update, and configs survive a .keras round trip."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import check_gradients

import fnjit as keras
from fnjit import backend, constraints, layers, regularizers


def _orth(w, factor, mode):
    u = w / np.linalg.norm(w, axis=1 if mode == "rows" else 0, keepdims=True)
    p = u @ u.T if mode == "rows" else u.T @ u
    s = p.shape[0]
    return factor * 0.5 * np.sum(np.abs(p * (1 - np.eye(s)))) / (s * (s - 1) / 2)


def _model():
    x = keras.Input((4,))
    h = layers.Dense(3, kernel_regularizer=regularizers.l2(0.1), bias_regularizer="l1",
                     activity_regularizer=regularizers.L1(0.05), bias_initializer="ones")(x)
    y = layers.Dense(2, kernel_regularizer=regularizers.OrthogonalRegularizer(0.2),
                     bias_regularizer=regularizers.L1L2(l1=0.03, l2=0.04))(h)
    return keras.Model(x, y)


def _numpy_loss(weights, x, t):
    k1, b1, k2, b2 = [w.astype(np.float64) for w in weights]
    h = x @ k1 + b1
    y = h @ k2 + b2
    data = np.mean((y - t) ** 2)
    penalty = (0.1 * np.sum(k1 ** 2) + 0.01 * np.sum(np.abs(b1))
               + _orth(k2, 0.2, "rows") + 0.03 * np.sum(np.abs(b2)) + 0.04 * np.sum(b2 ** 2))
    activity = 0.05 * np.sum(np.abs(h)) / len(x)  # Keras 3 divides by the batch size
    return data + penalty + activity


def test_penalties_join_evaluate_and_train_on_batch_losses():
    m = _model()
    m.compile("sgd", "mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 4)).astype("float32")
    t = rng.normal(size=(10, 2)).astype("float32")
    # Batches of 4, 4, 2: the activity term is divided by each batch's size, and the epoch
    # loss is the sample-weighted mean of the batch losses (Keras 3).
    want = sum((hi - lo) * _numpy_loss(m.get_weights(), x[lo:hi], t[lo:hi])
               for lo, hi in ((0, 4), (4, 8), (8, 10))) / 10
    assert np.isclose(m.evaluate(x, t, batch_size=4, verbose=0), want, rtol=1e-5)
    before = m.get_weights()
    logs = m.train_on_batch(x, t, return_dict=True)
    assert np.isclose(logs["loss"], _numpy_loss(before, x, t), rtol=1e-5)


def test_fit_reports_loss_at_pre_update_weights():
    m = _model()
    m.compile("sgd", "mse")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 4)).astype("float32")
    t = rng.normal(size=(6, 2)).astype("float32")
    before = m.get_weights()
    hist = m.fit(x, t, batch_size=6, epochs=1, shuffle=False, verbose=0)
    assert np.isclose(hist.history["loss"][0], _numpy_loss(before, x, t), rtol=1e-5)


def test_penalty_gradients_match_finite_differences():
    m = _model()
    rng = np.random.default_rng(2)
    m.set_weights([rng.normal(size=w.shape) for w in m.get_weights()])
    check_gradients(m, [rng.normal(size=(5, 4))])


def test_sgd_step_minimises_the_penalty():
    """With zero data loss (targets = outputs, linear model), one SGD step moves a weight by
    exactly -lr * d penalty: 2 * l2 * w for L2."""
    x = keras.Input((3,))
    d = layers.Dense(2, use_bias=False, kernel_regularizer=regularizers.L2(0.5))
    m = keras.Model(x, d(x))
    m.compile(keras.optimizers.SGD(learning_rate=0.1), "mse")
    xs = np.zeros((4, 3), "float32")  # zero input: no data gradient on the kernel
    w = m.get_weights()[0]
    m.train_on_batch(xs, np.zeros((4, 2), "float32"))
    assert np.allclose(m.get_weights()[0], w - 0.1 * 2 * 0.5 * w, rtol=1e-6)


def test_frozen_weights_have_no_penalty():
    x = keras.Input((3,))
    d = layers.Dense(2, kernel_regularizer=regularizers.L2(10.0))
    m = keras.Model(x, d(x))
    d.trainable = False
    m.compile("sgd", "mse")
    xs = np.ones((2, 3), "float32")
    y = xs @ d.get_weights()[0] + d.get_weights()[1]
    assert np.isclose(m.evaluate(xs, y + 1, verbose=0), 1.0, rtol=1e-6)


def test_callable_regularizer_and_layers_with_other_weight_roles():
    def l1_reg(w):
        return 0.01 * backend.sum(backend.abs(w))

    x = keras.Input((5, 3))
    lstm = layers.LSTM(2, kernel_regularizer=l1_reg, recurrent_regularizer="l2",
                       bias_regularizer=regularizers.L2(0.3))
    y = lstm(x)
    m = keras.Model(x, y)
    m.compile("sgd", "mse")
    xs = np.zeros((2, 5, 3), "float32")
    k, r, b = m.get_weights()
    # Zero input and zero bias keep the output at zero: the loss is the penalty alone.
    want = 0.01 * np.abs(k).sum() + 0.01 * (r.astype(np.float64) ** 2).sum() + 0.3 * (b ** 2).sum()
    assert np.isclose(m.evaluate(xs, np.zeros((2, 2)), verbose=0), want, rtol=1e-5)


@pytest.mark.parametrize("make,weight", [
    (lambda: layers.Embedding(6, 3, embeddings_regularizer=regularizers.L1(0.2)), 0),
    (lambda: layers.BatchNormalization(gamma_regularizer=regularizers.L2(0.2),
                                       beta_regularizer=regularizers.L2(0.2)), None),
    (lambda: layers.Conv1D(2, 2, kernel_regularizer=regularizers.L1(0.2)), 0),
    (lambda: layers.SeparableConv2D(2, 1, depthwise_regularizer=regularizers.L1(0.2),
                                    pointwise_regularizer=regularizers.L1(0.2)), None),
    (lambda: layers.DepthwiseConv2D(1, depthwise_regularizer=regularizers.L1(0.2)), 0),
    (lambda: layers.PReLU(alpha_regularizer=regularizers.L1(0.2),
                          alpha_initializer="ones"), 0),
])
def test_each_weight_role_adds_its_penalty(make, weight):
    layer = make()
    shape = {"Embedding": (3,), "Conv1D": (4, 2), "SeparableConv2D": (2, 2, 2),
             "DepthwiseConv2D": (2, 2, 2)}.get(type(layer).__name__, (3,))
    x = keras.Input(shape, dtype="int32" if isinstance(layer, layers.Embedding) else None)
    m = keras.Model(x, layer(x))
    m.compile("sgd", "mse")
    xs = np.zeros((2,) + shape, "int32" if isinstance(layer, layers.Embedding) else "float32")
    y = m.predict(xs, verbose=0)
    got = m.evaluate(xs, y, verbose=0)  # zero data loss: the penalty alone
    regularized = [v for v in layer.weights if v.regularizer is not None]
    assert regularized
    want = sum(0.2 * (np.abs(v.value).sum() if isinstance(v.regularizer, regularizers.L1L2)
                      and v.regularizer.l1 else (v.value.astype(np.float64) ** 2).sum())
               for v in regularized)
    assert np.isclose(got, want, rtol=1e-5)


def test_regularizer_api_and_defaults():
    assert regularizers.l2().l2 == 0.01 and regularizers.L1().l1 == 0.01
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}
    assert isinstance(regularizers.get("orthogonal_regularizer"),
                      regularizers.OrthogonalRegularizer)
    r = regularizers.get({"class_name": "L2", "config": {"l2": 0.3}})
    assert r.l2 == 0.3
    assert regularizers.serialize(r) == {"module": "keras.regularizers", "class_name": "L2",
                                         "config": {"l2": 0.3}, "registered_name": None}
    w = np.arange(6.0).reshape(2, 3)
    assert np.isclose(regularizers.L2(2.0)(np.ones((5, 5))), 50.0)
    assert np.isclose(regularizers.OrthogonalRegularizer(0.1, "columns")(w),
                      _orth(w, 0.1, "columns"))
    with pytest.raises(ValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match="l2"):
        regularizers.L2("a lot")
    with pytest.raises(ValueError, match="kernel_regularizer"):
        layers.Dense(2, kernel_regularizer="l3")


def _np_max_norm(w, m, axis=0):
    n = np.sqrt((w ** 2).sum(axis=axis, keepdims=True))
    return w * np.clip(n, 0, m) / (1e-7 + n)


def test_constraints_against_numpy():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(4, 3))
    n0 = np.sqrt((w ** 2).sum(axis=0, keepdims=True))
    assert np.allclose(constraints.MaxNorm(1.0)(w), _np_max_norm(w, 1.0))
    assert np.allclose(constraints.max_norm(1.0, axis=1)(w), _np_max_norm(w, 1.0, 1))
    assert np.allclose(constraints.NonNeg()(w), np.maximum(w, 0))
    assert np.allclose(constraints.UnitNorm()(w), w / (1e-7 + n0))
    mm = constraints.MinMaxNorm(min_value=2.0, max_value=3.0, rate=0.5)(w)
    assert np.allclose(mm, w * (0.5 * np.clip(n0, 2, 3) + 0.5 * n0) / (1e-7 + n0))
    assert constraints.get("max_norm").get_config() == {"max_value": 2, "axis": 0}
    assert constraints.serialize(constraints.UnitNorm(axis=1)) == {
        "module": "keras.constraints", "class_name": "UnitNorm", "config": {"axis": 1},
        "registered_name": None}
    with pytest.raises(ValueError, match="bias_constraint"):
        layers.Dense(2, bias_constraint="max_normal")


def test_constraints_apply_after_each_update():
    x = keras.Input((3,))
    d = layers.Dense(4, kernel_constraint=constraints.MaxNorm(0.1),
                     bias_constraint=constraints.NonNeg())
    m = keras.Model(x, d(x))
    m.compile(keras.optimizers.SGD(learning_rate=0.5), "mse")
    rng = np.random.default_rng(4)
    xs = rng.normal(size=(8, 3)).astype("float32")
    t = rng.normal(size=(8, 4)).astype("float32")
    k, b = m.get_weights()
    # The SGD step computed in numpy, then the projections.
    y = xs @ k + b
    g = 2 * (y - t) / y.size
    k_new = _np_max_norm(k - 0.5 * xs.T @ g, 0.1)
    b_new = np.maximum(b - 0.5 * g.sum(axis=0), 0)
    m.train_on_batch(xs, t)
    k2, b2 = m.get_weights()
    assert np.allclose(k2, k_new, atol=1e-6) and np.allclose(b2, b_new, atol=1e-6)
    assert (b2 >= 0).all() and b2.min() == 0  # some bias went negative and was clipped


def test_callable_constraint_and_shape_check():
    x = keras.Input((2,))
    d = layers.Dense(2, kernel_constraint=lambda w: np.clip(w, -0.01, 0.01))
    m = keras.Model(x, d(x))
    m.compile("sgd", "mse")
    m.train_on_batch(np.ones((2, 2)), np.ones((2, 2)))
    assert np.abs(m.get_weights()[0]).max() <= 0.01 + 1e-9
    bad = keras.Model(x, layers.Dense(2, kernel_constraint=lambda w: w.ravel())(x))
    bad.compile("sgd", "mse")
    with pytest.raises(ValueError, match="must keep the weight's shape"):
        bad.train_on_batch(np.ones((2, 2)), np.ones((2, 2)))


def test_keras_file_round_trip(tmp_path):
    x = keras.Input((4,))
    h = layers.Dense(3, kernel_regularizer=regularizers.L1L2(0.1, 0.2),
                     activity_regularizer="l2", kernel_constraint=constraints.MaxNorm(3.0))(x)
    y = layers.LSTM(2, recurrent_regularizer=regularizers.OrthogonalRegularizer(0.3, "columns"),
                    recurrent_constraint="unit_norm")(layers.Reshape((3, 1))(h))
    m = keras.Model(x, y)
    m.compile("sgd", "mse")
    path = tmp_path / "m.keras"
    m.save(path)
    m2 = keras.models.load_model(path)
    dense, lstm = m2.layers[1], m2.layers[3]
    assert dense.kernel_regularizer.get_config() == {"l1": 0.1, "l2": 0.2}
    assert dense.activity_regularizer.get_config() == {"l2": 0.01}
    assert dense.kernel_constraint.get_config() == {"max_value": 3.0, "axis": 0}
    assert lstm.recurrent_regularizer.get_config() == {"factor": 0.3, "mode": "columns"}
    assert isinstance(lstm.recurrent_constraint, constraints.UnitNorm)
    xs = np.random.default_rng(5).normal(size=(3, 4)).astype("float32")
    ts = np.zeros((3, 2), "float32")
    assert np.isclose(m.evaluate(xs, ts, verbose=0), m2.evaluate(xs, ts, verbose=0))


def test_built_in_constraints_are_compiled_and_others_run_after_the_step():
    """MaxNorm on contiguous axes is part of the generated step; on axes (0, 2) of a 3-D kernel
    (not contiguous) it runs in numpy after the step: both give numpy's numbers."""
    x = keras.Input((4, 3))
    c = layers.Conv1D(2, 2, kernel_constraint=constraints.MaxNorm(0.2, axis=[0, 1]),
                      bias_constraint=constraints.UnitNorm(axis=0))
    c2 = layers.Conv1D(2, 2, kernel_constraint=constraints.MinMaxNorm(0.5, 0.6, rate=0.5,
                                                                      axis=[0, 2]))
    m = keras.Model(x, c2(c(x)))
    m.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    rng = np.random.default_rng(6)
    for w in m.weights:
        w.assign(rng.normal(size=w.shape).astype("float32"))
    k, b, k2 = c.kernel.numpy(), c.bias.numpy(), c2.kernel.numpy()
    xs = rng.normal(size=(2, 4, 3)).astype("float32")
    m.train_on_batch(xs, np.zeros((2, 2, 2), "float32"))  # rate 0: only the projections act
    source = m.generated_source("train")
    assert source.count("constraint_norm(") == 3  # two compiled calls + the kernel's def
    assert np.allclose(c.kernel.value, _np_max_norm(k, 0.2, (0, 1)), atol=1e-6)
    assert np.allclose(c.bias.value, b / (1e-7 + np.linalg.norm(b)), atol=1e-6)
    n = np.sqrt((k2 ** 2).sum(axis=(0, 2), keepdims=True))
    want = k2 * (0.5 * np.clip(n, 0.5, 0.6) + 0.5 * n) / (1e-7 + n)
    assert np.allclose(c2.kernel.value, want, atol=1e-6)


def test_activity_regularization_layer(tmp_path):
    """ActivityRegularization(l1, l2): the identity forward; l1 sum|h| + l2 sum h^2 over the
    batch, divided by its size, joins the loss (numbers against numpy), and its gradient
    matches finite differences; the config holds l1 and l2 only, as Keras 3's."""
    x = keras.Input((4,))
    dense = layers.Dense(3)
    h = dense(x)
    reg = layers.ActivityRegularization(l1=0.05, l2=0.2)
    y = layers.Dense(2)(reg(h))
    m = keras.Model(x, y)
    check_gradients(m, [np.random.default_rng(6).normal(size=(5, 4))])
    rng = np.random.default_rng(7)
    xs = rng.normal(size=(6, 4)).astype("float32")
    ts = rng.normal(size=(6, 2)).astype("float32")
    k1, b1, k2, b2 = [w.astype(np.float64) for w in m.get_weights()]
    hs = xs @ k1 + b1
    data = np.mean((hs @ k2 + b2 - ts) ** 2)
    penalty = (0.05 * np.abs(hs).sum() + 0.2 * (hs ** 2).sum()) / len(xs)
    m.compile("sgd", "mse")
    assert m.evaluate(xs, ts, verbose=0) == pytest.approx(data + penalty, rel=1e-5)
    np.testing.assert_allclose(m.predict(xs, verbose=0), hs @ k2 + b2, rtol=1e-5, atol=1e-6)
    config = reg.get_config()
    assert (config["l1"], config["l2"]) == (0.05, 0.2) and "activity_regularizer" not in config
    assert layers.ActivityRegularization().get_config()["l1"] == 0.0
    path = tmp_path / "a.keras"
    m.save(path)
    again = keras.models.load_model(path)
    assert (again.layers[2].l1, again.layers[2].l2) == (0.05, 0.2)
    assert again.evaluate(xs, ts, verbose=0) == pytest.approx(data + penalty, rel=1e-5)
    with pytest.raises(ValueError, match="l1"):
        layers.ActivityRegularization(l1="much")
    with pytest.raises(TypeError, match="activity_regularizer"):
        layers.ActivityRegularization(activity_regularizer="l2")
