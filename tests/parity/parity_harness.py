"""Build one model in Keras 3 and in fnjit from one description, give both the same weights,
train both on the same batch, and compare.

A description is a function `build(lib, inputs) -> output tensor(s)` where `lib` is the `keras`
or the `fnjit` module: both share the Keras API, so one function builds both models. `case()`
makes such a function from a table entry `(layer name, kwargs, input shape)`; a kwarg that is a
`(name, kwargs)` tuple is itself a layer (TimeDistributed's `layer`).

The comparison: predictions before training (forward, weight layout), then for each optimizer,
from the same initial weights: the loss of each of three train_on_batch steps, the weights after
them (every gradient and the update rule) and the predictions after them. Errors are relative
to the array's largest magnitude; a weight's error is relative to its largest change in
training, which is stricter than relative to the weight (the change is what the step computed).
Both libraries run in float32; the observed errors are float32 rounding (about 1e-7 on outputs,
a few 1e-6 on weights), far inside the tolerances, and are printed at the end of the run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402  (after choosing the backend)

import fnjit  # noqa: E402

BATCH = 4
STEPS = 3
# The largest relative error of each kind over the session, by case: printed at the end
# (tests/parity/conftest.py) so that the margins under the tolerances are visible.
WORST = {}
OUTPUT_RTOL = 1e-4  # outputs and losses, relative to the largest magnitude of the array
WEIGHT_RTOL = 1e-3  # weights after training, relative to the largest change of the array


@dataclass
class Case:
    """One model to compare. `inputs`: shapes (without batch); `int_inputs`: the vocabulary
    size of integer inputs (Embedding), None for float inputs. `train=False`: compare
    predictions only (layers whose training is random, e.g. Dropout)."""

    id: str
    build: object
    inputs: list
    int_inputs: int | None = None
    loss: object = "mse"  # a name, or (keras.losses class name, kwargs) built in each library
    targets: str | None = None  # binary, onehot, sparse, positive, normal; default by loss name
    head_activation: str | None = None
    train: bool = True
    x_scale: float = 1.0  # large: saturated activations (the losses' clipping)
    needs: tuple = field(default_factory=tuple)  # fnjit layer names the case uses


def _resolve(lib, value):
    """A `(name, kwargs)` tuple in kwargs becomes that layer of `lib`."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) \
            and isinstance(value[1], dict):
        name, kwargs = value
        return getattr(lib.layers, name)(**{k: _resolve(lib, v) for k, v in kwargs.items()})
    return value


def _layer_names(kwargs):
    for value in kwargs.values():
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
            yield value[0]
            yield from _layer_names(value[1])


def case(name, kwargs, input_shape, id=None, **options):
    """A Case for one layer: each float input goes through a Dense on its last axis first (so
    that the layer's input gradient is exercised too), the layer's output(s) are flattened,
    joined and fed to a Dense head (so that every output element reaches the loss)."""
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    multi = isinstance(input_shape, list)
    int_inputs = options.get("int_inputs")
    # A bias before a normalising layer has zero gradient in exact arithmetic: in float32 it
    # moves by rounding noise, which RMSprop amplifies differently in each library.
    pre_bias = options.pop("pre_bias", True)

    def build(lib, inputs):
        xs = inputs if int_inputs else [lib.layers.Dense(s[-1], use_bias=pre_bias,
                                                         name=f"pre_{i}")(x)
                                         for i, (x, s) in enumerate(zip(inputs, shapes))]
        layer = getattr(lib.layers, name)(**{k: _resolve(lib, v) for k, v in kwargs.items()})
        return layer(xs if multi else xs[0])

    label = id or name + "".join(f"-{k}={v}" for k, v in kwargs.items() if k != "layer")
    return Case(label, build, shapes, needs=(name, *_layer_names(kwargs)), **options)


# ---- building ---------------------------------------------------------------------------------

def build_model(lib, c: Case, head_units=3):
    dtype = "int32" if c.int_inputs else "float32"
    inputs = [lib.Input(shape=s, dtype=dtype, name=f"x{i}") for i, s in enumerate(c.inputs)]
    outs = c.build(lib, inputs)
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    flat = [lib.layers.Flatten()(o) if len(o.shape) > 2 else o for o in outs]
    joined = lib.layers.Concatenate()(flat) if len(flat) > 1 else flat[0]
    y = lib.layers.Dense(head_units, activation=c.head_activation, name="head")(joined)
    return lib.Model(inputs if len(inputs) > 1 else inputs[0], y)


def missing_layers(c: Case):
    """The layer names of the case that fnjit does not have (yet)."""
    return [n for n in c.needs if not hasattr(fnjit.layers, n)]


def data(c: Case, units=3, seed=0):
    rng = np.random.default_rng(seed)
    if c.int_inputs:
        xs = [rng.integers(0, c.int_inputs, size=(BATCH,) + tuple(s)).astype("int32")
              for s in c.inputs]
    else:
        xs = [(c.x_scale * rng.normal(size=(BATCH,) + tuple(s))).astype("float32")
              for s in c.inputs]
    kind = c.targets or {"binary_crossentropy": "binary", "categorical_crossentropy": "onehot",
                         "sparse_categorical_crossentropy": "sparse"}.get(c.loss, "normal")
    if kind == "binary":
        y = rng.integers(0, 2, size=(BATCH, units)).astype("float32")
    elif kind == "onehot":
        y = np.eye(units, dtype="float32")[rng.integers(0, units, size=BATCH)]
    elif kind == "sparse":
        y = rng.integers(0, units, size=(BATCH, 1)).astype("float32")
    elif kind == "positive":
        y = rng.uniform(0.5, 2.0, size=(BATCH, units)).astype("float32")
    else:
        y = rng.normal(size=(BATCH, units)).astype("float32")
    return (xs if len(xs) > 1 else xs[0]), y


