"""'Using Keras' (seed 004) with fnjit: 30 seconds to Keras, the Sequential model, compilation
(a custom metric with the backend's K.mean), training on dummy data, an MLP with
SGD(lr, decay, momentum, nesterov), and the callbacks ModelCheckpoint and EarlyStopping.

The guide trains on np.random data with random labels, which nothing can learn; here the
labels are a simple function of the data (so the printed accuracy means something). The
VGG-like convnet and the LSTM classifier are in examples/sequential_convnet_lstm.py.
Run:  python examples/sequential_guide.py
"""

import tempfile
from pathlib import Path

import numpy as np

import fnjit as keras
import fnjit.backend as K
from fnjit.layers import Activation, Dense, Dropout
from fnjit.models import Sequential
from fnjit.optimizers import SGD


def thirty_seconds():
    rng = np.random.default_rng(0)
    x_train = rng.random((1000, 100)).astype("float32")
    y_train = keras.utils.to_categorical(np.argmax(x_train[:, :10], axis=1), 10)
    x_test, y_test = x_train[800:], y_train[800:]
    x_train, y_train = x_train[:800], y_train[:800]

    model = Sequential()
    model.add(Dense(units=64, activation='relu', input_dim=100))
    model.add(Dense(units=10, activation='softmax'))
    model.compile(loss='categorical_crossentropy',
                  optimizer='sgd',
                  metrics=['accuracy'])
    model.compile(loss=keras.losses.categorical_crossentropy,
                  optimizer=keras.optimizers.SGD(lr=0.01, momentum=0.9, nesterov=True),
                  metrics=['accuracy'])
    # x_train and y_train are Numpy arrays --just like in the Scikit-Learn API.
    model.fit(x_train, y_train, epochs=5, batch_size=32, verbose=2)
    # Alternatively, you can feed batches to your model manually:
    model.train_on_batch(x_train[:32], y_train[:32])
    # Evaluate your performance in one line:
    loss_and_metrics = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
    # Or generate predictions on new data:
    classes = model.predict(x_test, batch_size=128, verbose=0)
    print("loss and accuracy on held-out data:", np.round(loss_and_metrics, 3),
          " predictions:", classes.shape, "\n")


def sequential_model():
    model = Sequential([
        Dense(32, input_shape=(784,)),
        Activation('relu'),
        Dense(10),
        Activation('softmax'),
    ])
    model.summary()
    # You can also simply add layers via the .add() method; these are strictly equivalent:
    for first in (Dense(32, input_dim=784), Dense(32, input_shape=(784,))):
        model = Sequential()
        model.add(first)
        model.add(Activation('relu'))
        print(f"{model.count_params():,} parameters")
    print()


def compilation_and_training():
    def mean_pred(y_true, y_pred):
        return K.mean(y_pred)

    # For a single-input model with 2 classes (binary classification):
    model = Sequential()
    model.add(Dense(32, activation='relu', input_dim=100))
    model.add(Dense(1, activation='sigmoid'))
    # For custom metrics
    model.compile(optimizer='rmsprop',
                  loss='binary_crossentropy',
                  metrics=['accuracy', mean_pred])
    # Generate dummy data (labels: is the sum of the first three features above 1.5?)
    data = np.random.random((1000, 100))
    labels = (data[:, :3].sum(axis=1, keepdims=True) > 1.5).astype(int)
    # Train the model, iterating on the data in batches of 32 samples
    model.fit(data, labels, epochs=10, batch_size=32, verbose=2)

    # For a single-input model with 10 classes (categorical classification):
    model = Sequential()
    model.add(Dense(32, activation='relu', input_dim=100))
    model.add(Dense(10, activation='softmax'))
    model.compile(optimizer='rmsprop',
                  loss='categorical_crossentropy',
                  metrics=['accuracy'])
    # Generate dummy data (label: the largest of the first ten features)
    data = np.random.random((1000, 100))
    labels = np.argmax(data[:, :10], axis=1).reshape(1000, 1)
    # Convert labels to categorical one-hot encoding
    one_hot_labels = keras.utils.to_categorical(labels, num_classes=10)
    # Train the model, iterating on the data in batches of 32 samples
    model.fit(data, one_hot_labels, epochs=10, batch_size=32, verbose=2)
    print()


def mlp_softmax_model():
    """The guide's MLP for multi-class softmax classification (tests/test_guides.py builds it
    here)."""
    model = Sequential()
    # Dense(64) is a fully-connected layer with 64 hidden units.
    # in the first layer, you must specify the expected input data shape:
    # here, 20-dimensional vectors.
    model.add(Dense(64, activation='relu', input_dim=20))
    model.add(Dropout(0.5))
    model.add(Dense(64, activation='relu'))
    model.add(Dropout(0.5))
    model.add(Dense(10, activation='softmax'))
    return model


def mlp_softmax():
    # Generate dummy data (label: the largest of the first ten features)
    x_train = np.random.random((1000, 20))
    y_train = keras.utils.to_categorical(np.argmax(x_train[:, :10], axis=1), num_classes=10)
    x_test = np.random.random((100, 20))
    y_test = keras.utils.to_categorical(np.argmax(x_test[:, :10], axis=1), num_classes=10)

    model = mlp_softmax_model()
    sgd = SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    model.compile(loss='categorical_crossentropy',
                  optimizer=sgd,
                  metrics=['accuracy'])
    model.fit(x_train, y_train,
              epochs=20,
              batch_size=128, verbose=0)
    score = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
    print(f"MLP with SGD(nesterov): held-out loss {score[0]:.3f}, accuracy {score[1]:.3f}\n")


def callbacks():
    model = Sequential()
    model.add(Dense(32, activation='relu', input_dim=100))
    model.add(Dense(1, activation='sigmoid'))
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['accuracy'])
    data = np.random.random((1000, 100))
    labels = (data[:, :3].sum(axis=1, keepdims=True) > 1.5).astype(int)

    folder = Path(tempfile.mkdtemp(prefix="fnjit_checkpoints_"))
    filepath = str(folder / "weights.{epoch:02d}-{val_loss:.2f}.weights.h5")
    checkpoint = keras.callbacks.ModelCheckpoint(filepath, monitor='val_loss', verbose=0,
                                                 save_best_only=False, save_weights_only=True,
                                                 mode='auto', period=1)
    stopping = keras.callbacks.EarlyStopping(monitor='val_loss', min_delta=0.01, patience=2,
                                             verbose=1, mode='auto', baseline=None)
    history = model.fit(data, labels, epochs=100, batch_size=32, validation_split=0.2,
                        callbacks=[checkpoint, stopping], verbose=0)
    print(f"EarlyStopping ended training after {len(history.history['loss'])} of 100 epochs; "
          f"ModelCheckpoint wrote {len(list(folder.iterdir()))} files to {folder}, e.g. "
          f"{sorted(p.name for p in folder.iterdir())[-1]}")


if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    thirty_seconds()
    sequential_model()
    compilation_and_training()
    mlp_softmax()
    callbacks()
