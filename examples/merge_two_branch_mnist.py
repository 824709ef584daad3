"""'Keras Functional API' notebook (seed 001) with fnjit: a two-branch network on MNIST-style
digits, the merge strategies, and a function as merge mode.

The notebook's MNIST is offline here: scikit-learn's real 8x8 digit scans, upsampled to 28x28 so
each branch takes the notebook's 784-wide input. The left branch sees the image, the right one
its transpose. Run:  python examples/merge_two_branch_mnist.py
"""

import numpy as np

import fnjit as keras
from fnjit import layers
from fnjit.layers import Dense, Input
from fnjit.layers.merge import concatenate
from fnjit.models import Model


def load_data():
    # let's load MNIST data as we did in the exercise on MNIST with FC Nets
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    idx = np.minimum((np.arange(28) * 8) // 28, 7)

    def views(x):
        x = (x / 16).astype("float32")
        return [x[:, idx][:, :, idx].reshape(-1, 784),
                x.transpose(0, 2, 1)[:, idx][:, :, idx].reshape(-1, 784)]

    return (views(x_train), keras.utils.to_categorical(y_train, 10)), \
        (views(x_test), keras.utils.to_categorical(y_test, 10))


def two_branch_model():
    """The notebook's two-branch network, uncompiled (tests/test_guides.py builds it here)."""
    left_input = Input(shape=(784, ), name='left_input')
    left_branch = Dense(32, input_dim=784, name='left_branch')(left_input)
    right_input = Input(shape=(784,), name='right_input')
    right_branch = Dense(32, input_dim=784, name='right_branch')(right_input)
    x = concatenate([left_branch, right_branch])
    predictions = Dense(10, activation='softmax', name='main_output')(x)
    return Model(inputs=[left_input, right_input], outputs=predictions)


def two_branch_network():
    model = two_branch_model()
    model.summary()

    (train_views, targets), (test_views, test_targets) = load_data()
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
    model.fit(train_views, targets, epochs=5, verbose=2)  # one data array per model input
    # `evaluate` the model on test data
    loss, acc = model.evaluate(test_views, test_targets, verbose=0)
    print(f"two-branch network, held-out digits: accuracy {acc:.3f}\n")


def merge_strategies():
    """Each merge layer on the same two branches (their shapes and the number of weights)."""
    a = Input(shape=(16,))
    b = Input(shape=(16,))
    left, right = Dense(8)(a), Dense(8)(b)
    for merge in (layers.add, layers.concatenate, layers.multiply, layers.average,
                  layers.maximum):
        print(f"{merge.__name__:12s} -> {merge([left, right]).shape}")
    print(f"{'dot':12s} -> {layers.dot([left, right], axes=1).shape}")
    cosine = layers.dot([left, right], axes=1, normalize=True)  # cosine proximity
    print(f"{'dot, normalize=True':12s} -> {cosine.shape}\n")


def function_as_merge_mode():
    from fnjit.layers import Merge

    left_input = Input(shape=(784,), name='left_input')
    left_branch = Dense(32, name='left_branch')(left_input)
    right_input = Input(shape=(784,), name='right_input')
    right_branch = Dense(32, name='right_branch')(right_input)
    merged = Merge([left_branch, right_branch], mode=lambda x: x[0] - x[1])
    # A Merge layer built on tensors (Keras 1) is already connected: its output is the result.
    predictions = Dense(10, activation='softmax')(merged.output)
    model = Model([left_input, right_input], predictions)
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
    (train_views, targets), (test_views, test_targets) = load_data()
    model.fit(train_views, targets, epochs=3, verbose=0)
    loss, acc = model.evaluate(test_views, test_targets, verbose=0)
    print(f"Merge(mode=lambda x: x[0] - x[1]): held-out accuracy {acc:.3f}")


if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    two_branch_network()
    merge_strategies()
    function_as_merge_mode()
