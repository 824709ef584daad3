"""The prepared GPU check of the cuda target: the one script to run on a machine with an NVIDIA
GPU (device time is scarce: it does everything in one go).

    python bench/cuda_check.py                                   # on the GPU
    NUMBA_ENABLE_CUDASIM=1 python bench/cuda_check.py --smoke    # rehearsal in the simulator

1. tests/test_cuda_target.py's cuda tests (on the GPU when one is there, else in the
   simulator; --no-tests skips them);
2. the five guide models of bench/guide_models.py (MLP, LSTM, CNN, headline, siamese), each
   built for target cuda (FNJIT_TARGET=cuda): fnjit's train step (train_on_batch) and predict
   (predict_on_batch) at batch 32 and 256, beside PyTorch on CUDA in the same run (RMSprop,
   the same layers), as median milliseconds and the ratio fnjit / PyTorch. Both move the batch
   in and the loss or outputs out each call. A model the cuda target cannot run is reported
   with the reason; PyTorch missing, or without CUDA, is said so and skipped.
--smoke: the same models at bench/guide_models.py's SMOKE sizes, batches 2 and 4, two calls:
small enough for the simulator, so that the script is known to run before a GPU is spent on it.
Needs numba-cuda (`pip install fnjit[cuda]`).
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's fnjit, installed or not
sys.path.insert(0, str(ROOT / "bench"))
os.environ["FNJIT_TARGET"] = "cuda"  # the guide models compile for the default target

from guide_models import MODELS, torch_tensors, torch_training  # noqa: E402

import fnjit as keras  # noqa: E402


def median_ms(fn, repeat, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * sorted(times)[len(times) // 2]


def time_fnjit(spec, size, batch, repeat):
    xs, ys = spec.data(batch, np.random.default_rng(0), size)
    try:
        model = spec.build(keras, size)
        model.train_on_batch(xs, ys)
    except (ValueError, RuntimeError) as e:
        return None, str(e).splitlines()[0]
    return {"train": median_ms(lambda: model.train_on_batch(xs, ys), repeat),
            "predict": median_ms(lambda: model.predict_on_batch(xs), repeat)}, ""


def time_torch(spec, size, batch, repeat, device):
    try:
        import torch
    except ImportError:
        return None, "PyTorch is not installed"
    if device == "cuda" and not torch.cuda.is_available():
        return None, "PyTorch sees no CUDA device"
    net, loss_fn, opt = torch_training(spec, torch, size)
    net = net.to(device)  # in place: the optimizer keeps its parameters
    xs, ys = spec.data(batch, np.random.default_rng(0), size)
    txs, tys = torch_tensors(spec, torch, xs, ys)

    def train():  # as fnjit's call: the batch moves in, the loss comes out
        opt.zero_grad()
        loss = loss_fn(net(*[t.to(device) for t in txs]), [t.to(device) for t in tys])
        loss.backward()
        opt.step()
        loss.item()

    def predict():
        with torch.no_grad():
            out = net(*[t.to(device) for t in txs])
            [o.cpu().numpy() for o in (out if isinstance(out, tuple) else (out,))]
    if device == "cuda":
        def synced(fn):
            def call():
                fn()
                torch.cuda.synchronize()
            return call
        train, predict = synced(train), synced(predict)
    return {"train": median_ms(train, repeat), "predict": median_ms(predict, repeat)}, ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true",
                    help="the guide models at simulator sizes, batches 2 and 4")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--no-tests", action="store_true", help="skip the cuda tests")
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"comma-separated, from {','.join(MODELS)}")
    ap.add_argument("--torch-device", default="cuda",
                    help="PyTorch's device (cpu only to rehearse this script without a GPU)")
    args = ap.parse_args()
    names = args.models.split(",")
    for name in names:
        if name not in MODELS:
            ap.error(f"--models: unknown model {name!r}; choose from {list(MODELS)}")
    from numba import cuda
    simulated = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")
    print(f"numba {__import__('numba').__version__}; cuda available: {cuda.is_available()}; "
          f"simulator: {simulated}")
    if not cuda.is_available():
        sys.exit("no CUDA device (and the simulator is off): nothing to check")
    if not simulated:
        print("device:", cuda.get_current_device().name)

    status = 0
    if not args.no_tests:
        print("\n== tests/test_cuda_target.py", flush=True)
        status = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly",
                                  "-p", "no:cacheprovider", "-m", "cudasim",
                                  str(ROOT / "tests" / "test_cuda_target.py")], cwd=ROOT)
        print("tests:", "passed" if status == 0 else f"FAILED (exit {status})")

    batches = (2, 4) if args.smoke else (32, 256)
    repeat = args.repeat or (2 if args.smoke else 30)
    print(f"\n== median ms per call ({repeat} calls), fnjit target=cuda beside PyTorch on "
          f"{args.torch_device}{' (smoke sizes)' if args.smoke else ''}")
    print(f"{'model':8} {'batch':>5} {'what':8} {'fnjit':>9} {'torch':>9} {'ratio':>7}")
    torch_said = False
    for name in names:
        spec = MODELS[name]
        size = spec.SMOKE if args.smoke else None
        for batch in batches:
            ours, why = time_fnjit(spec, size, batch, repeat)
            theirs, why_not = time_torch(spec, size, batch, repeat, args.torch_device)
            if ours is None:
                status = status or 1
                print(f"{name:8} {batch:5d} cuda target cannot run it: {why}")
            if theirs is None and not torch_said:
                torch_said = True
                print(f"{'':8} {'':5} torch: {why_not}")
            for what in ("train", "predict"):
                a = ours[what] if ours else None
                b = theirs[what] if theirs else None
                if a is None and b is None:
                    continue
                ratio = f"{a / b:7.2f}" if a and b else f"{'-':>7}"
                print(f"{name:8} {batch:5d} {what:8} {a if a else float('nan'):9.3f} "
                      f"{b if b else float('nan'):9.3f} {ratio}", flush=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
