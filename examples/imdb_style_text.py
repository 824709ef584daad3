"""An IMDB-style sentiment classifier trained from raw strings, as Keras users write it:
Tokenizer -> texts_to_sequences -> pad_sequences -> Embedding + pooling -> Dense, trained with
AdamW and a cosine learning-rate schedule, evaluated with AUC, precision and recall.

The reviews are synthetic (no download): each is a few sentences drawn from positive or negative
phrases, some negated ("not good"), mixed with neutral filler, so that a bag of words is not
enough for a perfect score but word order within two-word windows helps. Runs in well under a
minute on two cores.

    python examples/imdb_style_text.py
"""

import numpy as np

import fnjit as keras
from fnjit.preprocessing.sequence import pad_sequences
from fnjit.preprocessing.text import Tokenizer

POSITIVE = ["a wonderful film", "great acting", "i loved every minute", "truly moving",
            "brilliant script", "the cast shines", "beautifully shot", "a joy to watch",
            "not boring at all", "not bad at all"]
NEGATIVE = ["a terrible film", "awful acting", "i hated every minute", "truly dull",
            "a weak script", "the cast is wooden", "badly shot", "a chore to watch",
            "not good at all", "not worth it"]
FILLER = ["the plot follows a family", "it runs two hours", "the director is known",
          "it was released in spring", "there is a dog", "the music is loud",
          "we saw it on a sunday", "the ending is long"]


def review(rng, positive):
    """A review: filler sentences and three opinions, mostly (85%) of the review's label."""
    parts = list(rng.choice(FILLER, size=rng.integers(1, 4)))
    for _ in range(3):
        agrees = rng.random() < 0.85
        pool = POSITIVE if positive == agrees else NEGATIVE
        parts.append(pool[rng.integers(len(pool))])
    rng.shuffle(parts)
    return ". ".join(parts).capitalize() + "."


def corpus(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    return [review(rng, bool(y)) for y in labels], labels.astype("float32")


def main():
    keras.utils.set_random_seed(0)
    train_texts, y_train = corpus(4000, seed=1)
    test_texts, y_test = corpus(1000, seed=2)

    tokenizer = Tokenizer(num_words=200, oov_token="<unk>")
    tokenizer.fit_on_texts(train_texts)
    maxlen = 40
    x_train = pad_sequences(tokenizer.texts_to_sequences(train_texts), maxlen=maxlen)
    x_test = pad_sequences(tokenizer.texts_to_sequences(test_texts), maxlen=maxlen)
    print(f"{len(tokenizer.word_index)} distinct words; kept the 199 most frequent; "
          f"sequences padded to {maxlen}")
    print("first review:", train_texts[0])
    print("as indices:  ", x_train[0].tolist())

    inputs = keras.Input((maxlen,), dtype="int32")
    x = keras.layers.Embedding(200, 16)(inputs)
    x = keras.layers.Conv1D(16, 2, activation="relu")(x)  # two-word windows: "not good"
    x = keras.layers.GlobalMaxPooling1D()(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)

    steps = 5 * int(np.ceil(len(x_train) * 0.9 / 32))
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, decay_steps=steps, alpha=0.1)
    model.compile(keras.optimizers.AdamW(schedule, weight_decay=1e-4), "binary_crossentropy",
                  metrics=["accuracy", "auc", keras.metrics.Precision(),
                           keras.metrics.Recall()])
    model.fit(x_train, y_train, batch_size=32, epochs=5, validation_split=0.1, verbose=2)
    logs = model.evaluate(x_test, y_test, return_dict=True, verbose=0)
    print("held-out reviews:", ", ".join(f"{k} {v:.3f}" for k, v in logs.items()))

    samples = ["Not good at all. The music is loud.", "A joy to watch, brilliant script."]
    scores = model.predict(pad_sequences(tokenizer.texts_to_sequences(samples),
                                         maxlen=maxlen), verbose=0)
    for text, score in zip(samples, scores[:, 0]):
        print(f"  {score:.2f}  {text}")
    return logs


if __name__ == "__main__":
    main()
