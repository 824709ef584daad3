"""The five guide models, each defined once for a Keras-API module (fnjit or Keras 3) and once
for PyTorch with the same weight shapes, optimizer (RMSprop, Keras' defaults) and loss.

Each model: `build(keras)` -> a compiled model, `torch_net(torch)` -> (module, loss function
of (outputs, targets)), `data(n, rng)` -> (inputs list, targets list), `fit_samples`.
`torch_training` and `torch_tensors` set up PyTorch's side the same way for every caller.
Each takes `size=`, a dict overriding the guide's sizes (`SMOKE`: the same models small enough
for numba's CUDA simulator, bench/cuda_check.py --smoke); without it, the guide's sizes.
"""

from __future__ import annotations

import numpy as np

LR, RHO, EPS = 0.001, 0.9, 1e-7  # Keras' RMSprop defaults; torch's alpha is Keras' rho


def _sizes(spec, size):
    return {**spec.GUIDE, **(size or {})}


def _compiled(keras, inputs, outputs, loss="binary_crossentropy", **compile_args):
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss=loss, **compile_args)
    return model


def _torch_module(torch, forward, **parts):
    """A torch module holding the submodules `parts`, computing forward(module, *inputs)."""
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            for name, part in parts.items():
                self.add_module(name, part)

        def forward(self, *inputs):
            return forward(self, *inputs)
    return Net()


def _bce(torch):
    """Binary crossentropy of the one output against the first targets."""
    bce = torch.nn.BCELoss()
    return lambda out, ys: bce(out, ys[0])


def _coin_labels(n, rng):
    return (rng.random((n, 1)) > 0.5).astype(np.float32)


def torch_training(spec, torch, size=None):
    """(module, loss function, RMSprop with Keras' defaults) of model `spec` in PyTorch."""
    net, loss = spec.torch_net(torch, size)
    return net, loss, torch.optim.RMSprop(net.parameters(), lr=LR, alpha=RHO, eps=EPS)


def torch_tensors(spec, torch, xs, ys):
    """The arrays of `spec.data` as torch tensors: integer inputs as int64, and one-hot targets
    as class indices where the model's torch loss takes those (CrossEntropyLoss)."""
    txs = [torch.from_numpy(a).long() if a.dtype.kind == "i" else torch.from_numpy(a)
           for a in xs]
    tys = [torch.from_numpy(a) for a in ys]
    if getattr(spec, "class_index_targets", False):
        tys = [t.argmax(1) for t in tys]
    return txs, tys


class Mlp:
    name = "mlp"
    title = "MLP 784-64-64-10, RMSprop"
    fit_samples = 3200
    class_index_targets = True  # torch's CrossEntropyLoss takes class indices
    GUIDE = {"features": 784, "hidden": 64, "classes": 10}
    SMOKE = {"features": 8, "hidden": 4, "classes": 3}

    @staticmethod
    def build(keras, size=None):
        s = _sizes(Mlp, size)
        x = keras.Input(shape=(s["features"],))
        h = keras.layers.Dense(s["hidden"], activation="relu")(x)
        h = keras.layers.Dense(s["hidden"], activation="relu")(h)
        return _compiled(keras, x, keras.layers.Dense(s["classes"], activation="softmax")(h),
                         loss="categorical_crossentropy")

    @staticmethod
    def torch_net(torch, size=None):
        s = _sizes(Mlp, size)
        nn = torch.nn
        net = nn.Sequential(nn.Linear(s["features"], s["hidden"]), nn.ReLU(),
                            nn.Linear(s["hidden"], s["hidden"]), nn.ReLU(),
                            nn.Linear(s["hidden"], s["classes"]))
        ce = nn.CrossEntropyLoss()  # softmax + categorical crossentropy, one-hot targets

        def loss(out, ys):
            return ce(out, ys[0])
        return net, loss

    @staticmethod
    def data(n, rng, size=None):
        s = _sizes(Mlp, size)
        x = rng.random((n, s["features"]), dtype=np.float32)
        y = np.eye(s["classes"], dtype=np.float32)[rng.integers(0, s["classes"], n)]
        return [x], [y]


