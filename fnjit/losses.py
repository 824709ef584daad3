"""Losses by name, function or class, as `keras.losses`. Each resolves to a kernel family of the
`loss` op (templates/loss.j2) with its parameters (Huber's delta, from_logits, label smoothing,
...) and reduction. The functions are numpy versions of Keras 3's formulas, callable outside
compiled code, as are the classes (`keras.losses.Huber(delta=2.0)(y_true, y_pred)`)."""

from __future__ import annotations

import numpy as np

from .backend import epsilon

CANONICAL = ("mean_squared_error", "mean_absolute_error", "binary_crossentropy",
             "categorical_crossentropy", "sparse_categorical_crossentropy",
             "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "huber",
             "log_cosh", "poisson", "kl_divergence", "cosine_similarity", "hinge",
             "squared_hinge", "categorical_hinge", "binary_focal_crossentropy",
             "categorical_focal_crossentropy")
ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
           "MSE": "mean_squared_error", "MAE": "mean_absolute_error",
           "mape": "mean_absolute_percentage_error", "MAPE": "mean_absolute_percentage_error",
           "msle": "mean_squared_logarithmic_error", "MSLE": "mean_squared_logarithmic_error",
           "logcosh": "log_cosh", "kld": "kl_divergence", "KLD": "kl_divergence",
           "kullback_leibler_divergence": "kl_divergence", "huber_loss": "huber"}
REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "auto")  # "auto": Keras 2's default
SPARSE = ("sparse_categorical_crossentropy",)


class Builtin(str):
    """A built-in loss as compile resolves it. It is its Keras name as a string (so that code
    asking "is this the sparse crossentropy?" compares names), and carries the kernel family
    of templates/loss.j2 (`kernel`), that kernel's parameters in order (`params`: (name,
    number) pairs) and the `reduction`."""

    def __new__(cls, name, kernel=None, params=(), reduction="sum_over_batch_size"):
        obj = super().__new__(cls, name)
        obj.kernel = kernel or name
        obj.params = tuple(params)
        obj.reduction = reduction
        return obj

    def attrs(self):
        return {"fn": self.kernel, "params": self.params, "reduction": self.reduction}


# ---- the functions (numpy; y_true first, as Keras) ------------------------------------------

def _arrays(y_true, y_pred):
    y_pred = np.asarray(y_pred, dtype=np.result_type(np.asarray(y_pred).dtype, np.float32))
    return np.asarray(y_true, dtype=y_pred.dtype), y_pred


def _smooth(y_true, label_smoothing, k):
    return y_true * (1.0 - label_smoothing) + label_smoothing / k if label_smoothing else y_true


