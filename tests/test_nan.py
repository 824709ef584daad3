"""A NaN input stays NaN through every op built on max, min or a comparison, as in numpy and
Keras 3 (checked on 3.15.1: relu, ReLU with max_value/threshold, hard_sigmoid, clip, maximum,
minimum, max pooling, Maximum/Minimum merges all give NaN for NaN). A NaN once became 0 and a
corrupt batch trained with a plausible loss. Gradients of these ops are checked against finite
differences in test_backend_ops.py and test_layers_misc.py."""

import numpy as np

import fnjit as keras
from fnjit import backend as K
from fnjit import layers

NAN = np.nan
# Row 0 has its NaN first, row 1 in the middle (a running max that starts from the first
# element and compares would keep the NaN in row 0 only).
X = np.array([[NAN, 1.0, -2.0, 0.5, 3.0, -0.2],
              [1.0, -2.0, NAN, 0.5, 3.0, -0.2]])
Y = np.array([[0.3, 0.3, 0.3, 0.3, 0.3, 0.3],
              [0.3, 0.3, 0.3, 0.3, 0.3, 0.3]])


def hard_sigmoid(x, y=None):
    return np.clip(x / 6 + 0.5, 0, 1)


def relu(x, m=np.inf, s=0.0, t=0.0):
    return np.where(x > t, np.minimum(x, m), s * (x - t)) + 0 * x  # 0 * x keeps NaN


ELEMENTWISE = {  # name: (layer or K op on x (and y), numpy on x (and y))
    "relu": (lambda x, y: layers.Activation("relu")(x), lambda x, y: np.maximum(x, 0)),
    "ReLU": (lambda x, y: layers.ReLU()(x), lambda x, y: np.maximum(x, 0)),
    "ReLU max": (lambda x, y: layers.ReLU(max_value=1.0)(x), lambda x, y: relu(x, 1.0)),
    "ReLU threshold": (lambda x, y: layers.ReLU(threshold=0.1, negative_slope=0.1)(x),
                       lambda x, y: relu(x, s=0.1, t=0.1)),
    "ReLU all": (lambda x, y: layers.ReLU(max_value=1.0, threshold=0.1, negative_slope=0.1)(x),
                 lambda x, y: relu(x, 1.0, 0.1, 0.1)),
    "hard_sigmoid": (lambda x, y: layers.Activation("hard_sigmoid")(x), hard_sigmoid),
    "softplus": (lambda x, y: layers.Activation("softplus")(x),
                 lambda x, y: np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)),
    "LeakyReLU": (lambda x, y: layers.LeakyReLU()(x), lambda x, y: np.where(x > 0, x, 0.3 * x)),
    "ELU": (lambda x, y: layers.ELU()(x), lambda x, y: np.where(x > 0, x, np.expm1(x))),
    "clip": (lambda x, y: layers.Lambda(lambda t: K.clip(t, -1.0, 1.0))(x),
             lambda x, y: np.clip(x, -1, 1)),
    "maximum scalar": (lambda x, y: layers.Lambda(lambda t: K.maximum(t, 0.0))(x),
                       lambda x, y: np.maximum(x, 0)),
    "minimum scalar": (lambda x, y: layers.Lambda(lambda t: K.minimum(0.0, t))(x),
                       lambda x, y: np.minimum(x, 0)),
    "Maximum (NaN left)": (lambda x, y: layers.Maximum()([x, y]), np.maximum),
    "Maximum (NaN right)": (lambda x, y: layers.Maximum()([y, x]), np.maximum),
    "Minimum (NaN left)": (lambda x, y: layers.Minimum()([x, y]), np.minimum),
    "Minimum (NaN right)": (lambda x, y: layers.Minimum()([y, x]), np.minimum),
}
REDUCING = {  # name: (layer or K op on x, numpy on x)
    "MaxPooling1D": (lambda x: layers.MaxPooling1D(3)(layers.Reshape((6, 1))(x)),
                     lambda x: x.reshape(2, 2, 3, 1).max(2)),
    "MaxPooling2D": (lambda x: layers.MaxPooling2D((3, 2))(layers.Reshape((3, 2, 1))(x)),
                     lambda x: x.max(1).reshape(2, 1, 1, 1)),
    "GlobalMaxPooling1D": (lambda x: layers.GlobalMaxPooling1D()(layers.Reshape((6, 1))(x)),
                           lambda x: x.max(1, keepdims=True)),
    "K.max": (lambda x: layers.Lambda(lambda t: K.max(t, axis=-1))(x), lambda x: x.max(-1)),
    "K.min": (lambda x: layers.Lambda(lambda t: K.min(t, axis=-1))(x), lambda x: x.min(-1)),
    "K.argmax": (lambda x: layers.Lambda(lambda t: K.argmax(t, axis=-1))(x),
                 lambda x: np.argmax(x, -1)),
}


def test_nan_propagates_through_every_clamp_and_max():
    x, y = keras.Input((6,)), keras.Input((6,))
    outs = [f(x, y) for f, _ in ELEMENTWISE.values()] + [f(x) for f, _ in REDUCING.values()]
    model = keras.Model([x, y], outs)
    got = model.predict([X, Y], verbose=0)
    want = [f(X, Y) for _, f in ELEMENTWISE.values()] + [f(X) for _, f in REDUCING.values()]
    for name, g, w in zip(list(ELEMENTWISE) + list(REDUCING), got, want):
        # the reference propagates NaN (argmax: to the index of the first NaN)...
        assert np.isnan(w).any() or name == "K.argmax", name
        np.testing.assert_allclose(g, np.asarray(w, np.float32).reshape(g.shape), rtol=1e-6,
                                   atol=1e-7, err_msg=name)  # ... and so must we (NaN == NaN)


def test_a_nan_batch_trains_with_a_nan_loss():
    model = keras.Sequential([keras.Input((6,)), layers.Dense(4, activation="relu"),
                              layers.Dense(1)])
    model.compile("sgd", "mse")
    hist = model.fit(X, np.zeros((2, 1)), verbose=0)
    assert np.isnan(hist.history["loss"][0])
    assert np.isnan(model.evaluate(X, np.zeros((2, 1)), verbose=0))
