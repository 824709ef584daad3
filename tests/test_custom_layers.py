"""Custom layers (a user's `call` traced into IR ops), subclassed models, add_loss, and saving
custom classes: forward against numpy written here, backward against finite differences,
files against what Keras 3 writes."""

import json
import zipfile

import numpy as np
import pytest
from gradcheck import outputs_checking_gradients

import fnjit as keras
from fnjit import backend as K
from fnjit import layers, ops
from fnjit.ops import UnsupportedOperation
from fnjit.saving import FileFormatError

rng = np.random.default_rng(5)


class Affine(layers.Layer):
    """Own weights (one non-trainable), a sublayer and a list of sublayers."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.inner = layers.Dense(units, activation="tanh")
        self.heads = [layers.Dense(2), layers.Dense(2)]

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", name="w")
        self.scale = self.add_weight(shape=(self.units,), initializer="ones", trainable=False,
                                     name="scale")

    def call(self, inputs):
        h = ops.matmul(inputs, self.w) * self.scale + self.inner(inputs)
        return self.heads[1](K.relu(self.heads[0](h))) + h[:, :2]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _affine_numpy(layer, x):
    w, scale = layer.w.numpy(), layer.scale.numpy()
    (k, b), (k0, b0), (k1, b1) = (lyr.get_weights() for lyr in [layer.inner] + layer.heads)
    h = x @ w * scale + np.tanh(x @ k + b)
    return np.maximum(h @ k0 + b0, 0) @ k1 + b1 + h[:, :2]


def test_custom_layer_forward_gradients_weights_and_summary():
    x = keras.Input(shape=(4,))
    layer = Affine(name="affine")
    model = keras.Model(x, layer(x))
    layer.scale.assign(np.array([0.5, -1.0, 2.0]))
    assert model.outputs[0].shape == (None, 2)
    # Keras' order: own trainable, own non-trainable, then each sublayer's.
    assert [w.path for w in layer.weights] == [
        "affine/w", "affine/scale", "dense/kernel", "dense/bias", "dense_1/kernel",
        "dense_1/bias", "dense_2/kernel", "dense_2/bias"]
    assert len(model.trainable_weights) == 7 and len(model.non_trainable_weights) == 1
    data = rng.normal(size=(6, 4))
    (got,) = outputs_checking_gradients(model, [data])
    np.testing.assert_allclose(got, _affine_numpy(layer, data), rtol=1e-10)
    lines = []
    model.summary(print_fn=lines.append)
    assert any(line.startswith("affine (Affine)") and "(None, 2)" in line and line.endswith(" 44")
               for line in lines)


def test_custom_layer_trains_and_saves_as_keras_3_writes(tmp_path):
    x = keras.Input(shape=(4,))
    model = keras.Model(x, Affine(name="affine")(x))
    model.compile("adam", "mse")
    data = rng.normal(size=(64, 4)).astype("float32")
    target = np.stack([data.sum(1), data[:, 0] * data[:, 1]], 1)
    history = model.fit(data, target, epochs=8, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < history[0]
    scale = model.get_layer("affine").scale.numpy()
    np.testing.assert_array_equal(scale, np.ones(3))  # non-trainable: unchanged
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        entry = json.loads(z.read("config.json"))["config"]["layers"][1]
    assert entry["class_name"] == "Affine" and entry["config"]["units"] == 3
    assert entry["module"] is None and entry["registered_name"] == "Affine"
    with pytest.raises(FileFormatError, match="Affine"):  # never runs code not passed
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"Affine": Affine})
    np.testing.assert_allclose(loaded.predict(data, verbose=0),
                               model.predict(data, verbose=0), rtol=1e-6)
    with keras.utils.custom_object_scope({"Affine": Affine}):
        scoped = keras.models.load_model(path)
    assert [w.shape for w in scoped.get_weights()] == [w.shape for w in model.get_weights()]


def test_registered_class_loads_by_its_registered_name(tmp_path):
    @keras.saving.register_keras_serializable(package="fnjit_test")
    class Doubler(layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

    assert keras.saving.get_custom_objects()["fnjit_test>Doubler"] is Doubler
    x = keras.Input(shape=(3,))
    model = keras.Model(x, Doubler()(x))
    model.save(tmp_path / "d.keras")
    with zipfile.ZipFile(tmp_path / "d.keras") as z:
        entry = json.loads(z.read("config.json"))["config"]["layers"][1]
    assert entry["registered_name"] == "fnjit_test>Doubler"
    loaded = keras.models.load_model(tmp_path / "d.keras")
    np.testing.assert_allclose(loaded.predict(np.ones((2, 3)), verbose=0), 2 * np.ones((2, 3)))


def test_traced_call_errors_name_the_layer_the_line_and_the_operation():
    class UsesNumpy(layers.Layer):
        def call(self, inputs):
            return np.exp(inputs) + 1.0

    with pytest.raises(UnsupportedOperation) as info:
        UsesNumpy(name="uses_numpy")(keras.Input(shape=(3,)))
    text = str(info.value)
    assert "UsesNumpy 'uses_numpy'" in text and "numpy.exp" in text and "ops.exp" in text
    assert "test_custom_layers.py:" in text and "return np.exp(inputs) + 1.0" in text

    class Branches(layers.Layer):
        def call(self, inputs):
            return inputs if ops.mean(inputs) > 0 else -inputs

    with pytest.raises(UnsupportedOperation, match="bool()"):
        Branches()(keras.Input(shape=(3,)))
    layer = Affine()
    with pytest.raises(ValueError, match="overwrite_with_gradient"):
        layer.add_weight(shape=(2,), overwrite_with_gradient=True)
    with pytest.raises(NotImplementedError, match="compile"):
        layer.add_metric(1.0)


def test_call_branching_on_training_is_traced_per_phase():
    class Phase(layers.Layer):
        def call(self, inputs, training=None):
            if training:
                return inputs * 0.0 + 1.0
            return inputs * 0.0

    x = keras.Input(shape=(3,))
    model = keras.Model(x, layers.Dense(1, kernel_initializer="ones")(Phase()(x)))
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    data, target = rng.normal(size=(4, 3)), np.full((4, 1), 3.0)
    np.testing.assert_allclose(model.predict(data, verbose=0), np.zeros((4, 1)))
    assert model.train_on_batch(data, target) == pytest.approx(0.0)  # training: ones
    assert model.evaluate(data, target, verbose=0) == pytest.approx(9.0)  # inference: zeros


class Mlp(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [layers.Dense(8, activation="relu"), layers.Dense(8, activation="tanh")]
        self.drop = layers.Dropout(0.2)
        self.head = layers.Dense(1)

    def call(self, inputs, training=None):
        x = inputs
        for layer in self.hidden:
            x = layer(x)
        return self.head(self.drop(x, training=training))


def test_subclassed_model_builds_on_data_trains_and_summarises():
    model = Mlp()
    assert model.name.startswith("mlp") and not model.weights
    data = rng.normal(size=(64, 3)).astype("float32")
    target = data.sum(1, keepdims=True)
    model.compile("adam", "mse")
    history = model.fit(data, target, epochs=10, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < history[0]
    assert [w.shape for w in model.weights] == [(3, 8), (8,), (8, 8), (8,), (8, 1), (1,)]
    (k0, b0), (k1, b1), (k2, b2) = (lyr.get_weights() for lyr in model.hidden + [model.head])
    expected = np.tanh(np.maximum(data @ k0 + b0, 0) @ k1 + b1) @ k2 + b2
    np.testing.assert_allclose(model.predict(data, verbose=0), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model(data[:5]), expected[:5], rtol=1e-4, atol=1e-5)
    lines = []
    model.summary(print_fn=lines.append)
    assert [line.split()[0] for line in lines if "(Dense)" in line or "(Dropout)" in line] == \
        [lyr.name for lyr in model.layers]
    assert any("(None, 8)" in line for line in lines) and "Total params: 113" in lines
    # Its __init__ takes nothing but the base arguments: the base config rebuilds it.
    assert model.get_config() == {"name": model.name, "trainable": True, "dtype": "float32"}


class Residual(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.a = layers.Dense(5, activation="relu")
        self.b = layers.Dense(3)

    def call(self, inputs):
        return self.b(self.a(inputs)) + inputs * 0.5


def test_subclassed_model_called_on_an_input_nests_in_a_functional_model():
    inner = Residual()
    x = keras.Input(shape=(3,))
    outer = keras.Model(x, layers.Dense(2)(inner(x)))
    assert outer.outputs[0].shape == (None, 2) and len(outer.weights) == 6
    data = rng.normal(size=(4, 3))
    (got,) = outputs_checking_gradients(outer, [data])
    (k0, b0), (k1, b1) = inner.a.get_weights(), inner.b.get_weights()
    k2, b2 = outer.layers[-1].get_weights()
    h = np.maximum(data @ k0 + b0, 0) @ k1 + b1 + data * 0.5
    np.testing.assert_allclose(got, h @ k2 + b2, rtol=1e-10)


class Reconstruction(layers.Layer):
    """The VAE pattern: the layer adds its loss; compile() takes none."""

    def call(self, inputs):
        x, decoded = inputs
        self.add_loss(K.mean(K.sum(K.square(x - decoded), axis=-1)))
        return decoded


def test_add_loss_is_minimised_without_a_compiled_loss():
    x = keras.Input(shape=(4,))
    dense = layers.Dense(4)
    model = keras.Model(x, Reconstruction()([x, dense(x)]))
    model.compile("adam")
    data = rng.normal(size=(64, 4)).astype("float32")
    k, b = dense.get_weights()
    expected = ((data - (data @ k + b)) ** 2).sum(1).mean()
    assert model.evaluate(data, verbose=0) == pytest.approx(expected, rel=1e-5)
    history = model.fit(data, epochs=10, batch_size=16, verbose=0).history
    assert list(history) == ["loss"] and history["loss"][-1] < history["loss"][0]
    with pytest.raises(ValueError, match="y=None"):
        model.fit(data, data, verbose=0)
    # With a compiled loss too, History's loss is the sum (as Keras 3).
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    k, b = dense.get_weights()
    pred = data @ k + b
    added = ((data - pred) ** 2).sum(1).mean()
    got = model.evaluate(data, np.zeros_like(data), verbose=0)
    assert got == pytest.approx(added + (pred ** 2).mean(), rel=1e-5)


def test_no_loss_and_no_added_loss_is_refused():
    x = keras.Input(shape=(2,))
    model = keras.Model(x, layers.Dense(1)(x))
    model.compile("sgd")
    with pytest.raises(ValueError, match="no loss"):
        model.fit(np.ones((4, 2)), verbose=0)


def test_inputs_missing_or_with_an_extra_trailing_axis_of_one_are_adjusted():
    x = keras.Input(shape=(4, 1))
    model = keras.Model(x, layers.Dense(2)(layers.Flatten()(x)))
    data = rng.normal(size=(3, 4)).astype("float32")
    want = model.predict(data[..., None], verbose=0)
    np.testing.assert_allclose(model.predict(data, verbose=0), want)
    y = keras.Input(shape=(4,))
    flat = keras.Model(y, layers.Dense(2)(y))
    np.testing.assert_allclose(flat.predict(data[..., None], verbose=0),
                               flat.predict(data, verbose=0))
    with pytest.raises(ValueError, match="expected arrays of shape"):
        model.predict(data[..., None, None, None], verbose=0)  # two axes too many


@keras.saving.register_keras_serializable(package="fnjit_test")
class Tower(keras.Model):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.first = layers.Dense(units)
        self.rest = [layers.Dense(2), layers.Dense(2)]

    def call(self, inputs):
        return self.rest[1](K.relu(self.rest[0](K.relu(self.first(inputs)))))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_subclassed_model_saves_as_keras_3_lays_it_out(tmp_path):
    import h5py

    model = Tower(5)
    data = rng.normal(size=(3, 6)).astype("float32")
    want = model(data)
    model.save(tmp_path / "t.keras")
    with zipfile.ZipFile(tmp_path / "t.keras") as z:
        config = json.loads(z.read("config.json"))
        z.extract("model.weights.h5", tmp_path)
    assert config["class_name"] == "Tower" and config["config"]["units"] == 5
    assert config["registered_name"] == "fnjit_test>Tower"
    assert config["build_config"] == {"input_shape": [None, 6]}
    with h5py.File(tmp_path / "model.weights.h5") as f:  # attribute names, as Keras 3
        assert {"first/vars/0", "rest/dense/vars/1", "rest/dense_1/vars/0"} <= \
            {name for name in _h5_names(f)}
    loaded = keras.models.load_model(tmp_path / "t.keras")
    assert isinstance(loaded, Tower) and loaded.units == 5
    np.testing.assert_allclose(loaded.predict(data, verbose=0), want, rtol=1e-6)
    with pytest.raises(NotImplementedError, match="get_config"):
        Unsaveable(3).get_config()


class Unsaveable(keras.Model):
    def __init__(self, units):
        super().__init__()
        self.units = units
        self.dense = layers.Dense(units)

    def call(self, inputs):
        return self.dense(inputs)


def _h5_names(f):
    names = []
    f.visit(names.append)
    return names


def test_a_layer_called_on_arrays_runs_eagerly_as_in_the_keras_guide():
    class Linear(layers.Layer):  # "Making new layers and models via subclassing", first example
        def __init__(self, units=32, input_dim=32):
            super().__init__()
            self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal")
            self.b = self.add_weight(shape=(units,), initializer="zeros")

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

    x = ops.ones((2, 2))
    layer = Linear(4, 2)
    layer.b.assign(np.arange(4.0))
    np.testing.assert_allclose(layer(x), x @ layer.w.numpy() + np.arange(4.0), rtol=1e-6)
    assert layer.weights == [layer.w, layer.b] and not layer._inbound_nodes

    class ComputeSum(layers.Layer):  # state updated in call: refused, naming the weight
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(initializer="zeros", shape=(input_dim,),
                                         trainable=False)

        def call(self, inputs):
            self.total.assign_add(ops.sum(inputs, axis=0))
            return self.total

    with pytest.raises(UnsupportedOperation, match="compute_sum/variable.*assign"):
        ComputeSum(2)(x)
    layer.b.assign_add(np.ones(4))  # outside call: eager
    np.testing.assert_array_equal(layer.b.numpy(), np.arange(4.0) + 1)


def test_keras_3_sampling_layer_draws_fresh_noise_every_step():
    class Sampling(layers.Layer):  # Keras 3's VAE example
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(1337)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            batch, dim = ops.shape(z_mean)[0], ops.shape(z_mean)[1]
            epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
            return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    mean, log_var = keras.Input(shape=(500,)), keras.Input(shape=(500,))
    model = keras.Model([mean, log_var], Sampling()([mean, log_var]))
    m, v = np.full((8, 500), 2.0, "float32"), np.full((8, 500), np.log(9.0), "float32")
    first, second = model.predict([m, v], verbose=0), model.predict([m, v], verbose=0)
    assert first.mean() == pytest.approx(2.0, abs=0.1) and first.std() == pytest.approx(3, 0.05)
    assert not np.array_equal(first, second)
    eager = keras.random.normal((2, 3), seed=keras.random.SeedGenerator(1))
    assert eager.shape == (2, 3) and eager.dtype == np.float32
    np.testing.assert_array_equal(keras.random.uniform((4,), seed=3),
                                  keras.random.uniform((4,), seed=3))


def test_training_false_on_a_sublayer_call_inside_call_is_honoured():
    class Frozen(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.drop = layers.Dropout(0.9)
            self.head = layers.Dense(1, kernel_initializer="ones")

        def call(self, inputs, training=None):
            return self.head(self.drop(inputs, training=False))

    model = Frozen()
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    data, target = rng.normal(size=(16, 3)), np.zeros((16, 1))
    loss = model.train_on_batch(data, target)  # training step, dropout forced off
    assert loss == pytest.approx(((data.sum(1)) ** 2).mean(), rel=1e-5)
    assert model.evaluate(data, target, verbose=0) == pytest.approx(loss, rel=1e-6)
