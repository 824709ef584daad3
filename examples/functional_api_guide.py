"""'Getting started with the Keras functional API' (seeds 000, 001 and 003 in Keras 2 form),
with fnjit in place of keras. Run:  python examples/functional_api_guide.py

    first example        Input -> Dense(64) -> Dense(64) -> Dense(10, softmax), trained on real
                         handwritten digits (scikit-learn's 8x8 scans, upsampled to 28x28)
    models are callable  the trained model called on a new Input, and on every step of a
                         sequence with TimeDistributed
    headline model       two inputs, two outputs, loss_weights, lists or dicts by name
    shared LSTM          one LSTM encodes two tweets; the concept of layer "node"

The guide's data (headlines, tweets) is not given; where it is missing this uses small
synthetic data whose labels can be learned, and prints what the model learned.
"""

import numpy as np

import fnjit as keras
from fnjit.layers import LSTM, Conv2D, Dense, Embedding, Input, TimeDistributed
from fnjit.models import Model


def digits_784():
    """Real handwritten digits as the guide's 784-wide vectors, one-hot labels."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    idx = np.minimum((np.arange(28) * 8) // 28, 7)  # nearest-neighbour 8x8 -> 28x28

    def prepare(x, y):
        return (x[:, idx][:, :, idx].reshape(len(x), 784) / 16).astype("float32"), \
            keras.utils.to_categorical(y, 10)

    return prepare(x_train, y_train), prepare(x_test, y_test)


def first_example():
    (data, labels), (test_data, test_labels) = digits_784()

    # This returns a tensor
    inputs = Input(shape=(784,))
    # a layer instance is callable on a tensor, and returns a tensor
    x = Dense(64, activation='relu')(inputs)
    x = Dense(64, activation='relu')(x)
    predictions = Dense(10, activation='softmax')(x)
    # This creates a model that includes the Input layer and three Dense layers
    model = Model(inputs=inputs, outputs=predictions)
    model.compile(optimizer='rmsprop',
                  loss='categorical_crossentropy',
                  metrics=['accuracy'])
    model.fit(data, labels, epochs=5, verbose=2)  # starts training
    loss, acc = model.evaluate(test_data, test_labels, verbose=0)
    print(f"held-out digits: accuracy {acc:.3f}\n")

    # All models are callable, just like layers: this reuses the trained weights.
    x = Input(shape=(784,))
    y = model(x)
    same = Model(x, y).predict(test_data[:5], verbose=0).argmax(-1)
    print("the model called on a new Input predicts", same, "for digits",
          test_labels[:5].argmax(-1))

    # Sequences of 20 timesteps, each a 784-dimensional vector: the model on every step.
    input_sequences = Input(shape=(20, 784))
    processed_sequences = TimeDistributed(model)(input_sequences)
    print("TimeDistributed(model) output:", processed_sequences.shape)
    video = Model(input_sequences, processed_sequences)
    frames = test_data[:40].reshape(2, 20, 784)
    print("per-step predictions of the first sequence:",
          video.predict(frames, verbose=0)[0].argmax(-1), "\n")


def headline_network():
    """The guide's headline model, uncompiled (tests/test_guides.py and tests/test_golden.py
    build it from here)."""
    # Headline input: meant to receive sequences of 100 integers, between 1 and 10000.
    # Note that we can name any layer by passing it a "name" argument.
    main_input = Input(shape=(100,), dtype='int32', name='main_input')
    # This embedding layer will encode the input sequence
    # into a sequence of dense 512-dimensional vectors.
    x = Embedding(output_dim=512, input_dim=10000, input_length=100)(main_input)
    # A LSTM will transform the vector sequence into a single vector,
    # containing information about the entire sequence
    lstm_out = LSTM(32)(x)
    auxiliary_output = Dense(1, activation='sigmoid', name='aux_output')(lstm_out)
    auxiliary_input = Input(shape=(5,), name='aux_input')
    x = keras.layers.concatenate([lstm_out, auxiliary_input])
    # We stack a deep densely-connected network on top
    x = Dense(64, activation='relu')(x)
    x = Dense(64, activation='relu')(x)
    x = Dense(64, activation='relu')(x)
    # And finally we add the main logistic regression layer
    main_output = Dense(1, activation='sigmoid', name='main_output')(x)
    return Model(inputs=[main_input, auxiliary_input], outputs=[main_output, auxiliary_output])


def headline_model():
    model = headline_network()
    model.summary()

    # Synthetic data: a headline does well when it is posted in the second half of the day
    # (the first auxiliary feature). Only the main output sees that input.
    rng = np.random.default_rng(0)
    headline_data = rng.integers(1, 10000, size=(256, 100))
    additional_data = rng.random((256, 5)).astype("float32")
    labels = (additional_data[:, :1] > 0.5).astype("float32")

    model.compile(optimizer='rmsprop', loss='binary_crossentropy', loss_weights=[1., 0.2])
    model.fit([headline_data, additional_data], [labels, labels], epochs=4, batch_size=32,
              verbose=2)
    # Since our inputs and outputs are named, we could also have compiled the model via:
    model.compile(optimizer='rmsprop',
                  loss={'main_output': 'binary_crossentropy',
                        'aux_output': 'binary_crossentropy'},
                  loss_weights={'main_output': 1., 'aux_output': 0.2})
    # And trained it via:
    model.fit({'main_input': headline_data, 'aux_input': additional_data},
              {'main_output': labels, 'aux_output': labels},
              epochs=4, batch_size=32, verbose=2)
    main, aux = model.predict([headline_data, additional_data], verbose=0)
    print(f"accuracy of the main output {np.mean((main > 0.5) == labels):.3f}; of the "
          f"auxiliary output, which sees only the headline, {np.mean((aux > 0.5) == labels):.3f}"
          "\n")


def shared_lstm_network():
    """The guide's shared LSTM over two tweets, uncompiled (built from here by the tests)."""
    tweet_a = Input(shape=(280, 256))
    tweet_b = Input(shape=(280, 256))
    # This layer can take as input a matrix and will return a vector of size 64
    shared_lstm = LSTM(64)
    # When we reuse the same layer instance multiple times, the weights of the layer
    # are also being reused (it is effectively *the same* layer)
    encoded_a = shared_lstm(tweet_a)
    encoded_b = shared_lstm(tweet_b)
    # We can then concatenate the two vectors:
    merged_vector = keras.layers.concatenate([encoded_a, encoded_b], axis=-1)
    # And add a logistic regression on top
    predictions = Dense(1, activation='sigmoid')(merged_vector)
    # We define a trainable model linking the tweet inputs to the predictions
    return Model(inputs=[tweet_a, tweet_b], outputs=predictions)


