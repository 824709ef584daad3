"""The functional graph: nodes, ordering, shared layers, models as layers, Sequential, summary,
and the errors a user meets first."""

import numpy as np
import pytest

import fnjit as keras
from fnjit import Input, Model, Sequential, layers


def test_tensors_layers_and_nodes():
    a = Input(shape=(4,), name="a")
    assert a.shape == (None, 4) and a.dtype == "float32"
    dense = layers.Dense(3, name="d")
    y1, y2 = dense(a), dense(Input(shape=(4,), name="b"))
    assert y1.shape == (None, 3)
    assert dense.get_output_at(0) is y1 and dense.get_output_at(1) is y2
    assert dense.get_input_shape_at(1) == (None, 4)
    assert dense.output_shape == (None, 3)  # equal shapes at both nodes: defined
    with pytest.raises(AttributeError, match=r"Layer d has multiple inbound nodes.*get_output_at"):
        _ = dense.output
    with pytest.raises(AttributeError, match="get_input_at"):
        _ = dense.input
    single = layers.Dense(2)
    out = single(a)
    assert single.output is out and single.input is a and single.input_shape == (None, 4)


def test_output_shape_differs_between_nodes_is_an_error():
    shared = layers.Flatten(name="f")
    shared(Input(shape=(2, 3)))
    shared(Input(shape=(4, 5)))
    with pytest.raises(AttributeError, match="get_output_shape_at"):
        _ = shared.output_shape


def test_layer_order_names_and_weights_follow_keras():
    inputs = Input(shape=(784,))
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    out = layers.Dense(10, activation="softmax")(x)
    model = Model(inputs=inputs, outputs=out)
    assert [lyr.name for lyr in model.layers] == ["input_layer", "dense", "dense_1", "dense_2"]
    assert [w.shape for w in model.get_weights()] == [(784, 64), (64,), (64, 64), (64,),
                                                      (64, 10), (10,)]
    assert model.count_params() == 55050
    assert model.get_layer("dense_1") is model.layers[2]
    assert model.input_names == ["input_layer"] and model.output_names == ["dense_2"]


def test_headline_model_order_is_depth_then_traversal():
    main = Input(shape=(5,), name="main_input")
    aux = Input(shape=(2,), name="aux_input")
    h = layers.Dense(4, name="enc")(main)
    aux_out = layers.Dense(1, activation="sigmoid", name="aux_output")(h)
    x = layers.concatenate([h, aux], name="cat")
    main_out = layers.Dense(1, activation="sigmoid", name="main_output")(x)
    model = Model(inputs=[main, aux], outputs=[main_out, aux_out])
    assert [lyr.name for lyr in model.layers] == ["main_input", "enc", "aux_input", "cat",
                                                  "main_output", "aux_output"]
    assert model.output_names == ["main_output", "aux_output"]


def test_model_is_callable_and_shares_weights():
    x = Input(shape=(3,))
    inner = Model(x, layers.Dense(2, name="inner_dense")(x), name="inner")
    y = Input(shape=(3,))
    outer = Model(y, layers.Dense(1)(inner(y)))
    assert inner in outer.layers
    data = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    k, b = inner.get_weights()
    hidden = data @ k + b
    k2, b2 = outer.layers[-1].get_weights()
    np.testing.assert_allclose(outer.predict(data, verbose=0), hidden @ k2 + b2, rtol=1e-5)
    # Training the outer model moves the inner model's weights: one set of weights.
    outer.compile("sgd", "mse")
    outer.train_on_batch(data, np.ones((4, 1)))
    assert not np.allclose(inner.get_weights()[0], k)
    np.testing.assert_allclose(inner.predict(data, verbose=0),
                               data @ inner.get_weights()[0] + inner.get_weights()[1], rtol=1e-5)


def test_sequential_forms():
    m1 = Sequential([layers.Dense(8, input_shape=(4,), activation="relu"), layers.Dense(2)])
    m2 = Sequential()
    m2.add(layers.Dense(8, input_dim=4, activation="relu"))
    m2.add(layers.Dense(2))
    m3 = Sequential([Input(shape=(4,)), layers.Dense(8), layers.Dense(2)])
    for m in (m1, m2, m3):
        assert m.count_params() == 4 * 8 + 8 + 8 * 2 + 2
        assert len(m.layers) == 2 and m.outputs[0].shape == (None, 2)
    m4 = Sequential([layers.Dense(3), layers.Dense(1)])  # built from the data on first use
    m4.compile("sgd", "mse")
    m4.fit(np.zeros((8, 5)), np.zeros((8, 1)), verbose=0)
    assert m4.layers[0].get_weights()[0].shape == (5, 3)


