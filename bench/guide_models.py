"""The five guide models, each defined once for a Keras-API module (fnjit or Keras 3) and once
for PyTorch with the same weight shapes, optimizer (RMSprop, Keras' defaults) and loss.

Each model: `build(keras)` -> a compiled model, `torch_net(torch)` -> (module, loss function
of (outputs, targets)), `data(n, rng)` -> (inputs list, targets list), `fit_samples`.
`torch_training` and `torch_tensors` set up PyTorch's side the same way for every caller.
"""

from __future__ import annotations

import numpy as np

LR, RHO, EPS = 0.001, 0.9, 1e-7  # Keras' RMSprop defaults; torch's alpha is Keras' rho


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


def torch_training(spec, torch):
    """(module, loss function, RMSprop with Keras' defaults) of model `spec` in PyTorch."""
    net, loss = spec.torch_net(torch)
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

    @staticmethod
    def build(keras):
        x = keras.Input(shape=(784,))
        h = keras.layers.Dense(64, activation="relu")(x)
        h = keras.layers.Dense(64, activation="relu")(h)
        return _compiled(keras, x, keras.layers.Dense(10, activation="softmax")(h),
                         loss="categorical_crossentropy")

    @staticmethod
    def torch_net(torch):
        nn = torch.nn
        net = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                            nn.Linear(64, 10))
        ce = nn.CrossEntropyLoss()  # softmax + categorical crossentropy, one-hot targets

        def loss(out, ys):
            return ce(out, ys[0])
        return net, loss

    @staticmethod
    def data(n, rng):
        x = rng.random((n, 784), dtype=np.float32)
        y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
        return [x], [y]


class Lstm:
    name = "lstm"
    title = "LSTM(10) on 100x1 -> Dense 10 -> 1"
    fit_samples = 1600

    @staticmethod
    def build(keras):
        visible = keras.Input(shape=(100, 1))
        h = keras.layers.LSTM(10)(visible)
        h = keras.layers.Dense(10, activation="relu")(h)
        return _compiled(keras, visible, keras.layers.Dense(1, activation="sigmoid")(h))

    @staticmethod
    def torch_net(torch):
        nn = torch.nn

        def forward(m, x):
            _, (h, _) = m.lstm(x)
            return torch.sigmoid(m.d2(torch.relu(m.d1(h[-1]))))
        return _torch_module(torch, forward, lstm=nn.LSTM(1, 10, batch_first=True),
                             d1=nn.Linear(10, 10), d2=nn.Linear(10, 1)), _bce(torch)

    @staticmethod
    def data(n, rng):
        x = rng.normal(size=(n, 100, 1)).astype(np.float32)
        return [x], [_coin_labels(n, rng)]


class Cnn:
    name = "cnn"
    title = "guide CNN 64x64x1, Conv 32/16 k4"
    fit_samples = 640

    @staticmethod
    def build(keras):
        layers = keras.layers
        visible = keras.Input(shape=(64, 64, 1))
        h = layers.Conv2D(32, kernel_size=4, activation="relu")(visible)
        h = layers.MaxPooling2D(pool_size=(2, 2))(h)
        h = layers.Conv2D(16, kernel_size=4, activation="relu")(h)
        h = layers.MaxPooling2D(pool_size=(2, 2))(h)
        h = layers.Flatten()(h)
        h = layers.Dense(10, activation="relu")(h)
        return _compiled(keras, visible, layers.Dense(1, activation="sigmoid")(h))

    @staticmethod
    def torch_net(torch):
        nn = torch.nn
        body = nn.Sequential(
            nn.Conv2d(1, 32, 4), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 16, 4), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2704, 10), nn.ReLU(), nn.Linear(10, 1),
            nn.Sigmoid())
        # NHWC in, as the Keras models take it
        return _torch_module(torch, lambda m, x: m.body(x.permute(0, 3, 1, 2)),
                             body=body), _bce(torch)

    @staticmethod
    def data(n, rng):
        x = rng.random((n, 64, 64, 1), dtype=np.float32)
        return [x], [_coin_labels(n, rng)]


