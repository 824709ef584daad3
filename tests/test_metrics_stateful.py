"""Stateful metrics: the classes on the examples of Keras' documentation (values stated there),
and in fit/evaluate, accumulated over the epoch from every batch's predictions, not averaged
over batches. (tests/parity/test_metrics.py checks the classes against Keras 3 itself.)"""

import numpy as np
import pytest

import fnjit
from fnjit import metrics as M


@pytest.mark.parametrize("metric, y_true, y_pred, want", [
    (M.Precision(), [0, 1, 1, 1], [1, 0, 1, 1], 2 / 3),
    (M.Recall(), [0, 1, 1, 1], [1, 0, 1, 1], 2 / 3),
    (M.TruePositives(), [0, 1, 1, 1], [1, 0, 1, 1], 2.0),
    (M.FalsePositives(), [0, 1, 0, 0], [0, 0, 1, 1], 2.0),
    (M.TrueNegatives(), [0, 1, 0, 0], [1, 1, 0, 0], 2.0),
    (M.FalseNegatives(), [0, 1, 1, 1], [0, 1, 0, 0], 2.0),
    (M.AUC(num_thresholds=3), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], 0.75),
    (M.RootMeanSquaredError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], 0.5),
    (M.MeanSquaredError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], 0.25),
    (M.MeanAbsoluteError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], 0.25),
    (M.TopKCategoricalAccuracy(k=1), [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
     0.5),
    (M.SparseTopKCategoricalAccuracy(k=1), [2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], 0.5),
    (M.MeanIoU(num_classes=2), [0, 0, 1, 1], [0, 1, 0, 1], 1 / 3),
    (M.BinaryAccuracy(), [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], 0.75),
    (M.BinaryAccuracy(threshold=0.7), [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], 1.0),
    (M.CategoricalAccuracy(), [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], 0.5),
    (M.Accuracy(), [[1], [2], [3], [4]], [[0], [2], [3], [4]], 0.75),
])
def test_documented_examples(metric, y_true, y_pred, want):
    metric.update_state(np.array(y_true, float), np.array(y_pred, float))
    assert metric.result() == pytest.approx(want, rel=1e-6)
    metric.reset_state()
    metric.update_state(np.array(y_true, float)[:1], np.array(y_pred, float)[:1])
    metric.update_state(np.array(y_true, float)[1:], np.array(y_pred, float)[1:])
    assert metric.result() == pytest.approx(want, rel=1e-6)  # accumulated, batch by batch


def test_sample_weights_and_f1():
    m = M.Precision()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1], sample_weight=[0, 0, 1, 0])
    assert m.result() == 1.0  # Keras' documented value
    f1 = M.F1Score(threshold=0.5)
    f1.update_state(np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], float),
                    np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]]))
    np.testing.assert_allclose(f1.result(), [0.5, 0.8, 2 / 3], rtol=1e-6)
    mean = M.Mean()
    mean.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert mean.result() == 2.0


def auc_by_ranks(y, p):
    """Exact ROC AUC (Mann-Whitney): what 200 thresholds approximate."""
    pos, neg = p[y == 1], p[y == 0]
    return np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :]))


def test_evaluate_accumulates_over_batches_and_fit_over_the_epoch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype("float32")
    y = (x[:, :1] + rng.normal(size=(60, 1)) > 0).astype("float32")
    fnjit.utils.set_random_seed(0)
    model = fnjit.Sequential([fnjit.layers.Dense(1, activation="sigmoid", input_shape=(4,))])
    # learning rate 0: predictions stay fixed, so the epoch's metrics are those of all data
    model.compile(fnjit.optimizers.SGD(0.0), "binary_crossentropy",
                  metrics=["auc", "precision", fnjit.metrics.Recall(thresholds=0.4),
                           "root_mean_squared_error"])
    p = model.predict(x, verbose=0)
    positive = p > 0.5
    want = {"auc": auc_by_ranks(y.ravel(), p.ravel()),
            "precision": np.sum(positive & (y == 1)) / np.sum(positive),
            "recall": np.sum((p > 0.4) & (y == 1)) / np.sum(y == 1),
            "root_mean_squared_error": np.sqrt(np.mean((p - y) ** 2))}
    logs = model.evaluate(x, y, batch_size=7, return_dict=True, verbose=0)
    history = model.fit(x, y, batch_size=7, epochs=2, verbose=0).history
    for name, value in want.items():
        tol = 0.01 if name == "auc" else 1e-6
        assert logs[name] == pytest.approx(value, abs=tol), name
        assert history[name] == pytest.approx([value, value], abs=tol), name
    # and not the mean of per-batch values
    batch_rmse = [np.sqrt(np.mean((p[i:i + 7] - y[i:i + 7]) ** 2)) for i in range(0, 60, 7)]
    assert abs(np.mean(batch_rmse) - logs["root_mean_squared_error"]) > 1e-4
    assert model.metrics_names == ["loss", "auc", "precision", "recall",
                                   "root_mean_squared_error"]


def test_callbacks_monitor_a_stateful_metric():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = fnjit.Sequential([fnjit.layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(fnjit.optimizers.SGD(0.0), "binary_crossentropy", metrics=["auc"])
    stop = fnjit.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=1)
    history = model.fit(x, y, validation_split=0.25, epochs=10, verbose=0, callbacks=[stop])
    assert len(history.history["val_auc"]) == 2  # no improvement with a frozen model


def test_unsupported_options_are_refused():
    with pytest.raises(ValueError, match="multi_label"):
        M.AUC(multi_label=True)
    with pytest.raises(ValueError, match="top_k"):
        M.Precision(top_k=2)
    with pytest.raises(ValueError, match="curve"):
        M.AUC(curve="XY")
