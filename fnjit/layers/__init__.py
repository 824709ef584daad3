"""Layers, with Keras' names. `from fnjit.layers import Dense` as `from keras.layers ...`."""

from . import convolutional, experimental, noise, pooling, reshaping  # noqa: F401 (Keras 2 paths)
from .advanced_activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from .attention import AdditiveAttention, Attention, MultiHeadAttention
from .base import Input, InputLayer, KerasTensor, Layer, Node, Variable
from .bidirectional import Bidirectional
from .convolutional import *  # noqa: F403
from .core import Activation, Dense, Dropout, Flatten
from .embeddings import Embedding
from .identity import ActivityRegularization, Identity, Rescaling
from .lambda_layer import Lambda
from .layer_normalization import GroupNormalization, LayerNormalization, UnitNormalization
from .masking import Masking
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
from .noise import *  # noqa: F403
from .normalization import BatchNormalization
from .pooling import *  # noqa: F403
from .preprocessing import CategoryEncoding, Normalization
from .recurrent import GRU, LSTM, SimpleRNN
from .repeat_vector import RepeatVector
from .reshaping import *  # noqa: F403
from .wrappers import TimeDistributed

__all__ = ["Input", "InputLayer", "KerasTensor", "Layer", "Node", "Variable", "Activation",
           "Dense", "Dropout", "Flatten", "Embedding", "Lambda", "Masking", "BatchNormalization",
           "LayerNormalization", "MultiHeadAttention", "Attention", "AdditiveAttention",
           "Bidirectional", "UnitNormalization", "Identity",
           "Rescaling",
           "GroupNormalization", "ActivityRegularization", "Normalization", "CategoryEncoding",
           "GRU", "LSTM", "SimpleRNN", "RepeatVector", "TimeDistributed",
           "ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax",
           "Add", "Average", "Concatenate", "Dot", "Maximum", "Merge", "Minimum", "Multiply",
           "Subtract", "add", "average", "concatenate", "dot", "maximum", "merge", "minimum",
           "multiply", "subtract"]
__all__ += convolutional.__all__ + pooling.__all__ + reshaping.__all__ + noise.__all__
