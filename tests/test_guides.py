"""Every model of the five Keras tutorials (/work/shared/seeds, see README "Scope"), written the way
the guides write them with fnjit in place of keras.

Each test builds the guide's model at the guide's sizes and checks what the guide prints: the
total parameter count and each layer's (type, output shape, params) row of its summary table
(names aside: Keras 3 names layers dense, dense_1 where the guides' Keras 2 wrote dense_1,
dense_2; and row order aside). Where a guide gives no table, the expected counts are worked out
in the test from Keras' formulas. Then a few training steps must lower the loss on a small
learnable synthetic task: at the guide's sizes where that is cheap, otherwise on a smaller
instance of the same code (the guide's function called with smaller sizes).

Where a guide's code is wrong in Keras too (the inception module's branches do not line up, the
Keras 1 residual example merges a layer object, the question-answering model's Embedding
arguments are swapped), the test checks that fnjit says so clearly and runs the intended code.
"""

import ast
import io
import sys
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

import fnjit as keras
from fnjit import backend as K
from fnjit import layers
from fnjit.layers import (
    LSTM,
    Activation,
    Conv2D,
    Dense,
    Input,
    TimeDistributed,
)
from fnjit.models import Model, Sequential

# The "How to use the functional API" models are built by the example program itself, so that
# the guide's code is written once and what the example prints is what is checked here.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import functional_api_dlwp as guide_dlwp  # noqa: E402
import functional_api_guide as guide_api  # noqa: E402
import functional_api_models as guide_models  # noqa: E402
import keras1_functional_guide as guide_keras1  # noqa: E402
import merge_two_branch_mnist as guide_two_branch  # noqa: E402
import sequential_convnet_lstm as guide_sequential  # noqa: E402
import sequential_guide as guide_seq  # noqa: E402
import visual_question_answering as guide_vqa  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet_keras1_warnings():
    # The Keras 1 spellings warn (DeprecationWarning); the guides use them on purpose.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def printed_rows(text):
    """The (layer type, output shape, params) of each row of a printed summary table, as printed
    (a type the table cut short, `time_distributed (TimeDistri`, is the part printed)."""
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith("Layer (type)"))
    shape_at, params_at = (lines[top].index(h) for h in ("Output Shape", "Param #"))
    rows = []
    for line in lines[top + 2:]:
        if line.startswith("Total params"):
            break
        if not line.strip() or line[0] in "_= ":  # rules, and Connected-to continuation lines
            continue
        layer_type = line[:shape_at].rstrip().split(" (", 1)[1].rstrip(")")
        shape = line[shape_at:params_at].strip()
        shape = shape if shape == "multiple" else ast.literal_eval(shape)
        rows.append((layer_type, shape, int(line[params_at:].split()[0].replace(",", ""))))
    return rows


def check_summary(model, total, table=None):
    """Total params as model.summary() prints it, and the printed table's rows (type, output
    shape, params: every weight, trainable or not) against the guide's (if it has one)."""
    text = io.StringIO()
    with redirect_stdout(text):
        model.summary()
    text = text.getvalue()
    assert f"Total params: {total:,}" in text, text
    assert model.count_params() == total
    if table is not None:
        def key(row):
            return repr(row[1]), row[2], row[0]
        got, want = sorted(printed_rows(text), key=key), sorted(table, key=key)
        assert len(got) == len(want), text
        for (got_type, *got_rest), (want_type, *want_rest) in zip(got, want):
            assert want_type.startswith(got_type) and got_rest == want_rest, text


def check_learns(model, x, y, epochs=5, *, at_most, **fit_kwargs):
    """Full-batch steps on (x, y) (or `batch_size`): the last epoch's loss must be at most
    `at_most` times the first's. Each call's threshold asks for half the fall a correct step
    makes on that data and seed (measured in float32: at_most = (1 + measured ratio) / 2), so
    that a step that is wrong but still descends (a dropped gradient term, a wrong scale, an
    update rule misapplied) falls short."""
    n = len(next(iter(x.values())) if isinstance(x, dict) else x[0] if isinstance(x, list)
            else x)
    hist = model.fit(x, y, epochs=epochs, batch_size=fit_kwargs.pop("batch_size", n),
                     verbose=0, **fit_kwargs)
    loss = hist.history["loss"]
    assert np.all(np.isfinite(loss)), loss
    assert loss[-1] <= at_most * loss[0], (loss, at_most)
    return hist


def rng():
    keras.utils.set_random_seed(0)
    return np.random.default_rng(0)


def binary(values):
    return (np.asarray(values) > 0).astype("float32").reshape(-1, 1)


# --------------------------------------------------------------------------------------------
# 000 / 001 / 003: the functional API guide's first example (a densely-connected network)
# --------------------------------------------------------------------------------------------

def first_example():
    # This returns a tensor
    inputs = Input(shape=(784,))
    # a layer instance is callable on a tensor, and returns a tensor
    x = Dense(64, activation='relu')(inputs)
    x = Dense(64, activation='relu')(x)
    predictions = Dense(10, activation='softmax')(x)
    return inputs, predictions


def test_first_example_dense_network_and_models_are_callable():
    r = rng()
    inputs, predictions = first_example()
    model = Model(inputs=inputs, outputs=predictions)
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
    check_summary(model, 55_050, [("InputLayer", (None, 784), 0), ("Dense", (None, 64), 50_240),
                                  ("Dense", (None, 64), 4_160), ("Dense", (None, 10), 650)])
    data = r.random((64, 784)).astype("float32")
    labels = keras.utils.to_categorical(np.argmax(data[:, :10], axis=1), 10)
    check_learns(model, data, labels, at_most=0.9334)

    # All models are callable, just like layers: the weights come along.
    x = Input(shape=(784,))
    y = model(x)
    assert y.shape == (None, 10)
    reused = Model(x, y)
    assert reused.count_params() == 55_050
    np.testing.assert_allclose(reused.predict(data[:8], verbose=0),
                               model.predict(data[:8], verbose=0), rtol=1e-5, atol=1e-6)


