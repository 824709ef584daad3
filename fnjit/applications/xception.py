"""Xception (Chollet, 2017) with Keras' exact layers, names and parameter count.

The layer sequence is Keras' (keras.applications.xception), so weights saved from Keras load
here by name; the repeated blocks are written as loops.
"""

from __future__ import annotations

from .. import backend
from ..layers import (
    Activation,
    BatchNormalization,
    Conv2D,
    Dense,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Input,
    MaxPooling2D,
    SeparableConv2D,
    add,
)
from ..models import Model


def _input_shape(input_shape, include_top):
    channels_first = backend.image_data_format() == "channels_first"
    default = (3, 299, 299) if channels_first else (299, 299, 3)
    if input_shape is None:
        # Keras (obtain_input_shape): without the top, images of any size (at least 71x71).
        if include_top:
            return default
        return (3, None, None) if channels_first else (None, None, 3)
    input_shape = tuple(input_shape)
    if include_top and input_shape != default:
        raise ValueError(f"Xception: with include_top=True the input shape must be {default}, "
                         f"got {input_shape}")
    spatial = input_shape[1:] if channels_first else input_shape[:2]
    channels = input_shape[0] if channels_first else input_shape[-1]
    if len(input_shape) != 3 or channels != 3 or any(d is not None and d < 71 for d in spatial):
        raise ValueError(f"Xception: input_shape must be 3-D with 3 channels and sides of at "
                         f"least 71, got {input_shape}")
    return input_shape


def Xception(include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
             classes=1000, classifier_activation="softmax", name="xception"):
    if weights is not None:
        raise ValueError(f"Xception: weights={weights!r} is not available: no pretrained "
                         "weights ship with fnjit (and nothing is downloaded). Use "
                         "weights=None, or load a weights file with model.load_weights(path).")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"Xception: pooling must be None, 'avg' or 'max', got {pooling!r}")
    axis = 1 if backend.image_data_format() == "channels_first" else -1
    inputs = input_tensor if input_tensor is not None else \
        Input(shape=_input_shape(input_shape, include_top))

    def bn(x, name=None):
        return BatchNormalization(axis=axis, name=name)(x)

    def sepconv(x, filters, name, act_name=None):
        """[relu] -> SeparableConv2D 3x3 -> BatchNormalization."""
        if act_name:
            x = Activation("relu", name=act_name)(x)
        x = SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
        return bn(x, name + "_bn")

    def shortcut(x, filters):
        """The strided 1x1 convolution a downsampling block adds back."""
        r = Conv2D(filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
        return bn(r)

    # Entry flow.
    x = Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(inputs)
    x = Activation("relu", name="block1_conv1_act")(bn(x, "block1_conv1_bn"))
    x = Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = Activation("relu", name="block1_conv2_act")(bn(x, "block1_conv2_bn"))

    for block, filters in ((2, 128), (3, 256), (4, 728)):
        residual = shortcut(x, filters)
        p = f"block{block}"
        # Block 2 starts from an activated tensor: its first separable conv has no relu.
        x = sepconv(x, filters, f"{p}_sepconv1", None if block == 2 else f"{p}_sepconv1_act")
        x = sepconv(x, filters, f"{p}_sepconv2", f"{p}_sepconv2_act")
        x = MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"{p}_pool")(x)
        x = add([x, residual])

    # Middle flow: eight identity-shortcut blocks.
    for block in range(5, 13):
        residual = x
        p = f"block{block}"
        for k in (1, 2, 3):
            x = sepconv(x, 728, f"{p}_sepconv{k}", f"{p}_sepconv{k}_act")
        x = add([x, residual])

    # Exit flow.
    residual = shortcut(x, 1024)
    x = sepconv(x, 728, "block13_sepconv1", "block13_sepconv1_act")
    x = sepconv(x, 1024, "block13_sepconv2", "block13_sepconv2_act")
    x = MaxPooling2D((3, 3), strides=(2, 2), padding="same", name="block13_pool")(x)
    x = add([x, residual])
    for k, filters in ((1, 1536), (2, 2048)):
        x = sepconv(x, filters, f"block14_sepconv{k}")
        x = Activation("relu", name=f"block14_sepconv{k}_act")(x)

    if include_top:
        x = GlobalAveragePooling2D(name="avg_pool")(x)
        x = Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = GlobalMaxPooling2D()(x)
    return Model(inputs, x, name=name)
