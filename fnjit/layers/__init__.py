"""Layers, with Keras' names. `from fnjit.layers import Dense` as `from keras.layers ...`."""

from . import convolutional, pooling, reshaping
from .base import Input, InputLayer, KerasTensor, Layer, Node, Variable
from .convolutional import *  # noqa: F403
from .core import Activation, Dense, Dropout, Flatten
from .embeddings import Embedding
from .merge import Add, Concatenate, add, concatenate
from .pooling import *  # noqa: F403
from .recurrent import GRU, LSTM, SimpleRNN
from .repeat_vector import RepeatVector
from .reshaping import *  # noqa: F403
from .wrappers import TimeDistributed

__all__ = ["Input", "InputLayer", "KerasTensor", "Layer", "Node", "Variable", "Activation",
           "Dense", "Dropout", "Flatten", "Add", "Concatenate", "add", "concatenate",
           "GRU", "LSTM", "SimpleRNN", "Embedding", "RepeatVector", "TimeDistributed"]
__all__ += convolutional.__all__ + pooling.__all__ + reshaping.__all__
