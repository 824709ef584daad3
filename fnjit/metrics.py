"""Metrics. Compiled: accuracy in Keras' three forms and the losses as metrics, per-batch means
that the generated step adds into its logs. Stateful (`Metric` classes, numpy): fit and evaluate
hand them each batch's targets and predictions and log their `result()` over the epoch, as
Keras' metrics accumulate (AUC, precision, RMSE... are not means of batch values)."""

from __future__ import annotations

import numpy as np

from . import backend, losses

ACCURACIES = ("binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy")


def resolve(identifier, loss, output_shape):
    """(display name, kind, fn) for a metric of an output trained with `loss`.

    `accuracy`/`acc` picks Keras' variant: binary for one output unit or a binary loss,
    sparse with the sparse loss, categorical otherwise.
    """
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        identifier = identifier()
    if isinstance(identifier, Metric):
        return identifier.name, "stateful", identifier
    if isinstance(identifier, str) and identifier in BY_NAME:
        metric = BY_NAME[identifier]()
        return identifier, "stateful", metric
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


def refuse_masked_metric(metric, output):
    """Keras 3's mean metrics (MeanMetricWrapper: accuracies, MSE, ...) weigh by the mask of
    a masked output; fnjit's Python-side Metric objects see only the predictions, so such a
    metric on a masked output is refused. Precision, AUC, ... ignore masks in Keras too."""
    if isinstance(metric, (MeanMetricWrapper, Mean)):
        raise ValueError(f"compile: metric {metric.name!r} of output {output!r}: the output "
                         "carries a mask (Keras masking), which this metric object cannot see; "
                         "give the metric by name (e.g. 'accuracy', 'mse'), compiled with the "
                         "mask")


def lower(ctx, kind, fn, y_pred, y_true):
    if kind == "function":
        return losses.lower_function(ctx, fn, y_pred, y_true, "metric")
    if kind == "loss":
        return losses.lower(ctx, fn, y_pred, y_true)
    return ctx.op("metric", [y_pred, y_true], [ctx.shape(y_pred)[:-1]], attrs={"fn": fn})[0]


# ---- stateful metrics (numpy): accumulated over an epoch, as keras.metrics ------------------

