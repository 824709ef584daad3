"""The five guide models, each defined once for a Keras-API module (fnjit or Keras 3) and once
for PyTorch with the same weight shapes, optimizer (RMSprop, Keras' defaults) and loss.

Each model: `build(keras)` -> a compiled model, `torch_net(torch)` -> (module, loss function
of (outputs, targets)), `data(n, rng)` -> (inputs list, targets list), `fit_samples`.
"""

from __future__ import annotations

import numpy as np

LR, RHO, EPS = 0.001, 0.9, 1e-7  # Keras' RMSprop defaults; torch's alpha is Keras' rho


class Mlp:
    name = "mlp"
    title = "MLP 784-64-64-10, RMSprop"
    fit_samples = 3200

    @staticmethod
    def build(keras):
        x = keras.Input(shape=(784,))
        h = keras.layers.Dense(64, activation="relu")(x)
        h = keras.layers.Dense(64, activation="relu")(h)
        model = keras.Model(x, keras.layers.Dense(10, activation="softmax")(h))
        model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
        return model

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
        model = keras.Model(visible, keras.layers.Dense(1, activation="sigmoid")(h))
        model.compile(optimizer="rmsprop", loss="binary_crossentropy")
        return model

    @staticmethod
    def torch_net(torch):
        nn = torch.nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(1, 10, batch_first=True)
                self.d1, self.d2 = nn.Linear(10, 10), nn.Linear(10, 1)

            def forward(self, x):
                _, (h, _) = self.lstm(x)
                return torch.sigmoid(self.d2(torch.relu(self.d1(h[-1]))))

        bce = nn.BCELoss()
        return Net(), lambda out, ys: bce(out, ys[0])

    @staticmethod
    def data(n, rng):
        x = rng.normal(size=(n, 100, 1)).astype(np.float32)
        return [x], [(rng.random((n, 1)) > 0.5).astype(np.float32)]


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
        model = keras.Model(visible, layers.Dense(1, activation="sigmoid")(h))
        model.compile(optimizer="rmsprop", loss="binary_crossentropy")
        return model

    @staticmethod
    def torch_net(torch):
        nn = torch.nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(
                    nn.Conv2d(1, 32, 4), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 16, 4),
                    nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2704, 10), nn.ReLU(),
                    nn.Linear(10, 1), nn.Sigmoid())

            def forward(self, x):  # NHWC in, as the Keras models take it
                return self.body(x.permute(0, 3, 1, 2))

        bce = nn.BCELoss()
        return Net(), lambda out, ys: bce(out, ys[0])

    @staticmethod
    def data(n, rng):
        x = rng.random((n, 64, 64, 1), dtype=np.float32)
        return [x], [(rng.random((n, 1)) > 0.5).astype(np.float32)]


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
        model = keras.Model(inputs=[main_input, aux_input], outputs=[main_output, aux_output])
        # One loss per output: Keras 3 refuses the guide's single loss with two loss_weights
        # ("got 1 losses and 2 weights"), which fnjit accepts as Keras 2 did.
        model.compile(optimizer="rmsprop", loss=["binary_crossentropy"] * 2,
                      loss_weights=[1.0, 0.2])
        return model

    @staticmethod
    def torch_net(torch):
        nn = torch.nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(10000, 64)
                self.lstm = nn.LSTM(64, 32, batch_first=True)
                self.aux = nn.Linear(32, 1)
                self.deep = nn.Sequential(nn.Linear(37, 64), nn.ReLU(), nn.Linear(64, 64),
                                          nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                                          nn.Linear(64, 1))

            def forward(self, tokens, extra):
                _, (h, _) = self.lstm(self.emb(tokens))
                h = h[-1]
                return (torch.sigmoid(self.deep(torch.cat([h, extra], 1))),
                        torch.sigmoid(self.aux(h)))

        bce = nn.BCELoss()
        return Net(), lambda out, ys: bce(out[0], ys[0]) + 0.2 * bce(out[1], ys[1])

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
        model = keras.Model([tweet_a, tweet_b], layers.Dense(1, activation="sigmoid")(merged))
        model.compile(optimizer="rmsprop", loss="binary_crossentropy")
        return model

    @staticmethod
    def torch_net(torch):
        nn = torch.nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(256, 64, batch_first=True)
                self.out = nn.Linear(128, 1)

            def forward(self, a, b):
                _, (ha, _) = self.lstm(a)
                _, (hb, _) = self.lstm(b)
                return torch.sigmoid(self.out(torch.cat([ha[-1], hb[-1]], 1)))

        bce = nn.BCELoss()
        return Net(), lambda out, ys: bce(out, ys[0])

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
