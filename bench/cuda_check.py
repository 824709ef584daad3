"""The prepared GPU check of the cuda target: run once on a machine with an NVIDIA GPU.

    python bench/cuda_check.py            # on the GPU: the cuda tests, then the timings
    NUMBA_ENABLE_CUDASIM=1 python bench/cuda_check.py --tiny   # rehearsal in the simulator

1. tests/test_cuda_target.py (on the GPU when one is there, else in the simulator);
2. for each guide model (MLP, CNN, LSTM): fnjit's train step (train_on_batch) and predict
   (predict_on_batch) with target="cuda" at batch 32 and 256, beside PyTorch on CUDA in the same
   run, as milliseconds and ratios (fnjit / PyTorch). A model the cuda target cannot run yet is
   reported with the reason; PyTorch missing, or without CUDA, is said so and skipped.
Needs numba-cuda (`pip install fnjit[cuda]`). --tiny shrinks every size for the simulator.
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

import fnjit as keras  # noqa: E402
from fnjit import layers  # noqa: E402


def median_ms(fn, repeat, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * sorted(times)[len(times) // 2]


# ---- the guide models: (fnjit model, torch module factory, data) at a size -------------------

def mlp(size):
    width, hidden = size["features"], size["hidden"]
    x = keras.Input((width,))
    h = layers.Dense(hidden, activation="relu")(x)
    h = layers.Dense(hidden, activation="relu")(h)
    model = keras.Model(x, layers.Dense(10, activation="softmax")(h))

    def torch_net(nn):
        return nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                             nn.ReLU(), nn.Linear(hidden, 10))

    def data(n, rng):
        return (rng.normal(size=(n, width)).astype("float32"),
                np.eye(10, dtype="float32")[rng.integers(0, 10, n)])
    return model, "categorical_crossentropy", torch_net, data


def cnn(size):
    side = size["side"]
    x = keras.Input((side, side, 1))
    h = layers.Conv2D(8, 3, activation="relu")(x)
    h = layers.MaxPooling2D(2)(h)
    h = layers.Flatten()(h)
    model = keras.Model(x, layers.Dense(10, activation="softmax")(h))
    flat = 8 * ((side - 2) // 2) ** 2

    def torch_net(nn):
        return nn.Sequential(Nchw(nn), nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(flat, 10))

    def data(n, rng):
        return (rng.normal(size=(n, side, side, 1)).astype("float32"),
                np.eye(10, dtype="float32")[rng.integers(0, 10, n)])
    return model, "categorical_crossentropy", torch_net, data


def lstm(size):
    steps, units = size["steps"], size["units"]
    x = keras.Input((steps, 1))
    h = layers.LSTM(units)(x)
    model = keras.Model(x, layers.Dense(10, activation="softmax")(h))

    def torch_net(nn):
        return nn.Sequential(LastStep(nn, units), nn.Linear(units, 10))

    def data(n, rng):
        return (rng.normal(size=(n, steps, 1)).astype("float32"),
                np.eye(10, dtype="float32")[rng.integers(0, 10, n)])
    return model, "categorical_crossentropy", torch_net, data


def Nchw(nn):
    class Permute(nn.Module):
        def forward(self, x):
            return x.permute(0, 3, 1, 2)
    return Permute()


def LastStep(nn, units):
    class Last(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, units, batch_first=True)

        def forward(self, x):
            return self.lstm(x)[0][:, -1]
    return Last()


MODELS = {"mlp": mlp, "cnn": cnn, "lstm": lstm}
SIZES = {False: {"features": 784, "hidden": 64, "side": 28, "steps": 100, "units": 32},
         True: {"features": 8, "hidden": 8, "side": 6, "steps": 3, "units": 4}}


# ---- timing --------------------------------------------------------------------------------

def time_fnjit(build, size, batch, repeat):
    model, loss, _, data = build(size)
    x, y = data(batch, np.random.default_rng(0))
    try:
        model.compile("rmsprop", loss, target="cuda")
        model.train_on_batch(x, y)
    except (ValueError, RuntimeError) as e:
        return None, str(e).splitlines()[0]
    return {"train": median_ms(lambda: model.train_on_batch(x, y), repeat),
            "predict": median_ms(lambda: model.predict_on_batch(x), repeat)}, ""


def time_torch(build, size, batch, repeat, device):
    try:
        import torch
    except ImportError:
        return None, "PyTorch is not installed"
    if device == "cuda" and not torch.cuda.is_available():
        return None, "PyTorch sees no CUDA device"
    _, _, torch_net, data = build(size)
    net = torch_net(torch.nn).to(device)
    opt = torch.optim.RMSprop(net.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = data(batch, np.random.default_rng(0))
    # As fnjit's calls do: the batch moves in, the loss (or outputs) come out, every step.
    labels = y.argmax(1)

    def train():
        opt.zero_grad()
        loss = loss_fn(net(torch.from_numpy(x).to(device)), torch.from_numpy(labels).to(device))
        loss.backward()
        opt.step()
        loss.item()

    def predict():
        with torch.no_grad():
            net(torch.from_numpy(x).to(device)).cpu().numpy()
    return {"train": median_ms(train, repeat), "predict": median_ms(predict, repeat)}, ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="simulator sizes (batches 2 and 4)")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--no-tests", action="store_true", help="skip the cuda tests")
    ap.add_argument("--torch-device", default="cuda",
                    help="PyTorch's device (cpu only to rehearse this script without a GPU)")
    args = ap.parse_args()
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

    batches = (2, 4) if args.tiny else (32, 256)
    repeat = args.repeat or (2 if args.tiny else 30)
    size = SIZES[args.tiny]
    print(f"\n== median ms per call ({repeat} calls), fnjit target=cuda beside PyTorch on "
          f"{args.torch_device}")
    print(f"{'model':6} {'batch':>5} {'what':8} {'fnjit':>9} {'torch':>9} {'ratio':>7}")
    for name, build in MODELS.items():
        for batch in batches:
            ours, why = time_fnjit(build, size, batch, repeat)
            theirs, why_not = time_torch(build, size, batch, repeat, args.torch_device)
            if ours is None:
                print(f"{name:6} {batch:5d} cuda target cannot run it yet: {why}")
            if theirs is None and name == "mlp" and batch == batches[0]:
                print(f"{'':6} {'':5} torch: {why_not}")
            for what in ("train", "predict"):
                a = ours[what] if ours else None
                b = theirs[what] if theirs else None
                if a is None and b is None:
                    continue
                ratio = f"{a / b:7.2f}" if a and b else f"{'-':>7}"
                print(f"{name:6} {batch:5d} {what:8} {a if a else float('nan'):9.3f} "
                      f"{b if b else float('nan'):9.3f} {ratio}", flush=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
