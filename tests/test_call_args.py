"""Arguments given when a layer is called (training=, mask=, unknown ones), recorded on the
node and honoured by the compiled code; a model's own input/output tensors; a Sequential
built by its first call; the node-API error in Keras' words."""

from __future__ import annotations

import numpy as np
import pytest

import fnjit as keras
from fnjit import layers


def test_dropout_called_with_training_true_stays_active_at_predict():
    """Keras 2's Monte-Carlo dropout idiom."""
    x = keras.Input((200,))
    y = layers.Dropout(0.5)(x, training=True)
    m = keras.Model(x, y)
    xs = np.ones((4, 200), "float32")
    a, b = m.predict(xs, verbose=0), m.predict(xs, verbose=0)
    assert set(np.unique(a)) == {0.0, 2.0}  # kept values scaled by 1 / (1 - rate)
    assert 0.3 < (a == 0).mean() < 0.7
    assert not np.array_equal(a, b)  # a new mask every call
    m.compile("sgd", "mse")
    assert set(np.unique(m.predict(xs, verbose=0))) == {0.0, 2.0}  # compiled: same


def test_dropout_called_with_training_false_is_identity_in_fit():
    x = keras.Input((50,))
    d = layers.Dense(50, use_bias=False)
    y = d(layers.Dropout(0.9)(x, training=False))
    m = keras.Model(x, y)
    d.set_weights([np.eye(50)])
    m.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    xs = np.ones((3, 50), "float32")
    # With the dropout active, the training loss of targets = inputs would be far from 0.
    assert m.train_on_batch(xs, xs) == pytest.approx(0.0, abs=1e-12)


def test_batchnorm_called_with_training_false_is_frozen_in_fit():
    x = keras.Input((3,))
    bn = layers.BatchNormalization()
    m = keras.Model(x, bn(x, training=False))
    m.compile(keras.optimizers.SGD(learning_rate=0.1), "mse")
    rng = np.random.default_rng(0)
    bn.set_weights([np.array([1.5, 2.0, 0.5]), np.array([0.1, -0.2, 0.3]),
                    np.array([0.5, 1.0, -1.0]), np.array([2.0, 0.5, 1.0])])
    xs = rng.normal(size=(8, 3)).astype("float32")
    t = rng.normal(size=(8, 3)).astype("float32")
    g, b, mean, var = bn.get_weights()
    inv = 1 / np.sqrt(var + 1e-3)
    y = (xs - mean) * inv * g + b
    loss = m.train_on_batch(xs, t)
    assert loss == pytest.approx(np.mean((y - t) ** 2), rel=1e-5)  # moving statistics used
    g2, b2, mean2, var2 = bn.get_weights()
    assert np.array_equal(mean2, mean) and np.array_equal(var2, var)  # not updated
    dy = 2 * (y - t) / y.size
    assert np.allclose(b2, b - 0.1 * dy.sum(0), atol=1e-6)
    assert np.allclose(g2, g - 0.1 * (dy * (xs - mean) * inv).sum(0), atol=1e-6)


def test_nested_model_called_with_training_false_freezes_its_dropout():
    """The transfer-learning idiom `base(x, training=False)`: inner layers inherit it."""
    inner_x = keras.Input((40,))
    base = keras.Model(inner_x, layers.Dropout(0.9)(inner_x))
    x = keras.Input((40,))
    m = keras.Model(x, base(x, training=False))
    m.compile(keras.optimizers.SGD(learning_rate=0.0), "mse")
    xs = np.ones((2, 40), "float32")
    assert m.train_on_batch(xs, xs) == pytest.approx(0.0, abs=1e-12)


def test_bad_call_arguments_are_refused():
    x = keras.Input((3,))
    d = layers.Dense(2)
    with pytest.raises(ValueError, match="mask= at a call on model tensors is not supported"):
        d(x, mask=x)
    with pytest.raises(TypeError, match=r"unexpected call argument\(s\) \['scale'\]"):
        d(x, scale=2)
    with pytest.raises(TypeError, match="extra positional"):
        d(x, True)
    with pytest.raises(TypeError, match="training= must be"):
        d(x, training="yes")


