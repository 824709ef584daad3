"""Loss weights, sample weights and class weights: the reported numbers against numpy, and the
gradients the step applies against finite differences of the reported loss.

Keras 3's semantics (checked on Keras 3.15.1): a loss weighted per sample is
sum_i w_i * l_i / (number of samples), not divided by the sum of the weights; per-output losses
are reported unweighted by `loss_weights` (but weighted by the sample weights) and `loss` is the
loss-weighted sum; `metrics` ignore sample weights; `weighted_metrics` are sum(w m) / sum(w).
"""

import numpy as np
import pytest

import fnjit as keras
from fnjit import layers

rng = np.random.default_rng(7)



def two_outputs(optimizer="sgd", **compile_kw):
    x = keras.Input(shape=(3,), name="x")
    h = layers.Dense(4, activation="tanh")(x)
    o1 = layers.Dense(2, name="o1")(h)
    o2 = layers.Dense(1, activation="sigmoid", name="o2")(h)
    model = keras.Model(x, [o1, o2])
    model.compile(optimizer, ["mse", "binary_crossentropy"], loss_weights=[1.0, 0.2],
                  **compile_kw)
    return model


def data(n=10):
    x = rng.normal(size=(n, 3))
    y1 = rng.normal(size=(n, 2))
    y2 = (rng.random((n, 1)) > 0.5).astype(float)
    return x, y1, y2


def per_sample(model, x, y1, y2):
    """Each output's loss and mean absolute error per sample, in numpy."""
    p1, p2 = model.predict(x, verbose=0)
    q = np.clip(p2, 1e-7, 1 - 1e-7)
    l1 = ((p1 - y1) ** 2).mean(-1)
    l2 = -(y2 * np.log(q) + (1 - y2) * np.log(1 - q)).mean(-1)
    return l1, l2, np.abs(p1 - y1).mean(-1), np.abs(p2 - y2).mean(-1)


def test_two_outputs_report_unweighted_losses_and_weighted_total(float64):
    model = two_outputs(metrics=[["mae"], ["mae"]])
    x, y1, y2 = data()
    l1, l2, a1, a2 = per_sample(model, x, y1, y2)
    logs = model.evaluate(x, [y1, y2], batch_size=4, verbose=0, return_dict=True)
    assert list(logs) == ["loss", "o1_loss", "o2_loss", "o1_mae", "o2_mae"]
    assert logs["o1_loss"] == pytest.approx(l1.mean(), rel=1e-12)
    assert logs["o2_loss"] == pytest.approx(l2.mean(), rel=1e-12)
    assert logs["loss"] == pytest.approx(l1.mean() + 0.2 * l2.mean(), rel=1e-12)
    assert logs["o1_mae"] == pytest.approx(a1.mean(), rel=1e-12)
    assert logs["o2_mae"] == pytest.approx(a2.mean(), rel=1e-12)
    # The same numbers from test_on_batch, and the same in History with a rate of 0.
    assert model.test_on_batch(x, [y1, y2], return_dict=True) == pytest.approx(logs)
    model.compile(keras.optimizers.SGD(0.0), ["mse", "binary_crossentropy"],
                  loss_weights=[1.0, 0.2], metrics=[["mae"], ["mae"]])
    hist = model.fit(x, [y1, y2], batch_size=3, verbose=0, shuffle=False).history
    assert {k: v[0] for k, v in hist.items()} == pytest.approx(logs, rel=1e-12)


def test_sample_weights_per_output_and_weighted_metrics(float64):
    model = two_outputs(metrics=[["mae"], ["mae"]], weighted_metrics=[["mae"], []])
    x, y1, y2 = data()
    l1, l2, a1, a2 = per_sample(model, x, y1, y2)
    w1 = rng.random(10)
    w1[0] = 0
    w2 = rng.random(10)
    n = len(x)
    logs = model.evaluate(x, [y1, y2], sample_weight=[w1, w2], batch_size=4, verbose=0,
                          return_dict=True)
    assert list(logs) == ["loss", "o1_loss", "o2_loss", "o1_mae", "o2_mae", "o1_weighted_mae"]
    assert logs["o1_loss"] == pytest.approx((w1 * l1).sum() / n, rel=1e-12)
    assert logs["o2_loss"] == pytest.approx((w2 * l2).sum() / n, rel=1e-12)
    assert logs["loss"] == pytest.approx(((w1 * l1).sum() + 0.2 * (w2 * l2).sum()) / n,
                                         rel=1e-12)
    assert logs["o1_mae"] == pytest.approx(a1.mean(), rel=1e-12)  # metrics: unweighted
    assert logs["o1_weighted_mae"] == pytest.approx((w1 * a1).sum() / w1.sum(), rel=1e-12)
    # One array weighs every output; a dict names outputs (the others weigh 1).
    one = model.evaluate(x, [y1, y2], sample_weight=w1, verbose=0, return_dict=True)
    assert one["o2_loss"] == pytest.approx((w1 * l2).sum() / n, rel=1e-12)
    named = model.evaluate(x, [y1, y2], sample_weight={"o2": w2}, verbose=0, return_dict=True)
    assert named["o1_loss"] == pytest.approx(l1.mean(), rel=1e-12)
    assert named["o2_loss"] == pytest.approx((w2 * l2).sum() / n, rel=1e-12)
    assert named["o1_weighted_mae"] == pytest.approx(a1.mean(), rel=1e-12)
    # validation_data may carry the validation sample weights as a third element.
    model.compile(keras.optimizers.SGD(0.0), ["mse", "binary_crossentropy"],
                  loss_weights=[1.0, 0.2])
    hist = model.fit(x, [y1, y2], validation_data=(x, [y1, y2], [w1, w2]), verbose=0).history
    assert hist["val_loss"][0] == pytest.approx(logs["loss"], rel=1e-12)
    assert hist["val_o2_loss"][0] == pytest.approx(logs["o2_loss"], rel=1e-12)


