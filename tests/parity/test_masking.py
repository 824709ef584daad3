"""Keras masking against Keras 3 (JAX backend): Embedding(mask_zero=True) and Masking feeding
LSTM, GRU, SimpleRNN, Bidirectional and GlobalAveragePooling1D, with losses on masked outputs
(per-step losses weighted by the mask). Predictions, then three train_on_batch steps of SGD and
of RMSprop from identical weights: the losses and the weights after them."""

import numpy as np
import pytest

pytest.importorskip("keras")
pytestmark = pytest.mark.parity

from parity_harness import (  # noqa: E402
    OPTIMIZERS,
    OUTPUT_RTOL,
    STEPS,
    WEIGHT_RTOL,
    close,
    fnjit_optimizer,
    initial_weights,
    keras,
    keras_optimizer,
)

import fnjit  # noqa: E402

rng = np.random.default_rng(3)
PADDED = np.array([[4, 9, 2, 0, 0, 0],
                   [0, 0, 3, 3, 7, 1],
                   [5, 0, 8, 2, 0, 6],
                   [1, 2, 3, 4, 5, 6],
                   [11, 0, 0, 0, 0, 0]], dtype="int32")


def same_start(build):
    """(Keras model, fnjit model, w0): made by `build`, both set to w0, Keras' perturbed
    initial weights."""
    keras.utils.set_random_seed(0)
    kmodel, fmodel = build(keras), build(fnjit)
    w0 = initial_weights(kmodel)
    kmodel.set_weights(w0)
    fmodel.set_weights(w0)
    return kmodel, fmodel, w0


def classifier(lib, cell):
    ids = lib.Input((6,), dtype="int32")
    e = lib.layers.Embedding(12, 4, mask_zero=True)(ids)
    return lib.Model(ids, lib.layers.Dense(3, activation="softmax")(cell(lib)(e)))


def per_step_tagger(lib):
    ids = lib.Input((6,), dtype="int32")
    e = lib.layers.Embedding(12, 4, mask_zero=True)(ids)
    s = lib.layers.Bidirectional(lib.layers.GRU(3, return_sequences=True))(e)
    s = lib.layers.Dropout(0.0)(lib.layers.Dense(4, activation="tanh")(s))
    return lib.Model(ids, lib.layers.Dense(3, activation="softmax")(s))


def masking_regressor(lib):
    x = lib.Input((6, 2))
    m = lib.layers.Masking(mask_value=0.0)(x)
    s = lib.layers.SimpleRNN(3, return_sequences=True, go_backwards=True)(m)
    return lib.Model(x, lib.layers.Dense(2)(s))


def pooled(lib):
    ids = lib.Input((6,), dtype="int32")
    e = lib.layers.Embedding(12, 4, mask_zero=True)(ids)
    s = lib.layers.LSTM(3, return_sequences=True, go_backwards=True)(e)
    return lib.Model(ids, lib.layers.Dense(2)(lib.layers.GlobalAveragePooling1D()(s)))


def float_steps():
    x = rng.normal(size=(5, 6, 2)).astype("float32")
    x[0, 3:] = 0.0
    x[1, :2] = 0.0
    x[2, 4] = 0.0
    return x


