"""The Keras 1 functional API guide (seed 003), run as written with fnjit: Model(input=,
output=), merge([...], mode='concat' / 'sum'), Convolution2D(64, 3, 3, border_mode='same'),
fit(nb_epoch=), TimeDistributed(model). fnjit warns once per Keras 1 spelling and runs it.

The guide's images are (channels, rows, cols), Keras 1's 'th' ordering: this program sets
fnjit.backend.set_image_data_format('channels_first') (the keras.json `image_dim_ordering: th`
of the time). Run:  python examples/keras1_functional_guide.py [--full]

    shared vision model   one vision model on two real digits (scikit-learn's 8x8 scans,
                          upsampled to the guide's 27x27); its head adds a score per image,
                          so it learns "do the digits sum to more than 9?" (not "same digit")
    inception module      at the guide's 3x256x256 (shapes and weights)
    residual connection   (the guide merges the layer object; the call `(x)` is added here)
    visual / video QA     the vision model on every frame of a video; with --full at the
                          guide's 224x224 and 100 frames (about 335 million weights, 1.4 GB),
                          by default at 64x64 and 8 frames
"""

import sys
import warnings

import numpy as np

import fnjit as keras
from fnjit import backend as K
from fnjit.layers import (
    LSTM,
    Convolution2D,
    Dense,
    Embedding,
    Flatten,
    Input,
    MaxPooling2D,
    TimeDistributed,
    merge,
)
from fnjit.models import Model, Sequential


def first_example():
    rng = np.random.default_rng(0)
    data = rng.random((512, 784)).astype("float32")
    labels = keras.utils.to_categorical(np.argmax(data[:, :10], axis=1), 10)

    # this returns a tensor
    inputs = Input(shape=(784,))
    # a layer instance is callable on a tensor, and returns a tensor
    x = Dense(64, activation='relu')(inputs)
    x = Dense(64, activation='relu')(x)
    predictions = Dense(10, activation='softmax')(x)
    # this creates a model that includes the Input layer and three Dense layers
    model = Model(input=inputs, output=predictions)
    model.compile(optimizer='rmsprop',
                  loss='categorical_crossentropy',
                  metrics=['accuracy'])
    model.fit(data, labels, nb_epoch=5, verbose=2)  # starts training

    # input tensor for sequences of 20 timesteps, each containing a 784-dimensional vector
    input_sequences = Input(shape=(20, 784))
    # this applies our previous model to every timestep in the input sequences.
    processed_sequences = TimeDistributed(model)(input_sequences)
    print("TimeDistributed(model):", input_sequences.shape, "->", processed_sequences.shape,
          "\n")


def headline_network():
    """The guide's headline model (merge, Model(input=, output=)), uncompiled; the builders
    here are what tests/test_guides.py checks."""
    main_input = Input(shape=(100,), dtype='int32', name='main_input')
    x = Embedding(output_dim=512, input_dim=10000, input_length=100)(main_input)
    lstm_out = LSTM(32)(x)
    auxiliary_loss = Dense(1, activation='sigmoid', name='aux_output')(lstm_out)
    auxiliary_input = Input(shape=(5,), name='aux_input')
    x = merge([lstm_out, auxiliary_input], mode='concat')
    # we stack a deep fully-connected network on top
    x = Dense(64, activation='relu')(x)
    x = Dense(64, activation='relu')(x)
    x = Dense(64, activation='relu')(x)
    # and finally we add the main logistic regression layer
    main_loss = Dense(1, activation='sigmoid', name='main_output')(x)
    return Model(input=[main_input, auxiliary_input], output=[main_loss, auxiliary_loss])


def shared_lstm_network():
    """Two tweets through one LSTM (its weights counted once), uncompiled."""
    tweet_a = Input(shape=(140, 256))
    tweet_b = Input(shape=(140, 256))
    shared_lstm = LSTM(64)
    encoded_a = shared_lstm(tweet_a)
    encoded_b = shared_lstm(tweet_b)
    merged_vector = merge([encoded_a, encoded_b], mode='concat', concat_axis=-1)
    predictions = Dense(1, activation='sigmoid')(merged_vector)
    return Model(input=[tweet_a, tweet_b], output=predictions)


