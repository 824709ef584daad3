"""The 3-D pooling, padding, cropping and upsampling layers: forward against numpy written here,
backward against finite differences, Keras 3's defaults and configs, and errors."""

import numpy as np
import pytest
from gradcheck import check_cases
from pooling_reference import channels_first as cf
from pooling_reference import np_pool

from fnjit import Input, layers
from fnjit.layers import (
    AveragePooling3D,
    Cropping3D,
    GlobalAveragePooling3D,
    GlobalMaxPooling3D,
    MaxPooling3D,
    UpSampling3D,
    ZeroPadding3D,
)

rng = np.random.default_rng(31)


def test_3d_pooling_padding_cropping_upsampling_forward_and_gradients():
    x = Input(shape=(5, 4, 6, 2))
    xf = Input(shape=(2, 4, 5, 3))  # channels_first
    fmt = {"data_format": "channels_first"}
    cases = [  # (input, layer, numpy reference)
        (x, MaxPooling3D(), lambda a: np_pool(a, (2, 2, 2), (2, 2, 2), "valid", "max")),
        (x, MaxPooling3D((3, 2, 3), strides=(2, 1, 2), padding="same"),
         lambda a: np_pool(a, (3, 2, 3), (2, 1, 2), "same", "max")),
        (x, AveragePooling3D(2, strides=1),
         lambda a: np_pool(a, (2, 2, 2), (1, 1, 1), "valid", "avg")),
        (x, AveragePooling3D((2, 3, 2), strides=2, padding="same"),
         lambda a: np_pool(a, (2, 3, 2), (2, 2, 2), "same", "avg")),
        (x, GlobalMaxPooling3D(), lambda a: a.max(axis=(1, 2, 3))),
        (x, GlobalAveragePooling3D(keepdims=True),
         lambda a: a.mean(axis=(1, 2, 3), keepdims=True)),
        (x, ZeroPadding3D(((1, 0), (0, 2), (2, 1))),
         lambda a: np.pad(a, ((0, 0), (1, 0), (0, 2), (2, 1), (0, 0)))),
        (x, Cropping3D(((1, 2), (0, 1), (2, 0))), lambda a: a[:, 1:-2, 0:-1, 2:]),
        (x, UpSampling3D((1, 2, 3)),
         lambda a: a.repeat(1, axis=1).repeat(2, axis=2).repeat(3, axis=3)),
        (xf, MaxPooling3D(2, padding="same", **fmt),
         cf(lambda a: np_pool(a, (2, 2, 2), (2, 2, 2), "same", "max"))),
        (xf, AveragePooling3D((1, 2, 3), **fmt),
         cf(lambda a: np_pool(a, (1, 2, 3), (1, 2, 3), "valid", "avg"))),
        (xf, GlobalMaxPooling3D(keepdims=True, **fmt),
         lambda a: a.max(axis=(2, 3, 4), keepdims=True)),
        (xf, GlobalAveragePooling3D(**fmt), lambda a: a.mean(axis=(2, 3, 4))),
        (xf, ZeroPadding3D(1, **fmt),
         lambda a: np.pad(a, ((0, 0), (0, 0), (1, 1), (1, 1), (1, 1)))),
        (xf, Cropping3D((1, 2, 0), **fmt), lambda a: a[:, :, 1:3, 2:3, :]),
        (xf, UpSampling3D(2, **fmt),
         lambda a: a.repeat(2, axis=2).repeat(2, axis=3).repeat(2, axis=4)),
    ]
    check_cases([x, xf], [rng.normal(size=(2, 5, 4, 6, 2)), rng.normal(size=(2, 2, 4, 5, 3))],
                cases)


def test_3d_defaults_shapes_and_configs_follow_keras():
    """Defaults as Keras 3 has them (checked in the parity env): MaxPooling3D (2, 2, 2),
    AveragePooling3D without a default pool_size, padding and cropping ((1, 1),) * 3."""
    x = Input(shape=(6, 8, 10, 2))
    assert MaxPooling3D()(x).shape == (None, 3, 4, 5, 2)
    assert AveragePooling3D((1, 2, 3), padding="same")(x).shape == (None, 6, 4, 4, 2)
    assert GlobalMaxPooling3D()(x).shape == (None, 2)
    assert GlobalAveragePooling3D(keepdims=True)(x).shape == (None, 1, 1, 1, 2)
    assert ZeroPadding3D()(x).shape == (None, 8, 10, 12, 2)
    assert Cropping3D()(x).shape == (None, 4, 6, 8, 2)
    assert UpSampling3D()(x).shape == (None, 12, 16, 20, 2)
    with pytest.raises(TypeError):
        AveragePooling3D()  # pool_size is required, as in Keras 3
    assert (layers.MaxPool3D, layers.AvgPool3D, layers.GlobalMaxPool3D, layers.GlobalAvgPool3D) \
        == (MaxPooling3D, AveragePooling3D, GlobalMaxPooling3D, GlobalAveragePooling3D)
    assert MaxPooling3D().get_config()["strides"] == (2, 2, 2)
    assert ZeroPadding3D(2).get_config()["padding"] == ((2, 2), (2, 2), (2, 2))
    assert Cropping3D((1, 2, 3)).get_config()["cropping"] == ((1, 1), (2, 2), (3, 3))
    assert UpSampling3D(3).get_config()["size"] == (3, 3, 3)
    assert "interpolation" not in UpSampling3D().get_config()
    for layer in [MaxPooling3D(3, strides=1, padding="same"), AveragePooling3D(2),
                  GlobalAveragePooling3D(data_format="channels_first", keepdims=True),
                  ZeroPadding3D(((1, 2), (3, 4), (0, 1))), Cropping3D(2), UpSampling3D((1, 2, 3))]:
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config


def test_3d_bad_arguments_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"max_pooling3d.*rank 5.*\(None, 4, 4, 2\)"):
        MaxPooling3D(name="max_pooling3d")(Input(shape=(4, 4, 2)))
    with pytest.raises(ValueError, match=r"AveragePooling3D.*padding.*'full'"):
        AveragePooling3D(2, padding="full")
    with pytest.raises(ValueError, match=r"MaxPooling3D.*pool_size.*\(2, 2\)"):
        MaxPooling3D((2, 2))
    with pytest.raises(ValueError, match=r"mp.*non-positive output shape \(None, 0, 2, 2, 1\)"):
        MaxPooling3D(2, name="mp")(Input(shape=(1, 4, 4, 1)))
    with pytest.raises(ValueError, match=r"cropping.*\(None, 2, 5, 5, 1\)"):
        Cropping3D(((1, 1), (0, 0), (0, 0)))(Input(shape=(2, 5, 5, 1)))
    with pytest.raises(ValueError, match=r"ZeroPadding3D.*padding.*3 pairs"):
        ZeroPadding3D(((1, 1), (1, 1)))
    with pytest.raises(ValueError, match=r"UpSampling3D.*interpolation='bilinear'"):
        UpSampling3D(interpolation="bilinear")
    with pytest.raises(ValueError, match=r"global_max_pooling3d.*rank 5"):
        GlobalMaxPooling3D()(Input(shape=(4, 5, 1)))
