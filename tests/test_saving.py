"""Saving and loading: Keras 3's .keras layout, both HDF5 weight layouts, JSON configs, safety,
damaged files and atomic writes. A file written by real Keras 3 (tests/data) is read here; the
`keras`-marked tests at the end run both directions against Keras itself (tox -e keras)."""

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

import fnjit
from fnjit import Input, Model, Sequential, layers

h5py = pytest.importorskip("h5py")
DATA = Path(__file__).parent / "data"
rng = np.random.default_rng(3)
XA = rng.normal(size=(6, 4)).astype("float32")
XB = rng.normal(size=(6, 3)).astype("float32")
YA = np.eye(2, dtype="float32")[[0, 1, 1, 0, 1, 0]]
YB = rng.normal(size=(6, 1)).astype("float32")


def two_io_model():
    a = Input((4,), name="a")
    b = Input((3,), name="b")
    h = layers.Dense(5, activation="relu", name="h")(a)
    c = layers.concatenate([h, b])
    o1 = layers.Dense(2, activation="softmax", name="o1")(c)
    o2 = layers.Dense(1, name="o2")(layers.Add()([layers.Dropout(0.5)(c), c]))
    return Model([a, b], [o1, o2])


@pytest.fixture(scope="module")
def trained(fresh_globals):
    """One compiled, trained two-input two-output model (one compile for the module), built from
    fnjit's defaults whatever ran before (module fixtures come before conftest's per-test reset)."""
    fresh_globals()
    fnjit.utils.set_random_seed(0)
    model = two_io_model()
    model.compile("adam", loss=["categorical_crossentropy", "mse"],
                  metrics=[["accuracy"], ["mae"]])
    model.fit([XA, XB], [YA, YB], epochs=2, batch_size=3, verbose=0)
    return model


