"""The package under test is a real install that finds its templates."""

import os
from pathlib import Path

import pytest

import fnjit
from fnjit.codegen import render


def test_templates_are_found_next_to_the_compiler():
    assert (render.TEMPLATE_DIR / "module.py.j2").is_file()
    assert (render.TEMPLATE_DIR / "dense.j2").is_file()


@pytest.mark.skipif(not os.environ.get("FNJIT_TEST_INSTALLED"), reason="tox sets it")
def test_running_against_the_installed_wheel_not_the_checkout():
    repo = Path(__file__).resolve().parent.parent
    assert Path(fnjit.__file__).resolve().parent != repo / "fnjit"
    assert "site-packages" in str(render.TEMPLATE_DIR)