def shared_lstm():
    model = shared_lstm_network()
    model.compile(optimizer='rmsprop',
                  loss='binary_crossentropy',
                  metrics=['accuracy'])
    print(f"shared LSTM model: {model.count_params():,} parameters (one LSTM's)")

    # Synthetic tweets: one-hot characters; two tweets "share an author" when they end with
    # the same character.
    rng = np.random.default_rng(1)
    n = 64
    chars_a = rng.integers(0, 256, size=(n, 280))
    chars_b = rng.integers(0, 256, size=(n, 280))
    labels = (rng.random(n) < 0.5)
    chars_b[labels, -1] = chars_a[labels, -1]
    data_a = keras.utils.to_categorical(chars_a, 256)
    data_b = keras.utils.to_categorical(chars_b, 256)
    labels = labels.astype("float32").reshape(-1, 1)
    model.fit([data_a, data_b], labels, epochs=3, batch_size=32, verbose=2)
    print()


def layer_nodes():
    a = Input(shape=(280, 256))
    lstm = LSTM(32)
    encoded_a = lstm(a)
    assert lstm.output == encoded_a

    a = Input(shape=(280, 256))
    b = Input(shape=(280, 256))
    lstm = LSTM(32)
    encoded_a = lstm(a)
    encoded_b = lstm(b)
    try:
        lstm.output  # noqa: B018 (the guide reads the property to show the error)
    except AttributeError as e:
        print("lstm.output >> AttributeError:", e)
    assert lstm.get_output_at(0) == encoded_a
    assert lstm.get_output_at(1) == encoded_b

    a = Input(shape=(32, 32, 3))
    b = Input(shape=(64, 64, 3))
    conv = Conv2D(16, (3, 3), padding='same')
    conv(a)
    # Only one input so far, the following will work:
    assert conv.input_shape == (None, 32, 32, 3)
    conv(b)
    # now the `.input_shape` property wouldn't work, but this does:
    assert conv.get_input_shape_at(0) == (None, 32, 32, 3)
    assert conv.get_input_shape_at(1) == (None, 64, 64, 3)
    print("conv.get_input_shape_at(0), (1):", conv.get_input_shape_at(0),
          conv.get_input_shape_at(1))


if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    first_example()
    headline_model()
    shared_lstm()
    layer_nodes()
