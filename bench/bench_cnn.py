"""The guide's CNN (64x64x1 -> Conv2D(32, 4) -> MaxPool -> Conv2D(16, 4) -> MaxPool -> Dense(10)
-> Dense(1, sigmoid)), one training step at batch 32, binary crossentropy, RMSprop: median
step time of fnjit (train_on_batch after warm-up) beside plain numpy doing the same maths
(written below) and beside PyTorch eager on the CPU when `import torch` works. Also the same
fnjit model with data_format='channels_first', to show what its transposes cost.

    python bench/bench_cnn.py [--steps 30]

Thread pools are left as the environment sets them (OPENBLAS_NUM_THREADS, torch's default);
the header line says what they are. Not a test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from timing import median_ms

import fnjit as keras
from fnjit import layers

BATCH = 32
LR, RHO, EPS = 0.001, 0.9, 1e-7  # Keras' RMSprop defaults


def data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((BATCH, 64, 64, 1), dtype=np.float32)
    y = (rng.random((BATCH, 1)) > 0.5).astype(np.float32)
    return x, y


# ---- fnjit -----------------------------------------------------------------------------------

def fnjit_model(data_format="channels_last"):
    shape = (64, 64, 1) if data_format == "channels_last" else (1, 64, 64)
    visible = keras.Input(shape=shape)
    h = layers.Conv2D(32, kernel_size=4, activation="relu", data_format=data_format)(visible)
    h = layers.MaxPooling2D(pool_size=(2, 2), data_format=data_format)(h)
    h = layers.Conv2D(16, kernel_size=4, activation="relu", data_format=data_format)(h)
    h = layers.MaxPooling2D(pool_size=(2, 2), data_format=data_format)(h)
    h = layers.Flatten()(h)
    h = layers.Dense(10, activation="relu")(h)
    out = layers.Dense(1, activation="sigmoid")(h)
    model = keras.Model(visible, out)
    model.compile("rmsprop", "binary_crossentropy")
    return model


def bench_fnjit(steps, data_format="channels_last"):
    model = fnjit_model(data_format)
    x, y = data()
    if data_format == "channels_first":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    t = time.perf_counter()
    model.train_on_batch(x, y)
    first = time.perf_counter() - t
    return median_ms({"fnjit": lambda: model.train_on_batch(x, y)}, steps)["fnjit"], first


# ---- numpy, the same maths -------------------------------------------------------------------

def im2col(x, k):
    """(n, h, w, c) -> (n * oh * ow, k * k * c), columns ordered (p, q, c) like the kernel."""
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(1, 2))  # n,oh,ow,c,k,k
    n, oh, ow = win.shape[:3]
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, -1), (n, oh, ow)


def col2im(dcols, shape, k):
    n, h, w, c = shape
    oh, ow = h - k + 1, w - k + 1
    d = dcols.reshape(n, oh, ow, k, k, c)
    dx = np.zeros(shape, np.float32)
    for p in range(k):
        for q in range(k):
            dx[:, p:p + oh, q:q + ow] += d[:, :, :, p, q]
    return dx


def pool_forward(x):
    n, h, w, c = x.shape
    oh, ow = h // 2, w // 2
    win = x[:, :2 * oh, :2 * ow].reshape(n, oh, 2, ow, 2, c).transpose(0, 1, 3, 5, 2, 4)
    win = win.reshape(n, oh, ow, c, 4)
    idx = win.argmax(-1)[..., None]
    return np.take_along_axis(win, idx, -1)[..., 0], idx


def pool_backward(dy, idx, shape):
    n, h, w, c = shape
    oh, ow = dy.shape[1:3]
    d = np.zeros((n, oh, ow, c, 4), np.float32)
    np.put_along_axis(d, idx, dy[..., None], -1)
    d = d.reshape(n, oh, ow, c, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(n, 2 * oh, 2 * ow, c)
    dx = np.zeros(shape, np.float32)
    dx[:, :2 * oh, :2 * ow] = d
    return dx


class NumpyCNN:
    def __init__(self, weights):
        self.w = [np.array(w, np.float32) for w in weights]
        self.v = [np.zeros_like(w) for w in self.w]

    def step(self, x, y):
        k1, b1, k2, b2, d1, c1, d2, c2 = self.w
        cols1, s1 = im2col(x, 4)
        z1 = (cols1 @ k1.reshape(-1, 32) + b1).reshape(*s1, 32)
        a1 = np.maximum(z1, 0)
        p1, i1 = pool_forward(a1)
        cols2, s2 = im2col(p1, 4)
        z2 = (cols2 @ k2.reshape(-1, 16) + b2).reshape(*s2, 16)
        a2 = np.maximum(z2, 0)
        p2, i2 = pool_forward(a2)
        f = p2.reshape(BATCH, -1)
        z3 = f @ d1 + c1
        a3 = np.maximum(z3, 0)
        z4 = a3 @ d2 + c2
        out = 1 / (1 + np.exp(-z4))
        eps = np.float32(1e-7)
        o = np.clip(out, eps, 1 - eps)
        loss = -np.mean(y * np.log(o) + (1 - y) * np.log(1 - o))
        # backward
        dz4 = (out - y) / BATCH
        g_d2, g_c2 = a3.T @ dz4, dz4.sum(0)
        dz3 = (dz4 @ d2.T) * (z3 > 0)
        g_d1, g_c1 = f.T @ dz3, dz3.sum(0)
        dp2 = (dz3 @ d1.T).reshape(p2.shape)
        dz2 = pool_backward(dp2, i2, a2.shape) * (z2 > 0)
        dz2r = dz2.reshape(-1, 16)
        g_k2, g_b2 = (cols2.T @ dz2r).reshape(k2.shape), dz2r.sum(0)
        dp1 = col2im(dz2r @ k2.reshape(-1, 16).T, p1.shape, 4)
        dz1 = pool_backward(dp1, i1, a1.shape) * (z1 > 0)
        dz1r = dz1.reshape(-1, 32)
        g_k1, g_b1 = (cols1.T @ dz1r).reshape(k1.shape), dz1r.sum(0)
        grads = [g_k1, g_b1, g_k2, g_b2, g_d1, g_c1, g_d2, g_c2]
        for w, v, g in zip(self.w, self.v, grads):
            v *= RHO
            v += (1 - RHO) * g * g
            w -= LR * g / (np.sqrt(v) + EPS)
        return loss


def bench_numpy(steps, weights):
    x, y = data()
    net = NumpyCNN(weights)
    return median_ms({"numpy": lambda: net.step(x, y)}, steps)["numpy"]


# ---- PyTorch -----------------------------------------------------------------------------

def bench_torch(steps):
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 32, 4), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 16, 4),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2704, 10),
                          nn.ReLU(), nn.Linear(10, 1), nn.Sigmoid())
    opt = torch.optim.RMSprop(model.parameters(), lr=LR, alpha=RHO, eps=EPS)
    loss_fn = nn.BCELoss()
    x, y = data()
    xt, yt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()

    return median_ms({"torch": step}, steps)["torch"], torch.get_num_threads()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    print(f"guide CNN train step, batch {BATCH}, median of {args.steps} steps; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"{os.cpu_count()} CPUs")
    fn_ms, first = bench_fnjit(args.steps)
    print(f"  fnjit (channels_last)     {fn_ms:8.2f} ms   (first call, compile or cache "
          f"load: {first:.1f} s)")
    cf_ms, _ = bench_fnjit(args.steps, "channels_first")
    print(f"  fnjit (channels_first)    {cf_ms:8.2f} ms   ({cf_ms / fn_ms:.2f}x channels_last)")
    weights = fnjit_model().get_weights()
    np_ms = bench_numpy(args.steps, weights)
    print(f"  numpy, same maths         {np_ms:8.2f} ms   fnjit / numpy = {fn_ms / np_ms:.2f}")
    torch_result = bench_torch(args.steps)
    if torch_result is None:
        print("  PyTorch                   (not installed)")
    else:
        torch_ms, threads = torch_result
        print(f"  PyTorch eager ({threads} threads) {torch_ms:8.2f} ms   "
              f"fnjit / PyTorch = {fn_ms / torch_ms:.2f}")


if __name__ == "__main__":
    main()
