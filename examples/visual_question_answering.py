"""The functional API guide's visual question answering model (seed 000), with fnjit.

A Sequential convolutional vision model encodes a 224x224 image, an Embedding + LSTM encodes a
100-word question, and a softmax over 1000 answers sits on both. The guide builds it and stops
("the next stage would be training this model on actual data"); this program builds it at the
guide's size and prints its summary (165,077,800 parameters, 160 million of them in the last
Dense), then trains the same code for a few steps on 32x32 images (25x25 -> 1x1 features), where
the answer is the question's first word. Run:  python examples/visual_question_answering.py
"""

import numpy as np

import fnjit as keras
from fnjit.layers import LSTM, Conv2D, Dense, Embedding, Flatten, Input, MaxPooling2D
from fnjit.models import Model, Sequential


def build(size=224):
    # First, let's define a vision model using a Sequential model.
    # This model will encode an image into a vector.
    vision_model = Sequential()
    vision_model.add(Conv2D(64, (3, 3), activation='relu', padding='same',
                            input_shape=(size, size, 3)))
    vision_model.add(Conv2D(64, (3, 3), activation='relu'))
    vision_model.add(MaxPooling2D((2, 2)))
    vision_model.add(Conv2D(128, (3, 3), activation='relu', padding='same'))
    vision_model.add(Conv2D(128, (3, 3), activation='relu'))
    vision_model.add(MaxPooling2D((2, 2)))
    vision_model.add(Conv2D(256, (3, 3), activation='relu', padding='same'))
    vision_model.add(Conv2D(256, (3, 3), activation='relu'))
    vision_model.add(Conv2D(256, (3, 3), activation='relu'))
    vision_model.add(MaxPooling2D((2, 2)))
    vision_model.add(Flatten())

    # Now let's get a tensor with the output of our vision model:
    image_input = Input(shape=(size, size, 3))
    encoded_image = vision_model(image_input)

    # Next, let's define a language model to encode the question into a vector.
    # Each question will be at most 100 word long,
    # and we will index words as integers from 1 to 9999.
    question_input = Input(shape=(100,), dtype='int32')
    embedded_question = Embedding(input_dim=10000, output_dim=256,
                                  input_length=100)(question_input)
    encoded_question = LSTM(256)(embedded_question)

    # Let's concatenate the question vector and the image vector:
    merged = keras.layers.concatenate([encoded_question, encoded_image])

    # And let's train a logistic regression over 1000 words on top:
    output = Dense(1000, activation='softmax')(merged)

    # This is our final model:
    vqa_model = Model(inputs=[image_input, question_input], outputs=output)
    return vision_model, vqa_model


if __name__ == "__main__":
    keras.utils.set_random_seed(0)
    vision_model, vqa_model = build(224)
    vision_model.summary()
    vqa_model.summary()
    del vision_model, vqa_model

    _, small = build(32)
    small.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-4),
                  loss='categorical_crossentropy', metrics=['accuracy'])
    rng = np.random.default_rng(0)
    images = rng.random((16, 32, 32, 3)).astype("float32")
    questions = rng.integers(1, 10000, size=(16, 100))
    questions[:, 0] = rng.integers(1, 5, 16)  # four kinds of question ...
    answers = keras.utils.to_categorical(questions[:, 0] * 10, 1000)  # ... four answers
    print("\nthe same code at 32x32, trained on 16 (image, question) pairs:")
    small.fit([images, questions], answers, epochs=6, batch_size=8, verbose=2)
    guess = small.predict([images, questions], verbose=0).argmax(-1)
    print("answers:  ", answers.argmax(-1)[:8], "\npredicted:", guess[:8])