def test_keras1_first_example_and_time_distributed_model():
    # 003: Model(input=, output=), fit(nb_epoch=), TimeDistributed(model) on sequences.
    r = rng()
    inputs, predictions = first_example()
    model = Model(input=inputs, output=predictions)
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
    data = r.random((32, 784)).astype("float32")
    labels = keras.utils.to_categorical(np.argmax(data[:, :10], axis=1), 10)
    hist = model.fit(data, labels, nb_epoch=3, batch_size=32, verbose=0)
    assert len(hist.history["loss"]) == 3

    # input tensor for sequences of 20 timesteps,
    # each containing a 784-dimensional vector
    input_sequences = Input(shape=(20, 784))
    # this applies our previous model to every timestep in the input sequences.
    processed_sequences = TimeDistributed(model)(input_sequences)
    assert processed_sequences.shape == (None, 20, 10)
    video = Model(input=input_sequences, output=processed_sequences)
    assert video.count_params() == 55_050  # the weights are the model's
    video.compile(optimizer='rmsprop', loss='categorical_crossentropy')
    seqs = r.random((8, 20, 784)).astype("float32")
    seq_labels = keras.utils.to_categorical(np.argmax(seqs[..., :10], axis=-1), 10)
    check_learns(video, seqs, seq_labels, epochs=4, at_most=0.9679)
    # Training the sequence model trained `model` itself (shared weights).
    np.testing.assert_allclose(video.predict(seqs[:2], verbose=0)[:, 3],
                               model.predict(seqs[:2, 3], verbose=0), rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------------------------
# 000 / 001 / 003: the headline model (two inputs, two outputs, loss weights, dicts by name)
# --------------------------------------------------------------------------------------------

HEADLINE_TABLE = [("InputLayer", (None, 100), 0), ("Embedding", (None, 100, 512), 5_120_000),
                  ("LSTM", (None, 32), 69_760), ("InputLayer", (None, 5), 0),
                  ("Concatenate", (None, 37), 0), ("Dense", (None, 64), 2_432),
                  ("Dense", (None, 64), 4_160), ("Dense", (None, 64), 4_160),
                  ("Dense", (None, 1), 65), ("Dense", (None, 1), 33)]


def headline_data(r, n=32):
    headline = r.integers(1, 10000, size=(n, 100))
    additional = r.random((n, 5)).astype("float32")
    labels = binary(additional[:, 0] - 0.5)  # learnable from the auxiliary input
    return headline, additional, labels


def test_headline_model():
    r = rng()
    model = guide_api.headline_network()
    check_summary(model, 5_200_610, HEADLINE_TABLE)

    headline, additional, labels = headline_data(r)
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', loss_weights=[1., 0.2])
    check_learns(model, [headline, additional], [labels, labels], epochs=3, at_most=0.9863)

    model.compile(optimizer='rmsprop',
                  loss={'main_output': 'binary_crossentropy',
                        'aux_output': 'binary_crossentropy'},
                  loss_weights={'main_output': 1., 'aux_output': 0.2})
    hist = check_learns(model, {'main_input': headline, 'aux_input': additional},
                        {'main_output': labels, 'aux_output': labels}, epochs=3, at_most=0.9821)
    h = hist.history  # per-output losses unweighted, `loss` their weighted sum (Keras 2 and 3)
    assert h["loss"][-1] == pytest.approx(h["main_output_loss"][-1] +
                                          0.2 * h["aux_output_loss"][-1], rel=1e-6)


def test_keras1_headline_model_with_merge():
    # 003: merge([...], mode='concat'), Model(input=, output=), nb_epoch.

    r = rng()
    model = guide_keras1.headline_network()
    assert model.count_params() == 5_200_610
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', loss_weights=[1., 0.2])
    headline, additional, labels = headline_data(r)
    hist = model.fit([headline, additional], [labels, labels], nb_epoch=3, batch_size=32,
                     verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


# --------------------------------------------------------------------------------------------
# 000 / 003: shared LSTM over two tweets, and the concept of layer "node"
# --------------------------------------------------------------------------------------------

def tweets(r, n, steps):
    data_a = (r.random((n, steps, 256)) < 0.05).astype("float32")
    data_b = (r.random((n, steps, 256)) < 0.05).astype("float32")
    data_a[: n // 2, -1, 0] = 1  # same author <=> the first tweet ends with character 0
    data_a[n // 2:, -1, 0] = 0
    labels = np.r_[np.ones(n // 2), np.zeros(n - n // 2)].astype("float32").reshape(-1, 1)
    return data_a, data_b, labels


def test_shared_lstm_tweets():
    r = rng()
    model = guide_api.shared_lstm_network()
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['accuracy'])
    # One LSTM's weights (82,176), counted once, and the logistic regression.
    check_summary(model, 82_305, [("InputLayer", (None, 280, 256), 0),
                                  ("InputLayer", (None, 280, 256), 0),
                                  ("LSTM", (None, 64), 82_176),
                                  ("Concatenate", (None, 128), 0), ("Dense", (None, 1), 129)])
    data_a, data_b, labels = tweets(r, 8, 280)
    check_learns(model, [data_a, data_b], labels, epochs=4, at_most=0.8101)


def test_keras1_shared_lstm_tweets_with_merge():
    r = rng()
    model = guide_keras1.shared_lstm_network()
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['accuracy'])
    assert model.count_params() == 82_305
    data_a, data_b, labels = tweets(r, 8, 140)
    hist = model.fit([data_a, data_b], labels, nb_epoch=4, batch_size=8, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_layer_nodes():
    a = Input(shape=(280, 256))
    lstm = LSTM(32)
    encoded_a = lstm(a)
    assert lstm.output == encoded_a

    a = Input(shape=(280, 256))
    b = Input(shape=(280, 256))
    lstm = LSTM(32)
    encoded_a = lstm(a)
    encoded_b = lstm(b)
    with pytest.raises(AttributeError, match="multiple inbound nodes|2 inbound nodes"):
        lstm.output  # noqa: B018
    assert lstm.get_output_at(0) == encoded_a
    assert lstm.get_output_at(1) == encoded_b

    a = Input(shape=(32, 32, 3))
    b = Input(shape=(64, 64, 3))
    conv = Conv2D(16, (3, 3), padding='same')
    conv(a)
    assert conv.input_shape == (None, 32, 32, 3)
    conv(b)
    assert conv.get_input_shape_at(0) == (None, 32, 32, 3)
    assert conv.get_input_shape_at(1) == (None, 64, 64, 3)
    with pytest.raises(AttributeError):
        conv.input_shape  # noqa: B018


def test_keras1_layer_nodes_convolution2d_border_mode():
    from fnjit.layers import Convolution2D

    K.set_image_data_format('channels_first')  # the Keras 1 guide's (channels, rows, cols)
    a = Input(shape=(3, 32, 32))
    b = Input(shape=(3, 64, 64))
    conv = Convolution2D(16, 3, 3, border_mode='same')
    conved_a = conv(a)
    assert conv.input_shape == (None, 3, 32, 32)
    conved_b = conv(b)
    assert conv.get_input_shape_at(0) == (None, 3, 32, 32)
    assert conv.get_input_shape_at(1) == (None, 3, 64, 64)
    assert conved_a.shape == (None, 16, 32, 32) and conved_b.shape == (None, 16, 64, 64)
    assert conv.count_params() == 16 * (3 * 3 * 3 + 1)


# --------------------------------------------------------------------------------------------
# 000 / 003: visual question answering, and 003's video question answering
# --------------------------------------------------------------------------------------------

VISION_PARAMS = 1_792 + 36_928 + 73_856 + 147_584 + 295_168 + 2 * 590_080  # 1,735,488
QUESTION_PARAMS = 2_560_000 + 525_312  # Embedding(10000, 256), LSTM(256) on 256


def vqa_data(r, n, image_shape):
    images = r.random((n,) + image_shape).astype("float32")
    questions = r.integers(1, 10000, size=(n, 100))
    answers = keras.utils.to_categorical(questions[:, 0] % 1000, 1000)  # first word decides
    return images, questions, answers


def test_visual_question_answering():
    r = rng()
    _, vqa_model = guide_vqa.build()
    # 224 -> 224, 222, 111 -> 111, 109, 54 -> 54, 52, 50, 25: 25 * 25 * 256 = 160,000 features
    check_summary(vqa_model, VISION_PARAMS + QUESTION_PARAMS + 160_256 * 1000 + 1000, [
        ("InputLayer", (None, 224, 224, 3), 0), ("InputLayer", (None, 100), 0),
        ("Sequential", (None, 160_000), VISION_PARAMS),
        ("Embedding", (None, 100, 256), 2_560_000), ("LSTM", (None, 256), 525_312),
        ("Concatenate", (None, 160_256), 0), ("Dense", (None, 1000), 160_257_000)])
    assert vqa_model.count_params() == 165_077_800
    del vqa_model

    # Train the same code on 32x32 images (25 * 25 -> 1 * 1 spatial features), two samples.
    _, small = guide_vqa.build(32)
    small.compile(optimizer='sgd', loss='categorical_crossentropy')  # the guide stops here
    images, questions, answers = vqa_data(r, 2, (32, 32, 3))
    check_learns(small, [images, questions], answers, epochs=3, at_most=0.9973)


def test_keras1_visual_and_video_question_answering():
    K.set_image_data_format('channels_first')  # Keras 1: input_shape=(3, 224, 224)
    r = rng()
    # At the guide's size: the vision model and its TimeDistributed form over 100 frames
    # (the 330 million weights of the whole VQA and video QA models are not allocated here:
    # test_visual_question_answering counts the VQA model at 224x224).
    vision_model = guide_keras1.vision_network(224)
    assert vision_model.count_params() == VISION_PARAMS
    frames = TimeDistributed(vision_model)(Input(shape=(100, 3, 224, 224)))
    assert frames.shape == (None, 100, 160_000)

    # The guide's code on 3 frames of 32x32 (1 * 1 * 256 features per frame), two samples.
    vqa_model, video_qa_model, _, _ = guide_keras1.question_answering_networks(
        guide_keras1.vision_network(32), 32, 3)
    assert vqa_model.count_params() == VISION_PARAMS + QUESTION_PARAMS + 512 * 1000 + 1000
    lstm_on_frames = 4 * 256 * (256 + 256 + 1)
    assert video_qa_model.count_params() == \
        VISION_PARAMS + lstm_on_frames + QUESTION_PARAMS + 512 * 1000 + 1000
    video_qa_model.compile(optimizer='sgd', loss='categorical_crossentropy')
    video, questions, answers = vqa_data(r, 2, (3, 3, 32, 32))
    check_learns(video_qa_model, [video, questions], answers, epochs=3, at_most=0.9989)


# --------------------------------------------------------------------------------------------
# 000 / 004: the standard network models (each prints a summary table)
# --------------------------------------------------------------------------------------------

def test_multilayer_perceptron():
    r = rng()
    model = guide_models.multilayer_perceptron()
    check_summary(model, 551, [("InputLayer", (None, 10), 0), ("Dense", (None, 10), 110),
                               ("Dense", (None, 20), 220), ("Dense", (None, 10), 210),
                               ("Dense", (None, 1), 11)])
    model.compile(optimizer='adam', loss='binary_crossentropy')
    x = r.normal(size=(64, 10)).astype("float32")
    check_learns(model, x, binary(x[:, 0] + x[:, 1]), epochs=8, at_most=0.9692)


def images_brighter_left(r, n, shape):
    """Binary task on images: is the left half brighter than the right half?"""
    x = r.random((n,) + shape).astype("float32")
    half = shape[1] // 2
    y = binary(x[:, :, :half].mean(axis=(1, 2, 3)) - x[:, :, half:].mean(axis=(1, 2, 3)))
    x[:, :, :half] += 0.3 * (y.reshape(-1, 1, 1, 1) - 0.5)
    return x, y


def test_convolutional_neural_network():
    r = rng()
    model = guide_models.convolutional_neural_network()
    check_summary(model, 35_813, [
        ("InputLayer", (None, 64, 64, 1), 0), ("Conv2D", (None, 61, 61, 32), 544),
        ("MaxPooling2D", (None, 30, 30, 32), 0), ("Conv2D", (None, 27, 27, 16), 8_208),
        ("MaxPooling2D", (None, 13, 13, 16), 0), ("Flatten", (None, 2704), 0),
        ("Dense", (None, 10), 27_050), ("Dense", (None, 1), 11)])
    model.compile(optimizer='adam', loss='binary_crossentropy')
    x, y = images_brighter_left(r, 16, (64, 64, 1))
    check_learns(model, x, y, at_most=0.9638)


def test_convolutional_network_without_flatten_004():
    # 004 drops the Flatten: Dense then works on the last axis of a 4-D tensor.
    r = rng()
    model = guide_models.convolutional_neural_network_without_flatten()
    check_summary(model, 8_933, [
        ("InputLayer", (None, 64, 64, 1), 0), ("Conv2D", (None, 61, 61, 32), 544),
        ("MaxPooling2D", (None, 30, 30, 32), 0), ("Conv2D", (None, 27, 27, 16), 8_208),
        ("MaxPooling2D", (None, 13, 13, 16), 0), ("Dense", (None, 13, 13, 10), 170),
        ("Dense", (None, 13, 13, 1), 11)])
    model.compile(optimizer='adam', loss='binary_crossentropy')
    x, y = images_brighter_left(r, 8, (64, 64, 1))
    check_learns(model, x, np.broadcast_to(y.reshape(-1, 1, 1, 1), (8, 13, 13, 1)).copy(),
        at_most=0.9951)


def sequences(r, n, steps=100):
    """Binary task on (n, steps, 1) sequences: is the mean positive?"""
    x = r.normal(size=(n, steps, 1)).astype("float32")
    return x, binary(x.mean(axis=(1, 2)))


def test_recurrent_neural_network():
    r = rng()
    model = guide_models.recurrent_neural_network()
    check_summary(model, 601, [("InputLayer", (None, 100, 1), 0), ("LSTM", (None, 10), 480),
                               ("Dense", (None, 10), 110), ("Dense", (None, 1), 11)])
    model.compile(optimizer='adam', loss='binary_crossentropy')
    x, y = sequences(r, 32)
    check_learns(model, x, y, epochs=6, at_most=0.9975)


# --------------------------------------------------------------------------------------------
# 000 / 004: shared layers, multiple inputs, multiple outputs (each prints a summary table)
# --------------------------------------------------------------------------------------------

def test_shared_input_layer(tmp_path):
    from fnjit.utils import plot_model

    r = rng()
    model = guide_models.shared_input_layer()
    check_summary(model, 415_045, [
        ("InputLayer", (None, 64, 64, 1), 0), ("Conv2D", (None, 61, 61, 32), 544),
        ("Conv2D", (None, 57, 57, 16), 1_040), ("MaxPooling2D", (None, 30, 30, 32), 0),
        ("MaxPooling2D", (None, 28, 28, 16), 0), ("Flatten", (None, 28800), 0),
        ("Flatten", (None, 12544), 0), ("Concatenate", (None, 41344), 0),
        ("Dense", (None, 10), 413_450), ("Dense", (None, 1), 11)])
    plot_model(model, to_file=str(tmp_path / 'shared_input_layer.png'))
    assert (tmp_path / 'shared_input_layer.png').stat().st_size > 0
    model.compile(optimizer='sgd', loss='binary_crossentropy')
    x, y = images_brighter_left(r, 16, (64, 64, 1))
    check_learns(model, x, y, at_most=0.9216)


def test_shared_feature_extraction_layer():
    r = rng()
    model = guide_models.shared_feature_extraction_layer()
    check_summary(model, 1_151, [
        ("InputLayer", (None, 100, 1), 0), ("LSTM", (None, 10), 480),
        ("Dense", (None, 10), 110), ("Dense", (None, 20), 220), ("Dense", (None, 10), 110),
        ("Dense", (None, 10), 210), ("Concatenate", (None, 20), 0), ("Dense", (None, 1), 21)])
    model.compile(optimizer='adam', loss='binary_crossentropy')
    x, y = sequences(r, 32)
    check_learns(model, x, y, epochs=6, at_most=0.9945)


def test_multiple_inputs():
    r = rng()
    model = guide_models.multiple_inputs()
    check_summary(model, 49_699, [
        ("InputLayer", (None, 64, 64, 1), 0), ("InputLayer", (None, 32, 32, 3), 0),
        ("Conv2D", (None, 61, 61, 32), 544), ("Conv2D", (None, 29, 29, 32), 1_568),
        ("MaxPooling2D", (None, 30, 30, 32), 0), ("MaxPooling2D", (None, 14, 14, 32), 0),
        ("Conv2D", (None, 27, 27, 16), 8_208), ("Conv2D", (None, 11, 11, 16), 8_208),
        ("MaxPooling2D", (None, 13, 13, 16), 0), ("MaxPooling2D", (None, 5, 5, 16), 0),
        ("Flatten", (None, 2704), 0), ("Flatten", (None, 400), 0),
        ("Concatenate", (None, 3104), 0), ("Dense", (None, 10), 31_050),
        ("Dense", (None, 10), 110), ("Dense", (None, 1), 11)])
    model.compile(optimizer='adam', loss='binary_crossentropy')
    big, y = images_brighter_left(r, 16, (64, 64, 1))
    small = r.random((16, 32, 32, 3)).astype("float32")
    check_learns(model, [big, small], y, at_most=0.9942)


def test_multiple_outputs():
    r = rng()
    model = guide_models.multiple_outputs()
    check_summary(model, 1_452, [
        ("InputLayer", (None, 100, 1), 0), ("LSTM", (None, 100, 10), 480),
        ("LSTM", (None, 10), 840), ("Dense", (None, 10), 110), ("Dense", (None, 1), 11),
        ("TimeDistributed", (None, 100, 1), 11)])
    model.compile(optimizer='adam', loss=['binary_crossentropy', 'mse'])
    x, y = sequences(r, 32)
    check_learns(model, x, [y, 0.5 * x], epochs=6, at_most=0.9891)


# --------------------------------------------------------------------------------------------
# 001: the two-branch MNIST model and a function as merge mode
# --------------------------------------------------------------------------------------------

def test_two_branch_mnist():
    rng()
    model = guide_two_branch.two_branch_model()
    check_summary(model, 50_890, [
        ("InputLayer", (None, 784), 0), ("InputLayer", (None, 784), 0),
        ("Dense", (None, 32), 25_120), ("Dense", (None, 32), 25_120),
        ("Concatenate", (None, 64), 0), ("Dense", (None, 10), 650)])
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
    # Real digits, 8x8 scans upsampled to the guide's 784 inputs: the image and its transpose.
    ([left, right], targets), _ = guide_two_branch.load_data()
    check_learns(model, [left[:64], right[:64]], targets[:64], at_most=0.7364)


def test_merge_with_a_function_as_mode():
    from fnjit.layers import Merge

    r = rng()
    left_input = Input(shape=(784,), name='left_input')
    left_branch = Dense(32, name='left_branch')(left_input)
    right_input = Input(shape=(784,), name='right_input')
    right_branch = Dense(32, name='right_branch')(right_input)
    merged = Merge([left_branch, right_branch], mode=lambda x: x[0] - x[1])
    # Keras 1's Merge built on tensors is a layer already connected to them: its .output
    assert merged.output.shape == (None, 32)
    predictions = Dense(10, activation='softmax')(merged.output)
    model = Model(inputs=[left_input, right_input], outputs=predictions)
    assert model.count_params() == 2 * 25_120 + 330
    model.compile(optimizer='sgd', loss='categorical_crossentropy')
    a, b = r.random((32, 784)).astype("float32"), r.random((32, 784)).astype("float32")
    check_learns(model, [a, b], keras.utils.to_categorical(np.argmax(a[:, :10], 1), 10),
        at_most=0.9214)


# --------------------------------------------------------------------------------------------
# 002: Sequential vs functional, question answering, three heads, DAGs, sharing, Xception
# --------------------------------------------------------------------------------------------

def test_sequential_and_functional_equivalents():
    r = rng()
    seq_model = Sequential()
    seq_model.add(layers.Dense(32, activation='relu', input_shape=(64,)))
    seq_model.add(layers.Dense(32, activation='relu'))
    seq_model.add(layers.Dense(10, activation='softmax'))

    input_tensor = keras.Input(shape=(64,))
    x = layers.Dense(32, activation='relu')(input_tensor)
    x = layers.Dense(32, activation='relu')(x)
    output_tensor = layers.Dense(10, activation='softmax')(x)
    model = Model(input_tensor, output_tensor)
    table = [("InputLayer", (None, 64), 0), ("Dense", (None, 32), 2_080),
             ("Dense", (None, 32), 1_056), ("Dense", (None, 10), 330)]
    check_summary(model, 3_466, table)
    check_summary(seq_model, 3_466, table[1:])

    model.set_weights(seq_model.get_weights())  # the same weights, in the same order
    x = r.random((16, 64)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), seq_model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-7)
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy')
    check_learns(model, x, keras.utils.to_categorical(np.argmax(x[:, :10], 1), 10), at_most=0.9403)


def question_answering(text_embedding, question_embedding):
    text_vocabulary_size = 10000
    answer_vocabulary_size = 500
    text_input = keras.Input(shape=(None,), dtype='int32', name='text')
    embedded_text = text_embedding(text_vocabulary_size)(text_input)
    encoded_text = layers.LSTM(32)(embedded_text)
    question_input = keras.Input(shape=(None,), dtype='int32', name='question')
    embedded_question = question_embedding(text_vocabulary_size)(question_input)
    encoded_question = layers.LSTM(16)(embedded_question)
    concatenated = layers.concatenate([encoded_text, encoded_question], axis=-1)
    answer = layers.Dense(answer_vocabulary_size, activation='softmax')(concatenated)
    model = Model([text_input, question_input], answer)
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['acc'])
    return model


def test_question_answering_variable_length():
    r = rng()
    # The guide writes layers.Embedding(64, text_vocabulary_size): input_dim=64 words of
    # output_dim=10000 (Keras' argument order is input_dim, output_dim). That model builds...
    literal = question_answering(lambda v: layers.Embedding(64, v),
                                 lambda v: layers.Embedding(32, v))
    assert literal.count_params() == 640_000 + 4 * 32 * (10000 + 32 + 1) + 320_000 + \
        4 * 16 * (10000 + 16 + 1) + 48 * 500 + 500  # 2,909,812
    # ... but its word indices up to 9999 do not fit 64 rows: a clear error, never a crash.
    text = r.integers(1, 10000, size=(4, 12))
    with pytest.raises(ValueError, match="64"):
        literal.predict({'text': text, 'question': text}, verbose=0)
    del literal

    # The intended model (the book's Embedding(text_vocabulary_size, 64)) trains on sequences
    # of any length: the answer is the question's first word.
    model = question_answering(lambda v: layers.Embedding(v, 64),
                               lambda v: layers.Embedding(v, 32))
    assert model.count_params() == 640_000 + 12_416 + 320_000 + 3_136 + 24_500
    text = r.integers(1, 10000, size=(32, 20))
    question = r.integers(1, 500, size=(32, 20))
    answers = keras.utils.to_categorical(question[:, 0], 500)
    check_learns(model, {'text': text, 'question': question}, answers, epochs=4, at_most=0.9982)
    longer = model.predict([r.integers(1, 10000, size=(3, 37)),
                            r.integers(1, 500, size=(3, 37))], verbose=0)
    assert longer.shape == (3, 500)


def test_three_headed_posts_model_with_conv1d():
    r = rng()
    model = guide_dlwp.posts_model()
    conv_params = 5 * 50000 * 128 + 128 + 5 * 128 * 256 + 256 + 3 * (5 * 256 * 256 + 256)
    check_summary(model, 256 * 50000 + conv_params + 256 * 128 + 128 + 129 + 1290 + 129, [
        ("InputLayer", (None, None), 0), ("Embedding", (None, None, 50000), 12_800_000),
        ("Conv1D", (None, None, 128), 32_000_128), ("MaxPooling1D", (None, None, 128), 0),
        ("Conv1D", (None, None, 256), 164_096), ("Conv1D", (None, None, 256), 327_936),
        ("MaxPooling1D", (None, None, 256), 0), ("Conv1D", (None, None, 256), 327_936),
        ("Conv1D", (None, None, 256), 327_936), ("GlobalMaxPooling1D", (None, 256), 0),
        ("Dense", (None, 128), 32_896), ("Dense", (None, 1), 129),
        ("Dense", (None, 10), 1_290), ("Dense", (None, 1), 129)])
    del model

    # The same code with 16-wide word vectors, trained on posts of 300 words (the shortest
    # length that survives two pools of 5 and six valid convolutions of 5 is 269).
    model = guide_dlwp.posts_model(vocabulary_size=16, words=64)
    model.compile(optimizer='rmsprop',
                  loss={'age': 'mse', 'income': 'categorical_crossentropy',
                        'gender': 'binary_crossentropy'},
                  loss_weights={'age': 0.25, 'income': 1., 'gender': 10.})
    posts = r.integers(0, 64, size=(8, 300))
    age_targets = (posts[:, :1] / 64).astype("float32")
    income_targets = keras.utils.to_categorical(posts[:, 0] % 10, 10)
    gender_targets = binary(posts[:, 0] - 31.5)
    check_learns(model, posts, {'age': age_targets, 'income': income_targets,
                                'gender': gender_targets}, epochs=4, at_most=0.9948)


def inception_module(x, padding):
    branch_a = layers.Conv2D(128, 1, activation='relu', strides=2)(x)
    branch_b = layers.Conv2D(128, 1, activation='relu')(x)
    branch_b = layers.Conv2D(128, 3, activation='relu', strides=2, padding=padding)(branch_b)
    branch_c = layers.AveragePooling2D(3, strides=2, padding=padding)(x)
    branch_c = layers.Conv2D(128, 3, activation='relu', padding=padding)(branch_c)
    branch_d = layers.Conv2D(128, 1, activation='relu')(x)
    branch_d = layers.Conv2D(128, 3, activation='relu', padding=padding)(branch_d)
    branch_d = layers.Conv2D(128, 3, activation='relu', strides=2, padding=padding)(branch_d)
    return layers.concatenate([branch_a, branch_b, branch_c, branch_d], axis=-1)


def test_inception_module():
    r = rng()
    # As printed (every convolution 'valid'), the branches come out 8x8, 7x7, 5x5 and 6x6 from
    # a 16x16 input and cannot be concatenated, in Keras as here: a clear error.
    with pytest.raises(ValueError, match="Concatenate.*match"):
        inception_module(keras.Input(shape=(16, 16, 32)), padding='valid')
    # With padding='same' (as the book's figure intends) every branch is 8x8x128.
    x = keras.Input(shape=(16, 16, 32))
    output = inception_module(x, padding='same')
    assert output.shape == (None, 8, 8, 512)
    head = layers.Dense(1, activation='sigmoid')(layers.GlobalAveragePooling2D()(output))
    model = Model(x, head)
    one_by_one = 32 * 128 + 128
    three_by_three = 9 * 128 * 128 + 128
    assert model.count_params() == 3 * one_by_one + 3 * three_by_three + \
        (9 * 32 * 128 + 128) + 513
    model.compile(optimizer='sgd', loss='binary_crossentropy')
    images, y = images_brighter_left(r, 8, (16, 16, 32))
    check_learns(model, images, y, at_most=0.9946)


def test_residual_connections():
    r = rng()
    # Same feature-map sizes: y + x.
    x = keras.Input(shape=(16, 16, 128))
    y = layers.Conv2D(128, 3, activation='relu', padding='same')(x)
    y = layers.Conv2D(128, 3, activation='relu', padding='same')(y)
    y = layers.Conv2D(128, 3, activation='relu', padding='same')(y)
    y = layers.add([y, x])
    assert y.shape == (None, 16, 16, 128)
    # Different sizes: a strided 1x1 convolution brings x to y's shape.
    z = layers.Conv2D(128, 3, activation='relu', padding='same')(y)
    z = layers.Conv2D(128, 3, activation='relu', padding='same')(z)
    z = layers.MaxPooling2D(2, strides=2)(z)
    residual = layers.Conv2D(128, 1, strides=2, padding='same')(y)
    z = layers.add([z, residual])
    assert z.shape == (None, 8, 8, 128)
    model = Model(x, layers.Dense(1, activation='sigmoid')(layers.GlobalAveragePooling2D()(z)))
    conv3 = 9 * 128 * 128 + 128
    assert model.count_params() == 5 * conv3 + (128 * 128 + 128) + 129
    model.compile(optimizer='sgd', loss='binary_crossentropy')
    images, labels = images_brighter_left(r, 4, (16, 16, 128))
    check_learns(model, images, labels, at_most=0.9493)


def test_shared_lstm_on_variable_length_inputs():
    r = rng()
    lstm = layers.LSTM(32)
    left_input = keras.Input(shape=(None, 128))
    left_output = lstm(left_input)
    right_input = keras.Input(shape=(None, 128))
    right_output = lstm(right_input)
    merged = layers.concatenate([left_output, right_output], axis=-1)
    predictions = layers.Dense(1, activation='sigmoid')(merged)
    model = Model([left_input, right_input], predictions)
    check_summary(model, 4 * 32 * (128 + 32 + 1) + 65, [
        ("InputLayer", (None, None, 128), 0), ("InputLayer", (None, None, 128), 0),
        ("LSTM", (None, 32), 20_608), ("Concatenate", (None, 64), 0),
        ("Dense", (None, 1), 65)])
    model.compile(optimizer='rmsprop', loss='binary_crossentropy')
    left_data = r.normal(size=(16, 12, 128)).astype("float32")
    right_data = r.normal(size=(16, 12, 128)).astype("float32")
    targets = binary(left_data[:, -1, 0] - right_data[:, -1, 0])
    check_learns(model, [left_data, right_data], targets, epochs=4, at_most=0.8075)
    # The inputs are interchangeable: swapping them gives the same encoder for each.
    assert model.predict([left_data[:, :7], right_data[:, :7]], verbose=0).shape == (16, 1)


def test_xception_shared_base_on_two_inputs():
    from fnjit import applications

    r = rng()
    xception_base = applications.Xception(weights=None, include_top=False)
    left_input = keras.Input(shape=(250, 250, 3))
    right_input = keras.Input(shape=(250, 250, 3))
    left_features = xception_base(left_input)
    right_input_features = xception_base(right_input)
    merged_features = layers.concatenate([left_features, right_input_features], axis=-1)
    assert left_features.shape == (None, 8, 8, 2048)
    assert merged_features.shape == (None, 8, 8, 4096)
    assert xception_base.count_params() == 20_861_480

    # One step at the smallest size Xception takes (71x71), batch 1, on the shared base.
    left_input = keras.Input(shape=(71, 71, 3))
    right_input = keras.Input(shape=(71, 71, 3))
    merged = layers.concatenate([xception_base(left_input), xception_base(right_input)])
    out = layers.Dense(1, activation='sigmoid')(layers.GlobalAveragePooling2D()(merged))
    model = Model([left_input, right_input], out)
    assert model.count_params() == 20_861_480 + 4097
    model.compile(optimizer='sgd', loss='binary_crossentropy')
    a, b = r.random((1, 71, 71, 3)), r.random((1, 71, 71, 3))
    losses = [float(model.train_on_batch([a, b], np.ones((1, 1)))) for _ in range(2)]
    assert np.all(np.isfinite(losses)) and losses[1] < losses[0], losses


# --------------------------------------------------------------------------------------------
# 003: the Keras 1 guide's graph examples (channels first, as its (3, 256, 256) inputs)
# --------------------------------------------------------------------------------------------

def test_keras1_inception_module():
    K.set_image_data_format('channels_first')
    r = rng()
    input_img, output = guide_keras1.inception_module(256)
    assert output.shape == (None, 192, 256, 256)
    assert Model(input=input_img, output=output).count_params() == \
        3 * 256 + 64 * (9 * 64 + 1) + 64 * (25 * 64 + 1)  # 140,160
    input_img, output = guide_keras1.inception_module(12)
    pooled = layers.GlobalAveragePooling2D()(output)
    model = Model(input=input_img, output=Dense(1, activation='sigmoid')(pooled))
    model.compile(optimizer='sgd', loss='binary_crossentropy')
    images, y = images_brighter_left(r, 4, (12, 12, 3))
    check_learns(model, images.transpose(0, 3, 1, 2), y, at_most=0.9817)


def test_keras1_residual_connection():
    from fnjit.layers import Convolution2D, merge

    K.set_image_data_format('channels_first')
    x = Input(shape=(3, 256, 256))
    y = Convolution2D(3, 3, 3, border_mode='same')
    # The guide merges the layer object itself (it forgot `(x)`); Keras 1 refused it too.
    with pytest.raises((TypeError, ValueError)):
        merge([x, y], mode='sum')
    y = Convolution2D(3, 3, 3, border_mode='same')(x)
    z = merge([x, y], mode='sum')
    assert z.shape == (None, 3, 256, 256)
    model = Model(input=x, output=z)
    assert model.count_params() == 3 * (9 * 3 + 1)
    # The same code on 8x8 images learns y = 2x (the convolution learns the identity).
    small_x = Input(shape=(3, 8, 8))
    small_y = Convolution2D(3, 3, 3, border_mode='same')(small_x)
    small = Model(small_x, merge([small_x, small_y], mode='sum'))
    small.compile(optimizer='adam', loss='mse')
    data = rng().normal(size=(4, 3, 8, 8)).astype("float32")
    check_learns(small, data, 2 * data, at_most=0.9909)


def test_keras1_shared_vision_model():
    K.set_image_data_format('channels_first')
    vision_model, classification_model = guide_keras1.shared_vision_network()
    assert vision_model.output_shape == (None, 64 * 11 * 11)
    assert classification_model.count_params() == 640 + 36_928 + 2 * 7744 + 1  # 53,057

    # On real digits (8x8 scans upsampled to 27x27). The head adds one score per image, so it
    # can learn "do the two digits sum to more than 9?" (not the guide's "same digit").
    (x_train, y_train), _ = keras.datasets.digits.load_data()
    idx = np.minimum((np.arange(27) * 8) // 27, 7)
    images = (x_train[:, idx][:, :, idx] / 16).astype("float32")[:, None]
    a, b = images[:16], images[16:32]
    same = (y_train[:16].astype(int) + y_train[16:32] > 9).astype("float32").reshape(-1, 1)
    classification_model.compile(optimizer='rmsprop', loss='binary_crossentropy')
    check_learns(classification_model, [a, b], same, at_most=0.8241)


# --------------------------------------------------------------------------------------------
# 004: Sequential models, compile options, optimizers, custom metrics, callbacks
# --------------------------------------------------------------------------------------------

def test_thirty_seconds_to_keras():
    r = rng()
    model = Sequential()
    model.add(Dense(units=64, activation='relu', input_dim=100))
    model.add(Dense(units=10, activation='softmax'))
    check_summary(model, 7_114, [("Dense", (None, 64), 6_464), ("Dense", (None, 10), 650)])
    model.compile(loss='categorical_crossentropy', optimizer='sgd', metrics=['accuracy'])
    model.compile(loss=keras.losses.categorical_crossentropy,
                  optimizer=keras.optimizers.SGD(lr=0.01, momentum=0.9, nesterov=True))
    x_train = r.random((64, 100)).astype("float32")
    y_train = keras.utils.to_categorical(np.argmax(x_train[:, :10], 1), 10)
    hist = model.fit(x_train, y_train, epochs=5, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    first = model.train_on_batch(x_train[:32], y_train[:32])
    loss_and_metrics = model.evaluate(x_train, y_train, batch_size=128, verbose=0)
    classes = model.predict(x_train, batch_size=128, verbose=0)
    assert np.isfinite(first) and np.isfinite(loss_and_metrics)
    assert classes.shape == (64, 10)


def test_sequential_constructions_and_input_shapes():
    model = Sequential([
        Dense(32, input_shape=(784,)),
        Activation('relu'),
        Dense(10),
        Activation('softmax'),
    ])
    check_summary(model, 25_450, [("Dense", (None, 32), 25_120), ("Activation", (None, 32), 0),
                                  ("Dense", (None, 10), 330), ("Activation", (None, 10), 0)])
    for first in (Dense(32, input_dim=784), Dense(32, input_shape=(784,))):
        model = Sequential()
        model.add(first)
        model.add(Activation('relu'))
        assert model.count_params() == 25_120
        assert model.layers[-1].output_shape == (None, 32)


def test_compile_options_and_custom_metric_mean_pred():
    import fnjit.backend as K

    def mean_pred(y_true, y_pred):
        return K.mean(y_pred)

    r = rng()
    model = Sequential()
    model.add(Dense(32, activation='relu', input_dim=100))
    model.add(Dense(1, activation='sigmoid'))
    for loss in ('binary_crossentropy', 'mse'):
        model.compile(optimizer='rmsprop', loss=loss)
    model.compile(optimizer='rmsprop', loss='binary_crossentropy',
                  metrics=['accuracy', mean_pred])
    data = r.random((64, 100)).astype("float32")
    labels = binary(data[:, 0] - 0.5)
    hist = check_learns(model, data, labels, at_most=0.9617)
    assert set(hist.history) == {"loss", "accuracy", "mean_pred"}
    preds = model.predict(data, verbose=0)
    logs = model.evaluate(data, labels, batch_size=64, return_dict=True, verbose=0)
    assert logs["mean_pred"] == pytest.approx(float(preds.mean()), rel=1e-4)


def test_training_binary_and_categorical_on_dummy_data():
    r = rng()
    model = Sequential()
    model.add(Dense(32, activation='relu', input_dim=100))
    model.add(Dense(1, activation='sigmoid'))
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['accuracy'])
    assert model.count_params() == 3_265
    data = r.random((128, 100))
    labels = binary(data[:, :3].sum(1) - 1.5)
    check_learns(model, data, labels, epochs=5, batch_size=32, at_most=0.9612)

    model = Sequential()
    model.add(Dense(32, activation='relu', input_dim=100))
    model.add(Dense(10, activation='softmax'))
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
    assert model.count_params() == 3_562
    labels = np.argmax(data[:, :10], axis=1).reshape(-1, 1)
    one_hot_labels = keras.utils.to_categorical(labels, num_classes=10)
    assert one_hot_labels.shape == (128, 10)
    check_learns(model, data, one_hot_labels, epochs=5, batch_size=32, at_most=0.9664)


def test_mlp_softmax_with_sgd_decay_momentum_nesterov():
    from fnjit.optimizers import SGD

    r = rng()
    x_train = r.random((256, 20))
    y_train = keras.utils.to_categorical(np.argmax(x_train[:, :10], 1), num_classes=10)
    model = guide_seq.mlp_softmax_model()
    check_summary(model, 6_154)
    sgd = SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    model.compile(loss='categorical_crossentropy', optimizer=sgd, metrics=['accuracy'])
    check_learns(model, x_train, y_train, epochs=20, batch_size=128, at_most=0.9707)
    score = model.evaluate(x_train[:100], y_train[:100], batch_size=128, verbose=0)
    assert len(score) == 2


def test_vgg_like_convnet():
    from fnjit.optimizers import SGD

    r = rng()
    model = guide_sequential.vgg_like_convnet_model()
    # The guide's comments: 98x98x32, 96x96x32, 48x48x32, 46x46x64, 44x44x64, 22x22x64, 30,976.
    check_summary(model, 7_998_250, [
        ("Conv2D", (None, 98, 98, 32), 896), ("Conv2D", (None, 96, 96, 32), 9_248),
        ("MaxPooling2D", (None, 48, 48, 32), 0), ("Dropout", (None, 48, 48, 32), 0),
        ("Conv2D", (None, 46, 46, 64), 18_496), ("Conv2D", (None, 44, 44, 64), 36_928),
        ("MaxPooling2D", (None, 22, 22, 64), 0), ("Dropout", (None, 22, 22, 64), 0),
        ("Flatten", (None, 30_976), 0), ("Dense", (None, 256), 7_930_112),
        ("Dropout", (None, 256), 0), ("Dense", (None, 10), 2_570)])
    sgd = SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    model.compile(loss='categorical_crossentropy', optimizer=sgd)
    x_train = r.random((4, 100, 100, 3)).astype("float32")
    y_train = keras.utils.to_categorical(np.arange(4) % 10, num_classes=10)
    x_train += y_train[:, :4].reshape(4, 1, 1, 4)[..., :3] * 0.5  # the class tints the image
    check_learns(model, x_train, y_train, epochs=3, batch_size=4, at_most=0.9358)
    score = model.evaluate(x_train, y_train, batch_size=32, verbose=0)
    assert np.isfinite(score)


def test_sequence_classification_with_lstm():
    r = rng()
    max_features = 1024
    model = guide_sequential.lstm_classifier_model(max_features)
    model.compile(loss='binary_crossentropy', optimizer='rmsprop', metrics=['accuracy'])
    x_train = r.integers(1, max_features, size=(32, 20))
    y_train = binary(x_train[:, -1] - max_features / 2)
    model.fit(x_train[:2], y_train[:2], epochs=1, verbose=0)  # builds on the data's shape
    assert model.count_params() == 262_144 + 4 * 128 * (256 + 128 + 1) + 129  # 459,393
    check_learns(model, x_train, y_train, epochs=4, batch_size=16, at_most=0.9672)
    score = model.evaluate(x_train, y_train, batch_size=16, verbose=0)
    assert len(score) == 2


def test_callbacks_model_checkpoint_and_early_stopping(tmp_path):
    r = rng()
    model = Sequential()
    model.add(Dense(32, activation='relu', input_dim=100))
    model.add(Dense(1, activation='sigmoid'))
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['accuracy'])
    data = r.random((64, 100))
    labels = binary(data[:, 0] - 0.5)
    filepath = str(tmp_path / "weights.{epoch:02d}-{val_loss:.2f}.hdf5")
    checkpoint = keras.callbacks.ModelCheckpoint(filepath, monitor='val_loss', verbose=0,
                                                 save_best_only=False, save_weights_only=True,
                                                 mode='auto', period=1)
    stopping = keras.callbacks.EarlyStopping(monitor='val_loss', min_delta=0, patience=0,
                                             verbose=0, mode='auto', baseline=0.0)
    hist = model.fit(data, labels, epochs=5, batch_size=32, validation_split=0.25,
                     callbacks=[checkpoint, stopping], verbose=0)
    # baseline=0: no epoch beats it, so training stops at the second epoch (Keras 3 lets the
    # first one pass); a checkpoint per epoch, named from the epoch and the logs.
    assert len(hist.history["loss"]) == 2
    saved = sorted(p.name for p in tmp_path.iterdir())
    val = hist.history["val_loss"]
    assert saved == [f"weights.01-{val[0]:.2f}.hdf5", f"weights.02-{val[1]:.2f}.hdf5"], saved
