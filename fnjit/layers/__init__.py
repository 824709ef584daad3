"""Layers, with Keras' names. `from fnjit.layers import Dense` as `from keras.layers ...`."""

from .base import Input, InputLayer, KerasTensor, Layer, Node, Variable
from .convolutional import *  # noqa: F403
from .core import Activation, Dense, Dropout, Flatten
from .merge import Add, Concatenate, add, concatenate
from .pooling import *  # noqa: F403
from .reshaping import *  # noqa: F403

__all__ = ["Input", "InputLayer", "KerasTensor", "Layer", "Node", "Variable", "Activation",
           "Dense", "Dropout", "Flatten", "Add", "Concatenate", "add", "concatenate"]
__all__ += convolutional.__all__ + pooling.__all__ + reshaping.__all__  # noqa: F405