def headline_and_shared_lstm():
    model = headline_network()
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', loss_weights=[1., 0.2])
    rng = np.random.default_rng(0)
    headline_data = rng.integers(1, 10000, size=(128, 100))
    additional_data = rng.random((128, 5)).astype("float32")
    labels = (additional_data[:, :1] > 0.5).astype("float32")
    model.fit({'main_input': headline_data, 'aux_input': additional_data},
              {'main_output': labels, 'aux_output': labels}, nb_epoch=3, batch_size=32,
              verbose=2)

    model = shared_lstm_network()
    print(f"shared LSTM on two tweets: {model.count_params():,} parameters\n")

    # The concept of layer "node", with the Keras 1 convolution.
    a = Input(shape=(3, 32, 32))
    b = Input(shape=(3, 64, 64))
    conv = Convolution2D(16, 3, 3, border_mode='same')
    conv(a)
    assert conv.input_shape == (None, 3, 32, 32)
    conv(b)
    assert conv.get_input_shape_at(0) == (None, 3, 32, 32)
    assert conv.get_input_shape_at(1) == (None, 3, 64, 64)


def inception_module(size=256):
    """The inception module on (3, size, size) images: (input, output) tensors."""
    input_img = Input(shape=(3, size, size))
    tower_1 = Convolution2D(64, 1, 1, border_mode='same', activation='relu')(input_img)
    tower_1 = Convolution2D(64, 3, 3, border_mode='same', activation='relu')(tower_1)
    tower_2 = Convolution2D(64, 1, 1, border_mode='same', activation='relu')(input_img)
    tower_2 = Convolution2D(64, 5, 5, border_mode='same', activation='relu')(tower_2)
    tower_3 = MaxPooling2D((3, 3), strides=(1, 1), border_mode='same')(input_img)
    tower_3 = Convolution2D(64, 1, 1, border_mode='same', activation='relu')(tower_3)
    output = merge([tower_1, tower_2, tower_3], mode='concat', concat_axis=1)
    return input_img, output


def inception_and_residual():
    input_img, output = inception_module()
    model = Model(input_img, output)
    print(f"inception module: {input_img.shape} -> {output.shape}, "
          f"{model.count_params():,} parameters")

    # input tensor for a 3-channel 256x256 image
    x = Input(shape=(3, 256, 256))
    # 3x3 conv with 3 output channels (same as input channels); the guide omits the `(x)`
    y = Convolution2D(3, 3, 3, border_mode='same')(x)
    # this returns x + y.
    z = merge([x, y], mode='sum')
    print(f"residual connection: {x.shape} -> {z.shape}\n")


def shared_vision_network():
    """One vision model applied to two digits: (vision_model, classification_model),
    uncompiled."""
    # first, define the vision modules
    digit_input = Input(shape=(1, 27, 27))
    x = Convolution2D(64, 3, 3)(digit_input)
    x = Convolution2D(64, 3, 3)(x)
    x = MaxPooling2D((2, 2))(x)
    out = Flatten()(x)
    vision_model = Model(digit_input, out)

    # then define the tell-digits-apart model
    digit_a = Input(shape=(1, 27, 27))
    digit_b = Input(shape=(1, 27, 27))
    # the vision model will be shared, weights and all
    out_a = vision_model(digit_a)
    out_b = vision_model(digit_b)
    concatenated = merge([out_a, out_b], mode='concat')
    out = Dense(1, activation='sigmoid')(concatenated)
    return vision_model, Model([digit_a, digit_b], out)