def test_keras_file_layout_and_round_trip(trained, tmp_path):
    path = tmp_path / "m.keras"
    trained.save(path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(zf.read("config.json"))
        zf.extract("model.weights.h5", tmp_path)
    assert (config["module"], config["class_name"]) == ("keras.src.models.functional",
                                                        "Functional")
    assert config["config"]["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert config["config"]["output_layers"] == [["o1", 0, 0], ["o2", 0, 0]]
    by_name = {entry["name"]: entry for entry in config["config"]["layers"]}
    add_args = by_name["add"]["inbound_nodes"][0]["args"][0]
    assert [t["config"]["keras_history"] for t in add_args] == [["dropout", 0, 0],
                                                                ["concatenate", 0, 0]]
    assert by_name["h"]["build_config"] == {"input_shape": [None, 4]}
    assert config["compile_config"]["loss"] == ["categorical_crossentropy", "mse"]
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    with h5py.File(tmp_path / "model.weights.h5") as f:
        # Keras 3 addresses layers by class name in model.layers order, not by layer name.
        assert f["layers/dense/vars"].attrs["name"] == "h"
        assert f["layers/dense/vars/0"].shape == (4, 5)
        assert f["layers/dense_2/vars/1"].shape == (1,)
        assert "layers/input_layer_1/vars" in f
        assert int(f["optimizer/vars/0"][()]) == trained.optimizer.iterations == 4
        assert len(f["optimizer/vars"]) == 2 + 2 * 6  # step, lr, then m and v per weight

    loaded = fnjit.models.load_model(path)
    for want, got in zip(trained.predict([XA, XB], verbose=0), loaded.predict([XA, XB],
                                                                              verbose=0)):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert loaded.compiled and loaded.metrics_names == trained.metrics_names
    assert loaded.optimizer.iterations == 4
    # The optimizer's moments came back too: one more identical step gives identical weights.
    for model in (trained, loaded):
        fnjit.utils.set_random_seed(5)  # the same dropout masks in both
        model.fit([XA, XB], [YA, YB], batch_size=6, shuffle=False, verbose=0)
    for want, got in zip(trained.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("make,count", [
    (lambda: fnjit.optimizers.SGD(), 2), (lambda: fnjit.optimizers.SGD(momentum=0.5), 4),
    (lambda: fnjit.optimizers.SGD(nesterov=True), 2),
    (lambda: fnjit.optimizers.SGD(momentum=0.5, nesterov=True), 4),
    (lambda: fnjit.optimizers.RMSprop(), 4), (lambda: fnjit.optimizers.RMSprop(momentum=0.5), 6),
    (lambda: fnjit.optimizers.Adagrad(), 4), (lambda: fnjit.optimizers.Adam(), 6)])
def test_optimizer_variables_are_keras_3s(make, count, tmp_path):
    """As many optimizer variables as Keras 3 saves for a Dense layer (len(optimizer.variables)
    there): step and learning rate, then one per slot and weight (momentum only when nonzero)."""
    x = Input((3,))
    model = Model(x, layers.Dense(2)(x))
    model.compile(make(), "mse")
    model.train_on_batch(np.ones((2, 3)), np.ones((2, 2)))
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        zf.extract("model.weights.h5", tmp_path)
    with h5py.File(tmp_path / "model.weights.h5") as f:
        assert len(f["optimizer/vars"]) == count


def test_file_written_by_keras3_loads_with_same_predictions():
    expected = np.load(DATA / "keras3_two_io_expected.npz")
    model = fnjit.models.load_model(DATA / "keras3_two_io.keras", compile=False)
    o1, o2 = model.predict([expected["xa"], expected["xb"]], verbose=0)
    np.testing.assert_allclose(o1, expected["o1"], rtol=1e-5)
    np.testing.assert_allclose(o2, expected["o2"], rtol=1e-5)
    assert [layer.name for layer in model.layers] == ["a", "h", "b", "concatenate", "dropout",
                                                      "add", "o1", "o2"]


def test_weights_files_in_both_layouts(trained, tmp_path):
    fresh = Model.from_config(trained.get_config())
    assert fresh.get_config() == trained.get_config()
    for name in ("w.weights.h5", "w.h5"):
        trained.save_weights(tmp_path / name)
        fresh.set_weights([np.zeros_like(w) for w in trained.get_weights()])
        fresh.load_weights(tmp_path / name)
        for want, got in zip(trained.get_weights(), fresh.get_weights()):
            np.testing.assert_array_equal(got, want)
    with h5py.File(tmp_path / "w.h5") as f:  # Keras 2's layout
        assert list(f["h"].attrs["weight_names"]) == [b"h/kernel", b"h/bias"]
        assert f["h/h/kernel"].shape == (4, 5)


def test_keras2_h5_weights_written_by_hand_load(tmp_path):
    """The layout Keras 2 wrote: model_weights/<layer>/<layer>/kernel:0, by layer order."""
    x = Input((3,))
    model = Model(x, layers.Dense(2, name="out")(layers.Dense(4, name="hid")(x)))
    k1, b1, k2, b2 = (rng.normal(size=s).astype("float32") for s in [(3, 4), (4,), (4, 2),
                                                                      (2,)])
    with h5py.File(tmp_path / "old.h5", "w") as f:
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [b"input_1", b"dense_1", b"dense_2"]
        g.create_group("input_1").attrs["weight_names"] = np.array([], dtype="S1")
        for layer, (k, b) in (("dense_1", (k1, b1)), ("dense_2", (k2, b2))):
            lg = g.create_group(layer)
            lg.attrs["weight_names"] = [f"{layer}/kernel:0".encode(), f"{layer}/bias:0".encode()]
            lg.create_dataset(f"{layer}/kernel:0", data=k)
            lg.create_dataset(f"{layer}/bias:0", data=b)
    model.load_weights(tmp_path / "old.h5")
    for want, got in zip([k1, b1, k2, b2], model.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_full_model_h5_and_json_and_sequential_config(trained, tmp_path):
    trained.save(tmp_path / "m.h5")
    loaded = fnjit.models.load_model(tmp_path / "m.h5")
    assert loaded.compiled and loaded.get_config() == trained.get_config()
    for want, got in zip(trained.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(got, want)

    again = fnjit.models.model_from_json(trained.to_json())
    assert again.get_config() == trained.get_config()

    seq = Sequential([layers.Dense(3, activation="tanh", input_shape=(4,)), layers.Dropout(0.2),
                      layers.Flatten(), layers.Activation("softmax")], name="seq")
    config = seq.get_config()
    assert config["layers"][0]["class_name"] == "InputLayer"
    assert config["build_input_shape"] == [None, 4]
    rebuilt = Sequential.from_config(config)
    assert isinstance(rebuilt, Sequential) and rebuilt.get_config() == config
    assert [type(layer).__name__ for layer in rebuilt.layers] == ["Dense", "Dropout", "Flatten",
                                                                  "Activation"]


def test_nested_model_and_shared_layer_config_round_trip(tmp_path):
    i = Input((3,), name="i")
    inner = Model(i, layers.Dense(2, name="d_in")(i), name="inner")
    a, b = Input((3,), name="a"), Input((3,), name="b")
    shared = layers.Dense(3, name="shared")
    y = inner(shared(a))
    z = layers.Add(name="s")([y, layers.Dense(2, name="d2")(shared(b))])
    model = Model({"a": a, "b": b}, {"y": y, "z": z})
    config = model.get_config()
    assert config["output_layers"] == {"y": ["inner", 1, 0], "z": ["s", 0, 0]}  # Keras' count
    model.save(tmp_path / "n.keras")
    loaded = fnjit.models.load_model(tmp_path / "n.keras")
    assert loaded.get_config() == config
    assert len(loaded.get_layer("shared")._inbound_nodes) == 2
    for want, got in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(got, want)
    with zipfile.ZipFile(tmp_path / "n.keras") as zf, h5py.File(
            __import__("io").BytesIO(zf.read("model.weights.h5"))) as f:
        assert f["layers/functional/layers/dense/vars/0"].shape == (3, 2)


def test_keras3_layout_of_sublayer_weights(tmp_path):
    """Keras 3 keeps an RNN's weights in its cell and a wrapper's in the wrapped layer (as Keras
    3.15 writes them: layers/lstm/cell/vars/0, layers/time_distributed/layer/vars/0), the
    layer's own vars empty; a wrapped model keeps its own layers/... below `layer`."""
    x = Input((4, 3))
    y = layers.LSTM(2, return_sequences=True)(x)
    y = layers.TimeDistributed(layers.Dense(2))(y)
    i = Input((2,))
    inner = Model(i, layers.Dense(3)(i), name="inner")
    y = layers.TimeDistributed(inner)(y)
    model = Model(x, layers.SimpleRNN(1)(layers.GRU(2, return_sequences=True)(y)))
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as f:
        groups = []
        f.visit(lambda name: groups.append(name) if isinstance(f[name], h5py.Dataset) else None)
    expected = ["layers/lstm/cell/vars/0", "layers/lstm/cell/vars/1", "layers/lstm/cell/vars/2",
                "layers/time_distributed/layer/vars/0", "layers/time_distributed/layer/vars/1",
                "layers/time_distributed_1/layer/layers/dense/vars/0",
                "layers/time_distributed_1/layer/layers/dense/vars/1"]
    assert sorted(g for g in groups if "gru" not in g and "simple" not in g) == expected
    assert {"layers/gru/cell/vars/2", "layers/simple_rnn/cell/vars/2"} <= set(groups)
    fresh = Model.from_config(model.get_config())
    fresh.load_weights(tmp_path / "w.weights.h5")
    for want, got in zip(model.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(got, want)


def _lambda_config():
    return {"module": "keras.src.models.functional", "class_name": "Functional", "config": {
        "name": "f", "trainable": True, "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "name": "x",
             "config": {"batch_shape": [None, 2], "dtype": "float32", "name": "x"},
             "inbound_nodes": []},
            {"module": "keras.layers", "class_name": "Lambda", "name": "evil",
             "config": {"name": "evil", "function": {"class_name": "__lambda__",
                                                     "config": {"code": "b64..."}}},
             "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
                 "shape": [None, 2], "dtype": "float32", "keras_history": ["x", 0, 0]}}],
                 "kwargs": {}}]}],
        "input_layers": ["x", 0, 0], "output_layers": ["evil", 0, 0]}}


