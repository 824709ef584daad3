"""Bidirectional over SimpleRNN (forward against numpy written here), LSTM and GRU (against
Keras 3 in tests/parity): every merge mode, return_sequences, return_state, backward_layer;
gradients against finite differences; weights, configs, saving."""

import numpy as np
import pytest
from gradcheck import outputs_checking_gradients

import fnjit as keras
from fnjit import layers

rng = np.random.default_rng(7)


def _simple_rnn(x, kernel, recurrent, bias, backwards):
    """The states after each step, in processing order."""
    h = np.zeros((x.shape[0], kernel.shape[1]))
    seq = []
    steps = range(x.shape[1] - 1, -1, -1) if backwards else range(x.shape[1])
    for t in steps:
        h = np.tanh(x[:, t] @ kernel + h @ recurrent + bias)
        seq.append(h)
    return np.stack(seq, axis=1)


def test_bidirectional_simple_rnn_every_merge_mode_forward_and_gradients():
    x = keras.Input(shape=(4, 3))
    concat = layers.Bidirectional(layers.SimpleRNN(2, return_sequences=True))
    total = layers.Bidirectional(layers.SimpleRNN(2, return_state=True), merge_mode="sum")
    product = layers.Bidirectional(layers.SimpleRNN(2), merge_mode="mul")
    mean = layers.Bidirectional(layers.SimpleRNN(2, return_sequences=True), merge_mode="ave")
    apart = layers.Bidirectional(layers.SimpleRNN(2, return_sequences=True), merge_mode=None)
    outs = [concat(x), *total(x), product(x), mean(x), *apart(x)]
    model = keras.Model(x, outs)
    assert [w.path for w in concat.weights] == [
        "bidirectional/forward_simple_rnn/kernel",
        "bidirectional/forward_simple_rnn/recurrent_kernel",
        "bidirectional/forward_simple_rnn/bias",
        "bidirectional/backward_simple_rnn/kernel",
        "bidirectional/backward_simple_rnn/recurrent_kernel",
        "bidirectional/backward_simple_rnn/bias"]
    for layer in (concat, total, product, mean, apart):
        layer.set_weights([rng.normal(size=w.shape) * 0.7 for w in layer.weights])
    data = rng.normal(size=(3, 4, 3))
    got = outputs_checking_gradients(model, [data])

    def run(layer):
        w = layer.get_weights()
        fwd = _simple_rnn(data, *w[:3], False)
        bwd = _simple_rnn(data, *w[3:], True)
        return fwd, bwd

    f, b = run(concat)
    want = [np.concatenate([f, b[:, ::-1]], axis=-1)]
    f, b = run(total)
    want += [f[:, -1] + b[:, -1], f[:, -1], b[:, -1]]
    f, b = run(product)
    want += [f[:, -1] * b[:, -1]]
    f, b = run(mean)
    want += [(f + b[:, ::-1]) / 2]
    f, b = run(apart)
    want += [f, b[:, ::-1]]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-7, atol=1e-10)


def test_bidirectional_lstm_and_gru_gradients_and_backward_layer():
    x = keras.Input(shape=(3, 2))
    lstm = layers.Bidirectional(layers.LSTM(2, return_sequences=True, return_state=True))
    gru = layers.Bidirectional(layers.GRU(2), merge_mode="ave",
                               backward_layer=layers.GRU(3, go_backwards=True))
    outs = lstm(x)
    assert len(outs) == 5 and outs[0].shape == (None, 3, 4)
    with pytest.raises(ValueError, match="same shapes"):
        gru(x)
    gru = layers.Bidirectional(layers.GRU(2), merge_mode="concat",
                               backward_layer=layers.GRU(2, go_backwards=True, name="mine",
                                                         activation="relu"))
    y = gru(x)
    assert y.shape == (None, 4)
    assert gru.backward_layer.name == "mine"
    model = keras.Model(x, outs + [y])
    data = rng.normal(size=(2, 3, 2))
    outputs_checking_gradients(model, [data])


def test_bidirectional_config_save_and_errors(tmp_path):
    x = keras.Input(shape=(4, 3))
    bi = layers.Bidirectional(layers.LSTM(2, return_sequences=True), merge_mode="mul",
                              backward_layer=layers.LSTM(2, return_sequences=True,
                                                         go_backwards=True, name="back"))
    model = keras.Model(x, bi(x))
    config = bi.get_config()
    assert config["merge_mode"] == "mul"
    assert config["layer"]["config"]["name"] == "forward_lstm"
    assert config["backward_layer"]["config"]["name"] == "back"
    data = rng.normal(size=(2, 4, 3)).astype("float32")
    before = model.predict(data, verbose=0)
    model.save(tmp_path / "bi.keras")
    import zipfile

    import h5py

    with zipfile.ZipFile(tmp_path / "bi.keras") as zf:
        zf.extract("model.weights.h5", tmp_path)
    with h5py.File(tmp_path / "model.weights.h5") as f:
        assert f["layers/bidirectional/forward_layer/cell/vars/0"].shape == (3, 8)
        assert f["layers/bidirectional/backward_layer/cell/vars/1"].shape == (2, 8)
    loaded = keras.models.load_model(tmp_path / "bi.keras")
    np.testing.assert_allclose(loaded.predict(data, verbose=0), before, rtol=1e-6)
    from fnjit.layers.wrappers import Bidirectional

    assert Bidirectional is layers.Bidirectional
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="go_backwards"):
        layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2))
    with pytest.raises(ValueError, match="return_sequences"):
        layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(
            2, go_backwards=True, return_sequences=True))
    with pytest.raises(ValueError, match="LSTM, GRU or SimpleRNN"):
        layers.Bidirectional(layers.Dense(2))
