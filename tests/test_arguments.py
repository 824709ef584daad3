"""Constructor arguments that no other test pins, each shown to change the result: the
initializer, regularizer and constraint of every weight role of every layer that has them, the
optimizers' hyperparameters against numpy, and some callback arguments. The table of which test
covers which argument is tests/test_api_audit.py."""

from __future__ import annotations

import io

import numpy as np
import pytest

import fnjit as keras
from fnjit import callbacks, initializers, layers, optimizers, regularizers

# Layer, its positional arguments, its input shape and dtype, and its weight roles: the prefix
# of `<role>_initializer` / `_regularizer` / `_constraint` -> the weight's attribute name.
WEIGHT_ROLES = [
    ("Dense", (2,), (3,), "float32", {"kernel": "kernel", "bias": "bias"}),
    ("Conv1D", (2, 2), (4, 3), "float32", {"kernel": "kernel", "bias": "bias"}),
    ("Conv2D", (2, 2), (3, 3, 2), "float32", {"kernel": "kernel", "bias": "bias"}),
    ("DepthwiseConv2D", (2,), (3, 3, 2), "float32", {"depthwise": "kernel", "bias": "bias"}),
    ("SeparableConv2D", (2, 2), (3, 3, 2), "float32",
     {"depthwise": "depthwise_kernel", "pointwise": "pointwise_kernel", "bias": "bias"}),
    ("SimpleRNN", (2,), (3, 2), "float32",
     {"kernel": "kernel", "recurrent": "recurrent_kernel", "bias": "bias"}),
    ("LSTM", (2,), (3, 2), "float32",
     {"kernel": "kernel", "recurrent": "recurrent_kernel", "bias": "bias"}),
    ("GRU", (2,), (3, 2), "float32",
     {"kernel": "kernel", "recurrent": "recurrent_kernel", "bias": "bias"}),
    ("Embedding", (5, 2), (3,), "int32", {"embeddings": "embeddings"}),
    ("BatchNormalization", (), (3,), "float32", {"gamma": "gamma", "beta": "beta"}),
    ("LayerNormalization", (), (3,), "float32", {"gamma": "gamma", "beta": "beta"}),
    ("GroupNormalization", (2,), (3, 4), "float32", {"gamma": "gamma", "beta": "beta"}),
    ("PReLU", (), (3,), "float32", {"alpha": "alpha"}),
]
IDS = [row[0] for row in WEIGHT_ROLES]


def _build(name, args, shape, dtype, **kwargs):
    layer = getattr(layers, name)(*args, **kwargs)
    x = keras.Input(shape, dtype=dtype)
    return layer, keras.Model(x, layer(x))


def _data(shape, dtype):
    rng = np.random.default_rng(0)
    if dtype == "int32":
        return rng.integers(0, 5, (4,) + shape).astype("int32")
    return rng.normal(size=(4,) + shape).astype("float32")


@pytest.mark.parametrize("name,args,shape,dtype,roles", WEIGHT_ROLES, ids=IDS)
def test_initializer_of_every_weight_role(name, args, shape, dtype, roles):
    """kernel_initializer, bias_initializer, recurrent_initializer, depthwise_initializer,
    pointwise_initializer, embeddings_initializer, gamma_initializer, beta_initializer,
    alpha_initializer: each fills its own weight."""
    values = {role: 0.25 + 0.125 * k for k, role in enumerate(roles)}
    extra = {"unit_forget_bias": False} if name == "LSTM" else {}
    layer, _ = _build(name, args, shape, dtype, **extra,
                      **{f"{r}_initializer": initializers.Constant(v) for r, v in values.items()})
    for role, attr in roles.items():
        assert np.all(getattr(layer, attr).value == np.float32(values[role])), (role, attr)


def test_batchnorm_moving_statistics_initializers_and_lstm_unit_forget_bias():
    bn = layers.BatchNormalization(moving_mean_initializer=initializers.Constant(0.5),
                                   moving_variance_initializer=initializers.Constant(4.0))
    x = keras.Input((2,))
    m = keras.Model(x, bn(x))
    assert np.all(bn.moving_mean.value == 0.5) and np.all(bn.moving_variance.value == 4.0)
    xs = np.ones((3, 2), "float32")
    assert np.allclose(m.predict(xs, verbose=0), (1 - 0.5) / np.sqrt(4.0 + 1e-3), atol=1e-6)
    for forget, want in ((True, 1.0), (False, 0.0)):
        lstm = layers.LSTM(2, unit_forget_bias=forget)
        lstm(keras.Input((3, 2)))
        b = lstm.bias.value
        assert np.all(b[2:4] == want) and np.all(b[:2] == 0) and np.all(b[4:] == 0)


