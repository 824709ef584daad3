"""The functional API notebook after 'Deep Learning with Python', chapter 7 (seed 002), with
fnjit in place of keras. Run:  python examples/functional_api_dlwp.py

    Sequential vs functional   the same 3,466-parameter network both ways
    multi-input                question answering on variable-length text and question
    multi-output               a Conv1D network over posts with three heads (age, income,
                               gender), three losses with loss weights
    graphs of layers           an inception module, both residual connections
    layer weight sharing       one LSTM on two interchangeable inputs

The notebook trains on random data. Here the targets are made learnable (the answer is the
question's first word, and so on) so the printed losses and accuracies mean something. The
Xception shared vision base is in examples/siamese_xception.py.

Two lines of the notebook are wrong in Keras as well, and are corrected here with a comment:
`layers.Embedding(64, text_vocabulary_size)` swaps input_dim and output_dim (the book means
Embedding(text_vocabulary_size, 64)), and the inception branches need padding='same' to be
concatenated.
"""

import numpy as np

import fnjit as keras
from fnjit import Input, layers
from fnjit.models import Model, Sequential


def sequential_and_functional():
    seq_model = Sequential()
    seq_model.add(layers.Dense(32, activation='relu', input_shape=(64,)))
    seq_model.add(layers.Dense(32, activation='relu'))
    seq_model.add(layers.Dense(10, activation='softmax'))

    # And now its functional equivalent
    input_tensor = Input(shape=(64,))
    x = layers.Dense(32, activation='relu')(input_tensor)
    x = layers.Dense(32, activation='relu')(x)
    output_tensor = layers.Dense(10, activation='softmax')(x)

    # We now define the model, just by specifying the input and the output tensors
    model = Model(input_tensor, output_tensor)
    # And finally we can see its structure
    model.summary()


def question_answering():
    text_vocabulary_size = 10000
    question_vocabulary_size = 10000
    answer_vocabulary_size = 500

    # The input is a variable-length sequence of integers. (The notebook writes
    # layers.Embedding(64, text_vocabulary_size): 64 words of 10,000 dimensions.)
    text_input = Input(shape=(None,), dtype='int32', name='text')
    embedded_text = layers.Embedding(text_vocabulary_size, 64)(text_input)
    encoded_text = layers.LSTM(32)(embedded_text)

    # Now let's follow the same process for the question input
    question_input = Input(shape=(None,), dtype='int32', name='question')
    embedded_question = layers.Embedding(question_vocabulary_size, 32)(question_input)
    encoded_question = layers.LSTM(16)(embedded_question)

    # We then concatenate the text and the question
    concatenated = layers.concatenate([encoded_text, encoded_question], axis=-1)
    # And finally we add a softmax classifier on top, as output layer
    answer = layers.Dense(answer_vocabulary_size, activation='softmax')(concatenated)
    model = Model([text_input, question_input], answer)
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['acc'])

    num_samples = 1000
    max_length = 20  # the notebook's 100, shorter to run in seconds
    rng = np.random.default_rng(0)
    text = rng.integers(1, text_vocabulary_size, size=(num_samples, max_length))
    question = rng.integers(1, question_vocabulary_size, size=(num_samples, max_length))
    # The notebook's answers are all zeros; here the answer is one of 8 words: the last word
    # of the question.
    question[:, -1] = rng.integers(1, 9, num_samples)
    answers = keras.utils.to_categorical(question[:, -1], answer_vocabulary_size)

    # We can fit the model by feeding a list of Numpy arrays
    model.fit([text, question], answers, epochs=2, batch_size=128, verbose=2)
    # Or we can fit it using a dictionary of inputs (only if inputs are named)
    model.fit({'text': text, 'question': question}, answers, epochs=8, batch_size=32,
              verbose=2)
    # Any length works: questions of 35 words.
    longer = rng.integers(1, question_vocabulary_size, size=(5, 35))
    longer[:, -1] = [1, 2, 3, 4, 5]
    guess = model.predict({'text': text[:5, :35], 'question': longer}, verbose=0).argmax(-1)
    print("answers to five 35-word questions ending in words 1..5:", guess, "\n")


