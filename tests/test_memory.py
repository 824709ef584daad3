"""codegen/memory.py: a train step reuses the heap memory the previous step freed instead of
faulting its buffers in again (glibc only)."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

STEPS = """
import resource
import numpy as np
import fnjit as keras
inp = keras.Input((64, 64, 1))
h = keras.layers.Conv2D(32, 4, activation="relu")(inp)  # 15 MB per batch of 32, and its grad
out = keras.layers.Dense(1)(keras.layers.Flatten()(keras.layers.MaxPooling2D(4)(h)))
model = keras.Model(inp, out)
model.compile("sgd", "mse")
x = np.random.default_rng(0).random((32, 64, 64, 1), dtype=np.float32)
y = np.zeros((32, 1), np.float32)
for _ in range(3):
    model.train_on_batch(x, y)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    model.train_on_batch(x, y)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_train_steps_do_not_fault_their_buffers_in_again(tmp_path):
    env = {"PYTHONPATH": str(ROOT), "FNJIT_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", STEPS], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    faults = float(done.stdout.split()[-1])
    # Without codegen/memory.py: ~2,300 per step (the 15 MB output and its gradient, the
    # im2col buffers), each a zero-filled page from the kernel.
    assert faults < 500, f"{faults} page faults per train step"


@pytest.mark.parametrize("libc", [("musl", "1.2.4"), ("", "")])
def test_another_c_library_keeps_its_allocator_settings(libc, monkeypatch):
    """mallopt's parameter numbers are glibc's: under another C library (or none found) the
    allocator is left alone."""
    from fnjit.codegen import memory

    loaded = []
    monkeypatch.setattr(memory, "_DONE", False)
    monkeypatch.setattr(memory.platform, "libc_ver", lambda *a, **k: libc)
    monkeypatch.setattr(memory.ctypes, "CDLL", lambda *a, **k: loaded.append(a))
    memory.configure_malloc()
    assert loaded == []
    monkeypatch.setattr(memory, "_DONE", False)
    monkeypatch.setattr(memory.platform, "libc_ver", lambda *a, **k: ("glibc", "2.36"))
    memory.configure_malloc()  # the spy has no mallopt, which configure_malloc allows for
    assert len(loaded) == 1  # glibc's path was taken
