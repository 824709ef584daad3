"""Bad input at every entry point (fit, evaluate, predict, train_on_batch, test_on_batch,
predict_on_batch) gets a clear ValueError or TypeError naming the argument, never 0.0, an empty
result, a wrapped index or an error from inside compiled code; and compile's Keras arguments
either work or are refused."""

import numpy as np
import pytest

import fnjit as keras
from fnjit import layers

rng = np.random.default_rng(3)
X = rng.normal(size=(6, 3))
Y = rng.normal(size=(6, 1))


@pytest.fixture(scope="module")
def model(fresh_globals):
    fresh_globals()  # built from fnjit's defaults, before conftest's per-test reset
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    m.compile("sgd", "mse")
    return m


def entry_points(model, x, y=Y):
    """Each entry point on inputs x (and targets y)."""
    return {
        "fit": lambda: model.fit(x, y, verbose=0),
        "evaluate": lambda: model.evaluate(x, y, verbose=0),
        "predict": lambda: model.predict(x, verbose=0),
        "train_on_batch": lambda: model.train_on_batch(x, y),
        "test_on_batch": lambda: model.test_on_batch(x, y),
        "predict_on_batch": lambda: model.predict_on_batch(x),
    }


@pytest.mark.parametrize("entry", ["fit", "evaluate", "predict", "train_on_batch",
                                   "test_on_batch", "predict_on_batch"])
def test_every_entry_point_refuses_bad_arrays(model, entry):
    # Keras 3 fails on empty input too (predict: an UnboundLocalError from inside).
    with pytest.raises(ValueError, match=rf"{entry}: x \(input .*\) is empty: 0 samples"):
        entry_points(model, X[:0], Y[:0])[entry]()
    with pytest.raises(TypeError, match=rf"{entry}: x .*complex dtype"):
        entry_points(model, X.astype(complex))[entry]()
    with pytest.raises(TypeError, match=rf"{entry}: x .*object"):
        entry_points(model, np.array([[1, 2, 3], [1, 2, "a"]] * 3, dtype=object))[entry]()
    with pytest.raises(TypeError, match=rf"{entry}: x .*string dtype"):
        entry_points(model, np.array([["a", "b", "c"]] * 6))[entry]()
    with pytest.raises(ValueError, match=rf"{entry}: x .*ragged"):
        entry_points(model, [[[1, 2, 3], [1, 2]]])[entry]()
    with pytest.raises(ValueError, match=rf"{entry}: x .*expected arrays of shape \(None, 3\)"):
        entry_points(model, X[:, :2])[entry]()
    if entry not in ("predict", "predict_on_batch"):
        with pytest.raises(TypeError, match=rf"{entry}: y .*complex"):
            entry_points(model, X, Y.astype(complex))[entry]()
        with pytest.raises(ValueError, match=rf"{entry}: x and y have different numbers"):
            entry_points(model, X, Y[:4])[entry]()


@pytest.mark.parametrize("entry", ["fit", "evaluate", "predict"])
@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "32"])
def test_batch_size_must_be_a_positive_integer(model, entry, bad):
    call = {"fit": lambda: model.fit(X, Y, batch_size=bad, verbose=0),
            "evaluate": lambda: model.evaluate(X, Y, batch_size=bad, verbose=0),
            "predict": lambda: model.predict(X, batch_size=bad, verbose=0)}[entry]
    error = ValueError if type(bad) is int else TypeError
    with pytest.raises(error, match=rf"{entry}: batch_size must be a positive integer"):
        call()


def test_steps_arguments(model):
    with pytest.raises(ValueError, match="fit: steps_per_epoch must be a positive integer"):
        model.fit(X, Y, steps_per_epoch=0, verbose=0)
    with pytest.raises(TypeError, match="fit: validation_steps must be a positive integer"):
        model.fit(X, Y, validation_data=(X, Y), validation_steps=1.5, verbose=0)
    with pytest.raises(ValueError, match="evaluate: steps must be a positive integer"):
        model.evaluate(X, Y, steps=0, verbose=0)
    with pytest.raises(ValueError, match="predict: steps must be a positive integer"):
        model.predict(X, steps=-2, verbose=0)
    with pytest.raises(TypeError, match=r"evaluate: unexpected arguments \['nope'\]"):
        model.evaluate(X, Y, nope=1, verbose=0)
    # `steps` counts batches, as in Keras: evaluate and predict stop after them.
    err = (model.predict(X, verbose=0) - Y)[:, 0] ** 2
    assert model.evaluate(X, Y, batch_size=2, steps=1, verbose=0) == pytest.approx(
        err[:2].mean(), rel=1e-5)
    assert model.predict(X, batch_size=4, steps=1, verbose=0).shape == (4, 1)
    hist = model.fit(X, Y, batch_size=2, validation_data=(X, Y), validation_steps=2,
                     verbose=0).history
    err = (model.predict(X, verbose=0) - Y)[:, 0] ** 2
    assert hist["val_loss"][0] == pytest.approx(err[:4].mean(), rel=1e-5)


