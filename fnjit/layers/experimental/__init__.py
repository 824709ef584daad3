"""Keras 2's keras.layers.experimental (TF 2.2-2.5 tutorials import the preprocessing layers
from `keras.layers.experimental.preprocessing`)."""

from . import preprocessing  # noqa: F401
