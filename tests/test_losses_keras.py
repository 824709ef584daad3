"""Keras 3's losses beyond the basic five: each compiled loss against a numpy transcription of
Keras' formula written here, its backward against finite differences of that formula (through
the first SGD step), `reduction`, and the class, function and string forms."""

import numpy as np
import pytest

import fnjit
from fnjit import Input, Model, layers
from fnjit import losses as L

EPS = 1e-7
rng = np.random.default_rng(4)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def smooth(t, s, k):
    return t * (1 - s) + s / k


def bce(t, q):
    q = np.clip(q, EPS, 1 - EPS)
    return -(t * np.log(q) + (1 - t) * np.log(1 - q))


def hinge_labels(t):
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def focal_binary(t, q, gamma, alpha=None):
    pt = t * q + (1 - t) * (1 - q)
    w = 1 if alpha is None else t * alpha + (1 - t) * (1 - alpha)
    return (w * (1 - pt) ** gamma * bce(t, q)).mean(-1)


def focal_categorical(t, p, gamma, alpha):
    q = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return (-alpha * (1 - q) ** gamma * t * np.log(q)).sum(-1)


def normalize(v):
    return v * np.minimum(1 / np.sqrt((v * v).sum(-1, keepdims=True)), 1 / EPS)


onehot = np.eye(4)[rng.integers(0, 4, 7)]
binary = rng.integers(0, 2, (7, 4)).astype(float)
positive = rng.uniform(0.5, 2.0, (7, 4))
signed = rng.normal(size=(7, 4))
distribution = softmax(rng.normal(size=(7, 4)))

# id: (loss, head activation, targets, reference(t, p) per sample)
CASES = {
    "huber": (L.Huber(delta=0.3), None, signed,
              lambda t, p: np.where(np.abs(p - t) <= 0.3, 0.5 * (p - t) ** 2,
                                    0.3 * np.abs(p - t) - 0.5 * 0.09).mean(-1)),
    "log_cosh": (L.LogCosh(), None, signed, lambda t, p: np.log(np.cosh(p - t)).mean(-1)),
    "poisson": (L.Poisson(), "softplus", positive,
                lambda t, p: (p - t * np.log(p + EPS)).mean(-1)),
    "kl_divergence": (L.KLDivergence(), "softmax", distribution,
                      lambda t, p: (t * np.log(t / np.clip(p, EPS, 1))).sum(-1)),
    "cosine_similarity": (L.CosineSimilarity(), None, signed,
                          lambda t, p: -(normalize(t) * normalize(p)).sum(-1)),
    "hinge_01": (L.Hinge(), "tanh", binary,
                 lambda t, p: np.maximum(1 - hinge_labels(t) * p, 0).mean(-1)),
    "hinge_signed": (L.Hinge(), "tanh", 2 * binary - 1,
                     lambda t, p: np.maximum(1 - t * p, 0).mean(-1)),
    "squared_hinge": (L.SquaredHinge(), None, binary,
                      lambda t, p: np.maximum(1 - hinge_labels(t) * p, 0).__pow__(2).mean(-1)),
    "categorical_hinge": (L.CategoricalHinge(), None, onehot,
                          lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1,
                                                  0)),
    "mape": (L.MeanAbsolutePercentageError(), None, signed,
             lambda t, p: 100 * (np.abs(t - p) / np.maximum(np.abs(t), EPS)).mean(-1)),
    "msle": (L.MeanSquaredLogarithmicError(), "softplus", positive,
             lambda t, p: ((np.log(np.maximum(p, EPS) + 1) - np.log(t + 1)) ** 2).mean(-1)),
    "bce_smoothing": (L.BinaryCrossentropy(label_smoothing=0.2), "sigmoid", binary,
                      lambda t, p: bce(smooth(t, 0.2, 2), p).mean(-1)),
    "bce_logits": (L.BinaryCrossentropy(from_logits=True, label_smoothing=0.1), None, binary,
                   lambda t, p: bce(smooth(t, 0.1, 2), sigmoid(p)).mean(-1)),
    "cce_smoothing": (L.CategoricalCrossentropy(label_smoothing=0.3), "softmax", onehot,
                      lambda t, p: -(smooth(t, 0.3, 4) * np.log(p)).sum(-1)),
    "cce_logits": (L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), None,
                   onehot, lambda t, p: -(smooth(t, 0.1, 4) * np.log(softmax(p))).sum(-1)),
    "scce_logits": (L.SparseCategoricalCrossentropy(from_logits=True), None,
                    onehot.argmax(-1).astype(float),
                    lambda t, p: -np.log(softmax(p)[np.arange(len(t)), t.astype(int)])),
    "binary_focal": (L.BinaryFocalCrossentropy(gamma=1.5), "sigmoid", binary,
                     lambda t, p: focal_binary(t, p, 1.5)),
    "binary_focal_logits_balanced": (
        L.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.3, from_logits=True,
                                  label_smoothing=0.1), None, binary,
        lambda t, p: focal_binary(smooth(t, 0.1, 2), sigmoid(p), 2.0, 0.3)),
    "categorical_focal": (L.CategoricalFocalCrossentropy(gamma=2.5, alpha=0.4), "softmax",
                          onehot, lambda t, p: focal_categorical(t, p, 2.5, 0.4)),
    "categorical_focal_logits": (
        L.CategoricalFocalCrossentropy(from_logits=True, label_smoothing=0.2), None, onehot,
        lambda t, p: focal_categorical(smooth(t, 0.2, 4), softmax(p), 2.0, 0.25)),
}



