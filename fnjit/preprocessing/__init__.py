"""keras.preprocessing: Keras 2's sequence and text utilities (kept in Keras 3 as legacy),
pure Python and numpy."""

from ..dataset_utils import timeseries_dataset_from_array
from . import sequence, text

__all__ = ["sequence", "text", "timeseries_dataset_from_array"]
