"""FNJIT_NUM_THREADS: the parallel kernels (convolution, pooling, the recurrent time loops)
honour it and give the numbers of one thread; a setting that is not a whole number >= 1
within Numba's threads is refused by name. (Whether two threads pay is measured by bench/,
never by a test.)"""

import os

import numpy as np
import pytest
from fresh_process import run_script

from fnjit.codegen import threads

# A conv (relu, bias), max pooling, a second conv and average pooling: every parallel kernel,
# forward and backward; one SGD step from fixed weights, then predict.
SCRIPT = """
import json, re, sys
import numba
import numpy as np
import fnjit as keras
from fnjit import layers
x = keras.Input(shape=(12, 12, 2))
h = layers.Conv2D(6, 3, activation="relu")(x)
h = layers.MaxPooling2D(2)(h)
h = layers.Conv2D(4, 2, padding="same")(h)
h = layers.AveragePooling2D(2)(h)
model = keras.Model(x, layers.Dense(1)(layers.Flatten()(h)))
model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
rng = np.random.default_rng(0)
model.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.3
                   for w in model.get_weights()])
xs = rng.normal(size=(9, 12, 12, 2)).astype(np.float32)
ys = rng.normal(size=(9, 1)).astype(np.float32)
model.train_on_batch(xs, ys)
(program,) = model._programs.values()
# The recurrent layers (LSTM forward in time, GRU backwards, SimpleRNN), whose time loops split
# batch rows among the threads: 65 rows wide enough to make two unequal blocks (32 and 33 rows)
# of more than ROW_SPLIT_WORK (_common.j2) multiply-adds per step; then a GRU(3), whose
# rows are too narrow to split: its blocks run whole, on one thread.
r_in = keras.Input(shape=(7, 3))
r = layers.LSTM(64, return_sequences=True)(r_in)
r = layers.GRU(64, go_backwards=True, return_sequences=True)(r)
r = layers.SimpleRNN(64, return_sequences=True)(r)
rnn = keras.Model(r_in, layers.Dense(1)(layers.GRU(3)(r)))
rnn.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
rnn.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.3 for w in rnn.get_weights()])
rx = rng.normal(size=(65, 7, 3)).astype(np.float32)
rnn.train_on_batch(rx, rng.normal(size=(65, 1)).astype(np.float32))
(rnn_program,) = rnn._programs.values()
try:
    layer = numba.threading_layer()
except ValueError:  # no parallel region ran (one thread: nothing rendered parallel)
    layer = None
print(json.dumps({"threads": numba.get_num_threads(), "layer": layer,
                  "parallel": "numba.prange" in program.source,
                  "weights": [w.tolist() for w in model.get_weights()],
                  "predict": model.predict(xs, verbose=0).tolist(),
                  "rnn_split": len(re.findall(r"^ *\\w+_(?:forward|backward)\\w*_rows\\(",
                                              rnn_program.source, re.M)),
                  "rnn_weights": [w.tolist() for w in rnn.get_weights()],
                  "rnn_predict": rnn.predict(rx, verbose=0).tolist()}))
"""


def run(cache_dir, **env):
    return run_script(SCRIPT, cache_dir, unset=("FNJIT_NUM_THREADS", "NUMBA_THREADING_LAYER"),
                      timeout=900, **env)