def test_lambda_layers_are_refused_in_safe_mode(tmp_path):
    path = tmp_path / "lambda.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", json.dumps(_lambda_config()))
        zf.writestr("metadata.json", "{}")
        zf.writestr("model.weights.h5", b"")
    with pytest.raises(ValueError, match=r"lambda\.keras.*'evil' \(Lambda\).*safe_mode=False"):
        fnjit.models.load_model(path)
    with pytest.raises(ValueError, match="safe_mode=False"):
        fnjit.models.model_from_json(json.dumps(_lambda_config()))


def test_damaged_and_foreign_files_give_clear_errors(trained, tmp_path):
    good = tmp_path / "good.keras"
    trained.save(good)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(good.read_bytes()[:300])
    with pytest.raises(ValueError, match=r"truncated\.keras.*not a valid zip"):
        fnjit.models.load_model(truncated)

    no_config = tmp_path / "noconfig.keras"
    with zipfile.ZipFile(no_config, "w") as zf:
        zf.writestr("model.weights.h5", b"")
    with pytest.raises(ValueError, match=r"noconfig\.keras.*no config\.json"):
        fnjit.models.load_model(no_config)

    text = tmp_path / "notes.weights.h5"
    text.write_text("not hdf5")
    with pytest.raises(ValueError, match=r"notes\.weights\.h5.*not an HDF5 file"):
        trained.load_weights(text)

    # Weights of another architecture: refused before anything is assigned.
    x = Input((4,), name="a")
    b = Input((3,), name="b")
    c = layers.concatenate([layers.Dense(6, name="h")(x), b])
    wrong = Model([x, b], [layers.Dense(2, name="o1")(c),
                           layers.Dense(1, name="o2")(layers.Add()([layers.Dropout(.5)(c), c]))])
    before = wrong.get_weights()
    with pytest.raises(ValueError, match=r"good\.keras.*shape \(4, 5\) does not fit weight "
                                         r"'h/kernel' of shape \(4, 6\)"):
        wrong.load_weights(good)
    for want, got in zip(before, wrong.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_a_failed_save_leaves_the_previous_file_intact(trained, tmp_path, monkeypatch):
    path = tmp_path / "ckpt.keras"
    trained.save(path)
    before = path.read_bytes()
    real_writestr = zipfile.ZipFile.writestr

    def dies_midway(self, name, data, *args, **kwargs):
        if name == "model.weights.h5":
            real_writestr(self, name, data[: len(data) // 2])
            raise KeyboardInterrupt("killed while writing")
        return real_writestr(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        trained.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ckpt.keras"]  # no temporary file left behind
    fnjit.models.load_model(path, compile=False)

    weights = tmp_path / "w.weights.h5"
    trained.save_weights(weights)
    before = weights.read_bytes()
    from fnjit.saving import weights as weights_module

    def fails(h5file, model):
        h5file.create_dataset("partial", data=[1])
        raise OSError("disk full")

    monkeypatch.setattr(weights_module, "write_keras3", fails)
    monkeypatch.setattr(fnjit.saving, "write_keras3", fails)
    with pytest.raises(OSError, match="disk full"):
        trained.save_weights(weights)
    assert weights.read_bytes() == before


# ---- against real Keras 3 (tox -e keras) ------------------------------------------------------

def _keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def _mlp():
    x = Input((5,), name="x")
    h = layers.Dense(7, activation="tanh", name="hidden")(x)
    return Model(x, layers.Dense(3, activation="softmax", name="probs")(layers.Dropout(.3)(h)))


@pytest.mark.keras
def test_fnjit_files_load_in_keras_with_same_predictions(trained, tmp_path):
    keras = _keras()
    xs = rng.normal(size=(4, 5)).astype("float32")
    mlp = _mlp()
    mlp.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    mlp.save(tmp_path / "mlp.keras")
    theirs = keras.models.load_model(tmp_path / "mlp.keras")
    np.testing.assert_allclose(theirs.predict(xs, verbose=0), mlp.predict(xs, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert type(theirs.optimizer).__name__ == "SGD"

    trained.save(tmp_path / "two.keras")
    theirs = keras.models.load_model(tmp_path / "two.keras")
    for want, got in zip(trained.predict([XA, XB], verbose=0),
                         theirs.predict([XA, XB], verbose=0)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert int(theirs.optimizer.iterations) == trained.optimizer.iterations

    trained.save_weights(tmp_path / "two.weights.h5")
    rebuilt = keras.Model.from_config(json.loads(trained.to_json())["config"])
    rebuilt.load_weights(tmp_path / "two.weights.h5")
    for want, got in zip(trained.get_weights(), rebuilt.get_weights()):
        np.testing.assert_array_equal(np.asarray(got), want)


@pytest.mark.keras
def test_keras_files_load_in_fnjit_with_same_predictions(tmp_path):
    keras = _keras()
    x = keras.Input((5,), name="x")
    h = keras.layers.Dense(7, activation="tanh", name="hidden")(x)
    theirs = keras.Model(x, keras.layers.Dense(3, activation="softmax")(h))
    theirs.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    theirs.save(tmp_path / "k.keras")
    xs = rng.normal(size=(4, 5)).astype("float32")
    mine = fnjit.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(mine.predict(xs, verbose=0), theirs.predict(xs, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert mine.compiled and type(mine.optimizer).__name__ == "Adam"

    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    c = keras.layers.concatenate([keras.layers.Dense(5, activation="relu", name="h")(a), b])
    two = keras.Model([a, b], [keras.layers.Dense(2, activation="softmax", name="o1")(c),
                               keras.layers.Dense(1, name="o2")(keras.layers.Add()([c, c]))])
    two.save_weights(tmp_path / "k.weights.h5")
    mine = Model.from_config(two.get_config())
    mine.load_weights(tmp_path / "k.weights.h5")
    for want, got in zip(two.predict([XA, XB], verbose=0), mine.predict([XA, XB], verbose=0)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_keras2_json_config_loads():
    """A functional config as Keras 2 wrote it: inbound_nodes as [[name, node, tensor, {}]]."""
    old = {"class_name": "Model", "keras_version": "2.2.4", "backend": "tensorflow", "config": {
        "name": "model_1", "layers": [
            {"name": "input_1", "class_name": "InputLayer", "inbound_nodes": [], "config": {
                "batch_input_shape": [None, 3], "dtype": "float32", "sparse": False,
                "name": "input_1"}},
            {"name": "dense_1", "class_name": "Dense", "inbound_nodes": [[["input_1", 0, 0, {}]]],
             "config": {"name": "dense_1", "trainable": True, "units": 2, "activation": "relu",
                        "use_bias": True, "kernel_initializer": {
                            "class_name": "VarianceScaling", "config": {
                                "scale": 1.0, "mode": "fan_avg", "distribution": "uniform",
                                "seed": None}},
                        "bias_initializer": {"class_name": "Zeros", "config": {}},
                        "kernel_regularizer": None, "bias_regularizer": None,
                        "activity_regularizer": None, "kernel_constraint": None,
                        "bias_constraint": None}}],
        "input_layers": [["input_1", 0, 0]], "output_layers": [["dense_1", 0, 0]]}}
    model = fnjit.models.model_from_json(json.dumps(old))
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense"]
    assert model.outputs[0].shape == (None, 2) and model.get_layer("dense_1").activation == "relu"
    init = model.get_layer("dense_1").kernel_initializer
    assert (init.mode, init.distribution) == ("fan_avg", "uniform")
