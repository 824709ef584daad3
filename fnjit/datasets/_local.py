"""Finding a data file on this machine, and saying clearly what to do when it is not there."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir():
    """Keras' data folder: $KERAS_HOME/datasets, else ~/.keras/datasets."""
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home) / "datasets"


def find(name, path, origin):
    """The local file for data set `name`: `path` itself if it exists, else `path` inside
    Keras' data folder; otherwise an error saying where to put the file."""
    candidates = [Path(path).expanduser()]
    if not Path(path).is_absolute():
        candidates.append(cache_dir() / path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{name}.load_data: no local file {str(path)!r} (looked at "
        f"{', '.join(str(c) for c in candidates)}). fnjit never downloads data; fetch "
        f"{origin} yourself and pass its path, or put it at {candidates[-1]}")