def model_for(activation):
    fnjit.utils.set_random_seed(1)
    x = Input((3,))
    return Model(x, layers.Dense(4, activation=activation)(x))


@pytest.mark.parametrize("case", list(CASES))
def test_loss_value_and_gradient(case, float64):
    loss, activation, t, reference = CASES[case]
    model = model_for(activation)
    model.compile(fnjit.optimizers.SGD(0.01), loss)
    x = rng.normal(size=(7, 3))
    p = model.predict(x, verbose=0)
    assert model.test_on_batch(x, t) == pytest.approx(reference(t, p).mean(), rel=1e-9)
    # the class called on numpy arrays computes the same
    assert loss(t, p) == pytest.approx(reference(t, p).mean(), rel=1e-6)

    # The loss gradient, seen through the first SGD step: w1 = w0 - lr * dL/dw.
    w0 = model.get_weights()
    model.train_on_batch(x, t)
    grad = [(a - b) / 0.01 for a, b in zip(w0, model.get_weights())]
    h = 1e-6
    for k in range(2):
        num = np.zeros_like(w0[k])
        for i in range(w0[k].size):
            for sign in (1, -1):
                w = [a.copy() for a in w0]
                w[k].flat[i] += sign * h
                model.set_weights(w)
                num.flat[i] += sign * reference(t, model.predict(x, verbose=0)).mean() / (2 * h)
        np.testing.assert_allclose(grad[k], num, rtol=1e-5, atol=1e-8)


def test_reduction_sum_scales_loss_and_gradient_by_the_batch(float64):
    """"sum" is the batch times "sum_over_batch_size"; "mean" (Keras 3) and "auto" (Keras 2's
    default) are "sum_over_batch_size"."""
    x = rng.normal(size=(5, 3))
    results = {}
    for reduction in ("sum_over_batch_size", "sum", "mean", "auto"):
        model = model_for(None)
        model.compile(fnjit.optimizers.SGD(0.01), L.Huber(reduction=reduction))
        w0 = model.get_weights()
        value = model.train_on_batch(x, signed[:5])
        results[reduction] = value, [a - b for a, b in zip(w0, model.get_weights())]
    mean_value, mean_step = results["sum_over_batch_size"]
    sum_value, sum_step = results["sum"]
    assert sum_value == pytest.approx(5 * mean_value, rel=1e-12)
    for a, b in zip(sum_step, mean_step):
        np.testing.assert_allclose(a, 5 * b, rtol=1e-10)
    for same in ("mean", "auto"):
        value, step = results[same]
        assert value == pytest.approx(mean_value, rel=1e-12), same
        for a, b in zip(step, mean_step):
            np.testing.assert_allclose(a, b, rtol=1e-10)