def test_compile_arguments_work_or_are_refused():
    m = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    for kw, error, words in [
            ({"run_eagerly": True}, ValueError, "run_eagerly=True is not supported"),
            ({"jit_compile": False}, ValueError, "jit_compile=False is not supported"),
            ({"steps_per_execution": 4}, ValueError, "steps_per_execution=4 is not supported"),
            ({"sample_weight_mode": "temporal"}, ValueError, "sample_weight_mode='temporal'"),
            ({"auto_scale_loss": "yes"}, TypeError, "auto_scale_loss must be True or False"),
            ({"loss_weights": float("nan")}, ValueError, "loss_weights .* finite number"),
            ({"nope": 1}, TypeError, "unexpected keyword argument 'nope'")]:
        with pytest.raises(error, match=words):
            m.compile("sgd", "mse", **kw)
        assert not m.compiled  # a refused compile leaves the model as it was
    m.compile("sgd", "mse", run_eagerly=False, jit_compile=True, steps_per_execution=1,
              auto_scale_loss=False, sample_weight_mode=None)
    assert m.evaluate(X, Y, verbose=0) > 0


def test_embedding_indices_are_checked_before_any_narrowing_cast():
    ints = keras.Input((2,), dtype="int32")
    floats = keras.Input((2,))
    emb = layers.Embedding(10, 2)
    model = keras.Model([ints, floats], [emb(ints), emb(floats)])
    good = np.array([[1, 2]])
    model.predict([good, good.astype(float)], verbose=0)
    wraps = np.array([[2 ** 32 + 9, 1]], np.int64)  # int32(2**32 + 9) == 9, a valid row
    with pytest.raises(ValueError, match=r"predict: x \(input .*\) has dtype int32 but its "
                                         r"data holds values out of its range"):
        model.predict([wraps, good.astype(float)], verbose=0)
    with pytest.raises(ValueError, match="out of its range"):
        model.predict([wraps.astype(float), good.astype(float)], verbose=0)
    with pytest.raises(ValueError, match="non-integer values"):
        model.predict([np.array([[3.5, 1]]), good.astype(float)], verbose=0)
    # Checked on the data as given: a float32 cast would make 3.0000001 the valid index 3.
    with pytest.raises(ValueError, match=r"index 3\.0000001 at position \(0, 1\)"):
        model.predict([good, np.array([[1.0, 3.0000001]])], verbose=0)
    with pytest.raises(ValueError, match=r"index 4294967305 at position"):
        model.predict([good, np.array([[1, 2 ** 32 + 9]], np.int64)], verbose=0)
    for bad in (3.5, np.nan, np.inf, 2.0 ** 32 + 9, -1.0, 10.0):
        with pytest.raises(ValueError, match=r"embedding.*index .* out of range.*\[0, 10\)"):
            model.predict([good, np.array([[1.0, bad]])], verbose=0)


@pytest.mark.parametrize("make, built, other", [
    (lambda: layers.Dense(3), (10,), (5,)),
    (lambda: layers.Conv2D(2, 3), (8, 8, 3), (8, 8, 4)),
    (lambda: layers.Conv2D(2, 3, data_format="channels_first"), (3, 8, 8), (4, 8, 8)),
    (lambda: layers.SeparableConv2D(2, 3), (8, 8, 3), (8, 8, 1)),
    (lambda: layers.Conv1D(2, 3), (8, 3), (8,)),
    (lambda: layers.LSTM(2), (5, 3), (5, 4)),
    (lambda: layers.GRU(2), (5, 3), (3,)),
    (lambda: layers.BatchNormalization(), (4,), (5,)),
    (lambda: layers.PReLU(), (4, 2), (4, 3)),
    (lambda: layers.TimeDistributed(layers.Dense(2)), (3, 4), (3, 5)),
], ids=["Dense", "Conv2D", "Conv2D channels_first", "SeparableConv2D", "Conv1D rank", "LSTM",
        "GRU rank", "BatchNormalization", "PReLU", "TimeDistributed"])