def initial_weights(kmodel, seed=1):
    """Keras' own initial weights, perturbed so that no bias is zero (a zero bias in the
    wrong place would not show)."""
    rng = np.random.default_rng(seed)
    return [(w + rng.normal(scale=0.1, size=w.shape)).astype("float32")
            for w in kmodel.get_weights()]


# ---- comparing --------------------------------------------------------------------------------

def close(got, want, rtol, what, scale=None):
    """|got - want| <= rtol * scale, scale the largest magnitude of `want` (or the given one):
    an error relative to the array, so that elements near zero are not held to a relative
    precision float32 does not have. Returns the relative error for reporting."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"{what}: shape {got.shape} (fnjit) != {want.shape} (Keras)")
    scale = float(np.max(np.abs(want))) if scale is None else float(scale)
    err = float(np.max(np.abs(got - want))) / max(scale, 1e-12) if got.size else 0.0
    if not err <= rtol:
        i = np.unravel_index(np.argmax(np.abs(got - want)), got.shape)
        raise AssertionError(f"{what}: relative error {err:.3g} > {rtol:g} (largest at {i}: "
                             f"fnjit {got[i]:.7g}, Keras {want[i]:.7g}; scale {scale:.4g})")
    return err


def _optimizer(lib, name, kwargs):
    """A `learning_rate` given as `(schedule name, kwargs)` becomes that schedule of `lib`."""
    lr = kwargs.get("learning_rate")
    if isinstance(lr, tuple):
        kwargs = {**kwargs, "learning_rate": getattr(lib.optimizers.schedules, lr[0])(**lr[1])}
    return getattr(lib.optimizers, name)(**kwargs)


def _loss(lib, loss):
    if isinstance(loss, tuple):
        name, kwargs = loss
        return getattr(lib.losses, name)(**kwargs)
    return loss


def keras_optimizer(name, **kwargs):
    return _optimizer(keras, name, kwargs)


def fnjit_optimizer(name, **kwargs):
    return _optimizer(fnjit, name, kwargs)


OPTIMIZERS = {"SGD": dict(learning_rate=0.1), "RMSprop": dict(learning_rate=0.01)}


def compare(c: Case, optimizers=None):
    """Build, compare predictions, then train each optimizer from the same start and compare.
    Returns {what: relative error} (the largest of each kind)."""
    missing = missing_layers(c)
    if missing:
        import pytest

        pytest.skip(f"fnjit has no {', '.join(missing)} yet")
    optimizers = OPTIMIZERS if optimizers is None else optimizers
    keras.utils.set_random_seed(0)
    fnjit.utils.set_random_seed(0)
    kmodel = build_model(keras, c)
    fmodel = build_model(fnjit, c)
    kshapes = [w.shape for w in kmodel.get_weights()]
    fshapes = [w.shape for w in fmodel.get_weights()]
    names = [w.path for w in kmodel.weights]
    assert fshapes == kshapes, f"{c.id}: weight shapes differ: fnjit {fshapes}, Keras " \
                               f"{kshapes} ({names})"
    w0 = initial_weights(kmodel)
    x, y = data(c)
    errors = {}

    def note(kind, err):
        errors[kind] = max(errors.get(kind, 0.0), err)
        if err >= WORST.get(kind, (0.0, ""))[0]:
            WORST[kind] = (err, c.id)

    kmodel.set_weights(w0)
    fmodel.set_weights(w0)
    note("predict", close(fmodel.predict(x, verbose=0), kmodel.predict(x, verbose=0),
                          OUTPUT_RTOL, f"{c.id}: predictions before training"))
    if not c.train:
        return errors
    for opt, kwargs in optimizers.items():
        kmodel.set_weights(w0)
        fmodel.set_weights(w0)
        kmodel.compile(optimizer=keras_optimizer(opt, **kwargs), loss=_loss(keras, c.loss))
        fmodel.compile(optimizer=fnjit_optimizer(opt, **kwargs), loss=_loss(fnjit, c.loss))
        for step in range(STEPS):
            kloss = float(np.asarray(kmodel.train_on_batch(x, y)))
            floss = float(np.asarray(fmodel.train_on_batch(x, y)))
            note("loss", close(floss, kloss, OUTPUT_RTOL, f"{c.id} {opt}: loss of step {step}"))
        for name, start, kw, fw in zip(names, w0, kmodel.get_weights(), fmodel.get_weights()):
            change = float(np.max(np.abs(kw - start)))
            note("weights", close(fw, kw, WEIGHT_RTOL,
                                  f"{c.id} {opt}: weight {name} after {STEPS} steps "
                                  "(error relative to its largest change)",
                                  scale=change if change > 0 else 1.0))
        note("predict", close(fmodel.predict(x, verbose=0), kmodel.predict(x, verbose=0),
                              OUTPUT_RTOL, f"{c.id} {opt}: predictions after training"))
    return errors
