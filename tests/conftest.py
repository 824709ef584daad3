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
