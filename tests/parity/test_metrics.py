"""Every stateful metric class against Keras 3's: the same predictions fed in three batches
(with sample weights where Keras takes them), the accumulated results compared."""

import numpy as np
import pytest

pytest.importorskip("keras")
pytestmark = pytest.mark.parity

from parity_harness import keras  # noqa: E402

import fnjit  # noqa: E402

rng = np.random.default_rng(7)
N = 30
binary = rng.integers(0, 2, (N, 3)).astype("float32")
scores = rng.uniform(size=(N, 3)).astype("float32")
onehot = np.eye(5, dtype="float32")[rng.integers(0, 5, N)]
logits = rng.normal(size=(N, 5)).astype("float32")
labels = rng.integers(0, 3, N).astype("float32")
weights = rng.uniform(0.5, 2.0, N).astype("float32")

CASES = {  # id: (class, kwargs, y_true, y_pred, weighted)
    "auc_roc": ("AUC", {}, binary, scores, True),
    "auc_pr": ("AUC", dict(curve="PR", num_thresholds=50), binary, scores, True),
    "auc_minoring": ("AUC", dict(summation_method="minoring"), binary, scores, False),
    "auc_logits": ("AUC", dict(from_logits=True), binary, scores * 6 - 3, False),
    "auc_thresholds": ("AUC", dict(thresholds=[0.2, 0.5, 0.7]), binary, scores, False),
    "precision": ("Precision", {}, binary, scores, True),
    "precision_thresholds": ("Precision", dict(thresholds=[0.3, 0.6]), binary, scores, False),
    "recall": ("Recall", dict(thresholds=0.3), binary, scores, True),
    "true_positives": ("TruePositives", {}, binary, scores, True),
    "true_negatives": ("TrueNegatives", {}, binary, scores, False),
    "false_positives": ("FalsePositives", dict(thresholds=[0.2, 0.8]), binary, scores, False),
    "false_negatives": ("FalseNegatives", {}, binary, scores, True),
    "rmse": ("RootMeanSquaredError", {}, scores, binary, True),
    "mse": ("MeanSquaredError", {}, scores, binary, True),
    "mae": ("MeanAbsoluteError", {}, scores, binary, False),
    "binary_accuracy": ("BinaryAccuracy", dict(threshold=0.3), binary, scores, True),
    "categorical_accuracy": ("CategoricalAccuracy", {}, onehot, logits, True),
    "top_k": ("TopKCategoricalAccuracy", dict(k=2), onehot, logits, True),
    "sparse_top_k": ("SparseTopKCategoricalAccuracy", dict(k=2), labels, logits[:, :3], False),
    "f1_none": ("F1Score", {}, onehot, logits, False),
    "f1_macro": ("F1Score", dict(average="macro", threshold=0.5), binary, scores, False),
    "f1_micro": ("F1Score", dict(average="micro", threshold=0.5), binary, scores, True),
    "f1_weighted": ("F1Score", dict(average="weighted"), onehot, logits, False),
    # (Keras' MeanIoU counts in integers and truncates float weights: whole weights here)
    "mean_iou": ("MeanIoU", dict(num_classes=3), labels, rng.integers(0, 3, N), "int"),
}


@pytest.mark.parametrize("which", list(CASES))
def test_metric_matches_keras(which):
    name, kwargs, y_true, y_pred, weighted = CASES[which]
    ours = getattr(fnjit.metrics, name)(**kwargs)
    theirs = getattr(keras.metrics, name)(**kwargs)
    for lo, hi in ((0, 7), (7, 19), (19, N)):
        w = (np.round(weights[lo:hi] * 2) if weighted == "int" else weights[lo:hi]) \
            if weighted else None
        ours.update_state(y_true[lo:hi], y_pred[lo:hi], sample_weight=w)
        theirs.update_state(y_true[lo:hi], y_pred[lo:hi], sample_weight=w)
    np.testing.assert_allclose(np.asarray(ours.result(), np.float64),
                               np.asarray(theirs.result(), np.float64), rtol=2e-5, atol=1e-6)
