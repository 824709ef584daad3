"""Each op's forward against numpy written here, and its backward against finite differences."""

import numpy as np
import pytest
from gradcheck import check_gradients, predict64

from fnjit import Input, Model, layers

rng = np.random.default_rng(1)


def _np_act(name, x):
    sig = 1 / (1 + np.exp(-x))
    erf = np.vectorize(__import__("math").erf)
    return {
        "relu": np.maximum(x, 0), "sigmoid": sig, "tanh": np.tanh(x),
        "elu": np.where(x > 0, x, np.exp(x) - 1),
        "selu": 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)),
        "softplus": np.log1p(np.exp(x)), "softsign": x / (1 + np.abs(x)),
        "hard_sigmoid": np.clip(x / 6 + 0.5, 0, 1), "exponential": np.exp(x),
        "swish": x * sig, "gelu": 0.5 * x * (1 + erf(x / np.sqrt(2))),
        "leaky_relu": np.where(x > 0, x, 0.2 * x), "linear": x,
        "softmax": np.exp(x) / np.exp(x).sum(-1, keepdims=True),
    }[name]


ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus",
               "softsign", "hard_sigmoid", "exponential", "swish", "gelu", "leaky_relu"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_forward_and_gradients(activation):
    x = Input(shape=(5,))
    model = Model(x, layers.Dense(4, activation=activation)(x))
    data = rng.normal(size=(6, 5))
    k, b = model.layers[1].get_weights()
    b[:] = rng.normal(size=4)  # a non-zero bias, so that its gradient path is exercised
    model.layers[1].set_weights([k, b])
    (out,) = predict64(model, [data])
    want = _np_act(activation, data @ k.astype(np.float64) + b)
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-9)
    check_gradients(model, [data])


def test_dense_on_3d_input_without_bias():
    x = Input(shape=(3, 4))
    model = Model(x, layers.Dense(2, use_bias=False)(x))
    data = rng.normal(size=(5, 3, 4))
    (out,) = predict64(model, [data])
    np.testing.assert_allclose(out, data @ model.get_weights()[0], rtol=1e-7)
    check_gradients(model, [data])


