"""Losses and metrics against numpy formulas written here; loss backward against finite
differences."""

import numpy as np
import pytest

from fnjit import Input, Model, layers

rng = np.random.default_rng(2)
EPS = 1e-7


def reference(loss, t, p):
    if loss == "mean_squared_error":
        return ((p - t) ** 2).mean(-1)
    if loss == "mean_absolute_error":
        return np.abs(p - t).mean(-1)
    if loss == "binary_crossentropy":
        q = np.clip(p, EPS, 1 - EPS)
        return -(t * np.log(q) + (1 - t) * np.log(1 - q)).mean(-1)
    if loss == "categorical_crossentropy":
        q = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
        return -(t * np.log(q)).sum(-1)
    if loss == "sparse_categorical_crossentropy":
        q = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
        return -np.log(q[np.arange(len(t)), t.astype(int)])


def _model(activation, units=4):
    x = Input(shape=(3,))
    return Model(x, layers.Dense(units, activation=activation)(x))


CASES = [("mean_squared_error", "linear"), ("mean_absolute_error", "linear"),
         ("binary_crossentropy", "sigmoid"), ("categorical_crossentropy", "softmax"),
         ("sparse_categorical_crossentropy", "softmax")]


def _targets(loss, n, k):
    if loss == "sparse_categorical_crossentropy":
        return rng.integers(0, k, n).astype(np.float64)
    if loss == "categorical_crossentropy":
        return np.eye(k)[rng.integers(0, k, n)]
    if loss == "binary_crossentropy":
        return rng.integers(0, 2, (n, k)).astype(np.float64)
    return rng.normal(size=(n, k))


@pytest.mark.parametrize("loss,activation", CASES)
def test_loss_value_and_gradient(loss, activation, float64):
    model = _model(activation)
    model.compile("sgd", loss)
    x = rng.normal(size=(7, 3))
    t = _targets(loss, 7, 4)
    p = model.predict(x)
    want = reference(loss, t, p).mean()
    assert model.test_on_batch(x, t) == pytest.approx(want, rel=1e-9)

    # The loss gradient, seen through the first SGD step: w1 = w0 - lr * dL/dw.
    w0 = model.get_weights()
    model.train_on_batch(x, t)
    w1 = model.get_weights()
    grad_k = (w0[0] - w1[0]) / 0.01
    eps = 1e-6
    num = np.zeros_like(w0[0])
    for i in range(w0[0].size):
        for sign in (1, -1):
            w = [a.copy() for a in w0]
            w[0].flat[i] += sign * eps
            model.set_weights(w)
            num.flat[i] += sign * reference(loss, t, model.predict(x)).mean() / (2 * eps)
    np.testing.assert_allclose(grad_k, num, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("loss", [case[0] for case in CASES])
def test_loss_functions_and_classes_in_numpy(loss):
    """fnjit.losses' functions (per sample) and Loss classes (the mean) on arrays, against the
    formulas above: unnormalised probabilities, values outside (0, 1) clipped."""
    from fnjit import losses

    data = np.random.default_rng(8)
    p = data.uniform(0.05, 1.5, size=(6, 4))
    p[0, 0], p[1, 1] = 0.0, 1.0
    t = _targets(loss, 6, 4)
    want = reference(loss, t, p)
    np.testing.assert_allclose(getattr(losses, loss)(t, p), want, rtol=1e-12)
    cls = {"mean_squared_error": losses.MeanSquaredError,
           "mean_absolute_error": losses.MeanAbsoluteError,
           "binary_crossentropy": losses.BinaryCrossentropy,
           "categorical_crossentropy": losses.CategoricalCrossentropy,
           "sparse_categorical_crossentropy": losses.SparseCategoricalCrossentropy}[loss]
    assert cls()(t, p) == pytest.approx(want.mean(), rel=1e-12)
    assert losses.get(cls) == losses.get(cls()) == losses.get(loss) == loss


def test_accuracy_variants_match_keras_rules():
    x = rng.normal(size=(50, 3))
    for activation, loss, units, t, fn in [
        ("softmax", "categorical_crossentropy", 4, np.eye(4)[rng.integers(0, 4, 50)],
         lambda p, t: (p.argmax(-1) == t.argmax(-1)).mean()),
        ("softmax", "sparse_categorical_crossentropy", 4, rng.integers(0, 4, 50),
         lambda p, t: (p.argmax(-1) == t).mean()),
        ("sigmoid", "binary_crossentropy", 1, rng.integers(0, 2, (50, 1)),
         lambda p, t: ((p > 0.5) == t).mean()),
    ]:
        model = _model(activation, units)
        model.compile("sgd", loss, metrics=["accuracy"])
        loss_value, acc = model.evaluate(x, t)
        assert acc == pytest.approx(fn(model.predict(x), t), abs=1e-6)
        assert loss_value == pytest.approx(
            reference(loss, np.asarray(t, float), model.predict(x).astype(float)).mean(),
            rel=1e-5)


def test_sparse_labels_out_of_range_are_a_clear_error():
    model = _model("softmax")
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"sparse labels must be integers in \[0, 4\)"):
        model.fit(np.zeros((3, 3)), np.array([0, 4, 1]), verbose=0)
    with pytest.raises(ValueError, match="sparse labels"):
        model.fit(np.zeros((3, 3)), np.array([0, np.nan, 1]), verbose=0)