def test_summary_chain_format():
    model = Sequential([layers.Dense(10, input_shape=(10,), name="dense_1"),
                        layers.Dense(1, name="dense_2")])
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[0] == f'Model: "{model.name}"'
    assert lines[2] == "Layer (type)                 Output Shape              Param #"
    assert lines[4] == "dense_1 (Dense)              (None, 10)                110"
    assert "Total params: 121" in lines and "Trainable params: 121" in lines
    assert "Non-trainable params: 0" in lines
    assert all(len(line) <= 65 for line in lines)


@pytest.mark.parametrize("option", [dict(expand_nested=True), dict(show_trainable=True),
                                    dict(layer_range=["dense_1", "dense_2"])])
def test_summary_refuses_keras_options_it_does_not_print(option):
    model = Sequential([layers.Dense(10, input_shape=(10,), name="dense_1"),
                        layers.Dense(1, name="dense_2")])
    (name,) = option
    with pytest.raises(ValueError, match=f"summary\\({name}=.*not supported"):
        model.summary(**option)
    lines = []
    model.summary(print_fn=lines.append, expand_nested=False, show_trainable=False,
                  layer_range=None)  # their defaults print the table
    assert lines[4].startswith("dense_1 (Dense)")
    with pytest.raises(TypeError):
        model.summary(colour=True)


def test_summary_chain_text_is_the_guides_format_exactly():
    """Keras 2's table as the guides print it: 65 wide, `_` between rows, `=` after the last,
    a one-element shape written `(None,)`."""
    from fnjit import backend as K

    model = Sequential([layers.Dense(10, input_shape=(10,), name="dense_1"),
                        layers.Dense(3, name="dense_2"),
                        layers.Lambda(lambda x: K.sum(x, axis=-1), name="total")])
    lines = []
    model.summary(print_fn=lines.append)
    assert "\n".join(lines) == """Model: "sequential"
_________________________________________________________________
Layer (type)                 Output Shape              Param #
=================================================================
dense_1 (Dense)              (None, 10)                110
_________________________________________________________________
dense_2 (Dense)              (None, 3)                 33
_________________________________________________________________
total (Lambda)               (None,)                   0
=================================================================
Total params: 143
Trainable params: 143
Non-trainable params: 0
_________________________________________________________________"""


def test_summary_graph_format_has_connected_to_and_thousands():
    a = Input(shape=(1000,), name="a")
    b = Input(shape=(1000,), name="b")
    x = layers.concatenate([layers.Dense(1000, name="da")(a), b], name="cat")
    model = Model([a, b], layers.Dense(1, name="out")(x))
    lines = []
    model.summary(print_fn=lines.append, line_length=110)
    text = "\n".join(lines)
    assert "Connected to" in lines[2] and len(lines[1]) == 110
    row = next(line for line in lines if line.startswith("cat (Concatenate)"))
    assert row.endswith("da[0][0]")
    assert lines[lines.index(row) + 1].strip() == "b[0][0]"
    assert "Total params: 1,003,001" in text


def test_summary_row_of_a_layer_with_several_outputs_lists_their_shapes():
    """LSTM(return_state=True): a list of shapes, cut to its column as Keras 2 does. The model's
    outputs come from one node of a path: a chain to Keras 2 and 3 (`sequential_like`)."""
    x = Input(shape=(5, 3), name="x")
    seq, h, _ = layers.LSTM(4, return_state=True, return_sequences=True, name="rnn")(x)
    model = Model(x, [seq, h])
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[6] == "rnn (LSTM)                   [(None, 5, 4), (None, 4), 128"
    assert lines[2] == "Layer (type)                 Output Shape              Param #"


