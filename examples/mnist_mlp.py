"""The functional API guide's first example, a densely-connected network, trained on real data.

    Input(784) -> Dense(64, relu) -> Dense(64, relu) -> Dense(10, softmax), RMSprop.

The guide's model takes 28x28 MNIST digits; offline, this uses the 8x8 handwritten digits that
scikit-learn ships (1,797 real scans), upsampled to 28x28 so that the model is exactly the
guide's. Run:  python examples/mnist_mlp.py   then see the generated code with
    fnjit dump examples/mnist_mlp.py:model
"""

import time

import numpy as np

import fnjit as keras
from fnjit.layers import Dense, Input
from fnjit.models import Model


def load_digits_28x28():
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images / 16.0  # 8x8, values 0..1
    # Nearest-neighbour upsampling 8x8 -> 28x28 (index map), so the input is 784 wide.
    idx = np.minimum((np.arange(28) * 8) // 28, 7)
    big = images[:, idx][:, :, idx]
    return big.reshape(len(big), 784).astype("float32"), digits.target


def build():
    inputs = Input(shape=(784,))
    x = Dense(64, activation="relu")(inputs)
    x = Dense(64, activation="relu")(x)
    predictions = Dense(10, activation="softmax")(x)
    model = Model(inputs=inputs, outputs=predictions)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


model = build()

if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    x, y = load_digits_28x28()
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], keras.utils.to_categorical(y[order], 10)
    x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]

    model.summary()
    start = time.perf_counter()
    model.train_on_batch(x_train[:32], y_train[:32])  # first step: compiles (or loads cache)
    first = time.perf_counter() - start
    history = model.fit(x_train, y_train, epochs=10, batch_size=32, verbose=2)
    start = time.perf_counter()
    steps = 0
    for i in range(0, len(x_train) - 31, 32):
        model.train_on_batch(x_train[i:i + 32], y_train[i:i + 32])
        steps += 1
    per_step = (time.perf_counter() - start) / steps
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"\nfirst step (compile or cache load): {first:.2f} s")
    print(f"train_on_batch, batch 32: {per_step * 1e3:.3f} ms per step")
    print(f"test accuracy on {len(x_test)} held-out digits: {acc:.3f} (loss {loss:.3f})")
    print("generated code:  fnjit dump examples/mnist_mlp.py:model")
