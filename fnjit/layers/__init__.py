"""Layers, with Keras' names. `from fnjit.layers import Dense` as `from keras.layers ...`."""

from .base import Input, InputLayer, KerasTensor, Layer, Node, Variable
from .core import Activation, Dense, Dropout, Flatten
from .merge import Add, Concatenate, add, concatenate

__all__ = ["Input", "InputLayer", "KerasTensor", "Layer", "Node", "Variable", "Activation",
           "Dense", "Dropout", "Flatten", "Add", "Concatenate", "add", "concatenate"]
