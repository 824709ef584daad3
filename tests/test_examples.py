"""Every program in examples/ runs to the end (each under a minute on 2 cores)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path):
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                         timeout=600, cwd=path.parent.parent.parent)
    assert out.returncode == 0, out.stderr[-3000:]
    if path.stem == "mnist_mlp":
        acc = float(re.search(r"test accuracy on \d+ held-out digits: ([0-9.]+)",
                              out.stdout).group(1))
        assert acc > 0.85, out.stdout
    if path.stem == "masked_sequences":
        masked = float(re.search(r"mask_zero=True\) \+ LSTM: held-out accuracy ([0-9.]+)",
                                 out.stdout).group(1))
        assert masked > 0.75, out.stdout
