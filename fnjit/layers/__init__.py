"""Layers, with Keras' names. `from fnjit.layers import Dense` as `from keras.layers ...`."""

from .advanced_activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from .base import Input, InputLayer, KerasTensor, Layer, Node, Variable
from .core import Activation, Dense, Dropout, Flatten
from .lambda_layer import Lambda
from .merge import (
                    Add,
                    Average,
                    Concatenate,
                    Dot,
                    Maximum,
                    Merge,
                    Minimum,
                    Multiply,
                    Subtract,
                    add,
                    average,
                    concatenate,
                    dot,
                    maximum,
                    merge,
                    minimum,
                    multiply,
                    subtract,
)
from .normalization import BatchNormalization
from .reshaping import Permute, Reshape

__all__ = ["Input", "InputLayer", "KerasTensor", "Layer", "Node", "Variable", "Activation",
           "Dense", "Dropout", "Flatten", "Add", "Concatenate", "add", "concatenate"]
__all__ += ["Average", "Dot", "Maximum", "Merge", "Minimum", "Multiply", "Subtract", "average",
            "dot", "maximum", "merge", "minimum", "multiply", "subtract"]
__all__ += ["Permute", "Reshape"]
__all__ += ["BatchNormalization"]
__all__ += ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
__all__ += ["Lambda"]
