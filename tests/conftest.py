import importlib
import os
import sys
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/gradcheck.py

# fnjit's process-wide settings live in these modules (floatx, epsilon, image data format, name
# counters, the random generator, and any setting added there later). Every global they hold is
# snapshotted once and put back before and after every test, so that no test sees another's
# settings whatever the order (the default tox env runs in random order: pytest-randomly).
# codegen.program counts the native drivers this process compiled (past FNJIT_NATIVE_DRIVERS,
# new models get Python entry points): each test gets the whole budget, so that whether its
# models are native does not depend on how many models the tests before it built.
SETTINGS_MODULES = ("fnjit.backend", "fnjit.random", "fnjit.config", "fnjit.codegen.program")
_DEFAULTS = {}


def _settings_globals(module):
    return {name: value for name, value in vars(module).items()
            if not name.startswith("__") and not callable(value)
            and not isinstance(value, types.ModuleType)}


def _snapshot_defaults():
    for module_name in SETTINGS_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        _DEFAULTS[module] = {name: (value.copy() if isinstance(value, (dict, list, set))
                                    else value)
                             for name, value in _settings_globals(module).items()}


def _seed(config):
    """pytest-randomly's seed for this run when it is active (it also reseeds `random` and
    numpy's global generator with it before each test); 0 without it."""
    seed = getattr(config.option, "randomly_seed", None)
    return seed if isinstance(seed, int) else 0


def reset_fnjit_globals(seed=0):
    """Put every global of fnjit's settings modules back to its import-time value (containers
    refilled in place, so that references held elsewhere stay valid), then seed fnjit's random
    generator and numpy's global one with `seed`."""
    from fnjit import backend, utils

    for module, defaults in _DEFAULTS.items():
        for name in list(_settings_globals(module)):
            if name not in defaults:  # a global created by a test
                delattr(module, name)
        for name, value in defaults.items():
            current = getattr(module, name, None)
            if isinstance(value, (dict, list, set)) and type(current) is type(value):
                current.clear()
                current.update(value) if isinstance(value, (dict, set)) else \
                    current.extend(value)
            else:
                setattr(module, name, value.copy() if isinstance(value, (dict, list, set))
                        else value)
    # The library's documented defaults, whatever the snapshot held.
    assert backend.floatx() == "float32" and backend.image_data_format() == "channels_last"
    utils.set_random_seed(seed)


@pytest.fixture(scope="session")
def fresh_globals(pytestconfig):
    """For module-scoped fixtures, which pytest builds before the per-test reset below: call it
    first to build from the defaults."""
    return lambda: reset_fnjit_globals(_seed(pytestconfig))


@pytest.fixture(autouse=True)
def _fresh_globals(fresh_globals):
    """Each test starts from fnjit's defaults (float32, channels_last, epsilon 1e-7, layer names
    counted from scratch: dense, dense_1, ...; seeded generators) and leaves them behind."""
    fresh_globals()
    yield
    fresh_globals()


@pytest.fixture
def float64():
    """Compile in float64 (gradient checks, exact references) for this test only."""
    from fnjit import backend

    backend.set_floatx("float64")
    yield
    backend.set_floatx("float32")


def pytest_configure(config):
    # Keep test compilations out of the user's cache (unless the caller chose a directory).
    os.environ.setdefault("FNJIT_CACHE_DIR", str(Path(config.rootpath) / ".pytest_cache" /
                                                 "fnjit"))
    _snapshot_defaults()


PARITY = Path(__file__).parent / "parity"


def _inside_parity(arg, cwd):
    path = (Path(cwd) / arg.split("::")[0]).resolve()
    return path == PARITY or PARITY in path.parents


def pytest_ignore_collect(collection_path, config):
    """tests/parity (every layer against Keras 3, minutes of compiling) runs only when asked for:
    with `-m parity` (tox -e parity) or when named on the command line."""
    if Path(collection_path) != PARITY:
        return None
    cwd = config.invocation_params.dir
    asked = "parity" in (config.getoption("markexpr") or "") or any(
        _inside_parity(a, cwd) for a in config.args)
    return None if asked else True

