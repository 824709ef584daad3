"""The cuda target (codegen/cuda_target.py, templates/*.cuda.j2) against the cpu target.

The comparisons run in numba's CUDA simulator (`tox -e cudasim` sets NUMBA_ENABLE_CUDASIM=1;
on a machine with a GPU, without that variable, they run on the GPU); elsewhere they are
skipped because no CUDA device, real or simulated, is there. Shapes are small: the simulator
runs every GPU thread as a Python thread. The target's choice and its errors are tested
everywhere.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from gradcheck import lower_with_mse

import fnjit as keras
from fnjit import backend, layers
from fnjit.codegen.cuda_target import simulated
from fnjit.codegen.program import Program


def _cuda_ready():
    from numba import cuda
    return cuda.is_available()


needs_cuda = pytest.mark.skipif(not _cuda_ready(), reason="no CUDA device and the simulator is "
                                "off (tox -e cudasim sets NUMBA_ENABLE_CUDASIM=1)")
cudasim = [pytest.mark.cudasim, needs_cuda]


# ---- choosing the target (everywhere) -----------------------------------------------------------

def _mlp(classes=3, width=6, hidden=8):
    inp = keras.Input((width,))
    h = layers.Dense(hidden, activation="relu")(inp)
    return keras.Model(inp, layers.Dense(classes, activation="softmax")(h))


def test_unknown_target_is_refused():
    with pytest.raises(ValueError, match="target='tpu' names no target"):
        _mlp().compile("sgd", "mse", target="tpu")


def test_bad_environment_target_is_refused(monkeypatch):
    monkeypatch.setenv("FNJIT_TARGET", "gpu")
    with pytest.raises(ValueError, match="FNJIT_TARGET='gpu'"):
        _mlp().compile("sgd", "mse")


def test_environment_chooses_the_target(monkeypatch):
    monkeypatch.setenv("FNJIT_TARGET", "cpu")
    m = _mlp()
    m.compile("sgd", "mse")
    assert m._target == "cpu"


def test_cuda_without_a_device_is_a_clear_error(monkeypatch):
    from numba import cuda
    monkeypatch.setattr(cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA GPU is available"):
        _mlp().compile("sgd", "mse", target="cuda")
    monkeypatch.setenv("FNJIT_TARGET", "cuda")
    with pytest.raises(RuntimeError, match="FNJIT_TARGET=cuda"):
        _mlp().compile("sgd", "mse")


# ---- the MLP guide model, end to end ----------------------------------------------------------

def _data(n=10, width=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, width)).astype("float32")
    y = np.eye(classes, dtype="float32")[rng.integers(0, classes, n)]
    return x, y


def _cnn():
    inp = keras.Input((6, 6, 1))
    h = layers.Conv2D(2, 3, activation="relu")(inp)
    h = layers.Flatten()(layers.MaxPooling2D(2)(h))
    return keras.Model(inp, layers.Dense(3, activation="softmax")(h))


def _mlp_out(activation, classes):
    inp = keras.Input((6,))
    h = layers.Dense(8, activation="relu")(inp)
    return keras.Model(inp, layers.Dense(classes, activation=activation)(h))


OPTIMIZERS = {
    "sgd": lambda: "sgd", "rmsprop": lambda: "rmsprop", "adam": lambda: "adam",
    "momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
    "nesterov": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adagrad": lambda: keras.optimizers.Adagrad(0.1),
}


def _flat(arrays):
    """One array of a model's outputs (or evaluate's list), for comparing multi-output models."""
    arrays = arrays if isinstance(arrays, list) else [arrays]
    return np.concatenate([np.ravel(a) for a in arrays])


def assert_trains_as_on_the_cpu(build, optimizer, loss, metrics, x, y, **compile_kw):
    """Same weights on both targets; predict, evaluate, two epochs of fit and the weights
    after them agree within float32 tolerance."""
    runs = {}
    for target in ("cpu", "cuda"):
        m = build()
        if target == "cpu":
            weights = m.get_weights()
        else:
            m.set_weights(weights)
        m.compile(OPTIMIZERS[optimizer](), loss, metrics=metrics, target=target, **compile_kw)
        before = _flat(m.predict(x, verbose=0))
        evaluated = _flat(m.evaluate(x, y, verbose=0))
        history = m.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0).history
        after = _flat(m.predict(x, verbose=0))
        runs[target] = before, evaluated, history, m.get_weights(), after
    cpu, gpu = runs["cpu"], runs["cuda"]
    np.testing.assert_allclose(gpu[0], cpu[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gpu[1], cpu[1], rtol=1e-5)
    assert len(gpu[2]) == len(cpu[2])
    for a, b in zip(gpu[2].values(), cpu[2].values()):  # in order: layer names differ
        np.testing.assert_allclose(a, b, rtol=1e-5)
    for a, b in zip(gpu[3], cpu[3]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(gpu[4], cpu[4], rtol=1e-4, atol=1e-6)
    assert not np.allclose(cpu[0], cpu[4]), "training changed nothing: the test would be moot"


# The guide models of bench/guide_models.py at simulator sizes (the same layers and wiring).

def _guide_lstm():
    visible = keras.Input((4, 1))
    h = layers.Dense(3, activation="relu")(layers.LSTM(3)(visible))
    return keras.Model(visible, layers.Dense(1, activation="sigmoid")(h))


def _guide_headline():
    main_input = keras.Input((5,), dtype="int32")
    lstm_out = layers.LSTM(3)(layers.Embedding(output_dim=4, input_dim=12)(main_input))
    aux_output = layers.Dense(1, activation="sigmoid")(lstm_out)
    aux_input = keras.Input((2,))
    h = layers.concatenate([lstm_out, aux_input])
    for _ in range(2):
        h = layers.Dense(4, activation="relu")(h)
    main_output = layers.Dense(1, activation="sigmoid")(h)
    return keras.Model([main_input, aux_input], [main_output, aux_output])


def _guide_siamese():
    a, b = keras.Input((3, 4)), keras.Input((3, 4))
    shared = layers.LSTM(3)
    merged = layers.concatenate([shared(a), shared(b)], axis=-1)
    return keras.Model([a, b], layers.Dense(1, activation="sigmoid")(merged))


def _guide_data(guide):
    rng = np.random.default_rng(15)
    label = (rng.random((10, 1)) > 0.5).astype("float32")
    if guide == "lstm":
        return rng.normal(size=(10, 4, 1)).astype("float32"), label
    if guide == "headline":
        x = [rng.integers(0, 12, (10, 5)).astype("int32"),
             rng.normal(size=(10, 2)).astype("float32")]
        return x, [label, (rng.random((10, 1)) > 0.5).astype("float32")]
    return [rng.normal(size=(10, 3, 4)).astype("float32") for _ in range(2)], label


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("guide", ["lstm", "headline", "siamese"])
def test_recurrent_guide_model_trains_as_on_the_cpu(guide):
    build = {"lstm": _guide_lstm, "headline": _guide_headline, "siamese": _guide_siamese}[guide]
    x, y = _guide_data(guide)
    extra = {"loss_weights": [1.0, 0.2]} if guide == "headline" else {}
    assert_trains_as_on_the_cpu(build, "rmsprop", "binary_crossentropy", [], x, y, **extra)


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("guide, optimizer", [("mlp", o) for o in OPTIMIZERS] +
                         [("cnn", "rmsprop")])
def test_guide_model_trains_as_on_the_cpu(guide, optimizer):
    x, y = _data()
    if guide == "cnn":
        x = np.random.default_rng(6).normal(size=(10, 6, 6, 1)).astype("float32")
    assert_trains_as_on_the_cpu(_mlp if guide == "mlp" else _cnn, optimizer,
                                "categorical_crossentropy", ["accuracy"], x, y)


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("loss", ["binary_crossentropy", "sparse_categorical_crossentropy",
                                  "mean_squared_error"])
def test_losses_and_metrics_as_on_the_cpu(loss):
    x, y = _data()
    rng = np.random.default_rng(7)
    if loss == "binary_crossentropy":
        build, y, metrics = (lambda: _mlp_out("sigmoid", 2)), \
            (rng.random((10, 2)) > 0.5).astype("float32"), ["binary_accuracy"]
    elif loss == "sparse_categorical_crossentropy":
        build, y, metrics = (lambda: _mlp_out("softmax", 3)), y.argmax(1), ["accuracy"]
    else:
        build, metrics = (lambda: _mlp_out(None, 3)), []
    assert_trains_as_on_the_cpu(build, "rmsprop", loss, metrics, x, y)


@pytest.mark.cudasim
@needs_cuda
def test_set_weights_reaches_the_device_copy():
    """The device keeps the params between calls; a host write (set_weights) is seen."""
    x, y = _data()
    m = _mlp()
    m.compile("sgd", "categorical_crossentropy", target="cuda")
    m.fit(x, y, epochs=1, batch_size=5, verbose=0)
    weights = [np.full_like(w, 0.1 * (k + 1)) for k, w in enumerate(m.get_weights())]
    m.set_weights(weights)
    expected = x @ weights[0] + weights[1]
    expected = np.maximum(expected, 0) @ weights[2] + weights[3]
    expected = np.exp(expected - expected.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(m.predict(x, verbose=0), expected, rtol=1e-5)



@pytest.mark.cudasim
@pytest.mark.skipif(not simulated(), reason="about numba's CUDA simulator")
def test_simulated_shared_arrays_are_one_per_block(monkeypatch):
    """The simulator's cuda.shared.array looked the block's array up and stored a new one
    without a lock: a thread switch between the two gave threads of one block different
    arrays, and the tiled GEMM wrong rows (the MLP's predict once had 4 of 10 wrong). The
    window is widened here to a sleep, which made every launch go wrong before
    codegen/cuda_target.serialise_simulated_shared_arrays."""
    from numba.cuda.simulator import kernelapi

    class SlowLookup(dict):
        def get(self, key, default=None):
            found = super().get(key, default)
            time.sleep(0.0002)  # other threads run here
            return found

    made = kernelapi.FakeCUDAShared.__init__

    def slow(self, *args):
        made(self, *args)
        self._allocations = SlowLookup()
    monkeypatch.setattr(kernelapi.FakeCUDAShared, "__init__", slow)
    x = np.random.default_rng(12).normal(size=(5, 6))
    assert_same_on_both_targets(_one_layer(layers.Dense(4), (6,)), [x])


# ---- each op: forward and backward, cuda against cpu ------------------------------------------

def _programs(model, shapes):
    """The float64 MSE-loss programs of `model` for both targets (gradcheck.lower_with_mse, as
    tests/gradcheck.py compiles them for the cpu): their params, and a function running one
    of them."""
    backend.set_floatx("float64")
    built = {}
    for target in ("cpu", "cuda"):
        ctx, xs, targets, losses = lower_with_mse(model, shapes)
        wrt = [x for x in xs if ctx.graph.values[x].is_float]
        built[target] = Program(ctx.graph, model_inputs=xs, targets=targets, losses=losses,
                                wrt_inputs=wrt, target=target)
    variables = [ctx.variables[s.name] for s in built["cpu"].slots]
    params = np.concatenate([np.asarray(v.value, np.float64).ravel() for v, s in
                             zip(variables, built["cpu"].slots) if s.trainable] or [np.zeros(0)])
    state = np.concatenate([np.asarray(v.value, np.float64).ravel() for v, s in
                            zip(variables, built["cpu"].slots) if not s.trainable] or
                           [np.zeros(0)])
    return built, params, state


def assert_same_on_both_targets(model, xs, seed=0):
    xs = [np.asarray(x, np.float64) for x in xs]
    built, params, state = _programs(model, [x.shape[1:] for x in xs])
    rng = np.random.default_rng(seed)
    outs = {t: p.predict(params, state, xs) for t, p in built.items()}
    ts = [rng.normal(size=o.shape) for o in outs["cpu"]]
    grads = {}
    for target, program in built.items():
        g = np.zeros_like(params)
        logs = np.zeros(program.n_logs)
        input_grads = program.gradients(params.copy(), state.copy(), g, xs, ts, logs)
        grads[target] = g, input_grads, logs
    for a, b in zip(outs["cuda"], outs["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["cuda"][0], grads["cpu"][0], rtol=1e-10, atol=1e-12)
    for a, b in zip(grads["cuda"][1], grads["cpu"][1]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["cuda"][2], grads["cpu"][2], rtol=1e-10)
    assert any(np.abs(a).max() > 0 for a in [grads["cpu"][0], *grads["cpu"][1]] if a.size), \
        "every gradient is zero: the comparison would be moot"


def _one_layer(layer, shape):
    inp = keras.Input(shape)
    return keras.Model(inp, layer(inp))


ACTIVATIONS = ["relu", "sigmoid", "tanh", "elu", "selu", "softplus", "softsign", "hard_sigmoid",
               "exponential", "swish", "gelu", "leaky_relu"]


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_on_both_targets(use_bias):
    # 19 x 21 -> 17: more than one GEMM tile along every axis, none of them full.
    x = np.random.default_rng(1).normal(size=(19, 21))
    assert_same_on_both_targets(_one_layer(layers.Dense(17, use_bias=use_bias), (21,)), [x])


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("fn", ACTIVATIONS + ["softmax"])
def test_activation_on_both_targets(fn):
    x = np.random.default_rng(2).normal(size=(5, 4)) * 3
    assert_same_on_both_targets(_one_layer(layers.Activation(fn), (4,)), [x])


@pytest.mark.cudasim
@needs_cuda
def test_add_and_flatten_on_both_targets():
    a, b = keras.Input((2, 3)), keras.Input((2, 3))
    model = keras.Model([a, b], layers.Flatten()(layers.Add()([a, b])))
    rng = np.random.default_rng(3)
    assert_same_on_both_targets(model, [rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 2, 3))])


@pytest.mark.cudasim
@needs_cuda
def test_embedding_on_both_targets():
    # Index 1 repeats, so the scatter-add of the backward adds rows up.
    idx = np.array([[1, 0, 1], [3, 1, 2]])
    assert_same_on_both_targets(_one_layer(layers.Embedding(4, 3), (3,)), [idx])


CONVS = {
    "valid": (layers.Conv2D(3, (2, 3)), (5, 6, 2)),
    "same_strided": (layers.Conv2D(2, 3, strides=2, padding="same"), (5, 5, 2)),
    "dilated_no_bias": (layers.Conv2D(2, 2, dilation_rate=2, use_bias=False), (5, 5, 1)),
    "pointwise": (layers.Conv2D(3, 1), (3, 3, 2)),
    "conv1d_causal": (layers.Conv1D(2, 3, padding="causal"), (6, 2)),
    "conv3d_same_strided": (layers.Conv3D(2, (2, 3, 2), strides=(1, 2, 1), padding="same"),
                            (3, 4, 3, 2)),
    # activations the conv op applies itself (conv.j2's attr `activation`)
    "relu": (layers.Conv2D(3, (2, 3), activation="relu"), (5, 6, 2)),
    "sigmoid_no_bias": (layers.Conv2D(2, 3, strides=2, padding="same", activation="sigmoid",
                                      use_bias=False), (5, 5, 2)),
    "tanh_conv1d": (layers.Conv1D(2, 3, activation="tanh"), (6, 2)),
}


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("case", sorted(CONVS))
def test_conv_on_both_targets(case):
    layer, shape = CONVS[case]
    x = np.random.default_rng(4).normal(size=(2,) + shape)
    assert_same_on_both_targets(_one_layer(layer, shape), [x])


DEPTHWISE = {
    "depthwise_multiplier": (layers.DepthwiseConv2D(2, depth_multiplier=2), (4, 3, 2)),
    "depthwise_same_strided_no_bias": (layers.DepthwiseConv2D(3, strides=2, padding="same",
                                                              use_bias=False), (5, 5, 2)),
    "depthwise_dilated": (layers.DepthwiseConv2D(2, dilation_rate=2), (5, 5, 1)),
    "depthwise1d": (layers.DepthwiseConv1D(3, depth_multiplier=2, padding="same"), (5, 2)),
    # Xception's: depthwise, then the pointwise 1x1 convolution (conv.cuda.j2)
    "separable_same": (layers.SeparableConv2D(3, 3, padding="same", use_bias=False), (4, 4, 2)),
    "separable_relu": (layers.SeparableConv2D(2, 2, depth_multiplier=2, activation="relu"),
                       (4, 3, 2)),
}


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("case", sorted(DEPTHWISE))
def test_depthwise_conv_on_both_targets(case):
    layer, shape = DEPTHWISE[case]
    x = np.random.default_rng(16).normal(size=(2,) + shape)
    assert_same_on_both_targets(_one_layer(layer, shape), [x])

POOLS = {
    "max": (layers.MaxPooling2D(2), (4, 5, 2)),
    "max_same_overlapping": (layers.MaxPooling2D(3, strides=2, padding="same"), (5, 5, 1)),
    "average_same": (layers.AveragePooling2D(2, padding="same"), (5, 3, 2)),
    "max_channels_first": (layers.MaxPooling2D(2, data_format="channels_first"), (2, 4, 4)),
    "average1d": (layers.AveragePooling1D(2, strides=1), (5, 2)),
    "max3d_same": (layers.MaxPooling3D(2, padding="same"), (3, 4, 3, 2)),
    "average3d_channels_first": (layers.AveragePooling3D((2, 1, 2), strides=1,
                                                         data_format="channels_first"),
                                 (2, 3, 3, 4)),
}


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("case", sorted(POOLS))
def test_pool_on_both_targets(case):
    layer, shape = POOLS[case]
    x = np.random.default_rng(5).normal(size=(2,) + shape)
    assert_same_on_both_targets(_one_layer(layer, shape), [x])


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("merge", ["Subtract", "Multiply", "Maximum", "Minimum"])
def test_binary_elementwise_on_both_targets(merge):
    a, b = keras.Input((5,)), keras.Input((5,))
    model = keras.Model([a, b], getattr(layers, merge)()([a, b]))
    rng = np.random.default_rng(8)
    assert_same_on_both_targets(model, [rng.normal(size=(3, 5)), rng.normal(size=(3, 5))])


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("layer", [layers.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2),
                                   layers.ELU(alpha=0.7), layers.LeakyReLU(0.3)],
                         ids=["relu_threshold_max", "elu_alpha", "leaky_relu_slope"])
def test_unary_elementwise_on_both_targets(layer):
    x = np.random.default_rng(9).normal(size=(3, 6)) * 2
    assert_same_on_both_targets(_one_layer(layer, (6,)), [x])


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("layer", [layers.GlobalMaxPooling2D(), layers.GlobalAveragePooling2D(),
                                   layers.GlobalAveragePooling2D(data_format="channels_first"),
                                   layers.GlobalMaxPooling1D()],
                         ids=["max2d", "avg2d", "avg2d_channels_first", "max1d"])
def test_global_pool_on_both_targets(layer):
    shape = (3, 4) if "1D" in type(layer).__name__ else (3, 2, 4)
    x = np.random.default_rng(10).normal(size=(2,) + shape)
    assert_same_on_both_targets(_one_layer(layer, shape), [x])


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("axis", [-1, 1])
def test_concatenate_on_both_targets(axis):
    a, b = keras.Input((2, 3)), keras.Input((2, 3))
    model = keras.Model([a, b], layers.Concatenate(axis=axis)([a, b]))
    rng = np.random.default_rng(11)
    assert_same_on_both_targets(model, [rng.normal(size=(3, 2, 3)), rng.normal(size=(3, 2, 3))])


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("scale_center", [True, False])
def test_batchnorm_trains_as_on_the_cpu(scale_center):
    """Training mode (batch statistics, moving averages in the state) and inference."""
    def build():
        inp = keras.Input((6,))
        h = layers.Dense(4)(inp)
        h = layers.BatchNormalization(scale=scale_center, center=scale_center)(h)
        return keras.Model(inp, layers.Dense(3, activation="softmax")(h))
    x, y = _data()
    assert_trains_as_on_the_cpu(build, "sgd", "categorical_crossentropy", [], x, y)


# ---- recurrent layers: the time loop on the device --------------------------------------------

RECURRENT = {
    "lstm": lambda **kw: layers.LSTM(3, **kw),
    "gru": lambda **kw: layers.GRU(3, **kw),
    "simple_rnn": lambda **kw: layers.SimpleRNN(3, **kw),
}
RECURRENT_OPTIONS = {
    "last": {},
    "sequences_backwards": {"return_sequences": True, "go_backwards": True},
    "state_no_bias": {"return_state": True, "use_bias": False},
    "sequences_state_backwards": {"return_sequences": True, "return_state": True,
                                  "go_backwards": True},
    "other_activations": {"activation": "relu", "recurrent_activation": "hard_sigmoid"},
}


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("options", sorted(RECURRENT_OPTIONS))
@pytest.mark.parametrize("kind", sorted(RECURRENT))
def test_recurrent_on_both_targets(kind, options):
    kw = dict(RECURRENT_OPTIONS[options])
    if kind == "simple_rnn":
        kw.pop("recurrent_activation", None)
    x = np.random.default_rng(13).normal(size=(2, 4, 2))
    assert_same_on_both_targets(_one_layer(RECURRENT[kind](**kw), (4, 2)), [x])


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("kind", sorted(RECURRENT))
def test_recurrent_initial_state_on_both_targets(kind):
    """initial_state= is an input: its gradient comes back from the device too."""
    x, h = keras.Input((3, 2)), keras.Input((3,))
    states = [h, layers.Dense(3)(h)] if kind == "lstm" else [h]
    model = keras.Model([x, h], RECURRENT[kind]()(x, initial_state=states))
    rng = np.random.default_rng(14)
    assert_same_on_both_targets(model, [rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 3))])


@pytest.mark.cudasim
@needs_cuda
@pytest.mark.parametrize("argument", ["dropout", "recurrent_dropout"])
def test_recurrent_dropout_is_refused_on_cuda(argument):
    m = _one_layer(layers.LSTM(3, **{argument: 0.5}), (4, 2))
    m.compile("sgd", "mse", target="cuda")
    with pytest.raises(ValueError, match=f"{argument}=0.5.*target 'cuda'"):
        m.fit(np.zeros((2, 4, 2), "float32"), np.zeros((2, 3), "float32"), verbose=0)


# ---- what crosses the bus ---------------------------------------------------------------------

def _count_copies(monkeypatch):
    """Counts host -> device ("in") and device -> host ("out") copies: cuda.to_device and the
    device arrays' copy methods (a copy inside to_device is not counted twice)."""
    from numba import cuda
    counts = {"in": 0, "out": 0}
    inside = []

    def counted(direction, fn):
        def call(*args, **kwargs):
            if not inside:
                counts[direction] += 1
            inside.append(True)
            try:
                return fn(*args, **kwargs)
            finally:
                inside.pop()
        return call
    device_array = type(cuda.device_array(1))
    monkeypatch.setattr(cuda, "to_device", counted("in", cuda.to_device))
    monkeypatch.setattr(device_array, "copy_to_device",
                        counted("in", device_array.copy_to_device))
    monkeypatch.setattr(device_array, "copy_to_host", counted("out", device_array.copy_to_host))
    return counts


@pytest.mark.cudasim
@needs_cuda
def test_copies_per_train_step(monkeypatch):
    """Once the buffers are resident, a train step moves in the batch (x, y, the sample
    weights) and the step's hyper-parameters, and out the logs and the params (the host's
    weights stay current); gradients and optimizer slots stay on the device. A predict after
    it moves x in and the outputs out: the params the step left on the device are used."""
    x, y = _data()
    m = _mlp()
    m.compile("adam", "categorical_crossentropy", target="cuda")
    m.train_on_batch(x[:4], y[:4])
    m.predict(x[:4], verbose=0)
    counts = _count_copies(monkeypatch)
    m.train_on_batch(x[:4], y[:4])
    assert counts == {"in": 4, "out": 2}
    counts.update({"in": 0, "out": 0})
    m.predict(x[:4], verbose=0)
    assert counts == {"in": 1, "out": 1}
    counts.update({"in": 0, "out": 0})
    m.set_weights([w + 1 for w in m.get_weights()])  # a host write goes in once
    m.predict(x[:4], verbose=0)
    m.predict(x[:4], verbose=0)
    assert counts == {"in": 3, "out": 2}


@pytest.mark.cudasim
@needs_cuda
def test_optimizer_slots_left_on_the_device_are_saved_current():
    """The slots stay on the device between steps; saving the optimizer's state pulls them."""
    import h5py

    from fnjit.saving import optimizer_state
    x, y = _data()
    saved = {}
    for target in ("cpu", "cuda"):
        m = _mlp()
        if target == "cpu":
            weights = m.get_weights()
        else:
            m.set_weights(weights)
        m.compile("adam", "categorical_crossentropy", target=target)
        m.fit(x, y, epochs=1, batch_size=5, shuffle=False, verbose=0)
        with h5py.File(f"{target}.h5", "w", driver="core", backing_store=False) as f:
            optimizer_state.write(f, m)
            group = f["optimizer/vars"]
            saved[target] = [np.array(group[k]) for k in sorted(group, key=int)]
    assert len(saved["cuda"]) == len(saved["cpu"]) > 2
    for a, b in zip(saved["cuda"], saved["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)
    assert any(np.abs(a).max() > 0 for a in saved["cuda"][2:]), "no moment was saved"


@pytest.mark.cudasim
@needs_cuda
def test_softmax_over_another_axis_is_refused_on_cuda():
    m = _one_layer(layers.Softmax(axis=1), (3, 4))
    m.compile("sgd", "mse", target="cuda")
    with pytest.raises(ValueError, match="softmax over an axis other than the last has no "
                                         "kernel for this target"):
        m.predict(np.zeros((2, 3, 4), "float32"), verbose=0)


@pytest.mark.cudasim
@needs_cuda
def test_xception_training_program_builds_for_cuda():
    """Every op of Xception (SeparableConv2D's depthwise and pointwise convolutions,
    BatchNormalization, pooling, Add) has a CUDA kernel: its training program renders and
    loads for target cuda. (One step at 71x71 is hours in the simulator; the ops are compared
    with the cpu target one by one above.)"""
    from fnjit import applications
    base = applications.Xception(weights=None, include_top=False, input_shape=(71, 71, 3),
                                 pooling="avg")
    x = keras.Input((71, 71, 3))
    model = keras.Model(x, layers.Dense(1, activation="sigmoid")(base(x)))
    model.compile("rmsprop", "binary_crossentropy", target="cuda")
    source = model.generated_source("train")
    for kernel in ("depthwise_conv_forward", "depthwise_conv_backward_kernel", "conv_forward",
                   "batchnorm", "rmsprop_update"):
        assert kernel in source

