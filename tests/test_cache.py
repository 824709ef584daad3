"""The code cache across processes: hits, corrupt entries, concurrent compiles, no write access."""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

import fnjit
from fnjit.codegen import cache

# Subprocesses import the fnjit under test: the installed one (tox) or this checkout.
FNJIT_PATH = str(Path(fnjit.__file__).resolve().parent.parent)

WORKER = textwrap.dedent("""
    import json, sys
    import numpy as np
    import fnjit as keras
    from fnjit import layers
    keras.utils.set_random_seed(0)
    x = keras.Input(shape=(4,))
    model = keras.Model(x, layers.Dense(3, activation="softmax")(layers.Dense(5)(x)))
    model.compile("rmsprop", "categorical_crossentropy")
    data = np.linspace(-1, 1, 32).reshape(8, 4).astype("float32")
    loss = model.train_on_batch(data, np.eye(3)[np.arange(8) % 3])
    program = model._program("train")
    step = program.module.train_step
    print(json.dumps({"loss": float(loss), "hits": step.stats.cache_hits and
                      sum(step.stats.cache_hits.values()),
                      "misses": sum(step.stats.cache_misses.values()),
                      "file": program.module.__file__}))
""")


def run_worker(cache_dir, env_extra=None):
    # Native entry points from the first call: their machine code's cache is what is tested.
    env = dict(os.environ, FNJIT_CACHE_DIR=str(cache_dir), PYTHONPATH=FNJIT_PATH,
               FNJIT_NATIVE_AFTER="0", **(env_extra or {}))
    # cwd outside the checkout: the installed package is what runs.
    proc = subprocess.run([sys.executable, "-c", WORKER], capture_output=True, text=True,
                          env=env, timeout=300,
                          cwd=next(p for p in cache_dir.parents if p.is_dir()))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_second_process_loads_from_cache_and_corrupt_entries_are_recompiled(tmp_path):
    first = run_worker(tmp_path)
    assert first["misses"] >= 1
    second = run_worker(tmp_path)
    assert second["misses"] == 0 and second["hits"] >= 1
    assert second["loss"] == first["loss"]

    # Truncate every compiled entry and the generated source: detected, rewritten, recompiled.
    pycache = tmp_path / "__pycache__"
    entries = sorted(pycache.iterdir())
    assert any(p.suffix == ".nbi" for p in entries) and any(p.suffix == ".nbc" for p in entries)
    for p in entries:
        p.write_bytes(p.read_bytes()[: max(1, p.stat().st_size // 2)])
    src = tmp_path / os.path.basename(first["file"])
    src.write_text(src.read_text()[:100])
    third = run_worker(tmp_path)
    assert third["misses"] >= 1 and third["loss"] == first["loss"]
    fourth = run_worker(tmp_path)  # and the repaired cache is trusted again
    assert fourth["misses"] == 0


def test_flipped_byte_in_compiled_code_is_not_trusted(tmp_path):
    first = run_worker(tmp_path)
    (nbc,) = [p for p in (tmp_path / "__pycache__").iterdir()
              if p.suffix == ".nbc" and p.name.startswith(os.path.basename(first["file"])[:-3] +
                                                          ".train_step-")]
    data = bytearray(nbc.read_bytes())
    data[len(data) // 2] ^= 0xFF  # unpicklable or not, the checksum says no
    nbc.write_bytes(bytes(data))
    again = run_worker(tmp_path)
    # Deleted and recompiled (a step loaded from the flipped entry would count no miss, or
    # crash), with the same result, and the entry rewritten.
    assert again["misses"] >= 1 and again["loss"] == first["loss"]
    assert nbc.read_bytes() != bytes(data)
    assert run_worker(tmp_path)["misses"] == 0


def test_two_processes_compiling_the_same_model_at_once(tmp_path):
    env = dict(os.environ, FNJIT_CACHE_DIR=str(tmp_path), PYTHONPATH=FNJIT_PATH,
               FNJIT_NATIVE_AFTER="0")
    procs = [subprocess.Popen([sys.executable, "-c", WORKER], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env,
                              cwd=tmp_path.parent) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    losses = {json.loads(o[0].strip().splitlines()[-1])["loss"] for o in outs}
    assert len(losses) == 1
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"


def test_unwritable_cache_dir_falls_back_to_a_private_directory(tmp_path):
    # A directory below a regular file cannot be made, even by root (chmod would not stop root).
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    out = run_worker(blocker / "cache")
    assert out["misses"] >= 1 and not (blocker / "cache").exists()
    fallback = os.path.dirname(out["file"])
    assert os.path.basename(fallback).startswith("fnjit-cache-")
    assert os.path.dirname(fallback) == tempfile.gettempdir()
    assert os.stat(fallback).st_mode & 0o777 == 0o700  # private: mkdtemp's mode


def _cli(env, *args):
    proc = subprocess.run([sys.executable, "-m", "fnjit.cli", "cache", *args],
                          capture_output=True, text=True, env=env, timeout=120,
                          cwd=env["HOME"])
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.mark.parametrize("xdg", [False, True])
def test_default_cache_location_and_cache_clear(tmp_path, xdg):
    """Without FNJIT_CACHE_DIR the cache is $XDG_CACHE_HOME/fnjit, else ~/.cache/fnjit (README's
    settings); `fnjit cache dir` names it, `fnjit cache clear` empties it."""
    env = {k: v for k, v in os.environ.items() if k not in ("FNJIT_CACHE_DIR", "XDG_CACHE_HOME")}
    env["HOME"] = str(tmp_path / "home")
    os.makedirs(env["HOME"])
    where = tmp_path / "home" / ".cache" / "fnjit"
    if xdg:
        env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
        where = tmp_path / "xdg" / "fnjit"
    env["PYTHONPATH"] = FNJIT_PATH
    env["FNJIT_NATIVE_AFTER"] = "0"
    assert _cli(env, "dir") == str(where)
    proc = subprocess.run([sys.executable, "-c", WORKER], capture_output=True, text=True,
                          env=env, timeout=300, cwd=env["HOME"])
    assert proc.returncode == 0, proc.stderr
    assert os.path.dirname(json.loads(proc.stdout.splitlines()[-1])["file"]) == str(where)
    assert any(where.glob("fnjit_*.py")) and any((where / "__pycache__").glob("*.nbc"))
    assert _cli(env, "clear") == f"cleared {where}"
    assert not where.exists()


def test_cache_file_name_is_the_hash_of_source_and_versions(tmp_path, monkeypatch):
    monkeypatch.setenv("FNJIT_CACHE_DIR", str(tmp_path))
    a = cache.module_path("x = 1\n")
    b = cache.module_path("x = 2\n")
    assert a != b and a.read_text() == "x = 1\n"
    assert cache.module_path("x = 1\n") == a
    monkeypatch.setattr(cache, "versions", lambda: "numba=0.0")
    assert cache.module_path("x = 1\n") != a


def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    from fnjit.codegen.atomic import atomic_path, write_atomic

    target = tmp_path / "model.keras"
    write_atomic(target, b"old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(target) as tmp:
            Path(tmp).write_bytes(b"half a fi")
            raise RuntimeError("disk full")  # the writer fails midway
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]  # no .tmp left
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new" and len(list(tmp_path.iterdir())) == 1


def test_an_atomic_write_makes_missing_folders(tmp_path):
    from fnjit.codegen.atomic import write_atomic

    target = tmp_path / "runs" / "exp1" / "weights.h5"  # neither folder exists yet
    write_atomic(target, b"data")
    assert target.read_bytes() == b"data"


def test_compiled_templates_are_kept_checksummed_and_a_corrupt_one_recompiled(tmp_path,
                                                                              monkeypatch):
    """Jinja's compiled templates are kept in the cache directory (a warm start does not compile
    them); a stored file whose checksum does not match is not used, and is rewritten."""
    import jinja2

    from fnjit.codegen import render

    monkeypatch.setenv("FNJIT_CACHE_DIR", str(tmp_path))
    compiled = []

    class Counting(jinja2.Environment):
        def compile(self, *args, **kw):
            compiled.append(args[1] if len(args) > 1 else kw.get("name"))
            return super().compile(*args, **kw)

    def fresh():
        return Counting(loader=jinja2.FileSystemLoader(str(render.TEMPLATE_DIR)),
                        bytecode_cache=cache.TemplateCode())

    text = fresh().get_template("dense.j2").module.kernels(None)
    assert "dense.j2" in compiled
    filename = os.path.normpath(os.path.join(render.TEMPLATE_DIR, "dense.j2"))
    key = cache.TemplateCode().get_cache_key("dense.j2", filename)
    stored = tmp_path / "templates" / f"{key}.jinja"
    assert stored.is_file()
    compiled.clear()
    assert fresh().get_template("dense.j2").module.kernels(None) == text
    assert compiled == []  # loaded, not compiled
    data = bytearray(stored.read_bytes())
    data[-1] ^= 0xFF
    stored.write_bytes(bytes(data))
    assert fresh().get_template("dense.j2").module.kernels(None) == text
    assert compiled == ["dense.j2"]  # the corrupt file was not used
    assert stored.read_bytes() != bytes(data)  # and was rewritten


def test_two_saves_of_one_functions_signatures_at_once_keep_each_its_own_code(tmp_path,
                                                                            monkeypatch):
    """Numba's save reads the index, takes the first free data file number, writes the index,
    then the data: unlocked, two savers of two signatures both took number 1 and the index named
    one signature's file holding the other's code. fnjit's modules save under a lock."""
    import threading
    import time

    from numba.core.caching import IndexDataCacheFile

    slow = IndexDataCacheFile._save_index

    def save_index_slowly(self, overloads):
        time.sleep(0.2)  # both savers have read the index before either writes it
        slow(self, overloads)

    monkeypatch.setattr(IndexDataCacheFile, "_save_index", save_index_slowly)
    files = [IndexDataCacheFile(str(tmp_path), "fnjit_x.kernel-1.py311", ("stamp", 1))
             for _ in range(2)]
    savers = [threading.Thread(target=f.save, args=(key, {"code": key}))
              for f, key in zip(files, ["float32 signature", "float64 signature"])]
    for t in savers:
        t.start()
    for t in savers:
        t.join()
    fresh = IndexDataCacheFile(str(tmp_path), "fnjit_x.kernel-1.py311", ("stamp", 1))
    for key in ["float32 signature", "float64 signature"]:
        assert fresh.load(key) == {"code": key}


def test_a_cache_on_a_filesystem_without_locks_still_saves(tmp_path, monkeypatch):
    """flock fails with OSError on some filesystems (NFS without lockd, some FUSE mounts): the
    save goes ahead unlocked, as Numba's own does, rather than failing the compile."""
    import fcntl

    from numba.core.caching import IndexDataCacheFile

    def no_locks(fd, op):
        raise OSError(37, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    saved = IndexDataCacheFile(str(tmp_path), "fnjit_x.kernel-1.py311", ("stamp", 1))
    saved.save("float32 signature", {"code": 1})
    fresh = IndexDataCacheFile(str(tmp_path), "fnjit_x.kernel-1.py311", ("stamp", 1))
    assert fresh.load("float32 signature") == {"code": 1}


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_atomic_files_get_the_mode_open_would_give_them(tmp_path, umask):
    """mkstemp makes 0600 files; an atomic write chmods its file to what open() would have
    made under the process's umask (others can read a saved model where they could before)."""
    from fnjit.codegen.atomic import write_atomic

    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "f.bin", b"x")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "f.bin").st_mode & 0o777 == 0o666 & ~umask
