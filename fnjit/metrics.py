"""Metrics: accuracy in Keras' three forms, and the losses as metrics."""

from __future__ import annotations

from . import losses

ACCURACIES = ("binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy")


def resolve(identifier, loss, output_shape):
    """(display name, kind, fn) for a metric of an output trained with `loss`.

    `accuracy`/`acc` picks Keras' variant: binary for one output unit or a binary loss,
    sparse with the sparse loss, categorical otherwise.
    """
    name = getattr(identifier, "__name__", identifier) if callable(identifier) else identifier
    if not isinstance(name, str):
        raise ValueError(f"unknown metric {identifier!r}")
    known = name in ("accuracy", "acc") + ACCURACIES or name in losses.CANONICAL or \
        name in losses.ALIASES
    if callable(identifier) and not known:
        # A user function of (y_true, y_pred) with K ops, shown in logs under its name.
        return name, "function", identifier
    if name in ("accuracy", "acc"):
        if output_shape[-1] == 1 or loss == "binary_crossentropy":
            fn = "binary_accuracy"
        elif loss == "sparse_categorical_crossentropy":
            fn = "sparse_categorical_accuracy"
        else:
            fn = "categorical_accuracy"
        return name, "metric", fn
    if name in ACCURACIES:
        return name, "metric", name
    try:
        return name, "loss", losses.get(name)
    except ValueError:
        raise ValueError(f"unknown metric {identifier!r}; choose 'accuracy', one of "
                         f"{list(ACCURACIES)} or a loss name") from None


def lower(ctx, kind, fn, y_pred, y_true):
    if kind == "function":
        return losses.lower_function(ctx, fn, y_pred, y_true, "metric")
    if kind == "loss":
        return losses.lower(ctx, fn, y_pred, y_true)
    return ctx.op("metric", [y_pred, y_true], [ctx.shape(y_pred)[:-1]], attrs={"fn": fn})[0]
