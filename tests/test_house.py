"""The house: no symlinks in the tree, and every module of the compiler has one import path."""

import subprocess
import sys
from pathlib import Path

import pytest

import fnjit
from fnjit.codegen import ir

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs the git checkout")
def test_no_symlinks_are_tracked():
    listed = subprocess.run(["git", "ls-files", "-s"], cwd=REPO, capture_output=True,
                            text=True, check=True).stdout.splitlines()
    links = [line.split("\t", 1)[1] for line in listed if line.startswith("120000")]
    assert links == []


def test_the_compiler_is_imported_under_one_name_only():
    from fnjit.codegen import render  # noqa: F401

    compiler = Path(ir.__file__).resolve().parent
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and Path(path).resolve().parent == compiler:
            assert name.startswith("fnjit.codegen"), (name, path)
    assert fnjit.Model.__module__ == "fnjit.models"


@pytest.mark.skipif(not (REPO / "pyproject.toml").exists(), reason="needs the checkout")
def test_every_package_is_in_the_wheel():
    """pyproject.toml lists packages by hand (codegen/ and templates/ install under fnjit): a
    new subpackage missing there imports in a checkout and fails in every installed copy."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts)
             for p in (REPO / "fnjit").rglob("__init__.py")}
    assert found - listed == set()