def shared_vision_model():
    _, classification_model = shared_vision_network()
    classification_model.summary()

    # The head adds one score per image (logit = u(a) + v(b)), so it cannot represent "the same
    # digit" (an interaction between the two). Trained on that, it stays at chance. A question
    # it can answer: is the sum of the two digits above 9? Real digit pairs, 8x8 scans
    # upsampled to the guide's 27x27.
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    idx = np.minimum((np.arange(27) * 8) // 27, 7)

    def pairs(x, y, n, seed):
        rng = np.random.default_rng(seed)
        images = (x[:, idx][:, :, idx] / 16).astype("float32")[:, None]
        a, b = rng.integers(0, len(x), n), rng.integers(0, len(x), n)
        return [images[a], images[b]], \
            (y[a].astype(int) + y[b] > 9).astype("float32").reshape(-1, 1)

    train_pairs, train_big = pairs(x_train, y_train, 320, 0)
    test_pairs, test_big = pairs(x_test, y_test, 200, 1)
    classification_model.compile(optimizer='rmsprop', loss='binary_crossentropy',
                                 metrics=['accuracy'])
    classification_model.fit(train_pairs, train_big, nb_epoch=3, batch_size=32, verbose=2)
    loss, acc = classification_model.evaluate(test_pairs, test_big, verbose=0)
    print(f"do the two digits sum to more than 9? held-out pairs: accuracy {acc:.3f} "
          f"(base rate {max(test_big.mean(), 1 - test_big.mean()):.3f})\n")


def vision_network(size):
    """The guide's Sequential vision model on (3, size, size) images."""
    # first, let's define a vision model using a Sequential model.
    vision_model = Sequential()
    vision_model.add(Convolution2D(64, 3, 3, activation='relu', border_mode='same',
                                   input_shape=(3, size, size)))
    vision_model.add(Convolution2D(64, 3, 3, activation='relu'))
    vision_model.add(MaxPooling2D((2, 2)))
    vision_model.add(Convolution2D(128, 3, 3, activation='relu', border_mode='same'))
    vision_model.add(Convolution2D(128, 3, 3, activation='relu'))
    vision_model.add(MaxPooling2D((2, 2)))
    vision_model.add(Convolution2D(256, 3, 3, activation='relu', border_mode='same'))
    vision_model.add(Convolution2D(256, 3, 3, activation='relu'))
    vision_model.add(Convolution2D(256, 3, 3, activation='relu'))
    vision_model.add(MaxPooling2D((2, 2)))
    vision_model.add(Flatten())
    return vision_model


def question_answering_networks(vision_model, size, frames):
    """The visual QA model and the video QA model (`frames` frames) over `vision_model`:
    (vqa_model, video_qa_model, per-frame encodings, video encoding)."""
    # now let's get a tensor with the output of our vision model:
    image_input = Input(shape=(3, size, size))
    encoded_image = vision_model(image_input)

    # next, let's define a language model to encode the question into a vector.
    question_input = Input(shape=(100,), dtype='int32')
    embedded_question = Embedding(input_dim=10000, output_dim=256,
                                  input_length=100)(question_input)
    encoded_question = LSTM(256)(embedded_question)

    # let's concatenate the question vector and the image vector:
    merged = merge([encoded_question, encoded_image], mode='concat')
    # and let's train a logistic regression over 1000 words on top:
    output = Dense(1000, activation='softmax')(merged)
    # this is our final model:
    vqa_model = Model(input=[image_input, question_input], output=output)

    video_input = Input(shape=(frames, 3, size, size))
    # this is our video encoded via the previously trained vision_model (weights are reused)
    encoded_frame_sequence = TimeDistributed(vision_model)(video_input)
    encoded_video = LSTM(256)(encoded_frame_sequence)  # the output will be a vector
    # this is a model-level representation of the question encoder, reusing the same weights
    question_encoder = Model(input=question_input, output=encoded_question)
    # let's use it to encode the question:
    video_question_input = Input(shape=(100,), dtype='int32')
    encoded_video_question = question_encoder(video_question_input)
    # and this is our video question answering model:
    merged = merge([encoded_video, encoded_video_question], mode='concat')
    output = Dense(1000, activation='softmax')(merged)
    video_qa_model = Model(input=[video_input, video_question_input], output=output)
    return vqa_model, video_qa_model, encoded_frame_sequence, encoded_video


def visual_and_video_question_answering(size, frames):
    vqa_model, video_qa_model, encoded_frame_sequence, encoded_video = \
        question_answering_networks(vision_network(size), size, frames)
    print(f"visual QA at {size}x{size}: {vqa_model.count_params():,} parameters")
    print(f"video QA, {frames} frames: {video_qa_model.inputs[0].shape} -> frames "
          f"{encoded_frame_sequence.shape} -> {encoded_video.shape}; "
          f"{video_qa_model.count_params():,} parameters")


if __name__ == "__main__":
    warnings.simplefilter("once", DeprecationWarning)  # one note per Keras 1 spelling
    keras.utils.set_random_seed(0)
    K.set_image_data_format('channels_first')
    first_example()
    headline_and_shared_lstm()
    inception_and_residual()
    shared_vision_model()
    if "--full" in sys.argv:
        visual_and_video_question_answering(224, 100)
    else:
        visual_and_video_question_answering(64, 8)