def test_single_output_weighted_metric_keeps_its_name(float64):
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.compile("sgd", "mse", weighted_metrics=["mae"])
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 1))
    w = rng.random(6)
    err = model.predict(x, verbose=0) - y
    logs = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    assert list(logs) == ["loss", "mae"] == ["loss"] + model.metrics_names[1:]
    assert logs["loss"] == pytest.approx((w * (err ** 2)[:, 0]).sum() / 6, rel=1e-12)
    assert logs["mae"] == pytest.approx((w * np.abs(err)[:, 0]).sum() / w.sum(), rel=1e-12)
    # A list of one array per output (here one), a plain list of weights, a dict: the same.
    for given in ([w], list(w), {model.output_names[0]: w}):
        assert model.test_on_batch(x, y, sample_weight=given, return_dict=True) == \
            pytest.approx(logs, rel=1e-12)


def step_gradient(model, x, ys, lr=0.5, **weights):
    """The gradient an SGD step applied: -(after - before) / lr, flattened."""
    before = [w.copy() for w in model.get_weights()]
    model.train_on_batch(x, ys, **weights)
    after = model.get_weights()
    model.set_weights(before)
    return np.concatenate([(b - a).ravel() / lr for a, b in zip(after, before)])


def numeric_gradient(model, x, ys, eps=1e-6, **weights):
    """Central differences of the loss that evaluate() reports (checked against numpy above)."""
    ws = model.get_weights()
    grads = []
    for w in ws:
        for i in range(w.size):
            old = w.flat[i]
            values = []
            for v in (old + eps, old - eps):
                w.flat[i] = v
                model.set_weights(ws)
                values.append(model.evaluate(x, ys, batch_size=len(x), verbose=0, **weights)[0])
            w.flat[i] = old
            grads.append((values[0] - values[1]) / (2 * eps))
    model.set_weights(ws)
    return np.array(grads)


def test_loss_and_sample_weights_reach_the_backward_seeds(float64):
    model = two_outputs(keras.optimizers.SGD(0.5))
    x, y1, y2 = data(8)
    w1, w2 = rng.random(8), rng.random(8)
    w1[2] = 0
    for weights in ({}, {"sample_weight": [w1, w2]}):
        got = step_gradient(model, x, [y1, y2], **weights)
        want = numeric_gradient(model, x, [y1, y2], **weights)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    # The loss weight matters: with the aux weight at 0.2, the gradient is not the unweighted
    # sum's (a seed dropping the weight would give that).
    model.compile(keras.optimizers.SGD(0.5), ["mse", "binary_crossentropy"])
    unweighted = step_gradient(model, x, [y1, y2])
    assert not np.allclose(unweighted, got)


def test_zero_sample_weight_removes_the_sample_from_the_step(float64):
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2, activation="tanh"),
                              layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.5), "mse")
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 1))
    w = np.array([0.0, 1.0, 1.0, 1.0, 1.0])
    g = step_gradient(model, x, y, sample_weight=w)
    # Whatever the zero-weighted sample holds, the step is the same...
    x2, y2 = x.copy(), y.copy()
    x2[0], y2[0] = 50.0, -80.0
    np.testing.assert_allclose(step_gradient(model, x2, y2, sample_weight=w), g, rtol=1e-12)
    # ... and is the step without it, scaled by 4/5 (Keras divides by the number of samples).
    np.testing.assert_allclose(g, 4 / 5 * step_gradient(model, x[1:], y[1:]), rtol=1e-10)
    # All weights zero: the weights do not move (fnjit once moved them anyway).
    before = model.get_weights()
    model.train_on_batch(x, y, sample_weight=np.zeros(5))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("one_hot", [False, True])
