"""fnjit beside PyTorch eager and Keras 3 on JAX, on the five guide models, as ratios.

    /work/kvenv/bin/python bench/bench_guides.py             # the full run (about 15 minutes)
    /work/kvenv/bin/python bench/bench_guides.py --quick     # smoke run
    /work/kvenv/bin/python bench/bench_guides.py --models lstm,cnn --threads 1
    tox -e bench                                             # the same, installing the peers

Every library runs in its own worker process (so thread pools and imports never meet) and the
workers take turns, a block of calls each, so that a change in machine load hits all alike;
figures are medians. Measured per model (bench/guide_models.py), at 1 thread each and at each
library's defaults:

  train   one training step at batch 32 (fnjit and Keras `train_on_batch`, PyTorch
          zero_grad + forward + loss + backward + RMSprop step), median ms
  fit     one `fit` epoch (shuffling, batching, logs included; PyTorch: a permuted index loop)
          divided by its steps, median ms per step
  predict samples/s of `predict` over the fit data at batch 32 and at the library's default
          (Keras and fnjit: batch_size=None; PyTorch: one call on all samples), median
  cold    seconds from process start to the end of the first training step, empty cache
          (fnjit: a fresh FNJIT_CACHE_DIR; "warm": the same again with that cache filled)
  rss     peak resident memory of the worker (MB) after all of the above

Ratios read "how many times fnjit is faster" (> 1 is better for fnjit); the `target` column
holds issue 11's goal and whether this run met it. The run checks the 1-minute load average
before and after: above --max-load (0.3) it prints the table marked INVALID and exits 1, since
a busy machine measures the contention, not the libraries. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from guide_models import MODELS, torch_tensors, torch_training  # noqa: E402

LIBS = ("fnjit", "torch", "keras", "base")  # base: fnjit from --base (A/B of two checkouts)
BATCH = 32
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
               "FNJIT_BLAS_THREADS", "FNJIT_NUM_THREADS", "XLA_FLAGS")
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1", "FNJIT_BLAS_THREADS": "1", "FNJIT_NUM_THREADS": "1",
              "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}
# wall: what a user waits for. cpu: this process's CPU time, for A/B comparisons on a busy
# machine at 1 thread (a call preempted by other processes does not count their time).
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
CLOCK = [time.perf_counter]
# Issue 11's targets: train step speed-up over PyTorch eager, per model.
TRAIN_TARGET = {"mlp": 4.0, "lstm": 2.0, "cnn": 1.5, "headline": 1.5, "siamese": 1.2}


def busy_cpu_seconds():
    """CPU seconds the whole machine has spent busy (all processes), from /proc/stat."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    """CPU seconds of this process and its finished children (workers, cold starts)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def thread_env(threads):
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    if threads == "1":
        env.update(ONE_THREAD)
    env["KERAS_BACKEND"] = "jax"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


# ---- one library running one model (in its own process) ------------------------------------

