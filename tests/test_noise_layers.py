"""GaussianNoise, GaussianDropout, AlphaDropout, SpatialDropout1D/2D/3D: the identity in
inference; in training, statistics of the noise through the training loss (against Keras'
formulas, written here), and input gradients against finite differences of the training loss
with the noise seed held fixed."""

import numpy as np
import pytest
from gradcheck import compile_for_check

import fnjit as keras
from fnjit import layers

rng = np.random.default_rng(4)


def _training_loss(layer, data, target):
    x = keras.Input(shape=data.shape[1:])
    model = keras.Model(x, layer(x))
    np.testing.assert_array_equal(model.predict(data, verbose=0), data)  # inference: identity
    model.compile("sgd", "mse")
    return model.train_on_batch(data, target)


def test_noise_statistics_in_training():
    ones = np.ones((50, 400), np.float32)
    zeros = np.zeros((50, 400), np.float32)
    # mse of y - x: stddev^2 for Gaussian noise; GaussianDropout's multiplicative noise on
    # ones has variance rate / (1 - rate).
    assert _training_loss(layers.GaussianNoise(0.3), ones, ones) == pytest.approx(0.09, rel=0.03)
    assert _training_loss(layers.GaussianDropout(0.2), ones, ones) == \
        pytest.approx(0.25, rel=0.03)
    # AlphaDropout on zeros: b where kept, a alpha' + b where dropped (Keras' constants).
    rate, alpha_p = 0.3, -1.6732632423543772 * 1.0507009873554805
    a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * rate
    want = (1 - rate) * b ** 2 + rate * (a * alpha_p + b) ** 2
    assert _training_loss(layers.AlphaDropout(rate), zeros, zeros) == pytest.approx(want,
                                                                                    rel=0.03)


@pytest.mark.parametrize("layer, shape", [
    (layers.SpatialDropout1D(0.5), (6, 3)),
    (layers.SpatialDropout2D(0.5), (4, 5, 3)),
    (layers.SpatialDropout2D(0.5, data_format="channels_first"), (3, 4, 5)),
    (layers.SpatialDropout3D(0.5), (2, 3, 4, 3)),
])
def test_spatial_dropout_drops_whole_feature_maps(layer, shape):
    data = np.ones((40,) + shape, np.float32)
    x = keras.Input(shape=shape)
    channels_first = getattr(layer, "data_format", None) == "channels_first"
    y = layer(x)
    # Averaged over a feature map, a shared mask gives 0 or 2 exactly: (m - 1)^2 = 1.
    axes = tuple(range(2, len(shape) + 1)) if channels_first else tuple(range(1, len(shape)))
    pooled = keras.layers.Lambda(lambda t: keras.backend.mean(t, axis=axes))(y)
    model = keras.Model(x, pooled)
    model.compile("sgd", "mse")
    assert model.train_on_batch(data, np.ones((40, 3), np.float32)) == pytest.approx(1.0)
    # Against zeros, a kept map costs 2^2 and a dropped one 0: 4 x the kept fraction of the
    # 120 maps, 2 at rate 0.5 (0.3-0.7 kept is 4.4 standard deviations wide); a layer that
    # keeps every map would cost 4, one that drops every map 0.
    assert 1.2 < model.train_on_batch(data, np.zeros((40, 3), np.float32)) < 2.8


@pytest.mark.parametrize("make", [
    lambda: layers.GaussianNoise(0.5), lambda: layers.GaussianDropout(0.3),
    lambda: layers.AlphaDropout(0.4), lambda: layers.SpatialDropout1D(0.5),
])
def test_noise_gradients_with_the_seed_held(make):
    x = keras.Input(shape=(4, 3))
    model = keras.Model(x, keras.layers.Dense(2)(make()(x)))
    program, variables, _, _ = compile_for_check(model)
    params = np.concatenate([np.asarray(v.value, np.float64).ravel() for v in variables])
    state = np.zeros(0)
    data = rng.normal(size=(3, 4, 3))
    target = [rng.normal(size=(3, 4, 2))]

    def loss(xs):
        program.module.seed(7)
        logs = np.zeros(program.n_logs)
        grads = np.zeros_like(params)
        (g,) = program.gradients(params, state.copy(), grads, [xs], target, logs)
        return logs.sum(), g

    base, g = loss(data)
    assert not np.allclose(base, loss_inference(program, params, state, data, target))
    for i in rng.permutation(data.size)[:20]:
        up, down = data.copy(), data.copy()
        up.flat[i] += 1e-6
        down.flat[i] -= 1e-6
        num = (loss(up)[0] - loss(down)[0]) / 2e-6
        assert np.isclose(g.flat[i] * len(data), num, rtol=1e-5, atol=1e-7)


def loss_inference(program, params, state, data, target):
    logs = np.zeros(program.n_logs)
    program.evaluate(params, state, [data], target, logs)
    return logs.sum()


def test_noise_configs_and_errors():
    assert layers.GaussianNoise(0.1).get_config()["stddev"] == 0.1
    assert layers.GaussianDropout(0.2).get_config()["rate"] == 0.2
    assert layers.AlphaDropout(0.2).get_config()["rate"] == 0.2
    assert layers.SpatialDropout2D(0.2).get_config()["data_format"] == "channels_last"
    from fnjit.layers.noise import GaussianNoise

    assert GaussianNoise is layers.GaussianNoise
    with pytest.raises(ValueError, match="rate"):
        layers.GaussianDropout(1.0)
    with pytest.raises(ValueError, match="noise_shape"):
        layers.AlphaDropout(0.1, noise_shape=(1, 2))
    with pytest.raises(ValueError, match="rank 4"):
        layers.SpatialDropout2D(0.1)(keras.Input(shape=(3, 4)))
