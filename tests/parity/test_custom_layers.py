"""Custom layers and subclassed models, the same code in both libraries: from identical weights
the same outputs and the same losses over three SGD steps; `.keras` files of each load in the
other (custom_objects passed) with the same predictions and weights."""

import numpy as np
import pytest

pytest.importorskip("keras")
pytest.importorskip("h5py")
pytestmark = pytest.mark.parity

from parity_harness import OUTPUT_RTOL, close, keras  # noqa: E402

import fnjit  # noqa: E402


def classes(lib):
    """A custom layer (own weights, a sublayer, add_loss) and a subclassed model, written once
    against `lib` (keras or fnjit)."""
    ops, layers = lib.ops, lib.layers

    class Gated(layers.Layer):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.proj = layers.Dense(units)

        def build(self, input_shape):
            self.gate = self.add_weight(shape=(input_shape[-1], self.units),
                                        initializer="glorot_uniform", name="gate")
            self.scale = self.add_weight(shape=(self.units,), initializer="ones", name="scale")

        def call(self, inputs):
            g = ops.sigmoid(ops.matmul(inputs, self.gate))
            out = self.proj(inputs) * g * self.scale
            self.add_loss(0.01 * ops.mean(ops.square(out)))
            return out

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    class Net(lib.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.body = [Gated(4), layers.Dense(4, activation="tanh")]
            self.head = layers.Dense(2)

        def call(self, inputs):
            x = inputs
            for layer in self.body:
                x = layer(x)
            return self.head(x[:, :3])

    return Gated, Net


def _same_weights(fmodel, kmodel, seed=1):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(scale=0.5, size=w.shape).astype("float32")
               for w in kmodel.get_weights()]
    kmodel.set_weights(weights)
    fmodel.set_weights(weights)


def test_custom_layer_and_subclassed_model_train_as_in_keras():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 5)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")
    models = []
    for lib in (fnjit, keras):
        _, Net = classes(lib)
        model = Net()
        model(x[:1])  # built on data
        models.append(model)
    fmodel, kmodel = models
    assert [w.shape for w in fmodel.get_weights()] == [w.shape for w in kmodel.get_weights()]
    _same_weights(fmodel, kmodel)
    close(fmodel.predict(x, verbose=0), kmodel.predict(x, verbose=0), OUTPUT_RTOL, "predict")
    for model, lib in ((fmodel, fnjit), (kmodel, keras)):
        model.compile(lib.optimizers.SGD(learning_rate=0.1), "mse")
    for step in range(3):
        ours, theirs = fmodel.train_on_batch(x, y), kmodel.train_on_batch(x, y)
        close(np.float64(ours), np.float64(theirs), OUTPUT_RTOL, f"loss at step {step}")
    for got, want in zip(fmodel.get_weights(), kmodel.get_weights()):
        close(got, want, 1e-4, "weights after three steps")


def test_custom_layer_files_load_across_libraries(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 5)).astype("float32")
    built = []
    for lib in (fnjit, keras):
        Gated, _ = classes(lib)
        inputs = lib.Input((5,))
        built.append((lib, Gated, lib.Model(inputs, lib.layers.Dense(2)(Gated(3)(inputs)))))
    (_, fgated, fmodel), (_, kgated, kmodel) = built
    _same_weights(fmodel, kmodel)
    fmodel.save(tmp_path / "fnjit.keras")
    kmodel.save(tmp_path / "keras.keras")
    theirs = keras.models.load_model(tmp_path / "fnjit.keras", custom_objects={"Gated": kgated})
    ours = fnjit.models.load_model(tmp_path / "keras.keras", custom_objects={"Gated": fgated})
    want = kmodel.predict(x, verbose=0)
    close(theirs.predict(x, verbose=0), want, OUTPUT_RTOL, "Keras on fnjit's file")
    close(ours.predict(x, verbose=0), want, OUTPUT_RTOL, "fnjit on Keras' file")
    for got, expect in zip(ours.get_weights(), kmodel.get_weights()):
        np.testing.assert_array_equal(got, expect)