@pytest.mark.parametrize("name,args,shape,dtype,roles", WEIGHT_ROLES, ids=IDS)
def test_regularizer_and_constraint_of_every_weight_role(name, args, shape, dtype, roles):
    """kernel_regularizer, bias_regularizer, recurrent_regularizer, depthwise_regularizer,
    pointwise_regularizer, embeddings_regularizer, gamma_regularizer, beta_regularizer,
    alpha_regularizer add 0.5 * sum(w^2) to the loss; the matching *_constraint (kernel_constraint,
    bias_constraint, recurrent_constraint, depthwise_constraint, pointwise_constraint,
    embeddings_constraint, gamma_constraint, beta_constraint, alpha_constraint) sets its weight
    after the update."""
    factors = {role: 0.5 + k for k, role in enumerate(roles)}
    targets = {role: 0.125 * (k + 1) for k, role in enumerate(roles)}
    kwargs = {f"{r}_regularizer": regularizers.L2(f) for r, f in factors.items()}
    kwargs.update({f"{r}_constraint": (lambda w, v=v: np.full_like(w, v))
                   for r, v in targets.items()})
    layer, m = _build(name, args, shape, dtype, **kwargs)
    rng = np.random.default_rng(1)
    for attr in roles.values():  # non-zero weights, so that every penalty counts
        w = getattr(layer, attr)
        w.assign(rng.normal(size=w.shape).astype("float32"))
    m.compile(keras.optimizers.SGD(learning_rate=0.01), "mse")
    xs = _data(shape, dtype)
    ys = m.predict(xs, verbose=0)
    want = sum(f * np.sum(getattr(layer, roles[r]).value.astype(np.float64) ** 2)
               for r, f in factors.items())
    assert m.evaluate(xs, ys, verbose=0) == pytest.approx(want, rel=1e-5)  # no data loss
    m.train_on_batch(xs, ys)
    for role, attr in roles.items():
        assert np.all(getattr(layer, attr).value == np.float32(targets[role])), (role, attr)


def _steps(optimizer, rule, steps=3):
    """Run `steps` training steps of a linear model (no bias, MSE) and the same update `rule`
    written in numpy, from the same weights; compare."""
    rng = np.random.default_rng(2)
    x = keras.Input((3,))
    d = layers.Dense(2, use_bias=False)
    m = keras.Model(x, d(x))
    m.compile(optimizer, "mse")
    w = m.get_weights()[0].astype(np.float64)
    state = {}
    for t in range(1, steps + 1):
        xs = rng.normal(size=(5, 3)).astype("float32")
        ts = rng.normal(size=(5, 2)).astype("float32")
        g = xs.T.astype(np.float64) @ (2 * (xs @ w - ts) / ts.size)
        w = rule(state, w, g, t)
        m.train_on_batch(xs, ts)
    assert np.allclose(m.get_weights()[0], w, rtol=1e-4, atol=1e-6)


def test_adam_beta_1_beta_2_epsilon():
    def rule(s, w, g, t):
        mo, v = s.get("m", 0), s.get("v", 0)
        mo, v = mo + (g - mo) * 0.5, v + (g * g - v) * 0.3
        s["m"], s["v"] = mo, v
        alpha = 0.1 * np.sqrt(1 - 0.7 ** t) / (1 - 0.5 ** t)
        return w - alpha * mo / (np.sqrt(v) + 0.01)
    _steps(optimizers.Adam(learning_rate=0.1, beta_1=0.5, beta_2=0.7, epsilon=0.01), rule)


def test_rmsprop_rho_momentum_epsilon():
    def rule(s, w, g, t):
        v = 0.5 * s.get("v", 0) + 0.5 * g * g
        inc = 0.1 * g / np.sqrt(v + 0.01)
        mom = 0.3 * s.get("mom", 0) + inc
        s["v"], s["mom"] = v, mom
        return w - mom
    _steps(optimizers.RMSprop(learning_rate=0.1, rho=0.5, momentum=0.3, epsilon=0.01), rule)


def test_adagrad_initial_accumulator_value_and_epsilon():
    def rule(s, w, g, t):
        a = s.get("a", 0.5) + g * g
        s["a"] = a
        return w - 0.1 * g / np.sqrt(a + 0.01)
    _steps(optimizers.Adagrad(learning_rate=0.1, initial_accumulator_value=0.5, epsilon=0.01),
           rule)