def test_concatenate_add_flatten_fan_out_and_shared_layer():
    """One graph that uses every structural op: a value used three times (fan-out), a layer
    called on two inputs (shared weights), concatenation along a middle axis, add, flatten."""
    a = Input(shape=(3, 4), name="a")
    b = Input(shape=(2, 4), name="b")
    shared = layers.Dense(4, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    cat = layers.concatenate([ha, hb, ha], axis=1)  # (5, 4): ha used twice here
    summed = layers.add([cat, cat])  # and cat twice here
    flat = layers.Flatten()(summed)
    out = layers.Dense(3)(layers.concatenate([flat, layers.Flatten()(ha)]))
    model = Model([a, b], out)
    da, db = rng.normal(size=(4, 3, 4)), rng.normal(size=(4, 2, 4))

    (got,) = predict64(model, [da, db])
    k, bias = [w.astype(np.float64) for w in model.get_layer("shared").get_weights()]
    k2, b2 = model.layers[-1].get_weights()
    na, nb = np.tanh(da @ k + bias), np.tanh(db @ k + bias)
    c = np.concatenate([na, nb, na], axis=1)
    want = np.concatenate([(2 * c).reshape(4, -1), na.reshape(4, -1)], axis=1) @ k2 + b2
    np.testing.assert_allclose(got, want, rtol=1e-6)
    check_gradients(model, [da, db])


def test_dropout_is_identity_in_inference_and_masks_in_training():
    x = Input(shape=(200,))
    model = Model(x, layers.Dropout(0.5)(x))
    data = np.ones((10, 200), np.float32)
    np.testing.assert_array_equal(model.predict(data), data)
    model.compile("sgd", "mse")
    # Training output is not exposed; the training loss of y = dropout(x) against x shows the
    # mask: each kept unit contributes (2x - x)^2 = 1, each dropped (0 - x)^2 = 1, so the loss
    # is 1 exactly when the mask is 0 or 2 everywhere, and 0 in inference.
    loss = model.train_on_batch(data, data)
    assert loss == pytest.approx(1.0)
    assert model.test_on_batch(data, data) == pytest.approx(0.0)


@pytest.mark.parametrize("rate", [0.3, 0.75])
def test_dropout_rate_scale_and_backward_mask_exactly(float64, rate):
    """y = h * m, m = 1 / (1 - rate) kept and 0 dropped. With h = 1 per element (identity
    inputs through an all-ones kernel) one SGD step moves kernel[i, j] by lr * dL/dh[i, j] =
    2 (m - t) m / size: the step shows each element's mask, the loss that the forward used it."""
    from fnjit import optimizers, utils

    n, d, target = 40, 50, 0.5
    x = Input(shape=(n,))
    model = Model(x, layers.Dropout(rate)(layers.Dense(d, use_bias=False,
                                                       kernel_initializer="ones")(x)))
    model.compile(optimizers.SGD(learning_rate=1.0), "mse")
    data, targets = np.eye(n), np.full((n, d), target)

    def masked_step(seed):
        model.set_weights([np.ones((n, d))])
        utils.set_random_seed(seed)
        loss = model.fit(data, targets, batch_size=n, shuffle=False, verbose=0).history["loss"]
        return 1.0 - model.get_weights()[0], loss[0]

    scale = 1 / (1 - rate)
    step, loss = masked_step(4)
    kept = step != 0
    np.testing.assert_allclose(step[kept], 2 * (scale - target) * scale / (n * d), rtol=1e-12)
    assert loss == pytest.approx(kept.mean() * (scale - target) ** 2 +
                                 (1 - kept.mean()) * target ** 2, rel=1e-12)
    # The dropped fraction is the rate: 2000 draws, within 5 standard deviations.
    assert abs((1 - kept.mean()) - rate) < 5 * np.sqrt(rate * (1 - rate) / (n * d))
    again, _ = masked_step(4)
    np.testing.assert_array_equal(again, step)  # a fixed seed fixes the mask
    assert not np.array_equal(masked_step(5)[0] != 0, kept)
    model.set_weights([np.ones((n, d))])  # inference: no mask, y = h = 1
    assert model.test_on_batch(data, targets) == pytest.approx((1 - target) ** 2, rel=1e-12)


def test_flatten_channels_first_flattens_in_channels_last_order():
    from fnjit import backend

    backend.set_image_data_format("channels_first")
    x = Input(shape=(2, 3, 4))
    model = Model(x, layers.Dense(2)(layers.Flatten()(x)))
    data = rng.normal(size=(3, 2, 3, 4))
    (out,) = predict64(model, [data])
    k, b = model.get_weights()
    want = data.transpose(0, 2, 3, 1).reshape(3, -1) @ k + b
    np.testing.assert_allclose(out, want, rtol=1e-7)
    check_gradients(model, [data])


def test_input_that_reaches_no_loss_has_a_zero_gradient():
    """An input the outputs do not depend on gets an all-zero gradient, not an unwritten
    buffer; the other input's and the weights' gradients are unchanged by its presence."""
    rng = np.random.default_rng(3)
    a, unused = Input(shape=(4,), name="a"), Input(shape=(3,), name="unused")
    model = Model([a, unused], layers.Dense(2, activation="tanh")(a))
    da, du = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    grads, (ga, gu) = check_gradients(model, [da, du])
    assert gu.shape == du.shape and not np.any(gu)
    assert np.all(np.abs(ga) > 0)
    alone = Model(model.inputs[0], model.outputs[0])
    grads_alone, (ga_alone,) = check_gradients(alone, [da])
    np.testing.assert_array_equal(grads, grads_alone)
    np.testing.assert_array_equal(ga, ga_alone)


def test_an_out_of_range_index_is_named_by_its_first_position():
    x = Input(shape=(2,))
    model = Model(x, layers.Embedding(5, 2)(x))
    with pytest.raises(ValueError, match=r"index 7\.0 at position \(0, 1\).*\[0, 5\)"):
        model.predict(np.array([[1.0, 7.0], [9.0, 2.0]]), verbose=0)
