"""fnjit.applications.Xception: Keras' architecture and parameter counts; trains."""

import numpy as np
import pytest

from fnjit import applications, backend, layers


def test_xception_parameter_counts_match_keras():
    assert applications.Xception(weights=None).count_params() == 22_910_480
    base = applications.Xception(weights=None, include_top=False)
    assert base.count_params() == 20_861_480
    # Without its top and an input_shape, Keras' Xception takes images of any size.
    assert base.inputs[0].shape == (None, None, None, 3)
    assert base.outputs[0].shape == (None, None, None, 2048)
    assert base(layers.Input(shape=(299, 299, 3))).shape == (None, 10, 10, 2048)
    sized = applications.Xception(weights=None, include_top=False, input_shape=(299, 299, 3))
    assert sized.get_layer("block14_sepconv2_act").output_shape == (None, 10, 10, 2048)
    pooled = applications.Xception(weights=None, include_top=False, input_shape=(150, 150, 3),
                                   pooling="max")
    assert pooled.outputs[0].shape == (None, 2048)
    non_trainable = sum(w.value.size for w in base.non_trainable_weights)
    assert non_trainable == 54_528  # BatchNormalization moving statistics


def test_xception_refuses_pretrained_weights_and_bad_shapes():
    with pytest.raises(ValueError, match="no pretrained weights ship with fnjit"):
        applications.Xception(weights="imagenet")
    with pytest.raises(ValueError, match="at least 71"):
        applications.Xception(weights=None, include_top=False, input_shape=(32, 32, 3))


def test_xception_trains_a_step_channels_first_too():
    backend.set_image_data_format("channels_first")
    base = applications.Xception(weights=None, include_top=False, input_shape=(3, 71, 71),
                                 pooling="avg")
    from fnjit import Input, Model

    x = Input(shape=(3, 71, 71))
    model = Model(x, layers.Dense(1, activation="sigmoid")(base(x)))
    model.compile("sgd", "binary_crossentropy")
    data = np.random.default_rng(0).normal(size=(2, 3, 71, 71)).astype("float32")
    before = base.get_layer("block1_conv1").get_weights()[0].copy()
    loss = model.train_on_batch(data, np.array([[0.0], [1.0]]))
    assert np.isfinite(loss)
    assert not np.allclose(base.get_layer("block1_conv1").get_weights()[0], before)