@pytest.fixture(scope="module")
def small(fresh_globals):
    fresh_globals()  # built from fnjit's defaults, before conftest's per-test reset
    x = keras.Input((2,))
    m = keras.Model(x, layers.Dense(1)(x))
    m.compile(keras.optimizers.SGD(0.01), "mse")
    rng = np.random.default_rng(3)
    return m, rng.normal(size=(8, 2)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")


def test_csv_logger_separator(small, tmp_path):
    m, xs, ys = small
    path = tmp_path / "log.csv"
    m.fit(xs, ys, epochs=2, verbose=0, callbacks=[callbacks.CSVLogger(str(path), separator=";")])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch;loss;val_loss" and lines[2].startswith("1;")


def test_lambda_callback_on_train_batch_begin(small):
    m, xs, ys = small
    seen = []
    cb = callbacks.LambdaCallback(on_train_batch_begin=lambda batch, logs: seen.append(batch))
    m.fit(xs, ys, epochs=2, batch_size=3, verbose=0, callbacks=[cb])
    assert seen == [0, 1, 2, 0, 1, 2]


def test_progbar_logger_verbose_and_stream(small):
    m, xs, ys = small
    buf = io.StringIO()
    m.fit(xs, ys, epochs=2, batch_size=4, verbose=0,
          callbacks=[callbacks.ProgbarLogger(verbose=2, stream=buf)])
    out = buf.getvalue()
    assert out.startswith("Epoch 1/2\n2/2 - ") and "━" not in out  # verbose 2: no bar


def test_reduce_lr_on_plateau_monitor_mode_min_delta_verbose(small, capsys):
    m, xs, ys = small
    for kwargs, reduced in (({"monitor": "loss"}, False),
                            ({"monitor": "loss", "mode": "max"}, True),
                            ({"monitor": "loss", "min_delta": 1e9}, True)):
        m.optimizer.learning_rate = 0.01
        cb = callbacks.ReduceLROnPlateau(factor=0.5, patience=0, verbose=1, **kwargs)
        m.fit(xs, ys, epochs=3, verbose=0, callbacks=[cb])
        assert (m.optimizer.learning_rate < 0.01) == reduced, kwargs
        assert ("reducing learning rate" in capsys.readouterr().out) == reduced


def test_model_checkpoint_initial_value_threshold(small, tmp_path):
    m, xs, ys = small
    for threshold, saved in ((1e-12, False), (1e12, True)):
        path = tmp_path / f"w{saved}.weights.h5"
        cb = callbacks.ModelCheckpoint(str(path), monitor="loss", save_best_only=True,
                                       save_weights_only=True,
                                       initial_value_threshold=threshold)
        m.fit(xs, ys, epochs=1, verbose=0, callbacks=[cb])
        assert path.exists() == saved


def test_identity_initializer_by_name_and_gain():
    """'identity' (Keras' initializer): gain times the (rectangular) identity; only 2-D."""
    layer, _ = _build("Dense", (3,), (2,), "float32", kernel_initializer="identity")
    np.testing.assert_array_equal(layer.kernel.value, [[1, 0, 0], [0, 1, 0]])
    init = initializers.get({"class_name": "Identity", "config": {"gain": 2.5}})
    np.testing.assert_array_equal(init((2, 2)), [[2.5, 0], [0, 2.5]])
    assert initializers.serialize(init) == {"class_name": "Identity", "config": {"gain": 2.5}}
    with pytest.raises(ValueError, match=r"Identity initializer.*shape \(2, 2, 3\) of rank 3"):
        _build("Conv1D", (3, 2), (4, 2), "float32", kernel_initializer="identity")


def test_keras2_initial_weights_and_keras1_input_length():
    """Keras 2's `weights=` sets a layer's weights once it is built (every layer, also inside
    TimeDistributed and a traced call); Keras 1's input_length with input_dim is the steps of
    the input shape. Both were once dropped without a word."""
    k, b = np.arange(6.0).reshape(3, 2), np.array([0.5, -1.0])
    dense = layers.Dense(2, weights=[k, b])
    x = keras.Input((3,))
    model = keras.Model(x, dense(x))
    np.testing.assert_allclose(model.predict(np.eye(3), verbose=0), k + b, rtol=1e-6)
    wrapped = layers.TimeDistributed(layers.Dense(2, weights=[k, b]))
    seq = keras.Input((4, 3))
    wrapped(seq)
    np.testing.assert_allclose(wrapped.get_weights()[0], k)
    with pytest.raises(ValueError):
        layers.Dense(2, weights=[k])(keras.Input((3,)))  # one array for two weights
    lstm = layers.LSTM(3, input_dim=4, input_length=5)
    model = keras.Sequential([lstm])
    assert model.input_shape == (None, 5, 4)
    with pytest.raises(ValueError, match="input_length=5 .*goes with input_dim"):
        layers.LSTM(3, input_length=5)
