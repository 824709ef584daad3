"""MLP 784-64(relu)-64(relu)-10(softmax), RMSprop, categorical crossentropy: one training step.

Prints, from one run on this machine, the median step time of
  - fnjit (train_on_batch, and the bare generated train_step),
  - the same maths in plain numpy float32 (written below),
  - PyTorch eager (when installed; `tox -e bench` installs it),
as ratios, at batch 32 and 256; then cold compile time (process start to first finished step,
empty cache) and warm start (same, warm cache); then whether `parallel=True` pays for the
optimizer update at two sizes (the measurement behind using plain @jit there).

    python bench/bench_mlp.py [--repeat 300]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from timing import median_ms

import fnjit as keras
from fnjit import layers

THREADS = [1]


def fnjit_model():
    x = keras.Input(shape=(784,))
    h = layers.Dense(64, activation="relu")(x)
    h = layers.Dense(64, activation="relu")(h)
    model = keras.Model(x, layers.Dense(10, activation="softmax")(h))
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    return model


class NumpyMLP:
    """The same step in numpy float32: forward, CE through softmax, backward, RMSprop."""

    def __init__(self, weights):
        self.w = [w.astype(np.float32).copy() for w in weights]
        self.v = [np.zeros_like(w) for w in self.w]

    def step(self, x, y):
        w = self.w
        h1 = np.maximum(x @ w[0] + w[1], 0)
        h2 = np.maximum(h1 @ w[2] + w[3], 0)
        z = h2 @ w[4] + w[5]
        e = np.exp(z - z.max(1, keepdims=True))
        p = e / e.sum(1, keepdims=True)
        dz = (p - y) / np.float32(len(x))
        dh2 = (dz @ w[4].T) * (h2 > 0)
        dh1 = (dh2 @ w[2].T) * (h1 > 0)
        grads = [x.T @ dh1, dh1.sum(0), h1.T @ dh2, dh2.sum(0), h2.T @ dz, dz.sum(0)]
        for wi, vi, g in zip(self.w, self.v, grads):
            vi *= np.float32(0.9)
            vi += np.float32(0.1) * g * g
            wi -= np.float32(0.001) * g / np.sqrt(vi + np.float32(1e-7))


def torch_step(weights):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS[0])
    net = torch.nn.Sequential(torch.nn.Linear(784, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                              torch.nn.ReLU(), torch.nn.Linear(64, 10))
    with torch.no_grad():
        for lin, (k, b) in zip([net[0], net[2], net[4]], zip(weights[::2], weights[1::2])):
            lin.weight.copy_(torch.from_numpy(k.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
    opt = torch.optim.RMSprop(net.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
    return step, torch


START_SCRIPT = """
import time, numpy as np
t0 = time.perf_counter()
import fnjit as keras
from fnjit import layers
x = keras.Input(shape=(784,))
h = layers.Dense(64, activation="relu")(layers.Dense(64, activation="relu")(x))
model = keras.Model(x, layers.Dense(10, activation="softmax")(h))
model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
model.train_on_batch(np.zeros((32, 784), "float32"), np.eye(10, dtype="float32")[np.zeros(32, int)])
print(time.perf_counter() - t0)
"""


def start_time(cache_dir):
    """Seconds from process start to the first finished training step."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", START_SCRIPT], capture_output=True, text=True,
                         env=dict(os.environ, FNJIT_CACHE_DIR=cache_dir), check=True)
    total = time.perf_counter() - t
    return total, float(out.stdout.strip())


def parallel_probe(repeat):
    import numba

    def update(p, g, v, lr, rho, one_minus_rho, eps):
        for i in numba.prange(p.size):
            v[i] = rho * v[i] + one_minus_rho * g[i] * g[i]
            p[i] -= lr * g[i] / np.sqrt(v[i] + eps)

    serial = numba.njit(error_model="numpy")(update)
    parallel = numba.njit(error_model="numpy", parallel=True)(update)
    rows = []
    for size in (55_050, 8_000_000):
        p, g, v = (np.random.rand(size).astype(np.float32) for _ in range(3))
        consts = [np.float32(c) for c in (0.001, 0.9, 0.1, 1e-7)]
        t = median_ms({"serial": lambda: serial(p, g, v, *consts),
                       "parallel": lambda: parallel(p, g, v, *consts)}, max(repeat // 10, 20))
        ts, tp = t["serial"], t["parallel"]
        rows.append((size, ts, tp))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS threads for every library (fnjit, numpy, PyTorch)")
    args = ap.parse_args()
    # Every library gets the same thread count: two BLAS pools spinning on 2 cores made one
    # side 10-100x slower in early runs, which measures the contention, not the library.
    os.environ["FNJIT_BLAS_THREADS"] = str(args.threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    THREADS[0] = args.threads
    rng = np.random.default_rng(0)
    results = {}
    print(f"numba {__import__('numba').__version__}, numpy {np.__version__}, "
          f"{os.cpu_count()} cores, {args.threads} BLAS thread(s) everywhere")
    print(f"{'batch':>5} {'fnjit fit-step':>15} {'fnjit native':>13} {'numpy':>9} "
          f"{'torch':>9} {'numpy/fnjit':>12} {'torch/fnjit':>12}")
    for batch in (32, 256):
        model = fnjit_model()
        x = rng.random((batch, 784), dtype=np.float32)
        y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
        model.train_on_batch(x, y)
        program = model._program("train", [x])
        store = model._store
        logs = np.zeros(program.n_logs)
        hyper = model.optimizer.hyper(store.dtype)
        step = program.module.train_step
        ones = np.ones(batch, np.float32)  # the sample weights
        ref = NumpyMLP(model.get_weights())
        steps = {
            "fnjit": lambda: model.train_on_batch(x, y),
            "native": lambda: step(store.params, store.state, store.grads, model._slots, hyper,
                                   x, y, ones, logs),
            "numpy": lambda: ref.step(x, y),
        }
        made = torch_step(model.get_weights())
        if made:
            tstep, torch = made
            tx, ty = torch.from_numpy(x), torch.from_numpy(y.argmax(1))
            steps["torch"] = lambda: tstep(tx, ty)
        t = median_ms(steps, args.repeat)
        t_fnjit, t_native, t_numpy, t_torch = t["fnjit"], t["native"], t["numpy"], t.get("torch")
        results[batch] = dict(fnjit=t_fnjit, native=t_native, numpy=t_numpy, torch=t_torch)
        torch_txt = f"{t_torch:9.3f}" if t_torch else f"{'-':>9}"
        ratio = f"{t_torch / t_fnjit:12.2f}" if t_torch else f"{'-':>12}"
        print(f"{batch:5d} {t_fnjit:15.3f} {t_native:13.3f} {t_numpy:9.3f} {torch_txt} "
              f"{t_numpy / t_fnjit:12.2f} {ratio}   (ms per step, median)")

    with tempfile.TemporaryDirectory() as d:
        cold_total, cold_inner = start_time(d)
        warm_total, warm_inner = start_time(d)
    results["start"] = dict(cold=cold_total, warm=warm_total)
    print(f"cold start (empty cache): {cold_total:.2f} s to the first finished step "
          f"({cold_inner:.2f} s after interpreter start)")
    print(f"warm start (warm cache):  {warm_total:.2f} s ({warm_inner:.2f} s after interpreter "
          "start)")
    print("parallel=True for the RMSprop update (ms): size, serial, parallel")
    for size, ts, tp in parallel_probe(args.repeat):
        print(f"  {size:>9,d} {ts:9.3f} {tp:9.3f}  -> {'parallel' if tp < ts else 'serial'} "
              "is faster")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
