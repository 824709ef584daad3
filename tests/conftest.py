import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/gradcheck.py


@pytest.fixture(autouse=True)
def _fresh_names():
    """Each test names its layers from scratch (dense, dense_1, ...) and uses float32."""
    from fnjit import backend

    backend.clear_session()
    backend.set_floatx("float32")
    backend.set_image_data_format("channels_last")
    yield


def pytest_configure(config):
    # Keep test compilations out of the user's cache (unless the caller chose a directory).
    os.environ.setdefault("FNJIT_CACHE_DIR", str(Path(config.rootpath) / ".pytest_cache" /
                                                 "fnjit"))


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
