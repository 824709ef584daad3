"""The on-disk code cache: generated source in, imported module out.

Each generated module is a real `.py` file named by the hash of its source and of everything
that can change how it compiles (the versions of fnjit, numba, numpy, Python). Numba's own
`cache=True` then keeps the compiled machine code in `__pycache__` beside that file, so a second
process with the same model loads without recompiling.

- Files are written to a temporary name and renamed: readers never see half a file, and two
  processes writing the same entry both succeed (the content is identical).
- An entry whose text does not match its key (truncated, edited, corrupt) is rewritten.
- A compiled-code entry Numba cannot vouch for is deleted and recompiled (`verify_compiled`).
- The directory is bounded: past `FNJIT_CACHE_MAX_MB` the least recently used entries are
  pruned, with the temporary files of killed writers (`prune`, also `fnjit cache prune`).
- Without a writable cache directory, a private temporary directory is used instead, with one
  warning (every process then compiles afresh).

In a process, a driver module (a model's entry points) is kept while some program uses it and,
after that, among the last few released ones, so that rebuilding an architecture costs no
compile; older ones leave `sys.modules` so their Python-side objects are freed.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numba
import numpy
from numba.core.caching import IndexDataCacheFile

from .atomic import write_atomic

_LOCK = threading.RLock()
_FALLBACK_DIR = None

DEFAULT_MAX_MB = 1024  # a few thousand models' compiled code
STALE_TEMP_SECONDS = 3600  # a temporary file this old belongs to a writer that was killed
IDLE_DRIVERS = 16  # released driver modules kept loaded for reuse in this process


def versions() -> str:
    from . import __version__ as codegen_version

    return (f"fnjit={codegen_version} numba={numba.__version__} numpy={numpy.__version__} "
            f"python={platform.python_version()} machine={platform.machine()}")


def default_cache_dir() -> Path:
    if os.environ.get("FNJIT_CACHE_DIR"):
        return Path(os.environ["FNJIT_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fnjit"


def max_bytes() -> int:
    """The cache's size cap (`FNJIT_CACHE_MAX_MB`, default 1024 MB)."""
    raw = os.environ.get("FNJIT_CACHE_MAX_MB", str(DEFAULT_MAX_MB))
    try:
        mb = float(raw)
    except ValueError:
        raise ValueError(f"FNJIT_CACHE_MAX_MB must be a number of megabytes, got {raw!r}"
                         ) from None
    if not mb > 0:
        raise ValueError(f"FNJIT_CACHE_MAX_MB must be positive, got {raw!r}")
    return int(mb * 2**20)


def _writable_dir() -> Path:
    global _FALLBACK_DIR
    d = default_cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=d, prefix=".probe", delete=True)
        probe.close()
        return d
    except OSError as e:
        if _FALLBACK_DIR is None:
            _FALLBACK_DIR = Path(tempfile.mkdtemp(prefix="fnjit-cache-"))
            warnings.warn(f"fnjit: the code cache directory {str(d)!r} is not writable ({e}); "
                          f"compiled code goes to {str(_FALLBACK_DIR)!r} for this process only, "
                          "so every new process compiles again. Set FNJIT_CACHE_DIR to a "
                          "writable directory.", RuntimeWarning, stacklevel=3)
        return _FALLBACK_DIR


def source_key(source: str) -> str:
    h = hashlib.sha256()
    h.update(versions().encode())
    h.update(b"\0")
    h.update(source.encode())
    return h.hexdigest()[:24]


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
        _prune_if_over_cap(path.parent)
    else:
        _touch(path)  # its use time orders pruning (atime is often not kept)
    return path


def module_name(source: str) -> str:
    """The import name of the generated module holding `source`."""
    return "fnjit_generated_" + source_key(source)


def load_all(sources):
    """`load` of each source in order (a module's imports first), the cache's compiled entries
    listed once for all of them."""
    listing = _Listing()
    return [load(source, listing=listing) for source in sources]


def load(source: str, native: bool = True, listing=None):
    """Import the generated module for `source` (from the cache when present). With
    `native=False` the module is loaded under its own name with `NATIVE = False` set before it
    runs: a driver then defines its entry points as Python (see templates/module.py.j2).
    `listing`: a `_Listing` shared by the modules loaded together."""
    path = module_path(source)
    name = module_name(source) + ("" if native else "_py")
    with _LOCK:
        mod = sys.modules.get(name)
        if mod is not None:
            _IDLE.pop(name, None)
            return mod
        verify_compiled(path, listing)
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        # Registered before executing: Numba's cache needs to find the module by name.
        sys.modules[name] = mod
        if not native:
            mod.NATIVE = False
        try:
            # Compiled from the text we just verified, not from a .pyc that might be stale.
            exec(compile(source, str(path), "exec"), mod.__dict__)
        except BaseException:
            del sys.modules[name]
            raise
    return mod


