"""The on-disk code cache: generated source in, imported module out.

Each generated module is a real `.py` file named by the hash of its source and of everything
that can change how it compiles (the versions of fnjit, numba, numpy, Python). Numba's own
`cache=True` then keeps the compiled machine code in `__pycache__` beside that file, so a second
process with the same model loads without recompiling.

- Files are written to a temporary name and renamed: readers never see half a file, and two
  processes writing the same entry both succeed (the content is identical).
- An entry whose text does not match its key (truncated, edited, corrupt) is rewritten.
- A compiled-code entry Numba cannot load is deleted and recompiled (see `call_guarded`).
- Without a writable cache directory, a private temporary directory is used instead.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import numba
import numpy

_LOCK = threading.Lock()
_FALLBACK_DIR = None


def versions() -> str:
    from . import __version__ as codegen_version

    return (f"fnjit={codegen_version} numba={numba.__version__} numpy={numpy.__version__} "
            f"python={platform.python_version()} machine={platform.machine()}")


def default_cache_dir() -> Path:
    if os.environ.get("FNJIT_CACHE_DIR"):
        return Path(os.environ["FNJIT_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fnjit"


def _writable_dir() -> Path:
    global _FALLBACK_DIR
    d = default_cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=d, prefix=".probe", delete=True)
        probe.close()
        return d
    except OSError:
        if _FALLBACK_DIR is None:
            _FALLBACK_DIR = Path(tempfile.mkdtemp(prefix="fnjit-cache-"))
        return _FALLBACK_DIR


def source_key(source: str) -> str:
    h = hashlib.sha256()
    h.update(versions().encode())
    h.update(b"\0")
    h.update(source.encode())
    return h.hexdigest()[:24]


def write_atomic(path: Path, data: bytes):
    """Write `data` to `path` so that no reader ever sees a partial file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def module_path(source: str) -> Path:
    """The cache file holding `source`, written (or repaired) if needed."""
    key = source_key(source)
    path = _writable_dir() / f"fnjit_{key}.py"
    data = source.encode()
    try:
        ok = path.read_bytes() == data
    except OSError:
        ok = False
    if not ok:
        write_atomic(path, data)
    return path


def module_name(source: str) -> str:
    """The import name of the generated module holding `source`."""
    return "fnjit_generated_" + source_key(source)


def load(source: str):
    """Import the generated module for `source` (from the cache when present)."""
    path = module_path(source)
    name = module_name(source)
    with _LOCK:
        mod = sys.modules.get(name)
        if mod is not None:
            return mod
        verify_compiled(path)
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        # Registered before executing: Numba's cache needs to find the module by name.
        sys.modules[name] = mod
        try:
            # Compiled from the text we just verified, not from a .pyc that might be stale.
            exec(compile(source, str(path), "exec"), mod.__dict__)
        except BaseException:
            del sys.modules[name]
            raise
    return mod


# Numba trusts its cache files: a truncated index raises at call time, and a corrupted code
# entry that still unpickles would be run. So fnjit keeps its own checksum list of the entries
# it saw compiled (`<module>.sums`), and deletes any entry it cannot vouch for before importing.

def _compiled_entries(path: Path):
    return sorted((path.parent / "__pycache__").glob(path.stem + ".*"))


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def verify_compiled(path: Path):
    """Delete compiled entries of `path` whose checksum is not the recorded one."""
    try:
        sums = json.loads(path.with_suffix(".sums").read_text())
        assert isinstance(sums, dict)
    except (OSError, ValueError, AssertionError):
        sums = {}
    for entry in _compiled_entries(path):
        try:
            good = sums.get(entry.name) == _digest(entry)
        except OSError:
            good = False
        if not good:
            try:
                entry.unlink()
            except OSError:
                pass


def record_compiled(path: Path):
    """Record the checksums of the compiled entries of `path` (after a successful compile)."""
    sums = {}
    for entry in _compiled_entries(path):
        try:
            sums[entry.name] = _digest(entry)
        except OSError:
            pass
    write_atomic(path.with_suffix(".sums"), json.dumps(sums, indent=0, sort_keys=True).encode())


def clear(directory: Path | None = None):
    """Remove every cache entry (the `fnjit cache clear` command)."""
    d = directory or default_cache_dir()
    if d.exists():
        shutil.rmtree(d)