def test_two_threads_run_the_parallel_kernels_with_the_numbers_of_one(tmp_path):
    one = run(tmp_path, NUMBA_NUM_THREADS="2", FNJIT_NUM_THREADS="1")
    two = run(tmp_path, NUMBA_NUM_THREADS="2", FNJIT_NUM_THREADS="2")
    assert one["parallel"] is False and two["parallel"] is True
    assert two["threads"] == 2
    # Numba's workqueue layer (its threads sleep between regions), not its default (OpenMP where
    # installed, whose threads spin), unless NUMBA_THREADING_LAYER says otherwise.
    assert two["layer"] == "workqueue"
    # Threads change only the order of the kernel gradient's sums over blocks of samples.
    for a, b in zip(one["weights"] + [one["predict"]], two["weights"] + [two["predict"]]):
        np.testing.assert_allclose(np.array(b), np.array(a), rtol=1e-5, atol=1e-6)
    # The recurrent time loops run blocks of batch rows, whose states never meet: the same
    # numbers bit for bit. Twelve calls go through the split wrapper: LSTM, GRU, SimpleRNN and
    # the narrow GRU, each in the train step's forward and backward and in predict.
    assert one["rnn_split"] == 0 and two["rnn_split"] == 12
    for a, b in zip(one["rnn_weights"] + [one["rnn_predict"]],
                    two["rnn_weights"] + [two["rnn_predict"]]):
        np.testing.assert_array_equal(np.array(b), np.array(a))


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5", ""])
def test_a_bad_thread_count_is_refused_by_name(bad, monkeypatch):
    monkeypatch.setenv("FNJIT_NUM_THREADS", bad)
    with pytest.raises(ValueError, match=f"FNJIT_NUM_THREADS must be `auto` or a whole number "
                                         f">= 1, got {bad!r}"):
        threads.num_threads()


def test_more_threads_than_numba_has_are_refused(monkeypatch):
    import numba

    monkeypatch.setenv("FNJIT_NUM_THREADS", str(numba.config.NUMBA_NUM_THREADS + 1))
    with pytest.raises(ValueError, match="FNJIT_NUM_THREADS=.* is more than the .* threads "
                                         "Numba has"):
        threads.num_threads()


def test_one_thread_is_the_default_and_auto_renders_for_every_usable_core(monkeypatch):
    import numba

    monkeypatch.delenv("FNJIT_NUM_THREADS", raising=False)
    assert threads.num_threads() == 1 and not threads.follows_load()
    monkeypatch.setenv("FNJIT_NUM_THREADS", "auto")
    cores = len(os.sched_getaffinity(0))
    assert threads.num_threads() == max(1, min(cores, numba.config.NUMBA_NUM_THREADS))
    assert threads.follows_load()
    monkeypatch.setenv("FNJIT_NUM_THREADS", "1")
    assert threads.num_threads() == 1 and not threads.follows_load()


class Clocks:
    """A machine whose busy time, this process's CPU time and the wall clock a test sets."""

    def __init__(self):
        self.wall = self.busy = self.own = 0.0

    def advance(self, wall, own, others):
        """`wall` seconds pass; this process runs `own` CPU seconds, others `others`."""
        self.wall += wall
        self.own += own
        self.busy += own + others


def test_the_threads_follow_the_cores_other_processes_leave_idle():
    c = Clocks()
    follow = threads.LoadFollower(4, 4, machine=lambda: c.busy, own=lambda: c.own,
                                  clock=lambda: c.wall)
    assert follow.look() == 4  # the first look only takes a sample
    c.advance(1.0, own=3.8, others=0.1)  # a quiet machine: all four
    assert follow.look() == 4
    c.advance(0.5, own=1.0, others=1.0)  # others keep two cores busy: two left
    assert follow.look() == 2
    c.advance(0.5, own=0.5, others=2.0)  # four busy cores taken: one thread, never none
    assert follow.look() == 1
    c.advance(0.5, own=0.5, others=0.3)  # 0.6 of a core: rounds to one taken
    assert follow.look() == 3
    c.advance(0.5, own=2.0, others=0.0)  # quiet again, within what was rendered (4)
    assert follow.look() == 4
    c.advance(0.0, own=0.0, others=0.0)  # no time passed: the last choice stands
    assert follow.look() == 4


def test_without_a_machine_reading_the_rendered_threads_stay():
    follow = threads.LoadFollower(2, 2, machine=lambda: None)
    assert follow.look() == 2 and follow.look() == 2


