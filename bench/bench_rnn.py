"""The guide's RNN (100x1 -> LSTM 10 -> Dense 10 relu -> Dense 1 sigmoid), batch 32, binary
crossentropy, RMSprop: median train-step time of fnjit beside plain numpy (the same maths,
written below) and PyTorch eager when `import torch` works.

    python bench/bench_rnn.py [--steps 200] [--threads 1]
"""

from __future__ import annotations

import argparse
import os

from timing import median_ms

BATCH, STEPS_T, FEATURES, UNITS = 32, 100, 1, 10


def fnjit_steps(x, y):
    import fnjit as keras
    from fnjit import layers

    visible = keras.Input(shape=(STEPS_T, FEATURES))
    hidden1 = layers.LSTM(UNITS)(visible)
    hidden2 = layers.Dense(10, activation="relu")(hidden1)
    output = layers.Dense(1, activation="sigmoid")(hidden2)
    model = keras.Model(inputs=visible, outputs=output)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    model.train_on_batch(x, y)  # compile

    # The native step alone, and the whole train_on_batch call (data checks, logs).
    program = model._program("train", [x])
    store = model._train_buffers()
    hyper = model.optimizer.hyper(store.dtype)
    logs = __import__("numpy").zeros(program.n_logs)
    yy = y.reshape(-1, 1)

    def native():
        program.train_step(store.params, store.state, store.grads, model._slots, hyper, [x],
                           [yy], logs)

    return native, lambda: model.train_on_batch(x, y)


def numpy_step_fn(x, y):
    """The same model and update in numpy, float32: LSTM by time steps, BPTT backward."""
    import numpy as np

    rng = np.random.default_rng(0)
    f32 = np.float32
    u = UNITS
    p = {"W": rng.uniform(-0.3, 0.3, (FEATURES, 4 * u)), "R": rng.normal(0, 0.3, (u, 4 * u)),
         "b": np.r_[np.zeros(u), np.ones(u), np.zeros(2 * u)],
         "K1": rng.uniform(-0.5, 0.5, (u, 10)), "c1": np.zeros(10),
         "K2": rng.uniform(-0.5, 0.5, (10, 1)), "c2": np.zeros(1)}
    p = {k: v.astype(f32) for k, v in p.items()}
    v = {k: np.zeros_like(w) for k, w in p.items()}
    lr, rho, eps = f32(0.001), f32(0.9), f32(1e-7)
    yy = y.reshape(-1, 1).astype(f32)

    def sig(a):
        return 1 / (1 + np.exp(-a))

    def step():
        n, T = x.shape[0], x.shape[1]
        proj = (x.reshape(n * T, FEATURES) @ p["W"]).reshape(n, T, 4 * u) + p["b"]
        h = np.zeros((n, u), f32)
        c = np.zeros((n, u), f32)
        hs, cs, gs = [h], [c], []
        for t in range(T):
            z = proj[:, t] + h @ p["R"]
            i, f, o = sig(z[:, :u]), sig(z[:, u:2 * u]), sig(z[:, 3 * u:])
            g = np.tanh(z[:, 2 * u:3 * u])
            c = f * c + i * g
            h = o * np.tanh(c)
            hs.append(h)
            cs.append(c)
            gs.append((i, f, g, o))
        a1 = h @ p["K1"] + p["c1"]
        r1 = np.maximum(a1, 0)
        out = sig(r1 @ p["K2"] + p["c2"])
        q = np.clip(out, 1e-7, 1 - 1e-7)
        # backward: d mean(bce) / d out
        d_out = ((1 - yy) / (1 - q) - yy / q) / n
        d_a2 = d_out * out * (1 - out)
        g = {"K2": r1.T @ d_a2, "c2": d_a2.sum(0)}
        d_r1 = d_a2 @ p["K2"].T * (a1 > 0)
        g["K1"], g["c1"] = h.T @ d_r1, d_r1.sum(0)
        dh = d_r1 @ p["K1"].T
        dc = np.zeros_like(dh)
        dz = np.empty((n, T, 4 * u), f32)
        for t in range(T - 1, -1, -1):
            i, f, gg, o = gs[t]
            tc = np.tanh(cs[t + 1])
            dc = dc + dh * o * (1 - tc * tc)
            dzt = np.concatenate([dc * gg * i * (1 - i), dc * cs[t] * f * (1 - f),
                                  dc * i * (1 - gg * gg), dh * tc * o * (1 - o)], axis=1)
            dz[:, t] = dzt
            dc = dc * f
            dh = dzt @ p["R"].T
        flat = dz.reshape(n * T, 4 * u)
        g["W"] = x.reshape(n * T, FEATURES).T @ flat
        g["b"] = flat.sum(0)
        g["R"] = np.stack(hs[:-1], axis=1).reshape(n * T, u).T @ flat
        for k in p:  # RMSprop
            v[k] = rho * v[k] + (1 - rho) * g[k] * g[k]
            p[k] -= lr * g[k] / np.sqrt(v[k] + eps)

    return step


def torch_step_fn(x, y):
    import torch

    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(FEATURES, UNITS, batch_first=True)
            self.d1 = torch.nn.Linear(UNITS, 10)
            self.d2 = torch.nn.Linear(10, 1)

        def forward(self, a):
            _, (h, _) = self.lstm(a)
            return torch.sigmoid(self.d2(torch.relu(self.d1(h[-1]))))

    net = Net()
    opt = torch.optim.RMSprop(net.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
    loss_fn = torch.nn.BCELoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.reshape(-1, 1))

    def step():
        opt.zero_grad()
        loss = loss_fn(net(xt), yt)
        loss.backward()
        opt.step()

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="BLAS / torch threads")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))

    import numpy as np

    rng = np.random.default_rng(1)
    x = rng.normal(size=(BATCH, STEPS_T, FEATURES)).astype(np.float32)
    y = (rng.random(BATCH) > 0.5).astype(np.float32)

    native, on_batch = fnjit_steps(x, y)
    steps = {"fnjit (native step)": native, "fnjit (train_on_batch)": on_batch,
             "numpy": numpy_step_fn(x, y)}
    try:
        import torch

        torch.set_num_threads(args.threads)
        steps["pytorch eager"] = torch_step_fn(x, y)
    except ImportError:
        print("(PyTorch not importable: skipped)")
    results = median_ms(steps, args.steps)
    base = results["fnjit (native step)"]
    print(f"LSTM(10) on 100x1, batch {BATCH}, binary crossentropy, RMSprop: median train step "
          f"over {args.steps} steps, {args.threads} thread(s)")
    for name, ms in results.items():
        print(f"  {name:24s} {ms:8.3f} ms   {ms / base:6.2f} x fnjit native")


if __name__ == "__main__":
    main()
