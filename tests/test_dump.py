"""`fnjit dump` and generated_source(): readable, commented by layer, stable."""

import subprocess
import sys
from pathlib import Path

import fnjit as keras
from fnjit import backend, layers

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mnist_mlp.py"


def _mlp():
    x = keras.Input(shape=(784,))
    h = layers.Dense(64, activation="relu")(x)
    model = keras.Model(x, layers.Dense(10, activation="softmax")(h))
    model.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy"])
    return model


def test_same_model_gives_the_same_source():
    first = _mlp().generated_source()
    backend.clear_session()
    assert _mlp().generated_source() == first


def test_source_is_commented_with_layers_and_nodes():
    src = _mlp().generated_source()
    assert "# dense (Dense), node 0: dense" in src
    assert "# dense_1 (Dense), node 0: softmax" in src
    assert "def train_step(" in src and "def predict(" in src and "def evaluate(" in src
    assert "rmsprop_update(params, grads, slots, hyper)" in src
    compile(src, "generated", "exec")  # valid Python


def test_cli_dump_prints_source_and_ir(tmp_path):
    cmd = [sys.executable, "-m", "fnjit.cli", "dump", f"{EXAMPLE}:model"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                         cwd=EXAMPLE.parent.parent.parent)
    assert out.returncode == 0, out.stderr
    assert "def train_step(" in out.stdout and "# dense (Dense), node 0" in out.stdout
    ir = subprocess.run(cmd + ["--ir"], capture_output=True, text=True, timeout=300,
                         cwd=EXAMPLE.parent.parent.parent)
    assert ir.returncode == 0, ir.stderr
    assert "dense" in ir.stdout and "softmax" in ir.stdout and "inputs:" in ir.stdout
    written = subprocess.run(cmd + ["--out", str(tmp_path)], capture_output=True, text=True,
                             timeout=300)
    assert written.returncode == 0, written.stderr
    # An importable directory (as `fnjit export`): the driver and the kernel modules it imports.
    driver = (tmp_path / "entry_points.py").read_text()
    assert driver in out.stdout and (tmp_path / "run.py").is_file()
    for line in driver.splitlines():
        if line.startswith("from fnjit_generated_"):
            assert (tmp_path / (line.split()[1] + ".py")).is_file()


def test_cli_help_and_version():
    helped = subprocess.run([sys.executable, "-m", "fnjit", "--help"], capture_output=True,
                            text=True, timeout=300)
    assert helped.returncode == 0
    for command in ("dump", "export", "cache"):
        assert f"  {command} " in helped.stdout
    version = subprocess.run([sys.executable, "-m", "fnjit", "--version"], capture_output=True,
                             text=True, timeout=300)
    assert version.returncode == 0 and version.stdout.startswith("fnjit 0.")


def test_cli_errors_are_clear():
    bad = subprocess.run([sys.executable, "-m", "fnjit.cli", "dump", f"{EXAMPLE}:nothing"],
                         capture_output=True, text=True, timeout=300,
                         cwd=EXAMPLE.parent.parent.parent)
    assert bad.returncode != 0 and "has no attribute 'nothing'" in bad.stderr