def test_eager_function_forms_reduce_the_last_axis_and_smooth_labels():
    """keras.losses.log_cosh / binary_crossentropy on numpy arrays (outside a model): one value
    per sample (mean over the last axis), binary label smoothing towards 1/2."""
    from fnjit import losses

    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 2, size=(4, 3)).astype("float64")
    y_pred = rng.uniform(0.05, 0.95, size=(4, 3))
    d = y_pred - y_true
    np.testing.assert_allclose(losses.log_cosh(y_true, y_pred),
                               np.mean(np.log(np.cosh(d)), axis=1), rtol=1e-6)
    smoothed = y_true * 0.8 + 0.1  # label_smoothing=0.2 over two classes
    want = -np.mean(smoothed * np.log(y_pred) + (1 - smoothed) * np.log(1 - y_pred), axis=1)
    np.testing.assert_allclose(losses.binary_crossentropy(y_true, y_pred, label_smoothing=0.2),
                               want, rtol=1e-5)


def test_huber_default_delta_is_one():
    """Keras' Huber(): delta=1.0, 0.5 d^2 inside, d - 0.5 outside, mean over the batch."""
    from fnjit import losses

    y_true = np.array([[0.0, 1.0, 2.0], [1.0, -1.0, 0.0]])
    y_pred = np.array([[0.5, 3.0, 2.2], [-2.0, -0.5, 0.1]])
    d = np.abs(y_pred - y_true)
    want = np.mean(np.where(d <= 1.0, 0.5 * d * d, d - 0.5))
    np.testing.assert_allclose(losses.Huber()(y_true, y_pred), want, rtol=1e-6)


def test_eager_categorical_losses_smoothing_focal_defaults_and_logits():
    """Categorical label smoothing spreads over the classes (4 here, the batch is 6);
    categorical focal crossentropy's defaults are alpha=0.25, gamma=2, from_logits applies a
    softmax first (numpy formulas of Keras 3's documentation)."""
    from fnjit import losses

    rng = np.random.default_rng(11)
    t = np.eye(4)[rng.integers(0, 4, 6)]
    logits = rng.normal(size=(6, 4))
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    smoothed = t * 0.9 + 0.1 / 4
    np.testing.assert_allclose(losses.categorical_crossentropy(t, p, label_smoothing=0.1),
                               -(smoothed * np.log(p)).sum(-1), rtol=1e-6)

    def focal(q, alpha=0.25, gamma=2.0):
        return (-alpha * (1 - q) ** gamma * t * np.log(q)).sum(-1)

    np.testing.assert_allclose(losses.categorical_focal_crossentropy(t, p), focal(p), rtol=1e-6)
    np.testing.assert_allclose(losses.categorical_focal_crossentropy(t, logits, from_logits=True),
                               focal(p), rtol=1e-6)


