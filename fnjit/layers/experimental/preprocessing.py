"""Keras 2's keras.layers.experimental.preprocessing: the preprocessing layers fnjit has."""

from ..preprocessing import CategoryEncoding, Normalization  # noqa: F401

__all__ = ["CategoryEncoding", "Normalization"]
