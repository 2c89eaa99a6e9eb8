"""Classification metrics as flat ``{name: float}`` dicts (MLflow-ready names) and report tables.

Every function takes 0/1 indicator matrices of shape (n_docs, n_labels), for single-label data
too (one 1 per row), so one code path scores both tasks. Metric names:
``<prefix>_f1_macro``, ``<prefix>_f1_micro``, ``<prefix>_accuracy`` (subset accuracy when
multi-label), ``<prefix>_hamming_loss`` (multi-label only), ``<prefix>_precision_macro``,
``<prefix>_recall_macro`` and ``<prefix>_f1_<label>`` per label, with label names made safe for
MLflow by :func:`metric_label_names`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import (
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
)

from arnews_ml.exceptions import DataError

__all__ = [
    "REPORT_AVERAGES",
    "classification_metrics",
    "classification_report_frame",
    "label_confusion_frame",
    "metric_label_names",
    "sanitize_metric_name",
    "threshold_metrics",
]

REPORT_AVERAGES = ("micro avg", "macro avg", "weighted avg")
# MLflow accepts alphanumerics, underscore, dash, period, space and slash in metric names; we keep
# to ASCII so names read the same in every UI and file store.
# MLflow accepts Unicode word characters (Arabic label names stay readable), "-", "." and
# spaces; "/" and ":" are replaced too, as they nest or break on some platforms.
_UNSAFE = re.compile(r"[^\w\-. ]")


def sanitize_metric_name(name: str) -> str:
    """Replace every character MLflow refuses in a metric name (and ``/``, ``:``) with ``_``."""
    return _UNSAFE.sub("_", str(name))


def metric_label_names(labels: Sequence[str]) -> list[str]:
    """Metric-safe names for labels, aligned with ``labels`` and made unique.

    Two labels that sanitise to the same text (e.g. ``a/b`` and ``a:b``) get
    ``_2``, ``_3``, ... appended in label order, so no metric silently overwrites another.
    """
    seen: set[str] = set()
    names: list[str] = []
    for label in labels:
        base = sanitize_metric_name(label)
        name, k = base, 2
        while name in seen:
            name, k = f"{base}_{k}", k + 1
        seen.add(name)
        names.append(name)
    return names


def _prefixed(prefix: str) -> str:
    return f"{prefix.rstrip('_')}_" if prefix else ""


def _check_indicators(
    Y_true: np.ndarray, Y_pred: np.ndarray, labels: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    yt = np.asarray(Y_true)
    yp = np.asarray(Y_pred)
    k = len(labels)
    for name, arr in (("Y_true", yt), ("Y_pred", yp)):
        if arr.ndim != 2 or arr.shape[1] != k:
            raise DataError(
                f"{name} must be a 0/1 indicator matrix of shape (n_docs, {k}) for the {k} "
                f"labels; received shape {arr.shape}. Use TextClassifier.binarize(labels)."
            )
        if not np.isin(arr, (0, 1)).all():
            raise DataError(f"{name} must contain only 0 and 1.")
    if yt.shape[0] != yp.shape[0]:
        raise DataError(
            f"Y_true has {yt.shape[0]} rows but Y_pred has {yp.shape[0]}; they must describe "
            "the same documents."
        )
    return yt.astype(np.int8), yp.astype(np.int8)


def classification_metrics(
    Y_true: np.ndarray,
    Y_pred: np.ndarray,
    labels: Sequence[str],
    *,
    multilabel: bool,
    prefix: str = "test",
) -> dict[str, float]:
    """Scores of predictions against the truth, as MLflow metric names and floats.

    Args:
        Y_true: True 0/1 indicators, shape (n_docs, n_labels).
        Y_pred: Predicted 0/1 indicators, same shape.
        labels: Label names aligned with the columns.
        multilabel: Adds ``hamming_loss``; accuracy is subset accuracy either way (for
            single-label one-hot rows that is plain accuracy).
        prefix: ``"test"``, ``"val"``, ...; ``""`` for bare names.

    Returns:
        ``{f"{prefix}_f1_macro": ..., f"{prefix}_f1_micro": ..., f"{prefix}_accuracy": ...,
        f"{prefix}_precision_macro": ..., f"{prefix}_recall_macro": ...,
        [f"{prefix}_hamming_loss": ...,] f"{prefix}_f1_<label>": ...}``. Division by zero
        (a label never true and never predicted) counts as 0.
    """
    yt, yp = _check_indicators(Y_true, Y_pred, labels)
    p = _prefixed(prefix)
    if yt.shape[0] == 0:
        raise DataError("classification_metrics needs at least one document.")
    precision, recall, f1, _ = precision_recall_fscore_support(
        yt, yp, average=None, zero_division=0
    )
    _, _, f1_micro, _ = precision_recall_fscore_support(yt, yp, average="micro", zero_division=0)
    out: dict[str, float] = {
        f"{p}f1_macro": float(np.mean(f1)),
        f"{p}f1_micro": float(f1_micro),
        f"{p}precision_macro": float(np.mean(precision)),
        f"{p}recall_macro": float(np.mean(recall)),
        f"{p}accuracy": float(np.mean((yt == yp).all(axis=1))),
    }
    if multilabel:
        out[f"{p}hamming_loss"] = float(np.mean(yt != yp))
    for name, value in zip(metric_label_names(labels), f1, strict=True):
        out[f"{p}f1_{name}"] = float(value)
    return out


def classification_report_frame(
    Y_true: np.ndarray,
    Y_pred: np.ndarray,
    labels: Sequence[str],
    *,
    multilabel: bool = False,
) -> pd.DataFrame:
    """Per-label precision, recall, F1 and support, then the averages (for CSV / JSON reports).

    Args:
        Y_true: True 0/1 indicators, shape (n_docs, n_labels).
        Y_pred: Predicted 0/1 indicators, same shape.
        labels: Label names aligned with the columns.
        multilabel: Adds a ``samples avg`` row (averaged over articles).

    Returns:
        Index ``label`` (the label names in ``labels`` order, then ``micro avg``, ``macro avg``,
        ``weighted avg`` and, when multi-label, ``samples avg``); columns ``precision``,
        ``recall``, ``f1`` (float) and ``support`` (int: true occurrences; the total for the
        average rows).
    """
    yt, yp = _check_indicators(Y_true, Y_pred, labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        yt, yp, average=None, zero_division=0
    )
    names = [str(x) for x in labels]
    rows = [(precision[i], recall[i], f1[i], int(support[i])) for i in range(len(names))]
    total = int(support.sum())
    averages = [*REPORT_AVERAGES, "samples avg"] if multilabel else list(REPORT_AVERAGES)
    for average in averages:
        p, r, f, _ = precision_recall_fscore_support(
            yt, yp, average=average.split()[0], zero_division=0
        )
        rows.append((p, r, f, total))
    frame = pd.DataFrame(
        rows,
        columns=["precision", "recall", "f1", "support"],
        index=pd.Index([*names, *averages], name="label"),
    )
    frame[["precision", "recall", "f1"]] = frame[["precision", "recall", "f1"]].astype(float)
    frame["support"] = frame["support"].astype(int)
    return frame


def label_confusion_frame(
    Y_true: np.ndarray, Y_pred: np.ndarray, labels: Sequence[str]
) -> pd.DataFrame:
    """Per-label true/false positives and negatives (one-vs-rest view, any task).

    Returns:
        Columns ``label, tp, fp, fn, tn`` (ints), one row per label in ``labels`` order.
    """
    yt, yp = _check_indicators(Y_true, Y_pred, labels)
    cm = multilabel_confusion_matrix(yt, yp)  # (k, 2, 2): [[tn, fp], [fn, tp]]
    return pd.DataFrame(
        {
            "label": [str(x) for x in labels],
            "tp": cm[:, 1, 1].astype(int),
            "fp": cm[:, 0, 1].astype(int),
            "fn": cm[:, 1, 0].astype(int),
            "tn": cm[:, 0, 0].astype(int),
        }
    )


def threshold_metrics(
    labels: Sequence[str], thresholds: np.ndarray | Sequence[float] | None
) -> dict[str, float]:
    """The per-label decision thresholds as ``{"threshold_<label>": value}`` for logging.

    Returns an empty dict when ``thresholds`` is None (single-label models use the argmax).
    """
    if thresholds is None:
        return {}
    values = np.asarray(thresholds, dtype=np.float64)
    if values.shape != (len(labels),):
        raise DataError(
            f"Expected one threshold per label ({len(labels)}); received shape {values.shape}."
        )
    return {
        f"threshold_{name}": float(v)
        for name, v in zip(metric_label_names(labels), values, strict=True)
    }
