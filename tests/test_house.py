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
