"""Every optimizer, gradient clipping, weight decay and learning-rate schedule against a numpy
transcription of Keras 3's update rules (keras/src/optimizers/*.py), over several steps of a
linear model whose mse gradient the test computes itself; optimizer state through .keras files.
(tests/parity/test_training.py checks the same against Keras 3 itself.)"""

import math
import warnings

import numpy as np
import pytest

import fnjit
from fnjit.optimizers import schedules

STEPS = 5


# ---- Keras 3's rules in numpy, one weight at a time ------------------------------------------

class Reference:
    """Keras 3's BaseOptimizer.apply: clip the gradients, decay the weights, then the rule."""

    def __init__(self, rule, lr=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, **hyper):
        self.rule, self.lr, self.hyper = rule, lr, hyper
        self.weight_decay, self.clipnorm = weight_decay, clipnorm
        self.clipvalue, self.global_clipnorm = clipvalue, global_clipnorm
        self.t = 0  # Keras' iterations
        self.state = None
        self.u_product = 1.0

    def apply(self, ws, gs):
        lr = self.lr(self.t) if callable(self.lr) else self.lr
        if self.clipnorm:
            gs = [g * self.clipnorm / max(np.sqrt(np.sum(g * g)), self.clipnorm) for g in gs]
        elif self.global_clipnorm:
            norm = np.sqrt(sum(np.sum(g * g) for g in gs))
            gs = [g * self.global_clipnorm * min(1 / norm, 1 / self.global_clipnorm)
                  for g in gs]
        elif self.clipvalue:
            gs = [np.clip(g, -self.clipvalue, self.clipvalue) for g in gs]
        if self.weight_decay:
            ws = [w - w * self.weight_decay * lr for w in ws]
        if self.state is None:
            self.state = [dict() for _ in ws]
        if self.rule == "nadam":
            b1 = self.hyper.get("beta_1", 0.9)
            self.u_product *= b1 * (1 - 0.5 * 0.96 ** (self.t + 1))
        ws = [getattr(self, self.rule)(w, g, s, lr, **self.hyper)
              for w, g, s in zip(ws, gs, self.state)]
        self.t += 1
        return ws

    def sgd(self, w, g, s, lr, momentum=0.0, nesterov=False):
        if not momentum:
            return w - lr * g
        m = s["m"] = momentum * s.get("m", 0 * w) - lr * g
        return w + momentum * m - lr * g if nesterov else w + m

    def rmsprop(self, w, g, s, lr, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
        v = s["v"] = rho * s.get("v", 0 * w) + (1 - rho) * g * g
        if centered:
            a = s["a"] = rho * s.get("a", 0 * w) + (1 - rho) * g
            step = lr * g / np.sqrt(v - a * a + epsilon)
        else:
            step = lr * g / np.sqrt(v + epsilon)
        if momentum > 0:
            m = s["m"] = momentum * s.get("m", 0 * w) + step
            return w - m
        return w - step

    def adagrad(self, w, g, s, lr, initial_accumulator_value=0.1, epsilon=1e-7):
        a = s["a"] = s.get("a", 0 * w + initial_accumulator_value) + g * g
        return w - lr * g / np.sqrt(a + epsilon)

    def adadelta(self, w, g, s, lr, rho=0.95, epsilon=1e-7):
        ag = s["ag"] = rho * s.get("ag", 0 * w) + (1 - rho) * g * g
        ad = s.get("ad", 0 * w)
        delta = -np.sqrt(ad + epsilon) * g / np.sqrt(ag + epsilon)
        s["ad"] = rho * ad + (1 - rho) * delta * delta
        return w + lr * delta

    def adam(self, w, g, s, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
        t = self.t + 1
        alpha = lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        m = s["m"] = s.get("m", 0 * w) + (g - s.get("m", 0 * w)) * (1 - beta_1)
        v = s["v"] = s.get("v", 0 * w) + (g * g - s.get("v", 0 * w)) * (1 - beta_2)
        if amsgrad:
            v = s["vh"] = np.maximum(s.get("vh", 0 * w), v)
        return w - m * alpha / (np.sqrt(v) + epsilon)

    def adamax(self, w, g, s, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        t = self.t + 1
        m = s["m"] = s.get("m", 0 * w) + (g - s.get("m", 0 * w)) * (1 - beta_1)
        u = s["u"] = np.maximum(beta_2 * s.get("u", 0 * w), np.abs(g))
        return w - lr * m / ((1 - beta_1 ** t) * (u + epsilon))

    def nadam(self, w, g, s, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        t = self.t + 1
        u_t = beta_1 * (1 - 0.5 * 0.96 ** t)
        u_t_1 = beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
        m = s["m"] = s.get("m", 0 * w) + (g - s.get("m", 0 * w)) * (1 - beta_1)
        v = s["v"] = s.get("v", 0 * w) + (g * g - s.get("v", 0 * w)) * (1 - beta_2)
        m_hat = u_t_1 * m / (1 - self.u_product * u_t_1) + (1 - u_t) * g / (1 - self.u_product)
        v_hat = v / (1 - beta_2 ** t)
        return w - m_hat * lr / (np.sqrt(v_hat) + epsilon)

    def ftrl(self, w, g, s, lr, learning_rate_power=-0.5, initial_accumulator_value=0.1,
             l1_regularization_strength=0.0, l2_regularization_strength=0.0,
             l2_shrinkage_regularization_strength=0.0, beta=0.0):
        accum = s.get("n", 0 * w + initial_accumulator_value)
        l2 = l2_regularization_strength + beta / (2.0 * lr)
        grad = g + 2 * l2_shrinkage_regularization_strength * w
        new_accum = accum + g * g
        p = -learning_rate_power
        linear = s["z"] = s.get("z", 0 * w) + grad - (new_accum ** p - accum ** p) / lr * w
        quadratic = new_accum ** p / lr + 2 * l2
        clipped = np.clip(linear, -l1_regularization_strength, l1_regularization_strength)
        s["n"] = new_accum
        return (clipped - linear) / quadratic

    def lion(self, w, g, s, lr, beta_1=0.9, beta_2=0.99):
        m = s.get("m", 0 * w)
        s["m"] = m * beta_2 + g * (1 - beta_2)
        return w - lr * np.sign(m * beta_1 + g * (1 - beta_1))


# ---- the model and its gradient -------------------------------------------------------------


def linear_model():
    fnjit.utils.set_random_seed(3)
    inputs = fnjit.Input((4,))
    return fnjit.Model(inputs, fnjit.layers.Dense(3)(inputs))


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(6, 4)), rng.normal(size=(6, 3))


def mse_gradients(ws, x, y):
    kernel, bias = ws
    d = 2 * (x @ kernel + bias - y) / y.size
    return [x.T @ d, d.sum(axis=0)]


def train_both(optimizer, reference, steps=STEPS):
    model = linear_model()
    model.compile(optimizer, "mse")
    x, y = data()
    ws = [w.astype(np.float64) for w in model.get_weights()]
    for _ in range(steps):
        model.train_on_batch(x, y)
        ws = reference.apply(ws, mse_gradients(ws, x, y))
    return model, ws


def assert_same(model, ws):
    for got, want in zip(model.get_weights(), ws):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


CASES = {
    "sgd": (dict(learning_rate=0.1), "sgd", {}),
    "sgd_momentum": (dict(learning_rate=0.1, momentum=0.9), "sgd", dict(momentum=0.9)),
    "sgd_nesterov": (dict(learning_rate=0.1, momentum=0.9, nesterov=True), "sgd",
                     dict(momentum=0.9, nesterov=True)),
    "rmsprop": (dict(learning_rate=0.01, rho=0.8), "rmsprop", dict(rho=0.8)),
    "rmsprop_momentum": (dict(learning_rate=0.01, momentum=0.5), "rmsprop",
                         dict(momentum=0.5)),
    "rmsprop_centered": (dict(learning_rate=0.01, centered=True), "rmsprop",
                         dict(centered=True)),
    "rmsprop_centered_momentum": (dict(learning_rate=0.01, centered=True, momentum=0.5),
                                  "rmsprop", dict(centered=True, momentum=0.5)),
    "adagrad": (dict(learning_rate=0.1, initial_accumulator_value=0.3), "adagrad",
                dict(initial_accumulator_value=0.3)),
    "adadelta": (dict(learning_rate=1.0, rho=0.8), "adadelta", dict(rho=0.8)),
    "adam": (dict(learning_rate=0.01, beta_1=0.8, beta_2=0.9), "adam",
             dict(beta_1=0.8, beta_2=0.9)),
    "adam_amsgrad": (dict(learning_rate=0.01, beta_1=0.5, beta_2=0.6, amsgrad=True), "adam",
                     dict(beta_1=0.5, beta_2=0.6, amsgrad=True)),
    "adamax": (dict(learning_rate=0.01, beta_1=0.8, beta_2=0.9), "adamax",
               dict(beta_1=0.8, beta_2=0.9)),
    "nadam": (dict(learning_rate=0.01, beta_1=0.8, beta_2=0.9), "nadam",
              dict(beta_1=0.8, beta_2=0.9)),
    "ftrl": (dict(learning_rate=0.1, l1_regularization_strength=0.01,
                  l2_regularization_strength=0.1, l2_shrinkage_regularization_strength=0.05,
                  beta=0.1, learning_rate_power=-0.7), "ftrl",
             dict(l1_regularization_strength=0.01, l2_regularization_strength=0.1,
                  l2_shrinkage_regularization_strength=0.05, beta=0.1,
                  learning_rate_power=-0.7)),
    "lion": (dict(learning_rate=0.01, beta_1=0.8, beta_2=0.9), "lion",
             dict(beta_1=0.8, beta_2=0.9)),
}
CLASSES = {"sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad", "adadelta": "Adadelta",
           "adam": "Adam", "adamax": "Adamax", "nadam": "Nadam", "ftrl": "Ftrl", "lion": "Lion"}


@pytest.mark.parametrize("case", list(CASES))
def test_rule_matches_keras(case, float64):
    kwargs, rule, hyper = CASES[case]
    optimizer = getattr(fnjit.optimizers, CLASSES[rule])(**kwargs)
    model, ws = train_both(optimizer, Reference(rule, kwargs["learning_rate"], **hyper))
    assert optimizer.iterations == STEPS
    assert_same(model, ws)


@pytest.mark.parametrize("option", [dict(clipnorm=0.05), dict(global_clipnorm=0.05),
                                    dict(clipvalue=0.02), dict(weight_decay=0.5)])
@pytest.mark.parametrize("rule", ["sgd", "adam", "ftrl"])
def test_clipping_and_weight_decay_match_keras(rule, option, float64):
    lr = {"sgd": 0.5, "adam": 0.05, "ftrl": 0.1}[rule]
    optimizer = getattr(fnjit.optimizers, CLASSES[rule])(learning_rate=lr, **option)
    model, ws = train_both(optimizer, Reference(rule, lr, **option))
    assert_same(model, ws)
    # the option took effect: without it the weights end elsewhere
    _, unclipped = train_both(getattr(fnjit.optimizers, CLASSES[rule])(learning_rate=lr),
                              Reference(rule, lr))
    assert max(np.max(np.abs(a - b)) for a, b in zip(ws, unclipped)) > 1e-4


def test_adamw_is_adam_with_weight_decay_0_004(float64):
    model, ws = train_both(fnjit.optimizers.AdamW(learning_rate=0.1),
                           Reference("adam", 0.1, weight_decay=0.004))
    assert_same(model, ws)
    with pytest.raises(ValueError, match="weight_decay"):
        fnjit.optimizers.AdamW(weight_decay=None)


@pytest.mark.parametrize("by", ["var_names", "var_list"])
def test_exclude_from_weight_decay(float64, by):
    optimizer = fnjit.optimizers.SGD(0.5, weight_decay=0.5)
    model = linear_model()
    if by == "var_names":
        optimizer.exclude_from_weight_decay(var_names=["bias"])
    else:
        optimizer.exclude_from_weight_decay(var_list=[model.layers[-1].bias])
    model.compile(optimizer, "mse")
    x, y = data()
    ws = [w.astype(np.float64) for w in model.get_weights()]
    for _ in range(STEPS):
        model.train_on_batch(x, y)
        gs = mse_gradients(ws, x, y)
        ws = [ws[0] * (1 - 0.25) - 0.5 * gs[0], ws[1] - 0.5 * gs[1]]
    assert_same(model, ws)


SCHEDULES = {
    "ExponentialDecay": (dict(initial_learning_rate=0.5, decay_steps=2, decay_rate=0.3),
                         lambda s: 0.5 * 0.3 ** (s / 2)),
    "ExponentialDecay_staircase": (dict(initial_learning_rate=0.5, decay_steps=2,
                                        decay_rate=0.3, staircase=True),
                                   lambda s: 0.5 * 0.3 ** (s // 2)),
    "PiecewiseConstantDecay": (dict(boundaries=[1, 3], values=[0.5, 0.2, 0.05]),
                               lambda s: 0.5 if s <= 1 else (0.2 if s <= 3 else 0.05)),
    "PolynomialDecay": (dict(initial_learning_rate=0.5, decay_steps=3, power=2.0),
                        lambda s: (0.5 - 1e-4) * (1 - min(s, 3) / 3) ** 2 + 1e-4),
    "PolynomialDecay_cycle": (dict(initial_learning_rate=0.5, decay_steps=2, cycle=True),
                              lambda s: (0.5 - 1e-4) * (1 - s / (2 * max(1, math.ceil(s / 2))))
                              + 1e-4),
    "InverseTimeDecay": (dict(initial_learning_rate=0.5, decay_steps=1, decay_rate=0.5),
                         lambda s: 0.5 / (1 + 0.5 * s)),
    "CosineDecay": (dict(initial_learning_rate=0.5, decay_steps=3, alpha=0.1),
                    lambda s: 0.5 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(s, 3) / 3)) + 0.1)),
    "CosineDecay_warmup": (dict(initial_learning_rate=0.1, decay_steps=3, warmup_target=0.5,
                                warmup_steps=2),
                           lambda s: 0.1 + 0.4 * s / 2 if s < 2 else
                           0.5 * 0.5 * (1 + math.cos(math.pi * (min(s, 5) - 2) / 3))),
    # periods of 1, 2, 4 steps: restarts at steps 1 and 3, peaks halving
    "CosineDecayRestarts": (dict(initial_learning_rate=0.5, first_decay_steps=1, m_mul=0.5),
                            lambda s: [0.5, 0.25, 0.25 * 0.5 * (1 + math.cos(math.pi / 2)),
                                       0.125, 0.125 * 0.5 * (1 + math.cos(math.pi / 4)),
                                       0.0625][s]),
    # the defaults t_mul=2, m_mul=1, alpha=0: periods of 2 and 4 steps, the same peak
    "CosineDecayRestarts_defaults": (dict(initial_learning_rate=0.5, first_decay_steps=2),
                                     lambda s: 0.5 * 0.5 * (1 + math.cos(math.pi * [
                                         0, 0.5, 0, 0.25, 0.5, 0.75][s]))),
}


@pytest.mark.parametrize("which", list(SCHEDULES))
def test_schedule_values_and_training_match_keras(which, float64):
    kwargs, formula = SCHEDULES[which]
    schedule = getattr(schedules, which.split("_")[0])(**kwargs)
    # Steps past the training's too: a decay holds its last value (Keras 3 clamps the step;
    # CosineDecay with warmup at decay_steps + warmup_steps). The restarts' formulas are tables.
    late = [] if which.startswith("CosineDecayRestarts") else [7, 12]
    for step in list(range(STEPS)) + late:
        assert schedule(step) == pytest.approx(formula(step), rel=1e-12, abs=1e-15), step
    optimizer = fnjit.optimizers.SGD(learning_rate=schedule, momentum=0.5)
    model, ws = train_both(optimizer, Reference("sgd", formula, momentum=0.5))
    assert_same(model, ws)
    assert optimizer.learning_rate == pytest.approx(formula(STEPS))


def test_schedule_change_does_not_recompile(float64):
    optimizer = fnjit.optimizers.Adam(schedules.InverseTimeDecay(0.1, 1, 1.0))
    model = linear_model()
    model.compile(optimizer, "mse")
    x, y = data()
    model.fit(x, y, epochs=3, batch_size=2, verbose=0)
    assert len([k for k in model._programs if k[0] == "train"]) == 1
    assert optimizer.iterations == 9


def test_callable_learning_rate_is_called_without_arguments_as_in_keras(float64):
    rates = iter([0.5, 0.1, 0.01, 0.2, 0.3])
    model, ws = train_both(fnjit.optimizers.SGD(lambda: next(rates)),
                           Reference("sgd", lambda s: [0.5, 0.1, 0.01, 0.2, 0.3][s]))
    assert_same(model, ws)


def test_schedule_learning_rate_is_not_settable():
    optimizer = fnjit.optimizers.SGD(schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="not settable"):
        optimizer.learning_rate = 0.1


@pytest.mark.parametrize("kwargs, match", [
    (dict(clipnorm=1.0, clipvalue=1.0), "only one of"),
    (dict(use_ema=True), "use_ema"),
    (dict(gradient_accumulation_steps=2), "gradient_accumulation_steps"),
    (dict(loss_scale_factor=2.0), "loss_scale_factor"),
    (dict(momentun=0.9), "momentun"),
])
def test_unsupported_or_misspelt_arguments_are_refused(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fnjit.optimizers.SGD(**kwargs)


def test_keras2_spellings_warn():
    with pytest.warns(DeprecationWarning, match="lr="):
        opt = fnjit.optimizers.Adamax(lr=0.3)
    assert opt.learning_rate == 0.3


def test_string_names():
    for name, cls in [("adamw", "AdamW"), ("nadam", "Nadam"), ("ftrl", "Ftrl"),
                      ("lion", "Lion"), ("adadelta", "Adadelta"), ("adamax", "Adamax")]:
        assert type(fnjit.optimizers.get(name)).__name__ == cls


# ---- state in .keras files --------------------------------------------------------------------

h5py = pytest.importorskip("h5py")


@pytest.mark.parametrize("make, names", [
    (lambda: fnjit.optimizers.Adam(0.05, amsgrad=True),
     ["iteration", "learning_rate"] + [f"{w}_{s}" for w in ("kernel", "bias")
                                      for s in ("momentum", "velocity")]
     + ["kernel_velocity_hat", "bias_velocity_hat"]),
    (lambda: fnjit.optimizers.Nadam(0.05),
     ["iteration", "learning_rate", "kernel_momentum", "kernel_velocity", "bias_momentum",
      "bias_velocity", "u_product"]),
    (lambda: fnjit.optimizers.RMSprop(0.05, momentum=0.5, centered=True),
     ["iteration", "learning_rate", "kernel_velocity", "bias_velocity", "kernel_momentum",
      "bias_momentum", "kernel_average_gradient", "bias_average_gradient"]),
    (lambda: fnjit.optimizers.Ftrl(0.05, weight_decay=0.1),
     ["iteration", "learning_rate", "kernel_accumulator", "kernel_linear", "bias_accumulator",
      "bias_linear"]),
    (lambda: fnjit.optimizers.Lion(schedules.ExponentialDecay(0.05, 1, 0.5)),
     ["iteration", "kernel_momentum", "bias_momentum"]),
])
def test_optimizer_state_survives_a_keras_file(make, names, tmp_path, float64):
    """Keras 3's variable order (names from Keras' `optimizer.variables`); training on after
    loading gives the weights of uninterrupted training."""
    x, y = data()
    straight = linear_model()
    straight.compile(make(), "mse")
    for _ in range(4):
        straight.train_on_batch(x, y)

    model = linear_model()
    model.compile(make(), "mse")
    model.train_on_batch(x, y)
    model.train_on_batch(x, y)
    model.save(tmp_path / "m.keras")
    import zipfile
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        z.extract("model.weights.h5", tmp_path)
    with h5py.File(tmp_path / "model.weights.h5") as f:
        group = f["optimizer/vars"]
        assert len(group) == len(names)
        assert int(group["0"][()]) == 2
        shapes = {"kernel": (4, 3), "bias": (3,)}
        for k, name in enumerate(names):
            want = shapes.get(name.split("_")[0], ())
            assert group[str(k)].shape == want, name

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = fnjit.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is type(model.optimizer)
    loaded.train_on_batch(x, y)
    loaded.train_on_batch(x, y)
    for got, want in zip(loaded.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


# Keras 3.15's defaults (inspect.signature of keras.optimizers.*, read with Keras 3 on JAX).
KERAS_DEFAULTS = {
    "SGD": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
    "RMSprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-07,
                "centered": False},
    "Adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07,
             "amsgrad": False},
    "AdamW": {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999,
              "epsilon": 1e-07, "amsgrad": False},
    "Adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-07},
    "Adadelta": {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-07},
    "Adamax": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07},
    "Nadam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07},
    "Lion": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.99},
    "Ftrl": {"learning_rate": 0.001, "learning_rate_power": -0.5,
             "initial_accumulator_value": 0.1, "l1_regularization_strength": 0.0,
             "l2_regularization_strength": 0.0, "l2_shrinkage_regularization_strength": 0.0,
             "beta": 0.0},
}


@pytest.mark.parametrize("name", sorted(KERAS_DEFAULTS))
def test_optimizer_defaults_are_keras(name):
    config = getattr(fnjit.optimizers, name)().get_config()
    assert {k: config[k] for k in KERAS_DEFAULTS[name]} == KERAS_DEFAULTS[name]