def test_reduction_none_is_refused_in_compile_and_works_standalone():
    model = model_for(None)
    with pytest.raises(ValueError, match="reduction='none'"):
        model.compile("sgd", L.MeanSquaredError(reduction="none"))
    values = L.MeanSquaredError(reduction="none")(signed, 2 * signed)
    np.testing.assert_allclose(values, (signed ** 2).mean(-1), rtol=1e-6)
    assert L.MeanSquaredError(reduction="sum")(signed, 2 * signed) == pytest.approx(
        (signed ** 2).mean(-1).sum(), rel=1e-6)
    with pytest.raises(ValueError, match="invalid reduction"):
        L.Huber(reduction="average")


@pytest.mark.parametrize("name, kernel", [
    ("huber", "huber"), ("Huber", "huber"), ("logcosh", "log_cosh"), ("kld", "kl_divergence"),
    ("mape", "mean_absolute_percentage_error"), ("msle", "mean_squared_logarithmic_error"),
    ("categorical_hinge", "categorical_hinge"), (L.poisson, "poisson"),
    (L.BinaryFocalCrossentropy, "binary_focal_crossentropy"),
    (L.BinaryCrossentropy(from_logits=True), "binary_crossentropy_from_logits"),
])
def test_names_functions_and_classes_resolve(name, kernel):
    resolved = L.get(name)
    assert resolved.kernel == kernel


def test_huber_delta_reaches_the_generated_code():
    model = model_for(None)
    model.compile("sgd", L.Huber(delta=0.25))
    source = model.generated_source()
    assert "huber_forward(" in source and "np.float32(0.25)" in source


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="label_smoothing"):
        L.CategoricalCrossentropy(label_smoothing=2.0)
    for axis in (1, -2):  # only the last axis, however it is written
        with pytest.raises(ValueError, match=rf"only axis=-1.*got {axis}"):
            L.BinaryCrossentropy(axis=axis)
    with pytest.raises(ValueError, match="ignore_class"):
        L.SparseCategoricalCrossentropy(ignore_class=0)


def test_from_logits_is_stable_for_large_logits(float64):
    """Logits of +-800 would overflow exp in a naive sigmoid/softmax: the fused forms give the
    exact linear-in-logit loss."""
    model = model_for(None)
    model.set_weights([np.zeros((3, 4)), np.array([800.0, -800.0, 0.0, 0.0])])
    model.compile("sgd", L.BinaryCrossentropy(from_logits=True))
    t = np.array([[0.0, 1.0, 1.0, 0.0]])
    want = (800.0 + 800.0 + 2 * np.log(2)) / 4
    assert model.test_on_batch(np.zeros((1, 3)), t) == pytest.approx(want, rel=1e-12)
    model.compile("sgd", L.CategoricalCrossentropy(from_logits=True))
    t = np.array([[0.0, 1.0, 0.0, 0.0]])
    assert model.test_on_batch(np.zeros((1, 3)), t) == pytest.approx(1600.0, rel=1e-12)


def test_loss_options_survive_a_keras_file(tmp_path):
    pytest.importorskip("h5py")
    model = model_for(None)
    model.compile("sgd", L.BinaryFocalCrossentropy(gamma=3.0, from_logits=True,
                                                   label_smoothing=0.1))
    model.save(tmp_path / "m.keras")
    loaded = fnjit.models.load_model(tmp_path / "m.keras")
    assert loaded._outputs_spec[0].loss.params == model._outputs_spec[0].loss.params
    assert loaded._outputs_spec[0].loss.kernel == "binary_focal_crossentropy_from_logits"