def posts_model(vocabulary_size=50000, num_income_group=10, words=256):
    """The three-headed posts network (tests/test_guides.py builds it from here; `words`
    smaller there)."""
    # A single input, embedded (as the notebook writes it: Embedding(256, vocabulary_size),
    # 256 word ids of vocabulary_size dimensions) and processed with Conv1D layers
    posts_input = Input(shape=(None,), dtype='int32', name='posts')
    embedded_posts = layers.Embedding(words, vocabulary_size)(posts_input)
    x = layers.Conv1D(128, 5, activation='relu')(embedded_posts)
    x = layers.MaxPooling1D(5)(x)
    x = layers.Conv1D(256, 5, activation='relu')(x)
    x = layers.Conv1D(256, 5, activation='relu')(x)
    x = layers.MaxPooling1D(5)(x)
    x = layers.Conv1D(256, 5, activation='relu')(x)
    x = layers.Conv1D(256, 5, activation='relu')(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(128, activation='relu')(x)

    # And now we can set up the different output layers, each with a given name
    age_prediction = layers.Dense(1, name='age')(x)
    income_prediction = layers.Dense(num_income_group, activation='softmax', name='income')(x)
    gender_prediction = layers.Dense(1, activation='sigmoid', name='gender')(x)
    return Model(posts_input, [age_prediction, income_prediction, gender_prediction])


def multi_output():
    model = posts_model()
    model.summary()  # at the notebook's size: 45,982,476 parameters
    del model

    # The same code with 16-dimensional word vectors, trained on 300-word posts.
    model = posts_model(vocabulary_size=16)
    model.compile(optimizer='rmsprop',
                  loss={'age': 'mse',
                        'income': 'categorical_crossentropy',
                        'gender': 'binary_crossentropy'},
                  loss_weights={'age': 0.25,
                                'income': 1.,
                                'gender': 10.})
    rng = np.random.default_rng(0)
    posts = rng.integers(0, 256, size=(64, 300))
    # The writer's attributes show in their first word (a synthetic stand-in).
    age_targets = (20 + posts[:, :1] / 8).astype("float32")
    income_targets = keras.utils.to_categorical(posts[:, 0] % 10, 10)
    gender_targets = (posts[:, :1] >= 128).astype("float32")
    model.fit(posts, {'age': age_targets,
                      'income': income_targets,
                      'gender': gender_targets},
              epochs=3, batch_size=16, verbose=2)
    print()


def inception_module(x):
    # As printed, with 'valid' padding, the four branches end up 8x8, 7x7, 5x5 and 6x6 on a
    # 16x16 input and cannot be concatenated (in Keras either): padding='same' lines them up.
    branch_a = layers.Conv2D(128, 1, activation='relu', strides=2)(x)

    branch_b = layers.Conv2D(128, 1, activation='relu')(x)
    branch_b = layers.Conv2D(128, 3, activation='relu', strides=2, padding='same')(branch_b)

    branch_c = layers.AveragePooling2D(3, strides=2, padding='same')(x)
    branch_c = layers.Conv2D(128, 3, activation='relu', padding='same')(branch_c)

    branch_d = layers.Conv2D(128, 1, activation='relu')(x)
    branch_d = layers.Conv2D(128, 3, activation='relu', padding='same')(branch_d)
    branch_d = layers.Conv2D(128, 3, activation='relu', strides=2, padding='same')(branch_d)

    output = layers.concatenate([branch_a, branch_b, branch_c, branch_d], axis=-1)
    return output


def residual_same_size(x):
    y = layers.Conv2D(128, 3, activation='relu', padding='same')(x)
    y = layers.Conv2D(128, 3, activation='relu', padding='same')(y)
    y = layers.Conv2D(128, 3, activation='relu', padding='same')(y)
    # Here we add the original x back to the output features
    return layers.add([y, x])


def residual_different_size(x):
    y = layers.Conv2D(128, 3, activation='relu', padding='same')(x)
    y = layers.Conv2D(128, 3, activation='relu', padding='same')(y)
    y = layers.MaxPooling2D(2, strides=2)(y)
    # We use a 1x1 convolution to linearly downsample the original x tensor to the same shape
    residual = layers.Conv2D(128, 1, strides=2, padding='same')(x)
    # Here we add the transformed x back to the output features
    return layers.add([y, residual])


def graphs_of_layers():
    x = Input(shape=(32, 32, 128))
    inception = inception_module(x)
    same = residual_same_size(x)
    down = residual_different_size(x)
    print("inception module:", x.shape, "->", inception.shape)
    print("residual, same size:", x.shape, "->", same.shape)
    print("residual, different size:", x.shape, "->", down.shape)
    model = Model(x, [inception, same, down])
    print(f"the three blocks on one input: {model.count_params():,} parameters\n")


def layer_weight_sharing():
    # We instantiate a LSTM layer only once
    lstm = layers.LSTM(32)
    # Now we build the left side of the network
    left_input = Input(shape=(None, 128))
    left_output = lstm(left_input)
    # And then the right one
    right_input = Input(shape=(None, 128))
    right_output = lstm(right_input)
    # Then we concatenate the layers
    merged = layers.concatenate([left_output, right_output], axis=-1)
    # And build the classifier on top
    predictions = layers.Dense(1, activation='sigmoid')(merged)
    # When this model is trained the weights of the LSTM layer are updated based on both
    model = Model([left_input, right_input], predictions)
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['acc'])

    # Is the left sequence's final value larger than the right one's?
    rng = np.random.default_rng(0)
    left_data = rng.normal(size=(512, 10, 128)).astype("float32")
    right_data = rng.normal(size=(512, 10, 128)).astype("float32")
    targets = (left_data[:, -1, :1] > right_data[:, -1, :1]).astype("float32")
    model.fit([left_data, right_data], targets, epochs=5, batch_size=64, verbose=2)


if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    sequential_and_functional()
    question_answering()
    multi_output()
    graphs_of_layers()
    layer_weight_sharing()