# ---- driver modules' lifetime in a process ------------------------------------------------
# Kernel modules stay loaded: cached drivers refer to them by module name, and there is one per
# distinct kernel text. A driver module is per model architecture: counted while programs use
# it, then kept among the IDLE_DRIVERS most recently released, then dropped from sys.modules.
# (The machine code Numba compiled stays mapped: LLVM's MCJIT never frees it, numba#5976.)

_USERS = collections.Counter()  # driver module name -> programs using it
_IDLE = collections.OrderedDict()  # released driver modules, oldest first


def acquire(module):
    with _LOCK:
        _USERS[module.__name__] += 1
        _IDLE.pop(module.__name__, None)


def release(name):
    with _LOCK:
        _USERS[name] -= 1
        if _USERS[name] > 0:
            return
        del _USERS[name]
        mod = sys.modules.get(name)
        if mod is None:
            return
        _IDLE[name] = mod
        while len(_IDLE) > IDLE_DRIVERS:
            old, _ = _IDLE.popitem(last=False)
            sys.modules.pop(old, None)


def loaded_drivers():
    """Names of the driver modules this process keeps loaded (in use or idle)."""
    with _LOCK:
        return sorted(set(_USERS) | set(_IDLE))


# Numba trusts its cache files: a truncated index raises at call time, and a corrupted code
# entry that still unpickles would be run. So fnjit keeps its own checksum list of the entries
# it saw compiled (`<module>.sums`), and deletes any entry it cannot vouch for before importing.

class _Listing:
    """The compiled entries of the cache's modules, by module: one listing of `__pycache__` per
    directory serves every module loaded or recorded together (listing it cost 20 ms a module
    in a cache of 13,000 files, and a model loads a module per kernel). An entry written after
    the listing is seen by the next one, as it would be by a glob made a moment earlier."""

    def __init__(self):
        self.by_dir = {}

    def entries(self, path: Path):
        folder = path.parent / "__pycache__"
        if folder not in self.by_dir:
            by_stem = collections.defaultdict(list)
            try:
                names = os.listdir(folder)
            except OSError:
                names = []
            for n in names:
                if not n.endswith(".lock"):  # a save's lock (see _locked_save), not an entry
                    by_stem[n.split(".", 1)[0]].append(n)
            self.by_dir[folder] = by_stem
        return [folder / n for n in sorted(self.by_dir[folder].get(path.stem, ()))]


class TemplateCode(jinja2.BytecodeCache):
    """Jinja's compiled templates, kept in the cache directory (`templates/`) so that a process
    does not compile them again (13 templates took about 0.5 s of a warm start). Each file holds
    the sha256 of its contents first: a file that does not match is ignored and rewritten, as a
    corrupt compiled entry is (Jinja itself checks the template's source checksum)."""

    def _path(self, bucket):
        return _writable_dir() / "templates" / f"{bucket.key}.jinja"

    def load_bytecode(self, bucket):
        try:
            data = self._path(bucket).read_bytes()
        except OSError:
            return
        body = data[32:]
        if hashlib.sha256(body).digest() == data[:32]:
            bucket.bytecode_from_string(body)

    def dump_bytecode(self, bucket):
        body = bucket.bytecode_to_string()
        path = self._path(bucket)
        try:
            path.parent.mkdir(exist_ok=True)
            write_atomic(path, hashlib.sha256(body).digest() + body)
        except OSError:
            pass  # compiled again by the next process


def _compiled_entries(path: Path, listing=None):
    return (listing or _Listing()).entries(path)


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def verify_compiled(path: Path, listing=None):
    """Delete compiled entries of `path` whose checksum is not the recorded one."""
    try:
        sums = json.loads(path.with_suffix(".sums").read_text())
        assert isinstance(sums, dict)
    except (OSError, ValueError, AssertionError):
        sums = {}
    for entry in _compiled_entries(path, listing):
        try:
            good = sums.get(entry.name) == _digest(entry)
        except OSError:
            good = False
        if not good:
            try:
                entry.unlink()
            except OSError:
                pass


# Numba saves a compiled entry by reading its function's index, adding the signature with the
# first free data file number, writing the index, then the data. Two processes saving two
# signatures of one function at once (compile workers, codegen/workers.py; processes sharing a
# cache) could both take number 1, and the index could end naming one signature's file holding
# the other's machine code. So the saves of fnjit's modules hold a lock on the function's index.