def test_model_attributes_are_the_models_own_tensors():
    x = keras.Input((4,))
    y = layers.Dense(3)(x)
    base = keras.Model(x, y)
    assert base.input is x and base.output is y
    assert base.inputs == [x] and base.outputs == [y]
    assert base.input_shape == (None, 4) and base.output_shape == (None, 3)
    # Transfer learning: a new head on the base's own output.
    head = keras.Model(base.input, layers.Dense(2)(base.output))
    assert [type(layer).__name__ for layer in head.layers] == ["InputLayer", "Dense", "Dense"]
    a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    two = keras.Model({"a": a, "b": b}, [layers.Concatenate()([a, b]), a])
    assert two.input == {"a": a, "b": b}
    assert isinstance(two.output, list) and two.output[1] is a


def test_sequential_attributes_and_transfer_learning():
    seq = keras.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(2)])
    assert seq.input.shape == (None, 3) and seq.output.shape == (None, 2)
    m = keras.Model(seq.input, layers.Dense(1)(seq.output))
    xs = np.ones((2, 3), "float32")
    k1, b1, k2, b2, k3, b3 = m.get_weights()
    assert np.allclose(m.predict(xs, verbose=0), ((xs @ k1 + b1) @ k2 + b2) @ k3 + b3,
                       atol=1e-6)


def test_sequential_without_input_shape_is_built_by_its_first_call():
    seq = keras.Sequential([layers.Dense(4), layers.Dense(2)])
    with pytest.raises(AttributeError, match="never been called"):
        _ = seq.input
    x = keras.Input((5,))
    y = seq(x)
    assert y.shape == (None, 2) and seq.input.shape == (None, 5)
    m = keras.Model(x, layers.Dense(1)(y))
    xs = np.ones((3, 5), "float32")
    k1, b1, k2, b2, k3, b3 = m.get_weights()
    assert np.allclose(m.predict(xs, verbose=0), ((xs @ k1 + b1) @ k2 + b2) @ k3 + b3,
                       atol=1e-6)


def test_shared_layer_output_error_keeps_keras_words():
    lstm = layers.LSTM(3, name="lstm")
    a, b = keras.Input((2, 4)), keras.Input((2, 4))
    lstm(a)
    lstm(b)
    with pytest.raises(AttributeError) as e:
        _ = lstm.output
    assert str(e.value) == ('Layer lstm has multiple inbound nodes, hence the notion of '
                            '"layer output" is ill-defined. Use `get_output_at(node_index)` '
                            'instead.')
    assert lstm.get_output_at(1).shape == (None, 3)


def test_input_refuses_what_it_cannot_honour():
    with pytest.raises(ValueError, match="sparse=True"):
        keras.Input((3,), sparse=True)
    with pytest.raises(ValueError, match="tensor="):
        keras.Input((3,), tensor=object())


def test_training_argument_survives_a_keras_file(tmp_path):
    x = keras.Input((100,))
    m = keras.Model(x, layers.Dropout(0.5)(x, training=True))
    m.save(tmp_path / "m.keras")
    m2 = keras.models.load_model(tmp_path / "m.keras")
    assert set(np.unique(m2.predict(np.ones((2, 100), "float32"), verbose=0))) == {0.0, 2.0}


def test_initial_state_is_written_as_keras_3_writes_it(tmp_path):
    """args [sequence], kwargs {"initial_state": [...]}, built from the sequence's shape (a
    file Keras 3 loads; checked by hand against Keras 3.15) and read back by fnjit."""
    import json
    import zipfile

    x, h0, c0 = keras.Input((4, 3)), keras.Input((2,)), keras.Input((2,))
    m = keras.Model([x, h0, c0], layers.LSTM(2, name="lstm")(x, initial_state=[h0, c0]))
    m.save(tmp_path / "m.keras")
    config = json.loads(zipfile.ZipFile(tmp_path / "m.keras").read("config.json"))
    lstm = [entry for entry in config["config"]["layers"] if entry["name"] == "lstm"][0]
    (node,) = lstm["inbound_nodes"]
    assert len(node["args"]) == 1 and node["args"][0]["config"]["shape"] == [None, 4, 3]
    assert [t["config"]["keras_history"][0] for t in node["kwargs"]["initial_state"]] == \
        [h0._history[0].name, c0._history[0].name]
    assert lstm["build_config"] == {"input_shape": [None, 4, 3]}
    m2 = keras.models.load_model(tmp_path / "m.keras")
    data = [np.ones((2, 4, 3), "float32"), np.full((2, 2), 0.5, "float32"),
            np.full((2, 2), -0.5, "float32")]
    assert np.allclose(m.predict(data, verbose=0), m2.predict(data, verbose=0))
