"""Pooling, padding, cropping and upsampling layers: forward against numpy written here,
backward against finite differences, configs and errors."""

import warnings

import numpy as np
import pytest
from gradcheck import check_cases
from pooling_reference import channels_first as cf
from pooling_reference import np_pool

from fnjit import Input, layers
from fnjit.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)
from fnjit.layers.reshaping import (
    Cropping1D,
    Cropping2D,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)

rng = np.random.default_rng(11)


def np_pool1d(x, size, stride, padding, mode):
    return np_pool(x, (size,), (stride,), padding, mode)


def test_pooling_padding_cropping_upsampling_forward_and_gradients():
    x = Input(shape=(7, 6, 3))
    xf = Input(shape=(3, 7, 6))  # channels_first
    x1 = Input(shape=(9, 3))
    with pytest.warns(DeprecationWarning, match=r"MaxPooling2D\(padding='same'\)"):
        legacy = MaxPooling2D((3, 3), strides=(1, 1), border_mode="same")  # the guide's tower
    with pytest.warns(DeprecationWarning, match=r"MaxPooling1D\(pool_size=3, strides=2, "
                                                r"padding='same'\)"):
        legacy1 = MaxPooling1D(pool_length=3, stride=2, border_mode="same")
    fmt = {"data_format": "channels_first"}
    cases = [  # (input, layer, numpy reference)
        (x, MaxPooling2D(), lambda a: np_pool(a, (2, 2), (2, 2), "valid", "max")),
        (x, MaxPooling2D(3, strides=2, padding="same"),
         lambda a: np_pool(a, (3, 3), (2, 2), "same", "max")),
        (x, AveragePooling2D(2, strides=1), lambda a: np_pool(a, (2, 2), (1, 1), "valid", "avg")),
        (x, AveragePooling2D((3, 2), strides=2, padding="same"),
         lambda a: np_pool(a, (3, 2), (2, 2), "same", "avg")),
        (x, legacy, lambda a: np_pool(a, (3, 3), (1, 1), "same", "max")),
        (x, GlobalMaxPooling2D(), lambda a: a.max(axis=(1, 2))),
        (x, GlobalAveragePooling2D(keepdims=True), lambda a: a.mean(axis=(1, 2), keepdims=True)),
        (x, ZeroPadding2D(((1, 2), (0, 1))), lambda a: np.pad(a, ((0, 0), (1, 2), (0, 1), (0, 0)))),
        (x, Cropping2D(((1, 0), (2, 1))), lambda a: a[:, 1:, 2:-1]),
        (x, UpSampling2D((2, 3)), lambda a: a.repeat(2, axis=1).repeat(3, axis=2)),
        (xf, MaxPooling2D(2, padding="same", **fmt),
         cf(lambda a: np_pool(a, (2, 2), (2, 2), "same", "max"))),
        (xf, AveragePooling2D(3, strides=2, padding="same", **fmt),
         cf(lambda a: np_pool(a, (3, 3), (2, 2), "same", "avg"))),
        (xf, GlobalMaxPooling2D(keepdims=True, **fmt), lambda a: a.max(axis=(2, 3), keepdims=True)),
        (xf, GlobalAveragePooling2D(**fmt), lambda a: a.mean(axis=(2, 3))),
        (xf, ZeroPadding2D(1, **fmt), lambda a: np.pad(a, ((0, 0), (0, 0), (1, 1), (1, 1)))),
        (xf, Cropping2D((1, 2), **fmt), lambda a: a[:, :, 1:-1, 2:-2]),
        (xf, UpSampling2D(2, **fmt), lambda a: a.repeat(2, axis=2).repeat(2, axis=3)),
        (x1, MaxPooling1D(), lambda a: np_pool1d(a, 2, 2, "valid", "max")),
        (x1, AveragePooling1D(3, strides=2, padding="same"),
         lambda a: np_pool1d(a, 3, 2, "same", "avg")),
        (x1, legacy1, lambda a: np_pool1d(a, 3, 2, "same", "max")),
        (x1, MaxPooling1D(2, **fmt), cf(lambda a: np_pool1d(a, 2, 2, "valid", "max"))),
        (x1, GlobalMaxPooling1D(), lambda a: a.max(axis=1)),
        (x1, GlobalAveragePooling1D(), lambda a: a.mean(axis=1)),
        (x1, ZeroPadding1D((1, 2)), lambda a: np.pad(a, ((0, 0), (1, 2), (0, 0)))),
        (x1, Cropping1D((1, 2)), lambda a: a[:, 1:-2]),
        (x1, UpSampling1D(3), lambda a: a.repeat(3, axis=1)),
    ]
    xs = [rng.normal(size=(2, 7, 6, 3)), rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(2, 9, 3))]
    check_cases([x, xf, x1], xs, cases)


