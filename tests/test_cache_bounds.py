"""The code cache stays bounded: a size cap with least-recently-used pruning, stale temporary
files cleaned, `fnjit cache info/prune`; an unwritable directory warns once; driver modules
leave `sys.modules` once no program uses them and newer ones have been released."""

import gc
import os
import sys
import time
import types
import warnings

import numba
import numpy as np
import pytest

from fnjit.codegen import cache


def _entry(d, key, size, age):
    """A fake cache entry: source, checksums and a compiled file, last used `age` s ago."""
    src = d / f"fnjit_{key}.py"
    src.write_bytes(b"#" * size)
    (d / f"fnjit_{key}.sums").write_text("{}")
    (d / "__pycache__").mkdir(exist_ok=True)
    (d / "__pycache__" / f"fnjit_{key}.predict-1.py311.nbc").write_bytes(b"\0" * size)
    t = time.time() - age
    os.utime(src, (t, t))
    return src


def test_prune_removes_least_recently_used_entries_down_to_the_limit(tmp_path):
    old = _entry(tmp_path, "a" * 24, 1000, age=300)
    mid = _entry(tmp_path, "b" * 24, 1000, age=200)
    new = _entry(tmp_path, "c" * 24, 1000, age=100)
    assert cache.info(tmp_path)["entries"] == 3
    total = cache.info(tmp_path)["bytes"]
    assert total > 6000

    removed, freed = cache.prune(tmp_path, limit=total - 1)  # one entry must go: the oldest
    assert removed == 1 and freed > 2000
    assert not old.exists() and not list((tmp_path / "__pycache__").glob(old.stem + ".*"))
    assert not old.with_suffix(".sums").exists()
    assert mid.exists() and new.exists()

    cache.prune(tmp_path, limit=0)
    assert cache.info(tmp_path)["entries"] == 0


def test_prune_spares_modules_loaded_in_this_process(tmp_path, monkeypatch):
    key = "d" * 24
    src = _entry(tmp_path, key, 100, age=1000)
    monkeypatch.setitem(sys.modules, "fnjit_generated_" + key, types.ModuleType("m"))
    cache.prune(tmp_path, limit=0)
    assert src.exists()


def test_stale_temporaries_of_killed_writers_are_removed_fresh_ones_kept(tmp_path):
    (tmp_path / "__pycache__").mkdir()
    stale = tmp_path / ".fnjit_x.py.abc.tmp"
    stale_c = tmp_path / "__pycache__" / ".fnjit_x.nbi.def.tmp"
    fresh = tmp_path / ".fnjit_y.py.ghi.tmp"
    for p in (stale, stale_c, fresh):
        p.write_bytes(b"partial")
    t = time.time() - cache.STALE_TEMP_SECONDS - 60
    os.utime(stale, (t, t))
    os.utime(stale_c, (t, t))
    cache.prune(tmp_path)
    assert not stale.exists() and not stale_c.exists()
    assert fresh.exists()  # a writer may still be at work


def test_writing_past_the_cap_prunes_old_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("FNJIT_CACHE_DIR", str(tmp_path))
    old = _entry(tmp_path, "e" * 24, 200_000, age=500)
    monkeypatch.setenv("FNJIT_CACHE_MAX_MB", "0.3")
    path = cache.module_path("x = 1\n" + "#" * 1000)
    assert path.exists() and not old.exists()


def test_loading_an_entry_marks_it_recently_used(tmp_path, monkeypatch):
    monkeypatch.setenv("FNJIT_CACHE_DIR", str(tmp_path))
    path = cache.module_path("y = 2\n")
    t = time.time() - 1000
    os.utime(path, (t, t))
    assert cache.module_path("y = 2\n") == path
    assert path.stat().st_mtime > t + 900


@pytest.mark.parametrize("bad", ["0", "-5", "lots"])
def test_a_bad_cap_is_refused_naming_the_variable(monkeypatch, bad):
    monkeypatch.setenv("FNJIT_CACHE_MAX_MB", bad)
    with pytest.raises(ValueError, match="FNJIT_CACHE_MAX_MB"):
        cache.max_bytes()


def test_cli_info_and_prune(tmp_path, monkeypatch, capsys):
    from fnjit.cli import main

    monkeypatch.setenv("FNJIT_CACHE_DIR", str(tmp_path))
    _entry(tmp_path, "f" * 24, 3000, age=100)
    _entry(tmp_path, "g" * 24, 3000, age=50)
    main(["cache", "info"])
    out = capsys.readouterr().out
    assert str(tmp_path) in out and "entries:   2" in out
    main(["cache", "prune", "--max-mb", "0"])
    assert "removed 2 entries" in capsys.readouterr().out
    assert cache.info(tmp_path)["entries"] == 0
    with pytest.raises(SystemExit, match="--max-mb goes with prune"):
        main(["cache", "info", "--max-mb", "1"])