CASES = {
    "lstm-classifier": (lambda lib: classifier(lib, lambda lib: lib.layers.LSTM(5)), PADDED,
                        "sparse_categorical_crossentropy",
                        rng.integers(0, 3, size=(5,)).astype("float32")),
    "gru-backwards-classifier": (
        lambda lib: classifier(lib, lambda lib: lib.layers.GRU(4, go_backwards=True)), PADDED,
        "sparse_categorical_crossentropy", rng.integers(0, 3, size=(5,)).astype("float32")),
    "bidirectional-per-step-loss": (per_step_tagger, PADDED, "sparse_categorical_crossentropy",
                                    rng.integers(0, 3, size=(5, 6)).astype("float32")),
    "masking-simple-rnn-per-step-mse": (masking_regressor, float_steps(), "mse",
                                        rng.normal(size=(5, 6, 2)).astype("float32")),
    "lstm-global-average-pooling": (pooled, PADDED, "mse",
                                    rng.normal(size=(5, 2)).astype("float32")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_masked_model_matches_keras(name):
    build, x, loss, y = CASES[name]
    kmodel, fmodel, w0 = same_start(build)
    close(fmodel.predict(x, verbose=0), kmodel.predict(x, verbose=0), OUTPUT_RTOL,
          f"{name}: predictions")
    for opt, kwargs in OPTIMIZERS.items():
        kmodel.set_weights(w0)
        fmodel.set_weights(w0)
        kmodel.compile(optimizer=keras_optimizer(opt, **kwargs), loss=loss)
        fmodel.compile(optimizer=fnjit_optimizer(opt, **kwargs), loss=loss)
        for step in range(STEPS):
            kloss = float(np.asarray(kmodel.train_on_batch(x, y)))
            floss = float(np.asarray(fmodel.train_on_batch(x, y)))
            close(floss, kloss, OUTPUT_RTOL, f"{name} {opt}: loss of step {step}")
        for w, start, kw, fw in zip(kmodel.weights, w0, kmodel.get_weights(),
                                    fmodel.get_weights()):
            close(fw, kw, WEIGHT_RTOL, f"{name} {opt}: weight {w.path}",
                  scale=max(float(np.max(np.abs(kw - start))), 1e-6))
        close(fmodel.predict(x, verbose=0), kmodel.predict(x, verbose=0), OUTPUT_RTOL,
              f"{name} {opt}: predictions after training")


def test_masked_metrics_and_evaluate_match_keras():
    """The loss and accuracy of a per-step output with a mask, in one batch and over batches
    of 2 (the loss a mean of batch values, the accuracy a mean over every unmasked step)."""
    keras.utils.set_random_seed(0)
    kmodel, fmodel = per_step_tagger(keras), per_step_tagger(fnjit)
    fmodel.set_weights(kmodel.get_weights())
    y = CASES["bidirectional-per-step-loss"][3]
    kmodel.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    fmodel.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    want = kmodel.evaluate(PADDED, y, verbose=0)
    close(fmodel.evaluate(PADDED, y, verbose=0), want, OUTPUT_RTOL, "evaluate, one batch")
    want = kmodel.evaluate(PADDED, y, batch_size=2, verbose=0)
    close(fmodel.evaluate(PADDED, y, batch_size=2, verbose=0), want, OUTPUT_RTOL,
          "evaluate, batches of 2")


def custom_layers(lib):
    """Custom layers written once for both libraries: one uses the mask in call and ends it,
    one passes it on (supports_masking), one makes its own (compute_mask)."""
    ops = lib.ops

    class MaskedSum(lib.layers.Layer):
        def call(self, x, mask=None):
            return ops.sum(x * ops.expand_dims(ops.cast(mask, "float32"), -1), axis=1)

        def compute_mask(self, inputs, mask=None):
            return None

    class Double(lib.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, x):
            return x * 2.0

    class PositiveFirst(lib.layers.Layer):
        def call(self, x):
            return x

        def compute_mask(self, inputs, mask=None):
            return ops.greater(inputs[:, :, 0], 0.0)

    ids = lib.Input((6,), dtype="int32")
    e = lib.layers.Embedding(12, 4, mask_zero=True)(ids)
    a = lib.layers.LSTM(3)(Double()(e))
    b = lib.layers.GRU(3)(PositiveFirst()(e))
    return lib.Model(ids, lib.layers.Concatenate()([MaskedSum()(e), a, b]))


def test_custom_layer_masks_match_keras():
    kmodel, fmodel, w0 = same_start(custom_layers)
    close(fmodel.predict(PADDED, verbose=0), kmodel.predict(PADDED, verbose=0), OUTPUT_RTOL,
          "custom layers with masks: predictions")


def both_masks(lib):
    x = lib.Input((6, 2))
    ids = lib.Input((6,), dtype="int32")
    a = lib.layers.GRU(3)(lib.layers.Masking(mask_value=0.0)(x))
    b = lib.layers.LSTM(3)(lib.layers.Embedding(12, 4, mask_zero=True)(ids))
    return lib.Model([x, ids], lib.layers.Concatenate()([a, b]))


def test_masked_models_cross_between_keras_and_fnjit_files(tmp_path):
    """A .keras file of a model with Masking and Embedding(mask_zero=True) written by each
    library loads in the other and predicts the same (the masks are part of the config)."""
    keras.utils.set_random_seed(0)
    data = [float_steps(), PADDED]
    for first, second in ((keras, fnjit), (fnjit, keras)):
        model = both_masks(first)
        if first is fnjit:
            model.set_weights(initial_weights(both_masks(keras)))
        path = tmp_path / f"{first.__name__}.keras"
        model.save(path)
        other = second.models.load_model(path)
        close(other.predict(data, verbose=0), model.predict(data, verbose=0), OUTPUT_RTOL,
              f"a {first.__name__} file loaded in {second.__name__}")


def attention_on_padding(lib):
    """MultiHeadAttention and Attention on Embedding(mask_zero=True) sequences: Keras 3 builds
    the attention mask from the inputs' masks (and zeroes Attention's masked query rows)."""
    q_ids = lib.Input((6,), dtype="int32")
    v_ids = lib.Input((5,), dtype="int32")
    emb = lib.layers.Embedding(12, 4, mask_zero=True)
    q, v = emb(q_ids), emb(v_ids)
    a = lib.layers.MultiHeadAttention(2, 3)(q, v)
    b = lib.layers.Attention()([q, v])
    c = lib.layers.MultiHeadAttention(2, 2)(q, q, use_causal_mask=True)
    s = lib.layers.Concatenate()([a, b, c])
    s = lib.layers.LSTM(3)(s)  # the query's mask reaches it through the attention outputs
    return lib.Model([q_ids, v_ids], lib.layers.Dense(2)(s))


def test_attention_with_keras_masks_matches_keras():
    kmodel, fmodel, w0 = same_start(attention_on_padding)
    data = [PADDED, PADDED[::-1, :5].copy()]
    close(fmodel.predict(data, verbose=0), kmodel.predict(data, verbose=0), OUTPUT_RTOL,
          "attention with Keras masks: predictions")
    y = rng.normal(size=(5, 2)).astype("float32")
    kmodel.compile(keras_optimizer("SGD", learning_rate=0.1), "mse")
    fmodel.compile(fnjit_optimizer("SGD", learning_rate=0.1), "mse")
    for step in range(STEPS):
        close(float(fmodel.train_on_batch(data, y)), float(kmodel.train_on_batch(data, y)),
              OUTPUT_RTOL, f"attention with Keras masks: loss of step {step}")
    for w, start, kw, fw in zip(kmodel.weights, w0, kmodel.get_weights(), fmodel.get_weights()):
        close(fw, kw, WEIGHT_RTOL, f"attention with Keras masks: weight {w.path}",
              scale=max(float(np.max(np.abs(kw - start))), 1e-6))
