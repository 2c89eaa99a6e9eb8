"""Text classification: TextClassifier (embedder + scikit-learn head), thresholds, metrics, plots."""

from __future__ import annotations

from arnews_ml.classify.heads import knn, linear_svc, logreg, mlp, sgd, svm
from arnews_ml.classify.metrics import (
    classification_metrics,
    classification_report_frame,
    label_confusion_frame,
    metric_label_names,
    sanitize_metric_name,
    threshold_metrics,
)
from arnews_ml.classify.model import SCORE_PREFIX, TextClassifier
from arnews_ml.classify.plots import (
    plot_confusion_matrix,
    plot_label_confusion,
    plot_precision_recall,
    save_figure,
)
from arnews_ml.classify.report import prediction_errors_frame
from arnews_ml.classify.thresholds import DEFAULT_GRID, DEFAULT_THRESHOLD, tune_thresholds

__all__ = [
    "DEFAULT_GRID",
    "DEFAULT_THRESHOLD",
    "SCORE_PREFIX",
    "TextClassifier",
    "classification_metrics",
    "classification_report_frame",
    "knn",
    "label_confusion_frame",
    "linear_svc",
    "logreg",
    "metric_label_names",
    "mlp",
    "plot_confusion_matrix",
    "plot_label_confusion",
    "plot_precision_recall",
    "prediction_errors_frame",
    "sanitize_metric_name",
    "save_figure",
    "sgd",
    "svm",
    "threshold_metrics",
    "tune_thresholds",
]