class Lstm:
    name = "lstm"
    title = "LSTM(10) on 100x1 -> Dense 10 -> 1"
    fit_samples = 1600
    GUIDE = {"steps": 100, "units": 10}
    SMOKE = {"steps": 3, "units": 3}

    @staticmethod
    def build(keras, size=None):
        s = _sizes(Lstm, size)
        visible = keras.Input(shape=(s["steps"], 1))
        h = keras.layers.LSTM(s["units"])(visible)
        h = keras.layers.Dense(s["units"], activation="relu")(h)
        return _compiled(keras, visible, keras.layers.Dense(1, activation="sigmoid")(h))

    @staticmethod
    def torch_net(torch, size=None):
        u = _sizes(Lstm, size)["units"]
        nn = torch.nn

        def forward(m, x):
            _, (h, _) = m.lstm(x)
            return torch.sigmoid(m.d2(torch.relu(m.d1(h[-1]))))
        return _torch_module(torch, forward, lstm=nn.LSTM(1, u, batch_first=True),
                             d1=nn.Linear(u, u), d2=nn.Linear(u, 1)), _bce(torch)

    @staticmethod
    def data(n, rng, size=None):
        x = rng.normal(size=(n, _sizes(Lstm, size)["steps"], 1)).astype(np.float32)
        return [x], [_coin_labels(n, rng)]


class Cnn:
    name = "cnn"
    title = "guide CNN 64x64x1, Conv 32/16 k4"
    fit_samples = 640
    GUIDE = {"side": 64, "filters": (32, 16), "dense": 10}
    SMOKE = {"side": 14, "filters": (2, 2), "dense": 3}

    @staticmethod
    def build(keras, size=None):
        s = _sizes(Cnn, size)
        layers = keras.layers
        visible = keras.Input(shape=(s["side"], s["side"], 1))
        h = layers.Conv2D(s["filters"][0], kernel_size=4, activation="relu")(visible)
        h = layers.MaxPooling2D(pool_size=(2, 2))(h)
        h = layers.Conv2D(s["filters"][1], kernel_size=4, activation="relu")(h)
        h = layers.MaxPooling2D(pool_size=(2, 2))(h)
        h = layers.Flatten()(h)
        h = layers.Dense(s["dense"], activation="relu")(h)
        return _compiled(keras, visible, layers.Dense(1, activation="sigmoid")(h))

    @staticmethod
    def torch_net(torch, size=None):
        s = _sizes(Cnn, size)
        (f1, f2), d = s["filters"], s["dense"]
        side = ((s["side"] - 3) // 2 - 3) // 2  # after each 4x4 convolution and 2x2 pooling
        nn = torch.nn
        body = nn.Sequential(
            nn.Conv2d(1, f1, 4), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(f1, f2, 4), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(f2 * side * side, d), nn.ReLU(),
            nn.Linear(d, 1), nn.Sigmoid())
        # NHWC in, as the Keras models take it
        return _torch_module(torch, lambda m, x: m.body(x.permute(0, 3, 1, 2)),
                             body=body), _bce(torch)

    @staticmethod
    def data(n, rng, size=None):
        side = _sizes(Cnn, size)["side"]
        x = rng.random((n, side, side, 1), dtype=np.float32)
        return [x], [_coin_labels(n, rng)]


class Headline:
    name = "headline"
    title = "headline: Embedding 10000x64, LSTM 32, 2 in/2 out"
    fit_samples = 1600
    GUIDE = {"vocab": 10000, "steps": 100, "embed": 64, "units": 32, "aux": 5, "deep": 64}
    SMOKE = {"vocab": 20, "steps": 3, "embed": 3, "units": 3, "aux": 2, "deep": 4}

    @staticmethod
    def build(keras, size=None):
        s = _sizes(Headline, size)
        layers = keras.layers
        main_input = keras.Input(shape=(s["steps"],), dtype="int32", name="main_input")
        x = layers.Embedding(output_dim=s["embed"], input_dim=s["vocab"])(main_input)
        lstm_out = layers.LSTM(s["units"])(x)
        aux_output = layers.Dense(1, activation="sigmoid", name="aux_output")(lstm_out)
        aux_input = keras.Input(shape=(s["aux"],), name="aux_input")
        x = layers.concatenate([lstm_out, aux_input])
        for _ in range(3):
            x = layers.Dense(s["deep"], activation="relu")(x)
        main_output = layers.Dense(1, activation="sigmoid", name="main_output")(x)
        # One loss per output: Keras 3 refuses the guide's single loss with two loss_weights
        # ("got 1 losses and 2 weights"), which fnjit accepts as Keras 2 did.
        return _compiled(keras, [main_input, aux_input], [main_output, aux_output],
                         loss=["binary_crossentropy"] * 2, loss_weights=[1.0, 0.2])

    @staticmethod
    def torch_net(torch, size=None):
        s = _sizes(Headline, size)
        u, d = s["units"], s["deep"]
        nn = torch.nn

        def forward(m, tokens, extra):
            _, (h, _) = m.lstm(m.emb(tokens))
            h = h[-1]
            return (torch.sigmoid(m.deep(torch.cat([h, extra], 1))),
                    torch.sigmoid(m.aux(h)))
        net = _torch_module(
            torch, forward, emb=nn.Embedding(s["vocab"], s["embed"]),
            lstm=nn.LSTM(s["embed"], u, batch_first=True), aux=nn.Linear(u, 1),
            deep=nn.Sequential(nn.Linear(u + s["aux"], d), nn.ReLU(), nn.Linear(d, d),
                               nn.ReLU(), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 1)))
        bce = nn.BCELoss()
        return net, lambda out, ys: bce(out[0], ys[0]) + 0.2 * bce(out[1], ys[1])

    @staticmethod
    def data(n, rng, size=None):
        s = _sizes(Headline, size)
        tokens = rng.integers(1, s["vocab"], size=(n, s["steps"])).astype(np.int32)
        extra = rng.random((n, s["aux"]), dtype=np.float32)
        labels = (extra[:, :1] > 0.5).astype(np.float32)
        return [tokens, extra], [labels, labels.copy()]