def test_class_weight_in_fit_and_train_on_batch(float64, one_hot):
    model = keras.Sequential([keras.Input((3,)), layers.Dense(3, activation="softmax")])
    loss = "categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"
    model.compile(keras.optimizers.SGD(0.0), loss)
    x = rng.normal(size=(9, 3))
    labels = np.arange(9) % 3
    y = np.eye(3)[labels] if one_hot else labels
    cw = {0: 2.0, 2: 0.5}  # class 1 not named: weight 1
    w = np.array([cw.get(c, 1.0) for c in labels])
    p = model.predict(x, verbose=0)
    ce = -np.log(np.clip(p[np.arange(9), labels], 1e-7, 1 - 1e-7))
    hist = model.fit(x, y, class_weight=cw, batch_size=4, verbose=0).history
    assert hist["loss"][0] == pytest.approx((w * ce).sum() / 9, rel=1e-12)
    model.compile(keras.optimizers.SGD(0.5), loss)
    np.testing.assert_allclose(step_gradient(model, x, y, class_weight=cw),
                               step_gradient(model, x, y, sample_weight=w), rtol=1e-12)


def test_bad_weights_are_refused():
    model = two_outputs()
    x, y1, y2 = data(4)
    with pytest.raises(ValueError, match=r"sample_weight \(output 'o1'\).*shape \(4,\)"):
        model.evaluate(x, [y1, y2], sample_weight=np.ones(3), verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight \(output 'o1'\).*shape \(4,\)"):
        model.fit(x, [y1, y2], sample_weight=np.ones((4, 2)), verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight.*finite, found \[nan inf\]"):
        model.train_on_batch(x, [y1, y2], sample_weight=np.array([1, np.nan, 2, np.inf]))
    # The message names the first three bad weights, not all of them.
    with pytest.raises(ValueError, match=r"finite, found \[ nan  inf -inf\]$"):
        model.train_on_batch(x, [y1, y2], sample_weight=np.array([np.nan, np.inf, -np.inf,
                                                                  np.nan]))
    with pytest.raises(ValueError, match="sample_weight has 3 arrays.*2 outputs"):
        model.test_on_batch(x, [y1, y2], sample_weight=[np.ones(4)] * 3)
    with pytest.raises(ValueError, match=r"sample_weight names unknown output\(s\) \['nope'\]"):
        model.evaluate(x, [y1, y2], sample_weight={"nope": np.ones(4)}, verbose=0)
    with pytest.raises(ValueError, match="class_weight is only supported for models with a "
                                         "single output"):
        model.fit(x, [y1, y2], class_weight={0: 1.0}, verbose=0)
    single = keras.Sequential([keras.Input((3,)), layers.Dense(1, activation="sigmoid")])
    single.compile("sgd", "binary_crossentropy")
    with pytest.raises(ValueError, match="class_weight and sample_weight cannot both"):
        single.fit(x, y2, class_weight={0: 1.0}, sample_weight=np.ones(4), verbose=0)
    with pytest.raises(ValueError, match="class_weight keys must be integer"):
        single.fit(x, y2, class_weight={"a": 1.0}, verbose=0)
    with pytest.raises(TypeError, match="class_weight must be a dict"):
        single.train_on_batch(x, y2, class_weight=[1.0, 2.0])
    for bad in ("a", float("nan"), True, None):
        with pytest.raises(ValueError, match=r"class_weight\[1\] must be a finite number, "
                                             f"got {bad!r}"):
            single.fit(x, y2, class_weight={0: 1.0, 1: bad}, verbose=0)
    with pytest.raises(TypeError, match="sample_weight.*string"):
        single.fit(x, y2, sample_weight=np.array(["a"] * 4), verbose=0)


def test_loss_weights_and_weighted_metrics_survive_a_keras_file(tmp_path):
    model = two_outputs(metrics=[["mae"], ["mae"]], weighted_metrics=[["mae"], []])
    x, y1, y2 = data()
    w = rng.random(10)
    want = model.evaluate(x, [y1, y2], sample_weight=w, verbose=0, return_dict=True)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    got = loaded.evaluate(x, [y1, y2], sample_weight=w, verbose=0, return_dict=True)
    assert got == pytest.approx(want, rel=1e-6) and list(got) == list(want)


def test_compiled_metrics_after_a_stateful_one_are_still_reported(float64):
    """metrics=[AUC, mae, mse] on one output: the stateful AUC is accumulated in Python, the
    two after it are compiled into the step; each against numpy. (fnjit lists the stateful
    metrics after the compiled ones; Keras 3 on JAX sorts the names.)"""
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy",
                  metrics=[keras.metrics.AUC(name="auc"), "mae", "mse"])
    x = rng.normal(size=(8, 3))
    y = np.array([[0], [1], [1], [0], [1], [0], [1], [0]], float)
    p = model.predict(x, verbose=0)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(logs) == ["loss", "mae", "mse", "auc"]
    assert logs["mae"] == pytest.approx(np.abs(p - y).mean(), rel=1e-9)
    assert logs["mse"] == pytest.approx(((p - y) ** 2).mean(), rel=1e-9)
