"""The Python around fnjit's native entry points, per call: train_on_batch, test_on_batch,
predict_on_batch and fit's per-batch loop, with each native entry replaced by a stub that
returns the result of its first real call, so that only the Python is timed (CPU time, the
minimum of 9 blocks of calls; warm, FNJIT_NATIVE_AFTER=0).

    python bench/call_overhead.py [Mlp Headline ...]      # guide_models.py class names

A/B of two checkouts: run it once from each (`ROOT=/tmp/base python bench/call_overhead.py`
imports that checkout's fnjit), several times in turn on a busy machine.
"""

import os
import sys
import time
import types

os.environ["FNJIT_NATIVE_AFTER"] = "0"
ROOT = os.environ.get("ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [ROOT, os.path.join(ROOT, "bench")]

import guide_models  # noqa: E402
import numpy as np  # noqa: E402

import fnjit  # noqa: E402

ENTRIES = ("train_step", "evaluate", "predict", "predict_batches")


def per_call_us(call, calls=1000, blocks=9):
    best = float("inf")
    for _ in range(blocks):
        t0 = time.process_time()
        for _ in range(calls):
            call()
        best = min(best, (time.process_time() - t0) / calls * 1e6)
    return best


def stub_native(program):
    """Replace the program's native entries by their first result (recorded on first call)."""
    real = program.driver.compiled
    recorded = {}

    def entry(name):
        def call(*args):
            if name not in recorded:
                recorded[name] = getattr(real, name)(*args)
            return recorded[name]
        return call
    program.driver.compiled = types.SimpleNamespace(
        **{name: entry(name) for name in ENTRIES}, seed=real.seed, __name__=real.__name__,
        __file__=real.__file__)


def measure(spec):
    model = spec.build(fnjit)
    rng = np.random.default_rng(0)
    xs, ys = spec.data(32, rng)
    x10, y10 = spec.data(320, rng)
    x100, y100 = spec.data(3200, rng)
    for _ in range(3):  # every entry native (FNJIT_NATIVE_AFTER=0) and warm
        model.train_on_batch(xs, ys)
        model.test_on_batch(xs, ys)
        model.predict_on_batch(xs)
    model.fit(x10, y10, batch_size=32, verbose=0, shuffle=False)
    for program in model._programs.values():
        stub_native(program)
    out = {
        "train_on_batch": per_call_us(lambda: model.train_on_batch(xs, ys)),
        "test_on_batch": per_call_us(lambda: model.test_on_batch(xs, ys)),
        "predict_on_batch": per_call_us(lambda: model.predict_on_batch(xs)),
    }
    fit10 = per_call_us(lambda: model.fit(x10, y10, batch_size=32, verbose=0, shuffle=False),
                        calls=30)
    fit100 = per_call_us(lambda: model.fit(x100, y100, batch_size=32, verbose=0,
                                           shuffle=False), calls=5)
    out["fit, per batch"] = (fit100 - fit10) / 90
    out["fit, per call (10 batches less 10 x per batch)"] = fit10 - 10 * out["fit, per batch"]
    return out


def main(names):
    for name in names or ["Mlp", "Headline"]:
        print(f"== {name} (Python per call, CPU us)")
        for what, us in measure(getattr(guide_models, name)).items():
            print(f"  {what:48s} {us:7.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
