"""Atomic file writes: a reader (or a process killed mid-write) never sees half a file.

The one helper behind the code cache, `fnjit dump --out` and every model and weights file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


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


def write_atomic(path, data: bytes):
    """Write `data` to `path` so that no reader ever sees a partial file."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
