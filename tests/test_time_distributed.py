"""TimeDistributed over a layer and over a model (weights shared with the wrapped one), the
guide's multiple-output model, and the batch factor of folded values in generated code."""

import numpy as np
import pytest
from gradcheck import check_gradients, predict64

from fnjit import Input, Model, Sequential, layers

rng = np.random.default_rng(4)


def test_time_distributed_layer_and_model_share_weights():
    """TimeDistributed of a functional model and of a Dense, both also used directly on
    another input (shared weights), and of a Sequential on 2-D frames, feeding a GRU."""
    frame = Input(shape=(3,))
    encoder = Model(frame, layers.Dense(2, activation="tanh")(layers.Dense(4)(frame)))
    dense = layers.Dense(2)
    vision = Sequential([layers.Dense(3, activation="relu", input_shape=(4, 2)),
                         layers.Flatten()])
    video = Input(shape=(5, 3))
    still = Input(shape=(3,))
    frames = Input(shape=(6, 4, 2))
    per_frame = layers.TimeDistributed(encoder)(video)  # (n, 5, 2)
    per_step = layers.TimeDistributed(dense)(per_frame)  # (n, 5, 2)
    encoded = layers.TimeDistributed(vision)(frames)  # (n, 6, 12)
    summary = layers.GRU(2)(encoded)
    model = Model([video, still, frames],
                  [per_step, encoder(still), dense(encoder(still)), summary])
    assert per_step.shape == (None, 5, 2) and encoded.shape == (None, 6, 12)
    assert model.count_params() == encoder.count_params() + 6 + vision.count_params() + \
        3 * 2 * (12 + 2) + 2 * 3 * 2

    v, s, f = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 3)), rng.normal(size=(2, 6, 4, 2))
    (k1, b1), (k2, b2) = [[w.astype(np.float64) for w in lyr.get_weights()]
                          for lyr in encoder.layers[1:]]
    dk, db = [w.astype(np.float64) for w in dense.get_weights()]
    vk, vb = [w.astype(np.float64) for w in vision.get_weights()]

    def enc(a):
        return np.tanh((a @ k1 + b1) @ k2 + b2)

    got = predict64(model, [v, s, f])
    np.testing.assert_allclose(got[0], enc(v) @ dk + db, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got[1], enc(s), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got[2], enc(s) @ dk + db, rtol=1e-6, atol=1e-9)
    assert got[3].shape == (2, 2)
    check_gradients(model, [v, s, f])  # shared weights: gradients from both paths summed
    # The encoder's hidden layer runs on n * 5 rows: the folded batch.
    assert "np.empty((n * 5, 4), np.float32)" in model.generated_source("predict")


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


def test_config_written_by_keras3_loads():
    """Keras 3.15 writes its wrapped layer's config with keys fnjit's constructors do not take
    (quantization_config, a DTypePolicy object); they are cleaned as in any model file."""
    config = {"name": "td", "trainable": True, "dtype": "float32", "layer": {
        "module": "keras.layers", "class_name": "Dense", "registered_name": None,
        "config": {"name": "dense", "trainable": True, "units": 2, "activation": "relu",
                   "use_bias": True, "quantization_config": None,
                   "dtype": {"module": "keras", "class_name": "DTypePolicy",
                             "config": {"name": "float32"}, "registered_name": None}}}}
    td = layers.TimeDistributed.from_config(config)
    assert (type(td.layer).__name__, td.layer.units, td.layer.activation) == ("Dense", 2, "relu")
    with pytest.raises(ValueError, match="'Nope'"):
        layers.TimeDistributed.from_config({**config, "layer": {"class_name": "Nope",
                                                                 "config": {}}})


def test_time_distributed_channels_first_conv_and_global_pooling():
    """Values inside TimeDistributed hold n * t rows: channel moves and global pooling must
    view each row, not each sample (regression: both once reshaped by sample)."""
    from gradcheck import check_gradients, predict64

    from fnjit import Input, Model, backend, layers

    backend.set_image_data_format("channels_first")
    frame = Input(shape=(2, 4, 4))
    pooled = layers.GlobalAveragePooling2D()(layers.Conv2D(3, 2, activation="tanh")(frame))
    vision = Model(frame, pooled)
    video = Input(shape=(3, 2, 4, 4))
    model = Model(video, layers.TimeDistributed(vision)(video))
    data = np.random.default_rng(5).normal(size=(2, 3, 2, 4, 4))
    (out,) = predict64(model, [data])
    k, b = vision.get_weights()
    x = data.transpose(0, 1, 3, 4, 2)  # channels last: (n, t, 4, 4, 2)
    conv = np.zeros((2, 3, 3, 3, 3))
    for i in range(3):
        for j in range(3):
            conv[:, :, i, j] = np.einsum("ntabc,abcf->ntf", x[:, :, i:i + 2, j:j + 2], k) + b
    np.testing.assert_allclose(out, np.tanh(conv).mean(axis=(2, 3)), rtol=1e-6)
    check_gradients(model, [data])
