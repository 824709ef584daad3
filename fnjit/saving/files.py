"""File plumbing shared by the savers: atomic writes, the optional h5py import, and errors that
name the file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def require_h5py():
    """h5py, imported on first use: it is an optional dependency (the `h5` extra)."""
    try:
        import h5py
    except ImportError:
        raise ImportError("saving and loading weights needs h5py, which is not installed; "
                          "install it with `pip install fnjit[h5]` (or `pip install h5py`)"
                          ) from None
    return h5py


@contextlib.contextmanager
def atomic_path(path, overwrite=True):
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename, so a
    process killed while writing leaves the previous file intact (and never half a file)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot save to {str(path)!r}: it is an existing directory")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{str(path)!r} exists and overwrite=False")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # as an ordinary open() would create it, not mkstemp's 0600
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


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