def _locked_save(save):
    def locked(self, key, data):
        if not os.path.basename(self._index_path).startswith("fnjit_"):
            return save(self, key, data)
        with open(self._index_path + ".lock", "a") as f, contextlib.ExitStack() as stack:
            try:
                import fcntl
                fcntl.flock(f, fcntl.LOCK_EX)
                stack.callback(fcntl.flock, f, fcntl.LOCK_UN)
            except (ImportError, OSError):
                pass  # no advisory locks here: saved unlocked, as Numba does
            return save(self, key, data)
    locked.fnjit_locked = True
    return locked


if not getattr(IndexDataCacheFile.save, "fnjit_locked", False):
    IndexDataCacheFile.save = _locked_save(IndexDataCacheFile.save)


def has_compiled(path: Path, entry: str, listing=None) -> bool:
    """Whether Numba's disk cache holds machine code for function `entry` of the module at
    `path` (entries fnjit could not vouch for were deleted when the module was loaded).
    `listing`: a `_Listing` shared by the questions asked together."""
    prefix = f"{path.stem}.{entry}-"
    return any(p.name.startswith(prefix) and p.suffix == ".nbi"
               for p in _compiled_entries(path, listing))


def record_compiled(paths):
    """Record the checksums of the compiled entries of the modules at `paths` (after a
    successful compile), the cache listed once for all of them."""
    listing = _Listing()
    for path in paths:
        sums = {}
        for entry in _compiled_entries(path, listing):
            try:
                sums[entry.name] = _digest(entry)
            except OSError:
                pass
        data = json.dumps(sums, indent=0, sort_keys=True).encode()
        target = path.with_suffix(".sums")
        try:
            same = target.read_bytes() == data
        except OSError:
            same = False
        if not same:  # a warm start finds them all unchanged: no write, no fsync
            write_atomic(target, data)
        _touch(path)


# ---- size: info and least-recently-used pruning -------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One cached module: its source file, checksum list and Numba's compiled files."""

    stem: str
    files: tuple  # Paths
    size: int  # bytes
    used: float  # last use (mtime of the source file, refreshed on each load)


def _touch(path: Path):
    try:
        os.utime(path)
    except OSError:
        pass


def entries(directory: Path | None = None):
    """Every module in the cache, least recently used first."""
    d = Path(directory or default_cache_dir())
    by_stem = collections.defaultdict(list)
    for p in list(d.glob("fnjit_*")) + list((d / "__pycache__").glob("fnjit_*")):
        by_stem[p.name.split(".", 1)[0]].append(p)
    out = []
    for stem, files in by_stem.items():
        size, used = 0, 0.0
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            size += st.st_size
            if f.parent == d and f.suffix == ".py":
                used = st.st_mtime
        out.append(Entry(stem, tuple(sorted(files)), size, used))
    return sorted(out, key=lambda e: (e.used, e.stem))


def _stale_temporaries(d: Path, now: float):
    for folder in (d, d / "__pycache__"):
        for p in folder.glob(".*.tmp"):
            try:
                if now - p.stat().st_mtime > STALE_TEMP_SECONDS:
                    yield p
            except OSError:
                continue


def prune(directory: Path | None = None, limit: int | None = None):
    """Delete least recently used entries until the cache holds at most `limit` bytes (default:
    the cap), sparing modules loaded in this process; delete temporary files left by killed
    writers. Returns (entries removed, bytes freed)."""
    d = Path(directory or default_cache_dir())
    limit = max_bytes() if limit is None else limit
    if not d.is_dir():
        return 0, 0
    freed, removed = 0, 0
    for tmp in _stale_temporaries(d, time.time()):
        try:
            size = tmp.stat().st_size
            tmp.unlink()
            freed += size
        except OSError:
            pass
    listed = entries(d)
    total = sum(e.size for e in listed)
    loaded = {n.removeprefix("fnjit_generated_").removesuffix("_py") for n in sys.modules
              if n.startswith("fnjit_generated_")}
    for e in listed:
        if total <= limit:
            break
        if e.stem.removeprefix("fnjit_") in loaded:
            continue
        for f in e.files:
            try:
                f.unlink()
            except OSError:
                pass
        total -= e.size
        freed += e.size
        removed += 1
    return removed, freed


def _prune_if_over_cap(d: Path):
    # Listing the directory costs a few ms per thousand files: done only when an entry is
    # written, which follows a compile of a second or more.
    try:
        prune(d)
    except OSError:
        pass


def info(directory: Path | None = None):
    """Where the cache is, its size and entry count, and its cap."""
    d = Path(directory or default_cache_dir())
    listed = entries(d) if d.is_dir() else []
    return {"directory": str(d), "entries": len(listed),
            "bytes": sum(e.size for e in listed), "max_bytes": max_bytes()}


def clear(directory: Path | None = None):
    """Remove every cache entry (the `fnjit cache clear` command)."""
    d = directory or default_cache_dir()
    if d.exists():
        shutil.rmtree(d)
