"""Layers, with Keras' names. `from fnjit.layers import Dense` as `from keras.layers ...`."""

from .base import Input, InputLayer, KerasTensor, Layer, Node, Variable
from .core import Activation, Dense, Dropout, Flatten
from .embeddings import Embedding
from .merge import Add, Concatenate, add, concatenate
from .recurrent import GRU, LSTM, SimpleRNN
from .repeat_vector import RepeatVector
from .wrappers import TimeDistributed

__all__ = ["Input", "InputLayer", "KerasTensor", "Layer", "Node", "Variable", "Activation",
           "Dense", "Dropout", "Flatten", "Add", "Concatenate", "add", "concatenate",
           "GRU", "LSTM", "SimpleRNN", "Embedding", "RepeatVector", "TimeDistributed"]