def test_a_built_layer_refuses_an_input_its_weights_do_not_fit(make, built, other):
    layer = make()
    layer(keras.Input(built))
    with pytest.raises(ValueError, match=rf"Input 0 of layer '{layer.name}' "
                                         rf"\({type(layer).__name__}\) is incompatible.*"
                                         rf"received an input of shape \(None, .*\) \(the layer "
                                         rf"was built for inputs of shape \(None, .*\)\)"):
        layer(keras.Input(other))


def test_a_built_layer_accepts_what_keras_accepts():
    """Dense on more axes, convolutions and RNNs on other sizes, Embedding on any indices,
    PReLU along its shared axes: the weights fit, so the call works, as in Keras."""
    for layer, built, other in [(layers.Dense(3), (10,), (7, 10)),
                                (layers.Conv2D(2, 3), (8, 8, 3), (16, 12, 3)),
                                (layers.LSTM(2), (5, 3), (9, 3)),
                                (layers.Embedding(10, 2), (4,), (7, 2)),
                                (layers.PReLU(shared_axes=[1]), (4, 2), (6, 2))]:
        layer(keras.Input(built))
        assert layer(keras.Input(other)).shape[0] is None


def nested_sequential(depth):
    """The JSON of `depth` Sequentials, each holding the next (too deep for json.dumps)."""
    head = '{"class_name": "Sequential", "config": {"name": "s", "layers": ['
    dense = '{"class_name": "Dense", "config": {"name": "d", "units": 1}}'
    return head * depth + dense + "]}}" * depth


def test_a_config_nested_too_deeply_is_a_file_format_error(tmp_path):
    import zipfile

    from fnjit.saving import FileFormatError, model_from_config, model_from_json

    deep = nested_sequential(3000)  # (300 deep builds: only the limit is refused)
    with pytest.raises(FileFormatError, match="model_from_json: .*nested too deeply"):
        model_from_json(deep)
    with pytest.raises(FileFormatError, match="model_from_json: .*nested too deeply"):
        model_from_json('{"class_name": "Sequential", "config": ' + "[" * 100_000 + "]" * 100_000
                        + "}")
    cyclic = {"class_name": "Sequential", "config": {"name": "s", "layers": []}}
    cyclic["config"]["layers"].append(cyclic)  # a live dict can refer to itself
    with pytest.raises(FileFormatError, match="model_from_config: .*nested too deeply"):
        model_from_config(cyclic)
    path = tmp_path / "deep.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", deep)
        zf.writestr("model.weights.h5", b"")
    with pytest.raises(FileFormatError, match=rf"model file '{path}': .*nested too deeply"):
        keras.models.load_model(path)


def test_fit_loop_arguments(model):
    for kw, error, words in [
            ({"epochs": 1.5}, TypeError, "fit: epochs must be an integer >= 0"),
            ({"epochs": -1}, ValueError, "fit: epochs must be an integer >= 0"),
            ({"initial_epoch": -1}, ValueError, "fit: initial_epoch must be an integer >= 0"),
            ({"verbose": 3}, ValueError, "fit: verbose must be 'auto', 0, 1 or 2, got 3"),
            ({"shuffle": "batch"}, TypeError, "fit: shuffle must be True or False"),
            ({"validation_split": "0.2"}, ValueError, "fit: validation_split must be in"),
            ({"validation_split": 1.5}, ValueError, "fit: validation_split must be in"),
            ({"validation_freq": 0}, ValueError, "fit: validation_freq must be a positive"),
            ({"validation_data": (X,)}, ValueError, "fit: validation_data must be a tuple")]:
        with pytest.raises(error, match=words):
            model.fit(X, Y, **kw)
    with pytest.raises(ValueError, match="evaluate: verbose must be"):
        model.evaluate(X, Y, verbose="loud")
    with pytest.raises(ValueError, match="predict: verbose must be"):
        model.predict(X, verbose=-1)
    assert model.fit(X, Y, epochs=0, verbose=0).history == {}  # as Keras: no epoch run
