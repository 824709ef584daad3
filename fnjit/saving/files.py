"""File plumbing shared by the savers: atomic writes, the optional h5py import, and errors that
name the file."""

from __future__ import annotations

import contextlib

from ..codegen.atomic import atomic_path  # noqa: F401  (the savers' one atomic-write helper)


def require_h5py():
    """h5py, imported on first use (it costs 0.1 s at start-up that most programs never use)."""
    try:
        import h5py
    except ImportError:
        raise ImportError("saving and loading weights needs h5py (a dependency of fnjit), "
                          "which could not be imported; reinstall it: `pip install h5py`"
                          ) from None
    return h5py


class FileFormatError(ValueError):
    """A file that is damaged, foreign, or does not fit the model."""


TOO_DEEP = ("its model config is nested too deeply (or refers to itself) to be a model: "
            "Python's recursion limit was reached while reading it")


@contextlib.contextmanager
def reading(path, what):
    """Turn any failure while reading `path` into a ValueError that names the file."""
    try:
        yield
    except FileFormatError as e:
        if str(path) in str(e):
            raise
        raise FileFormatError(f"{what} {str(path)!r}: {e}") from None
    except RecursionError:
        raise FileFormatError(f"{what} {str(path)!r}: {TOO_DEEP}") from None
    except (KeyError, IndexError, TypeError, ValueError, OSError, AttributeError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise FileFormatError(f"{what} {str(path)!r} is damaged or not in a format fnjit can "
                              f"read ({type(e).__name__}: {e})") from e
