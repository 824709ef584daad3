"""Model architectures, as `keras.applications`. No pretrained weights ship with fnjit."""

from .xception import Xception

__all__ = ["Xception"]