def test_unwritable_cache_directory_warns_once_and_still_works(tmp_path, monkeypatch):
    # Below a regular file no directory can be made, even by root.
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("FNJIT_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(cache, "_FALLBACK_DIR", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = cache.module_path("z = 3\n")
        second = cache.module_path("z = 4\n")
    msgs = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(msgs) == 1 and "not writable" in msgs[0] and "FNJIT_CACHE_DIR" in msgs[0]
    assert first.parent == second.parent != blocker
    assert first.read_text() == "z = 3\n"


def test_released_driver_modules_leave_sys_modules_after_newer_ones(monkeypatch):
    monkeypatch.setattr(cache, "_USERS", type(cache._USERS)())
    monkeypatch.setattr(cache, "_IDLE", type(cache._IDLE)())
    names = [f"fnjit_generated_fake{i}" for i in range(cache.IDLE_DRIVERS + 3)]
    for n in names:
        monkeypatch.setitem(sys.modules, n, types.ModuleType(n))
        cache.acquire(sys.modules[n])
    cache.acquire(sys.modules[names[0]])  # two programs share the first
    for n in names:
        cache.release(n)
    assert names[0] in sys.modules  # still used by one program
    assert names[1] not in sys.modules and names[2] not in sys.modules  # oldest idle dropped
    assert all(n in sys.modules for n in names[3:])  # the most recently released are kept
    cache.release(names[0])
    assert names[0] in cache.loaded_drivers()


def test_a_garbage_collected_model_releases_its_driver_module():
    import fnjit as keras

    x = keras.Input((3,))
    model = keras.Model(x, keras.layers.Dense(2)(x))
    model.predict(np.ones((4, 3), "float32"), verbose=0)
    name = model._programs[next(iter(model._programs))].module.__name__
    assert cache._USERS[name] >= 1
    del model, x
    gc.collect()
    assert cache._USERS[name] == 0 and name in cache._IDLE


def test_past_the_native_driver_budget_new_models_run_python_entry_points(monkeypatch):
    import fnjit as keras
    from fnjit.codegen import program

    monkeypatch.setattr(program, "_NATIVE_DRIVERS", set())
    monkeypatch.setattr(program, "_WARNED", [])
    monkeypatch.setenv("FNJIT_NATIVE_DRIVERS", "1")
    monkeypatch.setenv("FNJIT_NATIVE_AFTER", "0")  # native from the first call (tiering aside)
    rng = np.random.default_rng(0)
    data = rng.normal(size=(6, 3)).astype("float32")

    def build(units):
        x = keras.Input((3,))
        m = keras.Model(x, keras.layers.Dense(units, activation="tanh")(x))
        m.compile("sgd", "mse")
        return m

    first = build(2)
    first.predict(data, verbose=0)
    with pytest.warns(RuntimeWarning, match="FNJIT_NATIVE_DRIVERS"):
        second = build(4)
        out = second.predict(data, verbose=0)
    kernel, bias = second.get_weights()
    np.testing.assert_allclose(out, np.tanh(data @ kernel + bias), rtol=1e-5, atol=1e-6)
    (prog,) = second._programs.values()
    assert not prog.native and prog.module.__name__.endswith("_py")
    assert not isinstance(prog.module.predict, numba.core.registry.CPUDispatcher)
    # The source is the architecture's alone: the same as a native build would show.
    assert prog.rendered.native and "NATIVE = globals()" in prog.rendered.driver
    (prog,) = first._programs.values()
    assert prog.native and isinstance(prog.module.predict, numba.core.registry.CPUDispatcher)
    keras.backend.clear_session()  # the same names too, as long as names reach comments
    again = build(2)  # an architecture already compiled natively stays native
    again.predict(data, verbose=0)
    assert all(p.native for p in again._programs.values())


@pytest.mark.parametrize("bad", ["-1", "many"])
def test_a_bad_native_driver_budget_is_refused(monkeypatch, bad):
    from fnjit.codegen import program

    monkeypatch.setenv("FNJIT_NATIVE_DRIVERS", bad)
    with pytest.raises(ValueError, match="FNJIT_NATIVE_DRIVERS"):
        program.native_driver_budget()