def test_binary_crossentropies_clip_saturated_probabilities_as_keras_does():
    """Predictions of exactly 0 and 1 (or logits whose sigmoid rounds to them) are clipped to
    [eps, 1 - eps]: finite losses, Keras 3's numbers (keras.losses on these float32 arrays)."""
    from fnjit import losses

    t = np.array([[1.0, 0.0, 1.0, 0.0, 1.0]], "float32")
    p = np.array([[1.0, 0.0, 0.0, 1.0, 0.5]], "float32")
    logits = np.array([[40.0, -40.0, -40.0, 40.0, 0.0]], "float32")
    np.testing.assert_allclose(losses.binary_crossentropy(t, p), [6.550725], rtol=1e-6)
    np.testing.assert_allclose(losses.binary_focal_crossentropy(t, p), [6.446753], rtol=1e-6)
    np.testing.assert_allclose(losses.binary_focal_crossentropy(t, logits, from_logits=True),
                               [6.446753], rtol=1e-6)


def test_eager_sparse_categorical_crossentropy_on_a_sequence_output():
    """Labels (3, 5) or (3, 5, 1) for predictions (3, 5, 4): one value per sample and step, the
    probabilities normalised over the last axis (Keras 3 gives these numbers, shape (3, 5))."""
    from fnjit import losses

    rng = np.random.default_rng(8)
    labels = rng.integers(0, 4, (3, 5))
    p = rng.uniform(0.05, 0.95, (3, 5, 4))
    q = p / p.sum(-1, keepdims=True)
    want = -np.log(np.take_along_axis(q, labels[..., None], -1)[..., 0])
    for given in (labels, labels[..., None]):
        np.testing.assert_allclose(losses.sparse_categorical_crossentropy(given, p), want,
                                   rtol=1e-6)


def test_a_loss_object_weighs_its_samples_as_keras_does():
    """keras.losses.MeanSquaredError()(y, p, sample_weight=w): sum_i w_i l_i / n (Keras 3 gives
    2.362286 on these float32 arrays)."""
    from fnjit import losses

    rng = np.random.default_rng(9)
    y, p = (rng.normal(size=(4, 5, 3)).astype("float32")[:, 0] for _ in range(2))
    w = np.array([0.5, 2.0, 0.0, 1.0], "float32")
    assert losses.MeanSquaredError()(y, p, sample_weight=w) == pytest.approx(2.362286, rel=1e-6)


def test_eager_categorical_crossentropy_from_large_logits_is_finite():
    """Logits of +-1000 (Keras 3: [1000, 500]): the softmax is shifted by the largest logit."""
    from fnjit import losses

    t = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], "float32")
    x = np.array([[1000.0, 0.0, -1000.0], [0.0, 500.0, 1.0]], "float32")
    np.testing.assert_allclose(losses.categorical_crossentropy(t, x, from_logits=True),
                               [1000.0, 500.0], rtol=1e-6)


def test_a_loss_name_read_from_a_file_resolves():
    """Names compare by value: one read from JSON (a new string, not an interned literal)."""
    import json

    from fnjit import losses

    for name in ("mean_squared_error", "huber"):
        assert losses.get(json.loads(f'"{name}"')) == name


def test_a_loss_refuses_an_unknown_reduction_naming_the_choices():
    from fnjit import losses

    with pytest.raises(ValueError, match=r"invalid reduction 'bogus'.*'sum_over_batch_size'.*"
                                         r"'none'"):
        losses.MeanSquaredError(reduction="bogus")


def _signs(t):
    return 2 * t - 1  # {0, 1} labels as the hinges' {-1, 1}


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _bce(t, p):
    q = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(q) + (1 - t) * np.log(1 - q))