class Headline:
    name = "headline"
    title = "headline: Embedding 10000x64, LSTM 32, 2 in/2 out"
    fit_samples = 1600

    @staticmethod
    def build(keras):
        layers = keras.layers
        main_input = keras.Input(shape=(100,), dtype="int32", name="main_input")
        x = layers.Embedding(output_dim=64, input_dim=10000)(main_input)
        lstm_out = layers.LSTM(32)(x)
        aux_output = layers.Dense(1, activation="sigmoid", name="aux_output")(lstm_out)
        aux_input = keras.Input(shape=(5,), name="aux_input")
        x = layers.concatenate([lstm_out, aux_input])
        for _ in range(3):
            x = layers.Dense(64, activation="relu")(x)
        main_output = layers.Dense(1, activation="sigmoid", name="main_output")(x)
        # One loss per output: Keras 3 refuses the guide's single loss with two loss_weights
        # ("got 1 losses and 2 weights"), which fnjit accepts as Keras 2 did.
        return _compiled(keras, [main_input, aux_input], [main_output, aux_output],
                         loss=["binary_crossentropy"] * 2, loss_weights=[1.0, 0.2])

    @staticmethod
    def torch_net(torch):
        nn = torch.nn

        def forward(m, tokens, extra):
            _, (h, _) = m.lstm(m.emb(tokens))
            h = h[-1]
            return (torch.sigmoid(m.deep(torch.cat([h, extra], 1))),
                    torch.sigmoid(m.aux(h)))
        net = _torch_module(
            torch, forward, emb=nn.Embedding(10000, 64),
            lstm=nn.LSTM(64, 32, batch_first=True), aux=nn.Linear(32, 1),
            deep=nn.Sequential(nn.Linear(37, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                               nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1)))
        bce = nn.BCELoss()
        return net, lambda out, ys: bce(out[0], ys[0]) + 0.2 * bce(out[1], ys[1])

    @staticmethod
    def data(n, rng):
        tokens = rng.integers(1, 10000, size=(n, 100)).astype(np.int32)
        extra = rng.random((n, 5), dtype=np.float32)
        labels = (extra[:, :1] > 0.5).astype(np.float32)
        return [tokens, extra], [labels, labels.copy()]


class Siamese:
    name = "siamese"
    title = "siamese shared LSTM(64) on 2 x 140x256"
    fit_samples = 320

    @staticmethod
    def build(keras):
        layers = keras.layers
        tweet_a = keras.Input(shape=(140, 256))
        tweet_b = keras.Input(shape=(140, 256))
        shared = layers.LSTM(64)
        merged = layers.concatenate([shared(tweet_a), shared(tweet_b)], axis=-1)
        return _compiled(keras, [tweet_a, tweet_b], layers.Dense(1, activation="sigmoid")(merged))

    @staticmethod
    def torch_net(torch):
        nn = torch.nn

        def forward(m, a, b):
            _, (ha, _) = m.lstm(a)
            _, (hb, _) = m.lstm(b)
            return torch.sigmoid(m.out(torch.cat([ha[-1], hb[-1]], 1)))
        return _torch_module(torch, forward, lstm=nn.LSTM(256, 64, batch_first=True),
                             out=nn.Linear(128, 1)), _bce(torch)

    @staticmethod
    def data(n, rng):
        a = np.zeros((n, 140, 256), np.float32)  # one-hot characters
        b = np.zeros((n, 140, 256), np.float32)
        ca, cb = rng.integers(0, 256, (n, 140)), rng.integers(0, 256, (n, 140))
        rows, cols = np.arange(n)[:, None], np.arange(140)[None, :]
        a[rows, cols, ca] = 1
        b[rows, cols, cb] = 1
        return [a, b], [(ca[:, -1:] == cb[:, -1:]).astype(np.float32)]


MODELS = {m.name: m for m in (Mlp, Lstm, Cnn, Headline, Siamese)}