class Siamese:
    name = "siamese"
    title = "siamese shared LSTM(64) on 2 x 140x256"
    fit_samples = 320
    GUIDE = {"steps": 140, "chars": 256, "units": 64}
    SMOKE = {"steps": 3, "chars": 6, "units": 3}

    @staticmethod
    def build(keras, size=None):
        s = _sizes(Siamese, size)
        layers = keras.layers
        tweet_a = keras.Input(shape=(s["steps"], s["chars"]))
        tweet_b = keras.Input(shape=(s["steps"], s["chars"]))
        shared = layers.LSTM(s["units"])
        merged = layers.concatenate([shared(tweet_a), shared(tweet_b)], axis=-1)
        return _compiled(keras, [tweet_a, tweet_b], layers.Dense(1, activation="sigmoid")(merged))

    @staticmethod
    def torch_net(torch, size=None):
        s = _sizes(Siamese, size)
        nn = torch.nn

        def forward(m, a, b):
            _, (ha, _) = m.lstm(a)
            _, (hb, _) = m.lstm(b)
            return torch.sigmoid(m.out(torch.cat([ha[-1], hb[-1]], 1)))
        return _torch_module(torch, forward,
                             lstm=nn.LSTM(s["chars"], s["units"], batch_first=True),
                             out=nn.Linear(2 * s["units"], 1)), _bce(torch)

    @staticmethod
    def data(n, rng, size=None):
        s = _sizes(Siamese, size)
        steps, chars = s["steps"], s["chars"]
        a = np.zeros((n, steps, chars), np.float32)  # one-hot characters
        b = np.zeros((n, steps, chars), np.float32)
        ca, cb = rng.integers(0, chars, (n, steps)), rng.integers(0, chars, (n, steps))
        rows, cols = np.arange(n)[:, None], np.arange(steps)[None, :]
        a[rows, cols, ca] = 1
        b[rows, cols, cb] = 1
        return [a, b], [(ca[:, -1:] == cb[:, -1:]).astype(np.float32)]


MODELS = {m.name: m for m in (Mlp, Lstm, Cnn, Headline, Siamese)}