def _focal_weight(t, p, gamma=2.0):
    return (1 - (t * p + (1 - t) * (1 - p))) ** gamma


# name, arguments, labels ("binary", "onehot" or "positive"), predictions ("prob" or "logit"),
# the per-sample value in numpy (Keras 3's formulas; checked against keras.losses on these arrays)
EAGER = [
    ("mean_squared_error", {}, "positive", "logit", lambda t, p: ((p - t) ** 2).mean(-1)),
    ("mean_absolute_error", {}, "positive", "logit", lambda t, p: np.abs(p - t).mean(-1)),
    ("huber", {}, "positive", "logit", lambda t, p: np.where(
        np.abs(p - t) <= 1, 0.5 * (p - t) ** 2, np.abs(p - t) - 0.5).mean(-1)),
    ("log_cosh", {}, "positive", "logit", lambda t, p: np.log(np.cosh(p - t)).mean(-1)),
    ("hinge", {}, "binary", "prob", lambda t, p: np.maximum(1 - _signs(t) * p, 0).mean(-1)),
    ("squared_hinge", {}, "binary", "prob",
     lambda t, p: (np.maximum(1 - _signs(t) * p, 0) ** 2).mean(-1)),
    ("categorical_hinge", {}, "onehot", "prob",
     lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0)),
    ("poisson", {}, "binary", "prob", lambda t, p: (p - t * np.log(p + EPS)).mean(-1)),
    ("kl_divergence", {}, "onehot", "prob", lambda t, p: (
        np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1))).sum(-1)),
    ("cosine_similarity", {}, "positive", "prob", lambda t, p: -(_unit(t) * _unit(p)).sum(-1)),
    ("mean_absolute_percentage_error", {}, "positive", "prob",
     lambda t, p: 100 * (np.abs(t - p) / np.abs(t)).mean(-1)),
    ("mean_squared_logarithmic_error", {}, "binary", "prob",
     lambda t, p: ((np.log(p + 1) - np.log(t + 1)) ** 2).mean(-1)),
    ("binary_crossentropy", {"from_logits": True}, "binary", "logit",
     lambda t, x: (np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))).mean(-1)),
    ("binary_focal_crossentropy", {}, "binary", "prob",
     lambda t, p: (_focal_weight(t, p) * _bce(t, p)).mean(-1)),
    ("categorical_crossentropy", {}, "onehot", "prob",
     lambda t, p: -(t * np.log(p / p.sum(-1, keepdims=True))).sum(-1)),
    ("binary_focal_crossentropy", {"apply_class_balancing": True}, "binary", "prob",
     lambda t, p: ((t * 0.25 + (1 - t) * 0.75) * _focal_weight(t, p) * _bce(t, p)).mean(-1)),
]


@pytest.mark.parametrize("name,kwargs,labels,preds,want", EAGER,
                         ids=[f"{e[0]}{'-' if e[1] else ''}{'-'.join(e[1])}" for e in EAGER])
def test_eager_loss_functions_against_numpy(name, kwargs, labels, preds, want):
    """keras.losses.<name>(y_true, y_pred) on numpy arrays of a sequence output (3 samples, 5
    steps, 4 features): one value per sample and step, the last axis reduced (Keras 3 returns
    shape (3, 5) for each of these)."""
    from fnjit import losses

    rng = np.random.default_rng(6)
    shape = (3, 5, 4)
    t = {"binary": rng.integers(0, 2, shape).astype(float),
         "onehot": np.eye(4)[rng.integers(0, 4, shape[:-1])],
         "positive": rng.uniform(0.5, 2.0, shape)}[labels]
    p = rng.normal(size=shape) * 3 if preds == "logit" else rng.uniform(0.05, 0.95, shape)
    np.testing.assert_allclose(getattr(losses, name)(t, p, **kwargs), want(t, p), rtol=1e-6)
