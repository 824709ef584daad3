"""'Using Keras' (seed 004) examples with fnjit: the VGG-like convnet and sequence
classification with an LSTM, both Sequential models.

The guide feeds the convnet 100 random 100x100 RGB images with random labels for 10 epochs,
and leaves the LSTM's x_train undefined. Here the convnet is the guide's (7,998,250 weights)
and its data is 32 synthetic images whose class is a tinted colour channel plus noise, for 3
epochs; the LSTM reads sequences of word ids whose label says whether word 1 occurs.
tests/test_guides.py checks the models the `*_model` functions build.
Run:  python examples/sequential_convnet_lstm.py
"""

import numpy as np

import fnjit as keras
from fnjit.layers import LSTM, Conv2D, Dense, Dropout, Embedding, Flatten, MaxPooling2D
from fnjit.models import Sequential
from fnjit.optimizers import SGD


def vgg_like_convnet_model():
    """The guide's VGG-like convnet (7,998,250 weights)."""
    model = Sequential()
    # input: 100x100 images with 3 channels -> (100, 100, 3) tensors.
    # this applies 32 convolution filters of size 3x3 each.
    model.add(Conv2D(32, (3, 3), activation='relu', input_shape=(100, 100, 3)))
    model.add(Conv2D(32, (3, 3), activation='relu'))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))

    model.add(Conv2D(64, (3, 3), activation='relu'))
    model.add(Conv2D(64, (3, 3), activation='relu'))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))

    model.add(Flatten())
    model.add(Dense(256, activation='relu'))
    model.add(Dropout(0.5))
    model.add(Dense(10, activation='softmax'))
    return model


def lstm_classifier_model(max_features):
    """The guide's LSTM sequence classifier."""
    model = Sequential()
    # input_dim: Size of the vocabulary
    # output_dim: Dimension of the dense embedding.
    model.add(Embedding(input_dim=max_features, output_dim=256))
    # LSTM layer with 128 memory units/neurons.
    model.add(LSTM(128))
    model.add(Dropout(0.5))
    # Dense output layer with a single neuron.
    model.add(Dense(1, activation='sigmoid'))
    return model


def vgg_like_convnet():
    # Dummy data: class k (of 3) brightens colour channel k.
    rng = np.random.default_rng(0)
    classes = rng.integers(0, 3, 48)
    images = rng.random((48, 100, 100, 3)).astype("float32")
    images[np.arange(48), :, :, classes] += 0.5
    x_train, x_test = images[:32], images[32:]
    y_train = keras.utils.to_categorical(classes[:32], num_classes=10)
    y_test = keras.utils.to_categorical(classes[32:], num_classes=10)

    model = vgg_like_convnet_model()
    model.summary()

    sgd = SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    model.compile(loss='categorical_crossentropy', optimizer=sgd, metrics=['accuracy'])
    model.fit(x_train, y_train, batch_size=16, epochs=3, verbose=2)
    score = model.evaluate(x_test, y_test, batch_size=32, verbose=0)
    print(f"VGG-like convnet, held-out images: loss {score[0]:.3f}, accuracy {score[1]:.3f}\n")


def lstm_sequence_classification():
    max_features = 1024
    rng = np.random.default_rng(1)
    x = rng.integers(2, max_features, size=(640, 30))
    y = rng.random(640) < 0.5
    x[y, rng.integers(0, 30, y.sum())] = 1  # positive sequences contain word 1
    y = y.astype("float32").reshape(-1, 1)
    x_train, y_train, x_test, y_test = x[:512], y[:512], x[512:], y[512:]

    model = lstm_classifier_model(max_features)

    model.compile(loss='binary_crossentropy',
                  optimizer='rmsprop',
                  metrics=['accuracy'])

    model.fit(x_train, y_train, batch_size=16, epochs=3, verbose=2)
    score = model.evaluate(x_test, y_test, batch_size=16, verbose=0)
    model.summary()
    print(f"LSTM classifier, held-out sequences: loss {score[0]:.3f}, accuracy {score[1]:.3f}")


if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    vgg_like_convnet()
    lstm_sequence_classification()
