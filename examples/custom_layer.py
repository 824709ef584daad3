"""Custom layers and a subclassed model, trained on real handwritten digits.

Written as Keras 3 code is: a `keras.layers.Layer` subclass with `build` (add_weight) and `call`
(keras.ops), a layer that adds its own loss (add_loss), and a `keras.Model` subclass holding
its layers as attributes. fnjit traces each `call` into the compiled program, so the custom
maths trains like any built-in layer. Data: the 8x8 digits scikit-learn ships (1,797 scans).
Run:  python examples/custom_layer.py
"""

import tempfile
import time
from pathlib import Path

import numpy as np

import fnjit as keras
from fnjit import layers, ops


@keras.saving.register_keras_serializable(package="examples")
class CosineDense(layers.Layer):
    """Dense on unit vectors: scale * cos(angle(x, w_j)), with a learned scale (as in
    cosine-softmax classifiers)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="glorot_uniform", name="kernel")
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale")

    def call(self, inputs):
        x = ops.l2_normalize(inputs, axis=-1)
        w = ops.l2_normalize(self.w, axis=0)
        return ops.matmul(x, w) * (10.0 * self.scale)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class ActivityPenalty(layers.Layer):
    """Passes its input on and adds a small L2 penalty on it to the training loss."""

    def __init__(self, rate=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.mean(ops.sum(ops.square(inputs), axis=-1)))
        return inputs


class DigitNet(keras.Model):
    """A subclassed model: layers as attributes, a list of blocks, a custom head."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.blocks = [layers.Dense(64, activation="relu"), layers.Dense(32, activation="relu")]
        self.penalty = ActivityPenalty()
        self.dropout = layers.Dropout(0.1)
        self.head = CosineDense(10)

    def call(self, inputs, training=None):
        x = inputs
        for block in self.blocks:
            x = block(x)
        x = self.dropout(self.penalty(x), training=training)
        return ops.softmax(self.head(x))


def load_digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")  # (n, 8, 8): the Input wants (8, 8, 1)
    order = np.random.default_rng(0).permutation(len(x))
    return x[order], digits.target[order]


def main():
    keras.utils.set_random_seed(1)
    x, y = load_digits()
    split = 1500
    (x_train, y_train), (x_test, y_test) = (x[:split], y[:split]), (x[split:], y[split:])

    # 1. A functional model around the custom layer; (n, 8, 8) data feeds Input((8, 8, 1)).
    inputs = keras.Input(shape=(8, 8, 1))
    h = layers.Dense(64, activation="relu")(layers.Flatten()(inputs))
    outputs = layers.Activation("softmax")(CosineDense(10, name="cosine")(h))
    model = keras.Model(inputs, outputs)
    model.summary()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=15, batch_size=32, verbose=0)
    _, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"functional model with CosineDense: test accuracy on {len(x_test)} held-out digits: "
          f"{acc:.3f} ({time.perf_counter() - start:.1f} s with compiling)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cosine.keras"
        model.save(path)
        reloaded = keras.models.load_model(path)  # CosineDense is registered
        same = np.allclose(reloaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0))
        print(f"saved and reloaded from .keras: same predictions: {same}")

    # 2. The subclassed model, built on its first data (flattened digits).
    net = DigitNet()
    net.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    history = net.fit(x_train.reshape(-1, 64), y_train, epochs=15, batch_size=32, verbose=0)
    _, acc = net.evaluate(x_test.reshape(-1, 64), y_test, verbose=0)
    net.summary()
    print(f"subclassed DigitNet: loss {history.history['loss'][0]:.3f} -> "
          f"{history.history['loss'][-1]:.3f} (with its activity penalty); test accuracy "
          f"{acc:.3f} ({time.perf_counter() - start:.1f} s with compiling)")
    assert acc > 0.85, acc


if __name__ == "__main__":
    main()