FOLLOW_SCRIPT = """
import json
import numba
import numpy as np
import fnjit as keras
from fnjit import layers
from fnjit.codegen import threads
threads.ADAPT_EVERY = 0.0  # look before every call
x = keras.Input(shape=(8, 8, 1))
h = layers.MaxPooling2D(2)(layers.Conv2D(4, 3, activation="relu")(x))
model = keras.Model(x, layers.Dense(1)(layers.Flatten()(h)))
model.compile(optimizer="sgd", loss="mse")
xs = np.ones((4, 8, 8, 1), np.float32)
ys = np.ones((4, 1), np.float32)
model.train_on_batch(xs, ys)
(program,) = model._programs.values()
# A Dense model, whose calls use the BLAS threads the load leaves (a convolution's, one).
d_in = keras.Input(shape=(8,))
dense = keras.Model(d_in, layers.Dense(1)(layers.Dense(8)(d_in)))
dense.compile(optimizer="sgd", loss="mse")
dx, dy = np.ones((4, 8), np.float32), np.ones((4, 1), np.float32)
import os
from threadpoolctl import threadpool_info
state = {"others": 0.0, "busy": 0.0, "wall": 0.0}
def machine():  # a machine where other processes keep `others` cores busy
    state["wall"] += 0.1
    state["busy"] += 0.1 * state["others"]
    return state["busy"] + followers[0].own()
followers = [follow for follow, _ in threads._FOLLOWERS]
for follow in followers:
    follow.machine = machine
    follow.clock = lambda: state["wall"]
def blas_threads():
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"
            and "scipy" in os.path.basename(os.path.dirname(p["filepath"]))]
seen, blas, conv_blas = [], [], []
for others in (1.0, 0.0, 1.0):
    state["others"] = others
    for _ in range(3):
        model.train_on_batch(xs, ys)
        dense.train_on_batch(dx, dy)
    seen.append(numba.get_num_threads())
    blas.append(blas_threads())
    model.train_on_batch(xs, ys)
    conv_blas.append(blas_threads())
print(json.dumps({"parallel": "numba.prange" in program.source, "seen": seen, "blas": blas,
                  "conv_blas": conv_blas, "followers": len(followers)}))
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two usable cores")
def test_with_auto_the_threads_follow_the_load_in_a_real_process(tmp_path):
    out = run_script(FOLLOW_SCRIPT, tmp_path, unset=("FNJIT_NUM_THREADS",), timeout=900,
                     NUMBA_NUM_THREADS="2", FNJIT_NUM_THREADS="auto", FNJIT_BLAS_THREADS="1")
    assert out["parallel"] is True
    # Another process busy on one of the two cores: one thread; quiet: two; busy again: one.
    assert out["seen"] == [1, 2, 1], out
    assert out["blas"] == [[1]] * 3 and out["followers"] == 1  # the BLAS keeps its one thread


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two usable cores")
@pytest.mark.parametrize("setting", ["auto", None])
def test_the_blas_threads_follow_the_load_by_default_and_with_auto(setting, tmp_path):
    env = {"FNJIT_BLAS_THREADS": setting} if setting else {}
    out = run_script(FOLLOW_SCRIPT, tmp_path, unset=("FNJIT_NUM_THREADS", "FNJIT_BLAS_THREADS"),
                     timeout=900, NUMBA_NUM_THREADS="2", **env)
    assert out["parallel"] is False and out["followers"] == 1
    # The Dense model: one BLAS thread while another process is busy, two when it is not; the
    # convolution's calls run one whatever the load (CpuTarget.render).
    assert out["blas"] == [[1], [2], [1]], out
    assert out["conv_blas"] == [[1]] * 3, out


def test_a_bad_blas_thread_count_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("FNJIT_BLAS_THREADS", "0")
    with pytest.raises(ValueError, match="FNJIT_BLAS_THREADS must be `auto` or a whole number"):
        threads.blas_threads()
