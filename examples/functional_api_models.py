"""'How to use the Keras functional API for deep learning' (seeds 000 and 004), with fnjit.

Each section of the guide builds one model, prints its summary and plots its graph; this
program does the same for all of them, at the guide's sizes (tests/test_guides.py checks and
trains the models these functions build):

    standard models      multilayer perceptron, convolutional network, recurrent network
                         (and 004's convolutional network without Flatten)
    shared layers        shared input layer, shared feature extraction layer
    inputs and outputs   multiple inputs, multiple outputs

Layer names follow Keras 3 (dense, dense_1, ...) where the guide's Keras 2 printed dense_1,
dense_2; the shapes and parameter counts are the guide's. The graphs are written to
$FNJIT_EXAMPLES_OUT (default: <tmp>/fnjit_examples). Run:  python examples/functional_api_models.py
"""

import os
import tempfile
from pathlib import Path

from fnjit import backend as K
from fnjit.layers import Dense, Flatten, Input
from fnjit.layers.convolutional import Conv2D
from fnjit.layers.merge import concatenate
from fnjit.layers.pooling import MaxPooling2D
from fnjit.layers.recurrent import LSTM
from fnjit.layers.wrappers import TimeDistributed
from fnjit.models import Model
from fnjit.utils import plot_model

OUT = Path(os.environ.get("FNJIT_EXAMPLES_OUT", Path(tempfile.gettempdir()) / "fnjit_examples"))


def show(model, png):
    # summarize layers
    print(model.summary())
    # plot graph
    plot_model(model, to_file=str(OUT / png))
    print(f"graph: {OUT / png}\n")


def multilayer_perceptron():
    visible = Input(shape=(10,))
    hidden1 = Dense(10, activation='relu')(visible)
    hidden2 = Dense(20, activation='relu')(hidden1)
    hidden3 = Dense(10, activation='relu')(hidden2)
    output = Dense(1, activation='sigmoid')(hidden3)
    model = Model(inputs=visible, outputs=output)
    return model  # Total params: 551


def convolutional_neural_network():
    visible = Input(shape=(64, 64, 1))
    conv1 = Conv2D(32, kernel_size=4, activation='relu')(visible)
    pool1 = MaxPooling2D(pool_size=(2, 2))(conv1)
    conv2 = Conv2D(16, kernel_size=4, activation='relu')(pool1)
    pool2 = MaxPooling2D(pool_size=(2, 2))(conv2)
    flat = Flatten()(pool2)
    hidden1 = Dense(10, activation='relu')(flat)
    output = Dense(1, activation='sigmoid')(hidden1)
    model = Model(inputs=visible, outputs=output)
    return model  # Total params: 35,813


def convolutional_neural_network_without_flatten():
    # 004 leaves out the Flatten: each Dense then works on the last axis of (13, 13, 16).
    visible = Input(shape=(64, 64, 1))
    conv1 = Conv2D(32, kernel_size=4, activation='relu')(visible)
    pool1 = MaxPooling2D(pool_size=(2, 2))(conv1)
    conv2 = Conv2D(16, kernel_size=4, activation='relu')(pool1)
    pool2 = MaxPooling2D(pool_size=(2, 2))(conv2)
    hidden1 = Dense(10, activation='relu')(pool2)
    output = Dense(1, activation='sigmoid')(hidden1)
    model = Model(inputs=visible, outputs=output)
    return model  # Total params: 8,933


def recurrent_neural_network():
    visible = Input(shape=(100, 1))
    hidden1 = LSTM(10)(visible)
    hidden2 = Dense(10, activation='relu')(hidden1)
    output = Dense(1, activation='sigmoid')(hidden2)
    model = Model(inputs=visible, outputs=output)
    return model  # Total params: 601


def shared_input_layer():
    # input layer
    visible = Input(shape=(64, 64, 1))
    # first feature extractor
    conv1 = Conv2D(32, kernel_size=4, activation='relu')(visible)
    pool1 = MaxPooling2D(pool_size=(2, 2))(conv1)
    flat1 = Flatten()(pool1)
    # second feature extractor
    conv2 = Conv2D(16, kernel_size=8, activation='relu')(visible)
    pool2 = MaxPooling2D(pool_size=(2, 2))(conv2)
    flat2 = Flatten()(pool2)
    # merge feature extractors
    merge = concatenate([flat1, flat2])
    # interpretation layer
    hidden1 = Dense(10, activation='relu')(merge)
    # prediction output
    output = Dense(1, activation='sigmoid')(hidden1)
    model = Model(inputs=visible, outputs=output)
    return model  # Total params: 415,045


def shared_feature_extraction_layer():
    # define input
    visible = Input(shape=(100, 1))
    # feature extraction
    extract1 = LSTM(10)(visible)
    # first interpretation model
    interp1 = Dense(10, activation='relu')(extract1)
    # second interpretation model
    interp11 = Dense(10, activation='relu')(extract1)
    interp12 = Dense(20, activation='relu')(interp11)
    interp13 = Dense(10, activation='relu')(interp12)
    # merge interpretation
    merge = concatenate([interp1, interp13])
    # output
    output = Dense(1, activation='sigmoid')(merge)
    model = Model(inputs=visible, outputs=output)
    return model  # Total params: 1,151


def multiple_inputs():
    # first input model
    visible1 = Input(shape=(64, 64, 1))
    conv11 = Conv2D(32, kernel_size=4, activation='relu')(visible1)
    pool11 = MaxPooling2D(pool_size=(2, 2))(conv11)
    conv12 = Conv2D(16, kernel_size=4, activation='relu')(pool11)
    pool12 = MaxPooling2D(pool_size=(2, 2))(conv12)
    flat1 = Flatten()(pool12)
    # second input model
    visible2 = Input(shape=(32, 32, 3))
    conv21 = Conv2D(32, kernel_size=4, activation='relu')(visible2)
    pool21 = MaxPooling2D(pool_size=(2, 2))(conv21)
    conv22 = Conv2D(16, kernel_size=4, activation='relu')(pool21)
    pool22 = MaxPooling2D(pool_size=(2, 2))(conv22)
    flat2 = Flatten()(pool22)
    # merge input models
    merge = concatenate([flat1, flat2])
    # interpretation model
    hidden1 = Dense(10, activation='relu')(merge)
    hidden2 = Dense(10, activation='relu')(hidden1)
    output = Dense(1, activation='sigmoid')(hidden2)
    model = Model(inputs=[visible1, visible2], outputs=output)
    return model  # Total params: 49,699


def multiple_outputs():
    # input layer
    visible = Input(shape=(100, 1))
    # feature extraction
    extract = LSTM(10, return_sequences=True)(visible)
    # classification output
    class11 = LSTM(10)(extract)
    class12 = Dense(10, activation='relu')(class11)
    output1 = Dense(1, activation='sigmoid')(class12)
    # sequence output
    output2 = TimeDistributed(Dense(1, activation='linear'))(extract)
    # output
    model = Model(inputs=visible, outputs=[output1, output2])
    return model  # Total params: 1,452


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for section in (multilayer_perceptron, convolutional_neural_network,
                    convolutional_neural_network_without_flatten, recurrent_neural_network,
                    shared_input_layer, shared_feature_extraction_layer, multiple_inputs,
                    multiple_outputs):
        print(f"# {section.__name__.replace('_', ' ').capitalize()}")
        K.clear_session()  # each guide program starts from a fresh session (names from 0)
        show(section(), f"{section.__name__}.png")
