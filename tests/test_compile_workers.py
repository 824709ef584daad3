"""A cold first call's kernels compiled in worker processes too (codegen/workers.py): the same
numbers as compiling in one process, every kernel compiled once over all processes and vouched
for in the cache (a second process compiles nothing), and a worker that fails or hangs costs
at most its kernel, compiled by the process itself."""

import numpy as np
import pytest
from fresh_process import COUNT_COMPILES, run_script

SCRIPT = COUNT_COMPILES + """
import json, os, time
import numpy as np
import fnjit as keras
from fnjit import layers
from fnjit.codegen import workers

children = []
if {broken!r} == "fails":
    def fail(jobs, state, lock, number):  # claims the last kernel, then dies
        with lock:
            state[len(jobs) - 1] = workers.CLAIMED + number
        os._exit(3)
    workers._work = fail
elif {broken!r} == "hangs":
    workers.WAIT_SECONDS = 3.0

    def hang(jobs, state, lock, number):
        with lock:
            state[len(jobs) - 1] = workers.CLAIMED + number
        time.sleep(3600)
    workers._work = hang
start = workers.Pool.__enter__


def enter(self):
    children.extend(len(self.procs) * [1])
    return start(self)


workers.Pool.__enter__ = enter
keras.utils.set_random_seed(0)
x = keras.Input((6, 1))
h = layers.LSTM(4)(x)
h = layers.Dense(5, activation="relu")(h)
y = layers.Dense(1, activation="sigmoid")(h)
model = keras.Model(x, y)
model.compile("rmsprop", "binary_crossentropy")
rng = np.random.default_rng(0)
xs = rng.normal(size=(8, 6, 1)).astype(np.float32)
ys = (rng.random((8, 1)) > 0.5).astype(np.float32)
t0 = time.monotonic()
loss = model.train_on_batch(xs, ys)
seconds = time.monotonic() - t0
weights = [w.tolist() for w in model.get_weights()]
print(json.dumps({{"loss": float(loss), "weights": weights, "compiled": compiled,
                  "workers": len(children), "seconds": seconds}}))
"""


def _run(cache_dir, workers, broken=""):
    out = run_script(SCRIPT.format(broken=broken), cache_dir, FNJIT_COMPILE_WORKERS=workers,
                     FNJIT_NATIVE_AFTER="64")
    out["compiled"] = [tuple(c) for c in out["compiled"]]  # (kernel, signature) pairs
    return out


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """The cold step compiled in this process alone."""
    return _run(tmp_path_factory.mktemp("alone"), "0")


def test_workers_compile_part_of_a_cold_step_with_the_same_numbers(tmp_path, alone):
    helped = _run(tmp_path / "helped", "1")
    assert alone["workers"] == 0 and helped["workers"] == 1
    # Bit for bit the same step.
    assert helped["loss"] == alone["loss"]
    for a, b in zip(alone["weights"], helped["weights"]):
        np.testing.assert_array_equal(np.array(a), np.array(b))
    # This process compiled only part of the kernels, each once; the worker the rest.
    assert len(set(helped["compiled"])) == len(helped["compiled"])
    assert set(helped["compiled"]) < set(alone["compiled"])
    # Everything the worker wrote is in the cache and vouched for: a new process compiles
    # nothing and computes the same.
    again = _run(tmp_path / "helped", "1")
    assert again["compiled"] == [] and again["workers"] == 0
    assert again["loss"] == alone["loss"]


def test_a_failing_worker_leaves_its_kernels_to_this_process(tmp_path, alone):
    failed = _run(tmp_path / "failed", "1", broken="fails")
    assert failed["workers"] == 1
    assert sorted(failed["compiled"]) == sorted(alone["compiled"])
    assert failed["loss"] == alone["loss"]


def test_a_hung_worker_costs_a_bounded_wait_then_this_process_compiles(tmp_path, alone):
    hung = _run(tmp_path / "hung", "1", broken="hangs")
    assert hung["workers"] == 1
    assert sorted(hung["compiled"]) == sorted(alone["compiled"])
    assert hung["loss"] == alone["loss"]
    assert hung["seconds"] < 60  # waited WAIT_SECONDS (3 s) for its kernel, then killed it