def _floats(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def _weights(sample_weight, values):
    """Per-value weights: sample weights broadcast over a value's trailing axes (Keras)."""
    if sample_weight is None:
        return np.ones_like(values)
    w = np.asarray(sample_weight, np.float64)
    w = w.reshape(w.shape + (1,) * (values.ndim - w.ndim))
    return np.broadcast_to(w, values.shape)


class Metric:
    """A metric with state: `update_state(y_true, y_pred, sample_weight=None)` per batch,
    `result()`, `reset_state()`. fit/evaluate feed it each batch's targets and predictions and
    log `result()` (so AUC, precision, RMSE... are computed over the epoch, never averaged over
    batches)."""

    def __init__(self, name=None, dtype=None):
        self.name = name or backend.snake_case(type(self).__name__)
        self.dtype = dtype
        self.reset_state()

    def reset_state(self):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Keras' stateless use: the result on these values alone, state kept."""
        saved = dict(self.__dict__)
        self.reset_state()
        self.update_state(y_true, y_pred, sample_weight)
        value = self.result()
        self.__dict__ = saved
        return value

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class Mean(Metric):
    """The (weighted) mean of the values given to update_state(values, sample_weight)."""

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def update_state(self, values, sample_weight=None):
        (values,) = _floats(values)
        w = _weights(sample_weight, values)
        self.total += float(np.sum(values * w))
        self.count += float(np.sum(w))

    def result(self):
        return self.total / self.count if self.count else 0.0


class Sum(Metric):
    def reset_state(self):
        self.total = 0.0

    def update_state(self, values, sample_weight=None):
        (values,) = _floats(values)
        self.total += float(np.sum(values * _weights(sample_weight, values)))

    def result(self):
        return self.total


class MeanMetricWrapper(Mean):
    """The mean over samples of fn(y_true, y_pred) (Keras' MeanMetricWrapper)."""

    fn = None

    def __init__(self, fn=None, name=None, dtype=None, **kwargs):
        if fn is not None:
            self.fn = fn
        self.kwargs = kwargs
        super().__init__(name=name or getattr(self.fn, "__name__", None), dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(type(self).fn(*_floats(y_true, y_pred), **self.kwargs),
                             sample_weight)


def _binary_accuracy(y_true, y_pred, threshold=0.5):
    return np.mean(y_true == (y_pred > threshold), axis=-1)


def _categorical_accuracy(y_true, y_pred):
    return (np.argmax(y_true, -1) == np.argmax(y_pred, -1)).astype(np.float64)


def _sparse_categorical_accuracy(y_true, y_pred):
    labels = y_true.reshape(y_pred.shape[:-1])
    return (labels == np.argmax(y_pred, -1)).astype(np.float64)


def _top_k(labels, y_pred, k):
    """1 where the label's score is among the k highest (ties counted as in the top k)."""
    score = np.take_along_axis(y_pred, labels.astype(int)[..., None], -1)
    return (np.sum(y_pred > score, axis=-1) < k).astype(np.float64)


def _top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _top_k(np.argmax(y_true, -1), y_pred, k)


def _sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    return _top_k(y_true.reshape(y_pred.shape[:-1]), y_pred, k)


def _accuracy(y_true, y_pred):
    return (y_true == y_pred).astype(np.float64)


class Accuracy(MeanMetricWrapper):
    fn = staticmethod(_accuracy)

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    fn = staticmethod(_binary_accuracy)

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(name=name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    fn = staticmethod(_categorical_accuracy)

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    fn = staticmethod(_sparse_categorical_accuracy)

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    fn = staticmethod(_top_k_categorical_accuracy)

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    fn = staticmethod(_sparse_top_k_categorical_accuracy)

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        if from_sorted_ids:
            raise ValueError("SparseTopKCategoricalAccuracy: from_sorted_ids is not supported")
        super().__init__(name=name, dtype=dtype, k=k)


class MeanSquaredError(MeanMetricWrapper):
    fn = staticmethod(losses.mean_squared_error)

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    fn = staticmethod(losses.mean_absolute_error)

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """sqrt of the mean squared error over every value seen (not a mean of batch roots)."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _floats(y_true, y_pred)
        super().update_state(np.square(y_pred - y_true), sample_weight)

    def result(self):
        return float(np.sqrt(super().result()))


class _Confusion(Metric):
    """Confusion counts at thresholds: a prediction is positive when it is > the threshold."""

    def __init__(self, thresholds=None, name=None, dtype=None):
        self.thresholds = np.atleast_1d(np.asarray(0.5 if thresholds is None else thresholds,
                                                   np.float64))
        self._scalar = thresholds is None or np.ndim(thresholds) == 0
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        n = len(self.thresholds)
        self.tp, self.fp, self.tn, self.fn = (np.zeros(n) for _ in range(4))

    def _count(self, y_true, y_pred, sample_weight):
        y_true, y_pred = _floats(y_true, y_pred)
        if y_true.shape != y_pred.shape:
            y_true = y_true.reshape(y_pred.shape)
        w = _weights(sample_weight, y_pred).ravel()
        positive = y_true.ravel() > 0.5
        above = y_pred.ravel()[None, :] > self.thresholds[:, None]
        self.tp += (above & positive) @ w
        self.fp += (above & ~positive) @ w
        self.tn += (~above & ~positive) @ w
        self.fn += (~above & positive) @ w

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._count(y_true, y_pred, sample_weight)

    def _out(self, values):
        return float(values[0]) if self._scalar else values


def _divide(a, b):
    return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b != 0)


class TruePositives(_Confusion):
    def result(self):
        return self._out(self.tp)


class FalsePositives(_Confusion):
    def result(self):
        return self._out(self.fp)


class TrueNegatives(_Confusion):
    def result(self):
        return self._out(self.tn)


class FalseNegatives(_Confusion):
    def result(self):
        return self._out(self.fn)


class Precision(_Confusion):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        if top_k is not None or class_id is not None:
            raise ValueError("Precision: top_k and class_id are not supported")
        super().__init__(thresholds, name, dtype)

    def result(self):
        return self._out(_divide(self.tp, self.tp + self.fp))


class Recall(_Confusion):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        if top_k is not None or class_id is not None:
            raise ValueError("Recall: top_k and class_id are not supported")
        super().__init__(thresholds, name, dtype)

    def result(self):
        return self._out(_divide(self.tp, self.tp + self.fn))


class AUC(_Confusion):
    """Area under the ROC or PR curve from confusion counts at `num_thresholds` thresholds
    spread over [0, 1] (Keras 3's AUC: interpolation; PR by Davis & Goadrich)."""

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False,
                 num_labels=None, label_weights=None, from_logits=False):
        if multi_label or num_labels is not None or label_weights is not None:
            raise ValueError("AUC: multi_label, num_labels and label_weights are not supported")
        if curve.upper() not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR', got {curve!r}")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"AUC: invalid summation_method {summation_method!r}")
        if thresholds is None:
            if num_thresholds <= 1:
                raise ValueError("AUC: num_thresholds must be > 1")
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        else:
            inner = sorted(float(t) for t in thresholds)
        eps = backend.epsilon()
        self.curve, self.summation_method = curve.upper(), summation_method
        self.from_logits = bool(from_logits)
        super().__init__([0.0 - eps] + inner + [1.0 + eps], name or "auc", dtype)
        self.num_thresholds = len(self.thresholds)

    def update_state(self, y_true, y_pred, sample_weight=None):
        (y_pred,) = _floats(y_pred)
        if self.from_logits:
            y_pred = 1 / (1 + np.exp(-y_pred))
        self._count(y_true, y_pred, sample_weight)

    def result(self):
        tp, fp, tn, fn = self.tp, self.fp, self.tn, self.fn
        if self.curve == "PR" and self.summation_method == "interpolation":
            dtp = tp[:-1] - tp[1:]
            p = tp + fp
            dp = p[:-1] - p[1:]
            slope = _divide(dtp, np.maximum(dp, 0))
            intercept = tp[1:] - slope * p[1:]
            both = (p[:-1] > 0) & (p[1:] > 0)
            ratio = np.where(both, _divide(p[:-1], np.maximum(p[1:], 0)), 1.0)
            return float(np.sum(_divide(slope * (dtp + intercept * np.log(ratio)),
                                        np.maximum(tp[1:] + fn[1:], 0))))
        recall = _divide(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide(fp, fp + tn), recall
        else:
            x, y = recall, _divide(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(np.sum((x[:-1] - x[1:]) * heights))


class FBetaScore(Metric):
    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score",
                 dtype=None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"{type(self).__name__}: invalid average {average!r}")
        self.average, self.beta, self.threshold = average, float(beta), threshold
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.tp = self.fp = self.fn = self.support = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _floats(y_true, y_pred)
        if self.threshold is None:
            top = np.max(y_pred, axis=-1, keepdims=True)
            predicted = ((y_pred >= top) & (np.abs(y_pred) > 1e-9)).astype(np.float64)
        else:
            predicted = (y_pred > self.threshold).astype(np.float64)
        w = _weights(sample_weight, y_true)
        axis = None if self.average == "micro" else 0
        self.tp = self.tp + np.sum(predicted * y_true * w, axis=axis)
        self.fp = self.fp + np.sum(predicted * (1 - y_true) * w, axis=axis)
        self.fn = self.fn + np.sum((1 - predicted) * y_true * w, axis=axis)
        self.support = self.support + np.sum(y_true * w, axis=axis)

    def result(self):
        eps = backend.epsilon()
        precision = self.tp / (self.tp + self.fp + eps)
        recall = self.tp / (self.tp + self.fn + eps)
        b2 = self.beta ** 2
        score = precision * recall / (b2 * precision + recall + eps) * (1 + b2)
        if self.average == "weighted":
            return float(np.sum(score * self.support / (np.sum(self.support) + eps)))
        if self.average is not None:
            return float(np.mean(score))
        return score


class F1Score(FBetaScore):
    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name,
                         dtype=dtype)


class MeanIoU(Metric):
    """Mean intersection over union of `num_classes` classes from a confusion matrix of
    integer labels (argmax of y_pred when it has a class axis and sparse_y_pred=False)."""

    def __init__(self, num_classes, name="mean_iou", dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        self.num_classes = int(num_classes)
        self.ignore_class, self.sparse_y_true, self.sparse_y_pred = \
            ignore_class, sparse_y_true, sparse_y_pred
        self.axis = axis
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.matrix = np.zeros((self.num_classes, self.num_classes))

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _floats(y_true, y_pred)
        if not self.sparse_y_true:
            y_true = np.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = np.argmax(y_pred, axis=self.axis)
        t, p = y_true.astype(int).ravel(), y_pred.astype(int).ravel()
        w = _weights(sample_weight, y_true).ravel() if sample_weight is not None else \
            np.ones(t.size)
        # labels outside [0, num_classes) are left out, as Keras' bounds mask does
        keep = (t >= 0) & (t < self.num_classes) & (p >= 0) & (p < self.num_classes)
        if self.ignore_class is not None:
            keep &= t != self.ignore_class
        np.add.at(self.matrix, (t[keep], p[keep]), w[keep])

    def result(self):
        rows, cols = self.matrix.sum(1), self.matrix.sum(0)
        tp = np.diag(self.matrix)
        denominator = rows + cols - tp
        present = denominator != 0
        return float(np.sum(_divide(tp, denominator)) / max(np.sum(present), 1))


STATEFUL = {cls.__name__: cls for cls in (
    Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError,
    MeanAbsoluteError, RootMeanSquaredError, TruePositives, FalsePositives, TrueNegatives,
    FalseNegatives, Precision, Recall, AUC, FBetaScore, F1Score, MeanIoU)}
# Keras' string names of metrics that are not a per-batch mean of a compiled value.
BY_NAME = {"auc": AUC, "precision": Precision, "recall": Recall,
           "root_mean_squared_error": RootMeanSquaredError, "rmse": RootMeanSquaredError,
           "true_positives": TruePositives, "false_positives": FalsePositives,
           "true_negatives": TrueNegatives, "false_negatives": FalseNegatives,
           "top_k_categorical_accuracy": TopKCategoricalAccuracy,
           "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy}