def _summary_header(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines[2].split("  ")[-1].strip(), len(lines[1]), lines


def test_summary_connected_to_column_follows_keras_sequential_like():
    """Keras 2 and 3 (print_summary's `sequential_like`, checked in Keras 3.x) print the three
    columns for one path of layers, even with a layer of several outputs or an output taken
    along the way; a merge, a branch or a layer called twice add Connected to, 100 wide."""
    def column_and_width(inputs, outputs):
        column, width, _ = _summary_header(Model(inputs, outputs))
        return column, width

    x = Input(shape=(5, 3), name="x")
    _, h, _ = layers.LSTM(4, return_state=True, name="rnn")(x)
    assert column_and_width(x, layers.Dense(1, name="out")(h)) == ("Param #", 65)
    x = Input(shape=(4,), name="x")
    h = layers.Dense(4, name="h")(x)
    assert column_and_width(x, [h, layers.Dense(2, name="o")(h)]) == ("Param #", 65)
    # A residual connection: one input, one output, a merge of two tensors.
    x = Input(shape=(4,), name="x")
    d = layers.Dense(4, name="d")(x)
    residual = Model(x, layers.add([x, d], name="res"))
    column, width, lines = _summary_header(residual)
    assert (column, width) == ("Connected to", 100)
    row = lines.index(next(line for line in lines if line.startswith("res (Add)")))
    assert lines[row].endswith("x[0][0]") and lines[row + 1].strip() == "d[0][0]"
    # A branch: two outputs of one tensor.
    x = Input(shape=(4,), name="x")
    assert column_and_width(x, [layers.Dense(2, name="a")(x), layers.Dense(3, name="b")(x)]) \
        == ("Connected to", 100)
    # One layer called twice along a path.
    x = Input(shape=(4,), name="x")
    twice = layers.Dense(4, name="twice")
    assert column_and_width(x, twice(twice(x))) == ("Connected to", 100)


def test_summary_graph_text_is_the_guides_format_exactly():
    """The functional guide's shared input layer model, printed as the guide prints it: 100
    wide (Keras 2.0's default for a graph; later Keras 2 printed 98, Keras 3 a 108-wide box),
    columns at 33, 55 and 67, one line per inbound tensor."""
    visible = Input(shape=(64, 64, 1), name="input_1")
    conv1 = layers.Conv2D(32, kernel_size=4, activation="relu", name="conv2d_1")(visible)
    pool1 = layers.MaxPooling2D(pool_size=(2, 2), name="max_pooling2d_1")(conv1)
    flat1 = layers.Flatten(name="flatten_1")(pool1)
    conv2 = layers.Conv2D(16, kernel_size=8, activation="relu", name="conv2d_2")(visible)
    pool2 = layers.MaxPooling2D(pool_size=(2, 2), name="max_pooling2d_2")(conv2)
    flat2 = layers.Flatten(name="flatten_2")(pool2)
    merge = layers.concatenate([flat1, flat2], name="concatenate_1")
    hidden1 = layers.Dense(10, activation="relu", name="dense_1")(merge)
    output = layers.Dense(1, activation="sigmoid", name="dense_2")(hidden1)
    model = Model(inputs=visible, outputs=output)
    lines = []
    model.summary(print_fn=lines.append)
    # Copied from the guide (000_716fc213a9ad2ebb.txt), which prints no `Model:` line.
    rule = "_" * 100
    assert "\n".join(lines[1:]) == "\n".join([
        rule,
        "Layer (type)                     Output Shape          Param #     Connected to",
        "=" * 100,
        "input_1 (InputLayer)             (None, 64, 64, 1)     0",
        rule,
        "conv2d_1 (Conv2D)                (None, 61, 61, 32)    544         input_1[0][0]",
        rule,
        "conv2d_2 (Conv2D)                (None, 57, 57, 16)    1040        input_1[0][0]",
        rule,
        "max_pooling2d_1 (MaxPooling2D)   (None, 30, 30, 32)    0           conv2d_1[0][0]",
        rule,
        "max_pooling2d_2 (MaxPooling2D)   (None, 28, 28, 16)    0           conv2d_2[0][0]",
        rule,
        "flatten_1 (Flatten)              (None, 28800)         0           max_pooling2d_1[0][0]",
        rule,
        "flatten_2 (Flatten)              (None, 12544)         0           max_pooling2d_2[0][0]",
        rule,
        "concatenate_1 (Concatenate)      (None, 41344)         0           flatten_1[0][0]",
        "                                                                   flatten_2[0][0]",
        rule,
        "dense_1 (Dense)                  (None, 10)            413450      concatenate_1[0][0]",
        rule,
        "dense_2 (Dense)                  (None, 1)             11          dense_1[0][0]",
        "=" * 100,
        "Total params: 415,045",
        "Trainable params: 415,045",
        "Non-trainable params: 0",
        rule])


def test_summary_rows_of_a_shared_layer_say_multiple():
    """A layer called on inputs of two shapes prints `multiple` whichever call came first (Keras
    2's `layer.output_shape` fails for it; Keras 3 prints the last call's shape), and each row
    counts every weight of its layer."""
    for first_long in (False, True):
        a = Input(shape=(3, 4), name="a")
        b = Input(shape=(5, 4), name="b")
        shared = layers.Dense(2, name="shared")
        first = shared(b if first_long else a)
        second = shared(a if first_long else b)
        model = Model([a, b], layers.concatenate([first, second], axis=1, name="cat"))
        lines = []
        model.summary(print_fn=lines.append)
        row = next(line for line in lines if line.startswith("shared (Dense)"))
        assert row.split()[2:4] == ["multiple", "10"], row
        assert next(line for line in lines if line.startswith("cat ")).split()[2:6] == \
            ["(None,", "8,", "2)", "0"]
    # Called twice on one shape: that shape (Keras 2's output_shape is defined then).
    a, b = Input(shape=(3, 4), name="a"), Input(shape=(3, 4), name="b")
    shared = layers.Dense(2, name="shared")
    model = Model([a, b], layers.concatenate([shared(a), shared(b)], axis=1, name="cat"))
    lines = []
    model.summary(print_fn=lines.append)
    row = next(line for line in lines if line.startswith("shared (Dense)"))
    assert row.split()[2:6] == ["(None,", "3,", "2)", "10"], row


def test_clear_errors():
    x = Input(shape=(4,))
    with pytest.raises(ValueError, match="units must be a positive int"):
        layers.Dense(0)
    with pytest.raises(ValueError, match="unknown activation 'relux'.*relu"):
        layers.Dense(2, activation="relux")
    with pytest.raises(ValueError, match="Graph disconnected.*'d'"):
        Model(Input(shape=(4,)), layers.Dense(1, name="d")(x))
    with pytest.raises(ValueError, match="must be a tensor returned by fnjit.Input"):
        Model(layers.Dense(2)(x), layers.Dense(1)(x))
    with pytest.raises(ValueError, match="must match in every axis but"):
        layers.concatenate([Input(shape=(2, 3)), Input(shape=(4, 5))])
    with pytest.raises(TypeError, match="called on str"):  # arrays run eagerly, as Keras
        layers.Dense(2)("not a tensor")
    model = Model(x, layers.Dense(1)(x))
    with pytest.raises(ValueError, match="unknown loss 'msq'"):
        model.compile("sgd", "msq")
    with pytest.raises(ValueError, match="unknown optimizer 'sgdd'"):
        model.compile("sgdd", "mse")
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"input 'input_layer.*'\): expected arrays of shape "
                                         r"\(None, 4\), got \(3, 5\)"):
        model.fit(np.zeros((3, 5)), np.zeros((3, 1)), verbose=0)
    with pytest.raises(ValueError, match="1 input.*but 2 input array"):
        model.predict([np.zeros((3, 4)), np.zeros((3, 4))])
    with pytest.raises(ValueError, match="different numbers of samples"):
        model.fit(np.zeros((3, 4)), np.zeros((2, 1)), verbose=0)


def test_duplicate_layer_names_are_refused():
    x = Input(shape=(2,))
    y = layers.Dense(2, name="same")(layers.Dense(2, name="same")(x))
    with pytest.raises(ValueError, match="the name 'same' is used 2 times"):
        Model(x, y)


def test_keras1_model_spelling_warns_and_works():
    x = Input(shape=(2,))
    with pytest.warns(DeprecationWarning, match="inputs=..., outputs="):
        model = Model(input=x, output=layers.Dense(1)(x))
    assert model.count_params() == 3


def test_import_as_keras_exposes_the_guides_names():
    assert keras.layers.Dense is layers.Dense and keras.Input is Input
    assert keras.models.Model is Model and keras.models.Sequential is Sequential


def test_keras1_dense_spelling_warns_and_works():
    with pytest.warns(DeprecationWarning, match=r"use Dense\(3, kernel_initializer='zeros'\)"):
        dense = layers.Dense(output_dim=3, init="zeros")
    model = Model(x := Input(shape=(2,)), dense(x))
    assert model.count_params() == 9 and not model.get_weights()[0].any()
