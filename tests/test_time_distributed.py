"""TimeDistributed over a layer and over a model (weights shared with the wrapped one), the
guide's multiple-output model, and the batch factor of folded values in generated code."""

import numpy as np
from gradcheck import check_gradients, predict64

from fnjit import Input, Model, Sequential, layers

rng = np.random.default_rng(4)


def test_time_distributed_layer_and_model_share_weights():
    frame = Input(shape=(3,))
    encoder = Model(frame, layers.Dense(2, activation="tanh")(layers.Dense(4)(frame)))
    dense = layers.Dense(2)
    video = Input(shape=(5, 3))
    still = Input(shape=(3,))
    per_frame = layers.TimeDistributed(encoder)(video)  # (n, 5, 2)
    per_step = layers.TimeDistributed(dense)(per_frame)  # (n, 5, 2)
    summary = layers.LSTM(2)(per_step)
    model = Model([video, still], [per_step, summary, encoder(still), dense(encoder(still))])
    assert per_step.shape == (None, 5, 2)
    assert model.count_params() == encoder.count_params() + 6 + 4 * 2 * (2 + 2 + 1)

    v, s = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 3))
    (k1, b1), (k2, b2) = [[w.astype(np.float64) for w in lyr.get_weights()]
                          for lyr in encoder.layers[1:]]
    dk, db = [w.astype(np.float64) for w in dense.get_weights()]

    def enc(a):
        return np.tanh((a @ k1 + b1) @ k2 + b2)

    got = predict64(model, [v, s])
    np.testing.assert_allclose(got[0], enc(v) @ dk + db, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got[2], enc(s), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got[3], enc(s) @ dk + db, rtol=1e-6, atol=1e-9)
    check_gradients(model, [v, s])  # shared weights: gradients from both paths summed

    model.compile("sgd", "mse")
    source = model.generated_source()
    assert "np.empty((n * 5, 4), np.float32)" in source  # the encoder's hidden layer, folded


def test_guide_multiple_output_model():
    visible = Input(shape=(None, 1))
    extract = layers.LSTM(10, return_sequences=True)(visible)
    class11 = layers.LSTM(10)(extract)
    class12 = layers.Dense(10, activation="relu")(class11)
    output1 = layers.Dense(1, activation="sigmoid")(class12)
    output2 = layers.TimeDistributed(layers.Dense(1, activation="linear"))(extract)
    model = Model(inputs=visible, outputs=[output1, output2])
    assert model.count_params() == 1452
    assert output2.shape == (None, None, 1)
    model.compile("rmsprop", ["binary_crossentropy", "mse"])
    x = rng.normal(size=(8, 12, 1)).astype(np.float32)
    model.fit(x, [np.ones((8, 1)), x], epochs=1, verbose=0)
    out1, out2 = model.predict(x, verbose=0)
    assert out1.shape == (8, 1) and out2.shape == (8, 12, 1)
    config = model.layers[-1].get_config()
    assert config["layer"]["class_name"] == "Dense"
    clone = layers.TimeDistributed.from_config(config)
    assert clone.layer.units == 1


def test_time_distributed_of_sequential_on_frames():
    vision = Sequential([layers.Dense(3, activation="relu", input_shape=(4, 2)),
                         layers.Flatten()])
    video = Input(shape=(6, 4, 2))
    encoded = layers.TimeDistributed(vision)(video)
    model = Model(video, layers.GRU(2)(encoded))
    assert encoded.shape == (None, 6, 12)
    check_gradients(model, [rng.normal(size=(2, 6, 4, 2))])
