"""Metric values on hand-checked examples and the exact MLflow metric names."""

from __future__ import annotations

import numpy as np
import pytest

from arnews_ml.classify.metrics import (
    classification_metrics,
    classification_report_frame,
    label_confusion_frame,
    metric_label_names,
    sanitize_metric_name,
    threshold_metrics,
)
from arnews_ml.exceptions import DataError

LABELS = ["a", "b", "c"]
# a: TP 2, FP 0, FN 0 -> F1 1; b: TP 1, FP 1, FN 1 -> F1 1/2; c: TP 1, FP 0, FN 1 -> P 1, R 1/2, F1 2/3
Y_TRUE = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
Y_PRED = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 1]])


def test_multilabel_values_by_hand():
    m = classification_metrics(Y_TRUE, Y_PRED, LABELS, multilabel=True, prefix="test")
    assert m["test_f1_a"] == pytest.approx(1.0)
    assert m["test_f1_b"] == pytest.approx(0.5)
    assert m["test_f1_c"] == pytest.approx(2 / 3)
    assert m["test_f1_macro"] == pytest.approx((1 + 0.5 + 2 / 3) / 3)
    # micro: TP 4, FP 1, FN 2 -> 2*4 / (2*4 + 1 + 2)
    assert m["test_f1_micro"] == pytest.approx(8 / 11)
    assert m["test_accuracy"] == pytest.approx(1 / 4)  # only row 1 matches exactly
    assert m["test_hamming_loss"] == pytest.approx(3 / 12)
    assert m["test_precision_macro"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert m["test_recall_macro"] == pytest.approx((1 + 0.5 + 0.5) / 3)


def test_multilabel_metric_names_exactly():
    m = classification_metrics(Y_TRUE, Y_PRED, LABELS, multilabel=True, prefix="test")
    assert set(m) == {
        "test_f1_macro",
        "test_f1_micro",
        "test_accuracy",
        "test_hamming_loss",
        "test_precision_macro",
        "test_recall_macro",
        "test_f1_a",
        "test_f1_b",
        "test_f1_c",
    }
    assert all(isinstance(v, float) for v in m.values())
    for prefix in ("val", "val_"):
        names = classification_metrics(Y_TRUE, Y_PRED, LABELS, multilabel=True, prefix=prefix)
        assert {
            "val_f1_macro",
            "val_f1_micro",
            "val_accuracy",
            "val_hamming_loss",
            "val_f1_b",
        } <= set(names)


def test_multiclass_values_and_names():
    # true 0 0 1 2 2, predicted 0 1 1 2 0
    eye = np.eye(3, dtype=int)
    yt, yp = eye[[0, 0, 1, 2, 2]], eye[[0, 1, 1, 2, 0]]
    m = classification_metrics(yt, yp, ["x", "y", "z"], multilabel=False, prefix="val")
    assert "val_hamming_loss" not in m
    assert m["val_accuracy"] == pytest.approx(3 / 5)
    assert m["val_f1_micro"] == pytest.approx(3 / 5)
    assert m["val_f1_x"] == pytest.approx(0.5)  # TP 1, FP 1, FN 1
    assert m["val_f1_y"] == pytest.approx(2 / 3)  # TP 1, FP 1, FN 0
    assert m["val_f1_z"] == pytest.approx(2 / 3)  # TP 1, FP 0, FN 1
    assert m["val_f1_macro"] == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3)


def test_label_names_are_sanitised_for_mlflow_and_unique():
    assert sanitize_metric_name("sports&culture") == "sports_culture"
    assert sanitize_metric_name("a-b.c/d e_f:g") == "a-b.c_d e_f_g"
    # Arabic labels are valid MLflow names (Unicode word characters) and stay readable.
    labels = ["foreign forces", "arts&culture", "arts/culture", "سياسة", "رياضة"]
    assert metric_label_names(labels) == [
        "foreign forces",
        "arts_culture",
        "arts_culture_2",
        "سياسة",
        "رياضة",
    ]
    m = classification_metrics(np.eye(5), np.eye(5), labels, multilabel=False, prefix="test")
    assert {
        "test_f1_arts_culture",
        "test_f1_arts_culture_2",
        "test_f1_foreign forces",
        "test_f1_سياسة",
    } <= set(m)


def test_report_frame():
    report = classification_report_frame(Y_TRUE, Y_PRED, LABELS, multilabel=True)
    assert list(report.index) == [*LABELS, "micro avg", "macro avg", "weighted avg", "samples avg"]
    assert list(report.columns) == ["precision", "recall", "f1", "support"]
    assert report.loc["c", "precision"] == pytest.approx(1.0)
    assert report.loc["c", "recall"] == pytest.approx(0.5)
    assert report.loc["b", "support"] == 2
    assert report.loc["macro avg", "f1"] == pytest.approx((1 + 0.5 + 2 / 3) / 3)
    assert report.loc["micro avg", "support"] == 6
    single = classification_report_frame(np.eye(2), np.eye(2), ["x", "y"])
    assert "samples avg" not in single.index


def test_label_confusion_frame_counts():
    frame = label_confusion_frame(Y_TRUE, Y_PRED, LABELS)
    assert frame.set_index("label").loc["b"].to_dict() == {"tp": 1, "fp": 1, "fn": 1, "tn": 1}
    assert frame.set_index("label").loc["c"].to_dict() == {"tp": 1, "fp": 0, "fn": 1, "tn": 2}


def test_threshold_metrics():
    assert threshold_metrics(["a", "b c"], np.array([0.3, 0.5])) == {
        "threshold_a": 0.3,
        "threshold_b c": 0.5,
    }
    assert threshold_metrics(["a"], None) == {}


def test_shape_errors_name_the_fix():
    with pytest.raises(DataError, match="binarize"):
        classification_metrics(Y_TRUE[:, :2], Y_PRED, LABELS, multilabel=True, prefix="test")