class Runner:
    """Builds `spec` in library `lib`; train/fit/predict return per-call measurements."""

    def __init__(self, lib, spec, n_fit, threads):
        self.lib, self.spec, self.n_fit = lib, spec, n_fit
        rng = np.random.default_rng(0)
        self.xs, self.ys = spec.data(BATCH, rng)
        self.fxs, self.fys = spec.data(n_fit, rng)
        if lib == "torch":
            import torch

            if threads == "1":
                torch.set_num_threads(1)
            torch.manual_seed(0)
            self.torch = torch
            self.net, self.loss, self.opt = torch_training(spec, torch)
            self.txs, self.tys = torch_tensors(spec, torch, self.xs, self.ys)
            self.tfxs, self.tfys = torch_tensors(spec, torch, self.fxs, self.fys)
        else:
            if lib == "base":
                sys.path.insert(0, os.environ["FNJIT_BENCH_BASE"])
            if lib in ("fnjit", "base"):
                import fnjit as keras
            else:
                import keras
            self.model = spec.build(keras)
            # One array, not a list of one, for one-input (one-output) models, as users write
            # it (Keras 3 warns about a list of one).
            self.xs, self.ys, self.fxs, self.fys = (a[0] if len(a) == 1 else a for a in (
                self.xs, self.ys, self.fxs, self.fys))

    def _torch_step(self, xs, ys):
        self.opt.zero_grad()
        out = self.net(*xs)
        loss = self.loss(out, ys)
        loss.backward()
        self.opt.step()

    def train(self, reps):
        times = []
        for _ in range(reps):
            t0 = CLOCK[0]()
            if self.lib == "torch":
                self._torch_step(self.txs, self.tys)
            else:
                self.model.train_on_batch(self.xs, self.ys)
            times.append(CLOCK[0]() - t0)
        return times

    def fit(self, epochs):
        n = self.n_fit
        steps = -(-n // BATCH)
        times = []
        for _ in range(epochs):
            t0 = CLOCK[0]()
            if self.lib == "torch":
                self.net.train()
                order = self.torch.randperm(n)
                for lo in range(0, n, BATCH):
                    idx = order[lo:lo + BATCH]
                    self._torch_step([a[idx] for a in self.tfxs], [a[idx] for a in self.tfys])
            else:
                self.model.fit(self.fxs, self.fys, batch_size=BATCH, epochs=1, verbose=0,
                               shuffle=True)
            times.append((CLOCK[0]() - t0) / steps)
        return times

    def predict(self, batch_size, reps):
        n = self.n_fit
        rates = []
        for _ in range(reps):
            t0 = CLOCK[0]()
            if self.lib == "torch":
                with self.torch.no_grad():
                    self.net.eval()
                    if batch_size is None:
                        out = self.net(*self.tfxs)
                        outs = [o.numpy() for o in out] if isinstance(out, tuple) else out.numpy()
                    else:
                        outs = []
                        for lo in range(0, n, batch_size):
                            out = self.net(*[a[lo:lo + batch_size] for a in self.tfxs])
                            outs.append(out[0].numpy() if isinstance(out, tuple) else out.numpy())
                        np.concatenate(outs)
                    self.net.train()
            else:
                self.model.predict(self.fxs, batch_size=batch_size, verbose=0)
            rates.append(n / (CLOCK[0]() - t0))
        return rates


def worker(lib, model, n_fit, threads, clock, conn):
    import warnings

    warnings.filterwarnings("ignore")
    CLOCK[0] = CLOCKS[clock]
    try:
        runner = Runner(lib, MODELS[model], n_fit, threads)
        conn.send("ready")
        while True:
            cmd, args = conn.recv()
            if cmd == "stop":
                conn.send(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
                return
            conn.send(getattr(runner, cmd)(*args))
    except Exception as e:  # report, so that the run goes on with the other libraries
        conn.send(f"error: {type(e).__name__}: {e}")


def receive(lib, conn, timeout=1800):
    """The worker's next message; an error naming the library when it died or went silent.
    (The parent closed its copy of the worker's pipe end, so a dead worker is an EOF.)"""
    if not conn.poll(timeout):
        raise RuntimeError(f"{lib}: no answer in {timeout} s")
    try:
        return conn.recv()
    except EOFError:
        raise RuntimeError(f"{lib}: the worker died (see its traceback above)") from None


def interleaved(conns, cmd, args, rounds):
    """Each library runs `cmd(*args)` once per round, in turn; returns lists of results.
    A library that fails is reported and dropped from `conns`; the others go on."""
    results = {lib: [] for lib in conns}
    for _ in range(rounds):
        for lib, conn in list(conns.items()):
            try:
                conn.send((cmd, args))
                got = receive(lib, conn)
            except (RuntimeError, OSError) as e:
                got = f"error: {e}"
            if isinstance(got, str):
                print(f"  {lib} {cmd}: {got}; its figures are left out", file=sys.stderr)
                del conns[lib]
                continue
            results[lib] += got
    return results


def measure_model(model, threads, libs, cfg):
    """Train, fit and predict figures of one model for every library, at one thread mode."""
    spec = MODELS[model]
    n_fit = max(BATCH * 4, spec.fit_samples // (8 if cfg.quick else 1))
    ctx = mp.get_context("spawn")
    procs, conns = {}, {}
    for lib in libs:
        parent, child = ctx.Pipe()
        saved, env = dict(os.environ), thread_env(threads)
        if threads == "default" and lib in ("fnjit", "base"):
            # fnjit's defaults are one thread; --fnjit-threads / --fnjit-blas-threads try others.
            for var, n in (("FNJIT_NUM_THREADS", cfg.fnjit_threads),
                           ("FNJIT_BLAS_THREADS", cfg.fnjit_blas_threads)):
                if n:
                    env[var] = str(n)
        # Steady state: native entry points from the first call, so that the warm-up compiles
        # them (by default they go native on their 65th call: cold_start measures that tier).
        env["FNJIT_NATIVE_AFTER"] = "0"
        os.environ.clear()  # a spawned process starts with the parent's environment
        os.environ.update(env)
        p = ctx.Process(target=worker, args=(lib, model, n_fit, threads, cfg.clock, child),
                        daemon=True)
        p.start()
        child.close()  # else a worker that dies leaves the parent waiting on its own copy
        os.environ.clear()
        os.environ.update(saved)
        procs[lib], conns[lib] = p, parent
    alive = {}
    for lib, conn in conns.items():
        try:
            msg = receive(lib, conn)
        except RuntimeError as e:
            msg = str(e)
        if msg == "ready":
            alive[lib] = conn
        else:
            print(f"  {lib} on {model}: {msg}", file=sys.stderr)
    out = {lib: {} for lib in libs}
    quick = cfg.quick
    try:
        # warm-up: compile every path (Keras/XLA and fnjit compile on first use)
        interleaved(alive, "train", (3,), 1)
        interleaved(alive, "fit", (1,), 1)
        interleaved(alive, "predict", (BATCH, 1), 1)
        interleaved(alive, "predict", (None, 1), 1)
        rounds = 3 if quick else 10
        train = interleaved(alive, "train", (4 if quick else cfg.reps // rounds,), rounds)
        fit = interleaved(alive, "fit", (1,), 2 if quick else 5)
        p32 = interleaved(alive, "predict", (BATCH, 1), 2 if quick else 5)
        pdef = interleaved(alive, "predict", (None, 1), 2 if quick else 5)
        for lib in alive:  # the libraries that answered every call
            out[lib] = {"train": 1e3 * float(np.median(train[lib])),
                        "fit": 1e3 * float(np.median(fit[lib])),
                        "predict32": float(np.median(p32[lib])),
                        "predict": float(np.median(pdef[lib]))}
    finally:
        for lib, conn in alive.items():
            try:
                conn.send(("stop", ()))
                got = receive(lib, conn, timeout=60)
            except (RuntimeError, OSError) as e:  # a worker that failed has already exited
                got = f"error: {e}"
            if isinstance(got, float):
                out[lib]["rss"] = got
        for p in procs.values():
            p.join(30)
            if p.is_alive():
                p.kill()
    return out


# ---- cold start -----------------------------------------------------------------------------

COLD = """
import time, sys
sys.path[:0] = {paths!r}
from guide_models import MODELS, torch_tensors, torch_training
import numpy as np
spec = MODELS[{model!r}]
xs, ys = spec.data(32, np.random.default_rng(0))
lib = {lib!r}
if lib == "torch":
    import torch
    net, loss, opt = torch_training(spec, torch)
    txs, tys = torch_tensors(spec, torch, xs, ys)
    opt.zero_grad(); loss(net(*txs), tys).backward(); opt.step()
else:
    if lib == "base":
        import os
        sys.path.insert(0, os.environ["FNJIT_BENCH_BASE"])
    if lib in ("fnjit", "base"):
        import fnjit as keras
    else:
        import keras
    spec.build(keras).train_on_batch(xs, ys)
print(time.time())
"""


def cold_start(lib, model, cache_dir, clock="wall"):
    """Seconds from process start to the end of the first training step; with clock "cpu",
    the CPU seconds of the whole process (it ends with that step), for A/B on a busy machine."""
    env = thread_env("default")
    env["FNJIT_CACHE_DIR"] = cache_dir
    code = COLD.format(paths=[str(HERE), str(ROOT)], model=model, lib=lib)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if done.returncode:
        return float("nan")
    if clock == "cpu":
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return float(done.stdout.split()[-1]) - t0


def measure_cold(model, libs, clock="wall"):
    """Each library's cold start in a cache of its own (fnjit and base share kernel texts),
    then fnjit's warm start in its cache."""
    out = {}
    with tempfile.TemporaryDirectory() as top:
        for lib in libs:
            d = os.path.join(top, lib)
            out[lib] = {"cold": cold_start(lib, model, d, clock)}
            if lib == "fnjit":
                out[lib]["warm"] = cold_start(lib, model, d, clock)
    return out


# ---- report ---------------------------------------------------------------------------------

def ratio(a, b):
    return a / b if a and b and a == a and b == b else float("nan")


def verdict(met, value):
    """'met' / 'MISSED', or '-' when a library the target needs was not run."""
    return "-" if value != value else "met" if met else "MISSED"


def fmt(v, width=9, digits=3):
    return f"{'-':>{width}}" if v is None or v != v else f"{v:{width}.{digits}f}"


def print_tables(results, models, libs, modes, clock="wall"):
    peers = [lib for lib in libs if lib != "fnjit"]
    if not peers:
        return

    def value(mode, model, lib, key):
        return results[mode].get(model, {}).get(lib, {}).get(key)

    def times_table(mode, label, key, title, target, peer, goal, shown):
        """ms per library, each peer's time over fnjit's, and whether `peer`'s ratio met
        `goal(model)` (printed first where `shown`)."""
        print(f"\n== {title} ({label}) ==")
        print(f"{'model':10s}" + "".join(f"{lib:>10s}" for lib in libs)
              + "".join(f"{p + '/fnjit':>13s}" for p in peers) + f"   target ({target})")
        for m in models:
            vals = [value(mode, m, lib, key) for lib in libs]
            rs = [ratio(value(mode, m, p, key), vals[0]) for p in peers]
            r = ratio(value(mode, m, peer, key), vals[0])
            print(f"{m:10s}" + "".join(fmt(v, 10) for v in vals)
                  + "".join(fmt(r, 12, 2) + "x" for r in rs)
                  + f"   {f'>= {goal(m)}x ' if shown else ''}{verdict(r >= goal(m), r)}")

    for mode in modes:
        label = "1 thread each" if mode == "1" else "each library's defaults"
        times_table(mode, label, "train", f"train step, batch {BATCH}, median ms",
                    "torch/fnjit", "torch", TRAIN_TARGET.get, shown=True)
        times_table(mode, label, "fit", f"fit, ms per step (whole epoch / steps, batch {BATCH})",
                    "keras/fnjit >= 1", "keras", lambda m: 1, shown=False)
        for key, what in (("predict32", f"batch {BATCH}"), ("predict", "default batch")):
            print(f"\n== predict, samples/s, {what} ({label}) ==")
            print(f"{'model':10s}" + "".join(f"{lib:>11s}" for lib in libs)
                  + f"{'fnjit/best':>12s}   target (>= 1)")
            for m in models:
                vals = [value(mode, m, lib, key) for lib in libs]
                best = max((v for v in vals[1:] if v and v == v), default=None)
                r = ratio(vals[0], best)
                print(f"{m:10s}" + "".join(fmt(v, 11, 0) for v in vals) + fmt(r, 11, 2) + "x"
                      + f"   {verdict(r >= 1, r)}")
        print(f"\n== peak RSS of the worker, MB ({label}) ==")
        for m in models:
            vals = [value(mode, m, lib, "rss") for lib in libs]
            print(f"{m:10s}" + "".join(fmt(v, 10, 0) for v in vals))
    if "1" in modes and "default" in modes:
        print("\n== fnjit train step, 1 thread / defaults (target >= 1.6x on cnn, siamese) ==")
        for m in models:
            r = ratio(value("1", m, "fnjit", "train"), value("default", m, "fnjit", "train"))
            goal = f"   {'met' if r >= 1.6 else 'MISSED'}" if m in ("cnn", "siamese") else ""
            print(f"{m:10s}{fmt(r, 8, 2)}x{goal}")
    if "cold" in results:
        print("\n== start: seconds from process start to the first finished train step"
              + (" (CPU seconds of the process) ==" if clock == "cpu" else " =="))
        print(f"{'model':10s}" + "".join(f"{lib + ' cold':>12s}" for lib in libs)
              + f"{'fnjit warm':>12s}   target (fnjit cold <= 2.5, warm <= 1)")
        for m in models:
            c = results["cold"].get(m, {})
            vals = [c.get(lib, {}).get("cold") for lib in libs]
            warm = c.get("fnjit", {}).get("warm")
            met = vals[0] is not None and vals[0] <= 2.5 and warm is not None and warm <= 1
            print(f"{m:10s}" + "".join(fmt(v, 12, 2) for v in vals) + fmt(warm, 12, 2)
                  + f"   {'met' if met else 'MISSED'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run: few repetitions")
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"comma-separated, from {','.join(MODELS)}")
    ap.add_argument("--libs", default="fnjit,torch,keras",
                    help="comma-separated, from " + ",".join(LIBS))
    ap.add_argument("--threads", default="1,default", help="'1', 'default' or both")
    ap.add_argument("--reps", type=int, default=200, help="train steps timed per library")
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-start subprocesses")
    ap.add_argument("--base", help="another fnjit checkout, run as library 'base': "
                    "--libs fnjit,base --base DIR compares two versions, interleaved")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                    help="cpu: process CPU time, for A/B runs at --threads 1 on a busy machine")
    ap.add_argument("--fnjit-threads", type=int, help="FNJIT_NUM_THREADS of fnjit (and base) "
                    "in the 'default' mode: threads of the convolution and pooling kernels")
    ap.add_argument("--fnjit-blas-threads", type=int, help="FNJIT_BLAS_THREADS of fnjit (and "
                    "base) in the 'default' mode: threads of the BLAS its kernels call")
    ap.add_argument("--max-load", type=float, default=0.3)
    ap.add_argument("--json", help="also write the figures here")
    cfg = ap.parse_args()
    models = [m for m in cfg.models.split(",") if m]
    libs = [lib for lib in cfg.libs.split(",") if lib]
    modes = [t for t in cfg.threads.split(",") if t]
    for m in models:
        if m not in MODELS:
            ap.error(f"--models: unknown model {m!r}; choose from {list(MODELS)}")
    for lib in libs:
        if lib not in LIBS:
            ap.error(f"--libs: unknown library {lib!r}; choose from {list(LIBS)}")
    for t in modes:
        if t not in ("1", "default"):
            ap.error(f"--threads: {t!r} is neither '1' nor 'default'")
    if "base" in libs:
        if not cfg.base:
            ap.error("--libs base needs --base DIR")
        os.environ["FNJIT_BENCH_BASE"] = str(Path(cfg.base).resolve())
    load_before = os.getloadavg()[0]
    wall0, busy0, own0 = time.time(), busy_cpu_seconds(), own_cpu_seconds()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"python {sys.version.split()[0]}, load before {load_before:.2f}", flush=True)
    results = {}
    for mode in modes:
        results[mode] = {}
        for m in models:
            print(f"  measuring {m} at threads={mode} ...", flush=True)
            results[mode][m] = measure_model(m, mode, libs, cfg)
    if not cfg.no_cold:
        print("  cold starts ...", flush=True)
        results["cold"] = {m: measure_cold(m, libs, cfg.clock) for m in models}
    # The 1-minute load average after the run counts this benchmark itself; what matters is
    # how many cores other processes kept busy meanwhile: machine busy time minus ours.
    others = ((busy_cpu_seconds() - busy0) - (own_cpu_seconds() - own0)) / (time.time() - wall0)
    load_after = os.getloadavg()[0]
    print_tables(results, models, libs, [m for m in modes], cfg.clock)
    results["load"] = {"before": load_before, "after": load_after, "others_during": others}
    if cfg.json:
        Path(cfg.json).write_text(json.dumps(results, indent=1))
    print(f"\nload average {load_before:.2f} before the run, {load_after:.2f} after (this run "
          f"included); other processes kept {others:.2f} cores busy during it")
    if max(load_before, others) > cfg.max_load:
        print(f"INVALID RUN: above the limit of {cfg.max_load}: the machine was busy, so these "
              "figures measure contention; rerun on a quiet machine.")
        sys.exit(1)
    print("valid run: the machine was quiet.")


if __name__ == "__main__":
    main()