def test_output_shapes_follow_keras():
    x = Input(shape=(64, 64, 1))
    assert MaxPooling2D(pool_size=(2, 2))(Input(shape=(61, 61, 32))).shape == (None, 30, 30, 32)
    assert MaxPooling2D(3, strides=2, padding="same")(x).shape == (None, 32, 32, 1)
    assert AveragePooling2D(3, strides=2)(Input(shape=(35, 35, 8))).shape == (None, 17, 17, 8)
    assert GlobalMaxPooling1D()(Input(shape=(100, 256))).shape == (None, 256)
    assert MaxPooling1D(5)(Input(shape=(96, 128))).shape == (None, 19, 128)
    xf = Input(shape=(3, 256, 256))
    assert MaxPooling2D((3, 3), strides=(1, 1), padding="same",
                        data_format="channels_first")(xf).shape == (None, 3, 256, 256)
    assert ZeroPadding2D(2)(x).shape == (None, 68, 68, 1)
    assert Cropping2D(((1, 2), (3, 4)))(x).shape == (None, 61, 57, 1)
    assert UpSampling2D()(x).shape == (None, 128, 128, 1)
    assert [MaxPooling2D().name, layers.GlobalAveragePooling1D().name] == \
        ["max_pooling2d_3", "global_average_pooling1d"]


def test_configs_round_trip():
    for layer in [MaxPooling2D((3, 3), strides=1, padding="same"), AveragePooling1D(4),
                  GlobalAveragePooling2D(data_format="channels_first", keepdims=True),
                  ZeroPadding2D(((1, 2), (3, 4))), ZeroPadding1D(3), Cropping2D(2),
                  Cropping1D((0, 2)), UpSampling2D((2, 3)), UpSampling1D(4)]:
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config
    assert MaxPooling2D().get_config()["strides"] == (2, 2)
    assert ZeroPadding2D(1).get_config()["padding"] == ((1, 1), (1, 1))
    assert Cropping1D().get_config()["cropping"] == (1, 1)


def test_keras1_pooling_spelling_warns_and_translates():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = MaxPooling2D((3, 3), strides=(1, 1), border_mode="same")
    assert [w.category for w in caught] == [DeprecationWarning]
    assert "padding='same'" in str(caught[0].message)
    assert (layer.pool_size, layer.strides, layer.padding) == ((3, 3), (1, 1), "same")


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="max_pooling2d.*non-positive"):
        MaxPooling2D(4)(Input(shape=(3, 3, 2)))
    with pytest.raises(ValueError, match="padding"):
        MaxPooling2D(padding="full")
    with pytest.raises(ValueError, match="cropping"):
        Cropping2D(((2, 2), (0, 0)))(Input(shape=(4, 5, 1)))
    with pytest.raises(ValueError, match="interpolation"):
        UpSampling2D(interpolation="bilinear")
    with pytest.raises(ValueError, match="rank 3"):
        GlobalMaxPooling1D()(Input(shape=(4, 5, 1)))
