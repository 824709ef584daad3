"""Losses by name, function or class, as `keras.losses`. Each resolves to a template variant of
the `loss` op (templates/loss.j2). The functions are numpy references of the same formulas,
callable outside compiled code."""

from __future__ import annotations

import numpy as np

from .backend import epsilon

CANONICAL = ("mean_squared_error", "mean_absolute_error", "binary_crossentropy",
             "categorical_crossentropy", "sparse_categorical_crossentropy")
ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
           "MSE": "mean_squared_error", "MAE": "mean_absolute_error"}


def mean_squared_error(y_true, y_pred):
    return np.mean(np.square(np.asarray(y_pred) - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    return np.mean(np.abs(np.asarray(y_pred) - y_true), axis=-1)


def binary_crossentropy(y_true, y_pred):
    p = np.clip(y_pred, epsilon(), 1 - epsilon())
    return -np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p), axis=-1)


def categorical_crossentropy(y_true, y_pred):
    p = np.asarray(y_pred) / np.sum(y_pred, axis=-1, keepdims=True)
    return -np.sum(y_true * np.log(np.clip(p, epsilon(), 1 - epsilon())), axis=-1)


def sparse_categorical_crossentropy(y_true, y_pred):
    k = np.shape(y_pred)[-1]
    onehot = np.eye(k)[np.asarray(y_true).reshape(np.shape(y_pred)[:-1]).astype(int)]
    return categorical_crossentropy(onehot, y_pred)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


class Loss:
    fn = None

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name=None):
        if from_logits:
            raise ValueError(f"{type(self).__name__}: from_logits=True is not supported yet; "
                             "put the activation in the model")
        if reduction not in ("sum_over_batch_size", "auto"):
            raise ValueError(f"{type(self).__name__}: reduction={reduction!r} is not supported; "
                             "losses are averaged over the batch (reduction="
                             "'sum_over_batch_size')")
        self.name = name or self.fn

    def __call__(self, y_true, y_pred):
        return float(np.mean(globals()[self.fn](y_true, y_pred)))


class MeanSquaredError(Loss):
    fn = "mean_squared_error"


class MeanAbsoluteError(Loss):
    fn = "mean_absolute_error"


class BinaryCrossentropy(Loss):
    fn = "binary_crossentropy"


class CategoricalCrossentropy(Loss):
    fn = "categorical_crossentropy"


class SparseCategoricalCrossentropy(Loss):
    fn = "sparse_categorical_crossentropy"


def get(identifier):
    """A built-in loss's canonical name, given by name, function, class or instance; or, for a
    user function of (y_true, y_pred) written with fnjit.backend (K) ops, that function (a Loss
    subclass instance with a `call` method gives its bound `call`)."""
    if isinstance(identifier, Loss):
        if identifier.fn:
            return identifier.fn
        if hasattr(identifier, "call"):
            return _named(identifier.call, identifier.name or type(identifier).__name__)
    if isinstance(identifier, type) and issubclass(identifier, Loss) and identifier.fn:
        return identifier.fn
    name = getattr(identifier, "__name__", identifier) if callable(identifier) else identifier
    if isinstance(name, str):
        name = ALIASES.get(name, name)
        if name in CANONICAL:
            return name
    if callable(identifier) and not isinstance(identifier, type):
        return identifier
    raise ValueError(f"unknown loss {identifier!r}; choose one of "
                     f"{sorted(CANONICAL + tuple(ALIASES))} or pass a function of "
                     "(y_true, y_pred) written with fnjit.backend (K) operations")


def _named(fn, name):
    def loss(y_true, y_pred):
        return fn(y_true, y_pred)

    loss.__name__ = name
    return loss


def target_shape(loss, output_shape):
    """The shape a loss expects its targets in, given the model output's shape."""
    return tuple(output_shape[:-1]) if loss == "sparse_categorical_crossentropy" \
        else tuple(output_shape)


def lower(ctx, loss, y_pred, y_true):
    """The loss value: per row of the last axis for a built-in loss; whatever a user function
    returns otherwise (its mean over every element is the loss, as Keras averages), given a
    batch axis if it has none."""
    if callable(loss):
        return lower_function(ctx, loss, y_pred, y_true, "loss")
    return ctx.op("loss", [y_pred, y_true], [ctx.shape(y_pred)[:-1]], attrs={"fn": loss})[0]


def lower_function(ctx, fn, y_pred, y_true, what):
    """Trace a user function fn(y_true, y_pred) of K operations into the graph."""
    from . import ops

    name = getattr(fn, "__name__", type(fn).__name__)
    outer, ctx.origin = ctx.origin, f"{what} {name!r} ({ctx.origin})"
    try:
        (value,), _ = ops.trace(ctx, lambda ys: fn(*ys), [y_true, y_pred], single=False)
        return ops.per_sample(ctx, value)
    finally:
        ctx.origin = outer