def _softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _arrays(y_true, y_pred)
    return np.mean(np.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _arrays(y_true, y_pred)
    return np.mean(np.abs(y_pred - y_true), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    y_true, y_pred = _arrays(y_true, y_pred)
    return 100.0 * np.mean(np.abs((y_true - y_pred) / np.maximum(np.abs(y_true), epsilon())),
                           axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    y_true, y_pred = _arrays(y_true, y_pred)
    d = np.log(np.maximum(y_pred, epsilon()) + 1.0) - np.log(np.maximum(y_true, epsilon()) + 1.0)
    return np.mean(np.square(d), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    y_true, y_pred = _arrays(y_true, y_pred)
    d = y_pred - y_true
    return np.mean(np.where(np.abs(d) <= delta, 0.5 * d * d, delta * np.abs(d) - 0.5 * delta ** 2),
                   axis=-1)


def log_cosh(y_true, y_pred):
    y_true, y_pred = _arrays(y_true, y_pred)
    d = y_pred - y_true
    return np.mean(d + np.logaddexp(0.0, -2.0 * d) - np.log(2.0), axis=-1)


def poisson(y_true, y_pred):
    y_true, y_pred = _arrays(y_true, y_pred)
    return np.mean(y_pred - y_true * np.log(y_pred + epsilon()), axis=-1)


def kl_divergence(y_true, y_pred):
    y_true, y_pred = _arrays(y_true, y_pred)
    t = np.clip(y_true, epsilon(), 1)
    return np.sum(t * np.log(t / np.clip(y_pred, epsilon(), 1)), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    y_true, y_pred = _arrays(y_true, y_pred)

    def normalize(x):
        return x * np.minimum(1 / np.sqrt(np.sum(x * x, axis=axis, keepdims=True)), 1 / epsilon())

    return -np.sum(normalize(y_true) * normalize(y_pred), axis=axis)


def _hinge_labels(y_true):
    return 2.0 * y_true - 1.0 if np.all((y_true == 0) | (y_true == 1)) else y_true


def hinge(y_true, y_pred):
    y_true, y_pred = _arrays(y_true, y_pred)
    return np.mean(np.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    y_true, y_pred = _arrays(y_true, y_pred)
    return np.mean(np.square(np.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    y_true, y_pred = _arrays(y_true, y_pred)
    pos = np.sum(y_true * y_pred, axis=-1)
    neg = np.max((1.0 - y_true) * y_pred, axis=-1)
    return np.maximum(neg - pos + 1.0, 0.0)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _arrays(y_true, y_pred)
    y_true = _smooth(y_true, label_smoothing, 2)
    if from_logits:
        return np.mean(y_true * np.logaddexp(0.0, -y_pred) +
                       (1 - y_true) * np.logaddexp(0.0, y_pred), axis=axis)
    p = np.clip(y_pred, epsilon(), 1 - epsilon())
    return -np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p), axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _arrays(y_true, y_pred)
    y_true = _smooth(y_true, label_smoothing, y_pred.shape[-1])
    if from_logits:
        x = y_pred - np.max(y_pred, axis=-1, keepdims=True)
        log_q = x - np.log(np.sum(np.exp(x), axis=-1, keepdims=True))
    else:
        log_q = np.log(np.clip(y_pred / np.sum(y_pred, axis=-1, keepdims=True), epsilon(),
                               1 - epsilon()))
    return -np.sum(y_true * log_q, axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    k = np.shape(y_pred)[-1]
    onehot = np.eye(k)[np.asarray(y_true).reshape(np.shape(y_pred)[:-1]).astype(int)]
    return categorical_crossentropy(onehot, y_pred, from_logits=from_logits, axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _arrays(y_true, y_pred)
    y_true = _smooth(y_true, label_smoothing, 2)
    q = _sigmoid(y_pred) if from_logits else y_pred
    qc = np.clip(q, epsilon(), 1 - epsilon())
    bce = -(y_true * np.log(qc) + (1 - y_true) * np.log(1 - qc))
    focal = (1 - (y_true * q + (1 - y_true) * (1 - q))) ** gamma * bce
    if apply_class_balancing:
        focal = focal * (y_true * alpha + (1 - y_true) * (1 - alpha))
    return np.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    y_true, y_pred = _arrays(y_true, y_pred)
    y_true = _smooth(y_true, label_smoothing, y_pred.shape[-1])
    q = _softmax(y_pred) if from_logits else y_pred
    q = np.clip(q / np.sum(q, axis=-1, keepdims=True), epsilon(), 1 - epsilon())
    return np.sum(-alpha * (1 - q) ** gamma * y_true * np.log(q), axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh


# ---- the classes ------------------------------------------------------------------------------

class Loss:
    """A loss with its options. Subclasses name their function (`fn`) and pass their options
    to `_configure`; a user subclass defines `call(y_true, y_pred)` with K operations."""

    fn = None

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None):
        if reduction not in REDUCTIONS + ("none", None):
            raise ValueError(f"{type(self).__name__}: invalid reduction {reduction!r}; choose "
                             f"one of {list(REDUCTIONS) + ['none', None]}")
        if dtype not in (None, "float32", "float64"):
            raise ValueError(f"{type(self).__name__}: dtype {dtype!r} is not supported")
        self.reduction = reduction
        self.name = name or self.fn or type(self).__name__
        self.options = {}  # the function's keyword arguments
        self.kernel_params = ()  # (name, value) for templates/loss.j2
        self.kernel = self.fn

    def _configure(self, kernel=None, options=None, params=()):
        self.kernel = kernel or self.fn
        self.options = dict(options or {})
        self.kernel_params = tuple((k, bool(v) if isinstance(v, bool) else float(v))
                                   for k, v in params)

    def resolved(self) -> Builtin:
        if self.reduction in ("none", None):
            raise ValueError(f"{type(self).__name__}(reduction={self.reduction!r}) gives one "
                             "loss per sample, but training needs one number: compile with "
                             "reduction='sum_over_batch_size' (the default) or 'sum'")
        reduction = "sum" if self.reduction == "sum" else "sum_over_batch_size"
        return Builtin(self.fn, self.kernel, self.kernel_params, reduction)

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = np.asarray(globals()[self.fn](y_true, y_pred, **self.options))
        if sample_weight is not None:  # Keras: weights per sample, per loss value
            w = np.asarray(sample_weight, values.dtype)
            values = values * w.reshape(w.shape + (1,) * (values.ndim - w.ndim))
        if self.reduction in ("none", None):
            return values
        total = np.sum(values)
        return total if self.reduction == "sum" else total / max(values.size, 1)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, **self.options}


def _crossentropy_options(what, from_logits, label_smoothing):
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"{what}: label_smoothing must be in [0, 1], got {label_smoothing}")
    return {"from_logits": bool(from_logits), "label_smoothing": float(label_smoothing)}


def _last_axis(what, axis):
    if axis != -1:
        raise ValueError(f"{what}: only axis=-1 (the last axis) is supported, got {axis}")


class MeanSquaredError(Loss):
    fn = "mean_squared_error"


class MeanAbsoluteError(Loss):
    fn = "mean_absolute_error"


class MeanAbsolutePercentageError(Loss):
    fn = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(Loss):
    fn = "mean_squared_logarithmic_error"


class LogCosh(Loss):
    fn = "log_cosh"


class Poisson(Loss):
    fn = "poisson"


class KLDivergence(Loss):
    fn = "kl_divergence"


class Hinge(Loss):
    fn = "hinge"


class SquaredHinge(Loss):
    fn = "squared_hinge"


class CategoricalHinge(Loss):
    fn = "categorical_hinge"


class Huber(Loss):
    fn = "huber"

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        super().__init__(reduction, name, dtype)
        self._configure(options={"delta": float(delta)}, params=[("delta", delta)])


class CosineSimilarity(Loss):
    fn = "cosine_similarity"

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity",
                 dtype=None):
        super().__init__(reduction, name, dtype)
        _last_axis("CosineSimilarity", axis)


class BinaryCrossentropy(Loss):
    fn = "binary_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(reduction, name, dtype)
        _last_axis("BinaryCrossentropy", axis)
        options = _crossentropy_options("BinaryCrossentropy", from_logits, label_smoothing)
        self._configure(self.fn + ("_from_logits" if from_logits else ""), options,
                        [("smoothing", label_smoothing)])


class CategoricalCrossentropy(Loss):
    fn = "categorical_crossentropy"

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy",
                 dtype=None):
        super().__init__(reduction, name, dtype)
        _last_axis("CategoricalCrossentropy", axis)
        options = _crossentropy_options("CategoricalCrossentropy", from_logits,
                                        label_smoothing)
        self._configure(self.fn + ("_from_logits" if from_logits else ""), options,
                        [("smoothing", label_smoothing)])


class SparseCategoricalCrossentropy(Loss):
    fn = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(reduction, name, dtype)
        if ignore_class is not None:
            raise ValueError("SparseCategoricalCrossentropy: ignore_class is not supported")
        self._configure(self.fn + ("_from_logits" if from_logits else ""),
                        {"from_logits": bool(from_logits)})


class BinaryFocalCrossentropy(Loss):
    fn = "binary_focal_crossentropy"

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(reduction, name, dtype)
        _last_axis("BinaryFocalCrossentropy", axis)
        options = _crossentropy_options("BinaryFocalCrossentropy", from_logits,
                                        label_smoothing)
        options.update(apply_class_balancing=bool(apply_class_balancing), alpha=float(alpha),
                       gamma=float(gamma))
        self._configure(self.fn + ("_from_logits" if from_logits else ""), options,
                        [("smoothing", label_smoothing), ("gamma", gamma), ("alpha", alpha),
                         ("balanced", bool(apply_class_balancing))])


class CategoricalFocalCrossentropy(Loss):
    fn = "categorical_focal_crossentropy"

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy",
                 dtype=None):
        super().__init__(reduction, name, dtype)
        _last_axis("CategoricalFocalCrossentropy", axis)
        options = _crossentropy_options("CategoricalFocalCrossentropy", from_logits,
                                        label_smoothing)
        options.update(alpha=float(alpha), gamma=float(gamma))
        self._configure(self.fn + ("_from_logits" if from_logits else ""), options,
                        [("smoothing", label_smoothing), ("gamma", gamma), ("alpha", alpha)])


CLASSES = {cls.__name__: cls for cls in Loss.__subclasses__()}


def _default(name):
    """The built-in loss `name` with Keras' default options."""
    return next(c for c in CLASSES.values() if c.fn == name)().resolved()


def get(identifier):
    """A built-in loss (a `Builtin`), given by name, function, class or instance; or, for a
    user function of (y_true, y_pred) written with fnjit.backend (K) ops, that function (a Loss
    subclass instance with a `call` method gives its bound `call`)."""
    if isinstance(identifier, Builtin):
        return identifier
    if isinstance(identifier, Loss):
        if identifier.fn:
            return identifier.resolved()
        if hasattr(identifier, "call"):
            return _named(identifier.call, identifier.name or type(identifier).__name__)
    if isinstance(identifier, type) and issubclass(identifier, Loss) and identifier.fn:
        return identifier().resolved()
    name = getattr(identifier, "__name__", identifier) if callable(identifier) else identifier
    if isinstance(name, str):
        if name in CLASSES and CLASSES[name].fn:
            return CLASSES[name]().resolved()
        name = ALIASES.get(name, name)
        if name in CANONICAL:
            return _default(name)
    if callable(identifier) and not isinstance(identifier, type):
        return identifier
    raise ValueError(f"unknown loss {identifier!r}; choose one of "
                     f"{sorted(CANONICAL + tuple(ALIASES))}, a keras.losses class, or pass a "
                     "function of (y_true, y_pred) written with fnjit.backend (K) operations")


def _named(fn, name):
    def loss(y_true, y_pred):
        return fn(y_true, y_pred)

    loss.__name__ = name
    return loss


def target_shape(loss, output_shape):
    """The shape a loss expects its targets in, given the model output's shape."""
    return tuple(output_shape[:-1]) if loss in SPARSE else tuple(output_shape)


def lower(ctx, loss, y_pred, y_true):
    """The loss value: per row of the last axis for a built-in loss; whatever a user function
    returns otherwise (its mean over every element is the loss, as Keras averages), given a
    batch axis if it has none."""
    if callable(loss):
        return lower_function(ctx, loss, y_pred, y_true, "loss")
    loss = get(loss)
    return ctx.op("loss", [y_pred, y_true], [ctx.shape(y_pred)[:-1]], attrs=loss.attrs())[0]


def apply_mask(ctx, value, mask, what, normalize=True):
    """A loss or metric `value` (per step) of an output that carries a mask (Keras masking),
    weighted as Keras 3's apply_mask does (templates/mask_weight.j2). A loss (`normalize`,
    reduction sum_over_batch_size): the masked steps count 0 and the rest size / valid, so
    that the batch mean is the mean over the unmasked steps of the batch; the epoch value is
    the mean of the batch values weighted by batch size, as Keras' evaluate reports a loss. A
    metric: value * mask, divided over the epoch by the sum of the mask (`value` None: the
    mask as floats), as Keras' Mean metrics weigh by the mask."""
    if mask is None:
        return value
    if value is None:
        return ctx.op("mask_weight", [mask], [ctx.shape(mask)],
                      attrs={"normalize": False})[0]
    if ctx.shape(mask) != ctx.shape(value):
        raise ValueError(f"{ctx.origin}: the output carries a mask of shape {ctx.shape(mask)} "
                         f"(Keras masking) but its {what} has shape {ctx.shape(value)}: only a "
                         "built-in loss or metric with one value per masked step can be "
                         "weighted by it")
    return ctx.op("mask_weight", [value, mask], [ctx.shape(value)],
                  attrs={"normalize": bool(normalize)})[0]


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
