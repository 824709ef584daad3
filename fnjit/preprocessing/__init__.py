"""keras.preprocessing: Keras 2's image, sequence and text utilities (kept in Keras 3 as
legacy), on numpy and scipy (Pillow for image files)."""

from ..dataset_utils import timeseries_dataset_from_array
from . import image, sequence, text

__all__ = ["image", "sequence", "text", "timeseries_dataset_from_array"]
