"""Evaluation plots as matplotlib Figures (no pyplot state), optionally written as PNG files.

Label names that are not printable ASCII are drawn as ``label_<i>`` (Arabic text would need
shaping and bidi reordering to render correctly); the CSV reports keep the real names.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from arnews_ml.exceptions import DataError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "display_labels",
    "plot_confusion_matrix",
    "plot_label_confusion",
    "plot_precision_recall",
    "save_figure",
]

_DPI = 120


def display_labels(labels: Sequence[str]) -> list[str]:
    """Names safe to draw: printable-ASCII labels as they are, others as ``label_<i>``."""
    return [
        str(lab) if str(lab).isascii() and str(lab).isprintable() else f"label_{i}"
        for i, lab in enumerate(labels)
    ]


def _new_figure(width: float, height: float) -> Figure:
    # The object API renders through Agg when saved, without touching pyplot's global backend.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG (parent folders created) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, format="png", dpi=_DPI)
    return target


def _as_index(Y: np.ndarray, k: int, name: str) -> np.ndarray:
    arr = np.asarray(Y)
    if arr.ndim == 2:
        if arr.shape[1] != k:
            raise DataError(f"{name} has {arr.shape[1]} columns for {k} labels.")
        return arr.argmax(axis=1)
    if arr.ndim == 1:
        return arr.astype(int)
    raise DataError(f"{name} must be class indices (n,) or one-hot rows (n, {k}).")


def _check_2d(Y: np.ndarray, k: int, name: str) -> np.ndarray:
    arr = np.asarray(Y)
    if arr.ndim != 2 or arr.shape[1] != k:
        raise DataError(f"{name} must have shape (n_docs, {k}); received {arr.shape}.")
    return arr


def plot_confusion_matrix(
    Y_true: np.ndarray,
    Y_pred: np.ndarray,
    labels: Sequence[str],
    path: str | Path | None = None,
    *,
    normalize: Literal["true"] | None = None,
) -> Figure:
    """Confusion matrix of a single-label classifier (rows: true, columns: predicted).

    Args:
        Y_true: True classes as one-hot rows (n_docs, n_labels) or indices (n_docs,).
        Y_pred: Predicted classes, same forms.
        labels: Label names, in column / index order.
        path: Where to write the PNG, or None.
        normalize: ``"true"`` shows each row as shares of the true class; None shows counts.

    Returns:
        The figure.
    """
    k = len(labels)
    yt = _as_index(Y_true, k, "Y_true")
    yp = _as_index(Y_pred, k, "Y_pred")
    if yt.shape != yp.shape:
        raise DataError(f"Y_true has {yt.shape[0]} rows but Y_pred has {yp.shape[0]}.")
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (yt, yp), 1)
    values = cm.astype(float)
    if normalize == "true":
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)

    size = max(4.0, 0.55 * k + 2.5)
    fig = _new_figure(size + 1.0, size)
    ax = fig.subplots()
    image = ax.imshow(values, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, shrink=0.8)
    names = display_labels(labels)
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix" + (" (share of true class)" if normalize else ""))
    if k <= 30:
        high = values.max() if values.size else 0
        for i in range(k):
            for j in range(k):
                text = f"{values[i, j]:.2f}" if normalize else str(cm[i, j])
                colour = "white" if high and values[i, j] > high / 2 else "black"
                ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=8)
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_label_confusion(
    Y_true: np.ndarray,
    Y_pred: np.ndarray,
    labels: Sequence[str],
    path: str | Path | None = None,
) -> Figure:
    """Per-label outcome counts of a multi-label classifier as stacked horizontal bars.

    Each bar stacks true positives, false negatives and false positives; the true negatives
    (usually most articles) are written at the end of the bar instead of drawn.

    Args:
        Y_true: True 0/1 indicators, shape (n_docs, n_labels).
        Y_pred: Predicted 0/1 indicators, same shape.
        labels: Label names aligned with the columns.
        path: Where to write the PNG, or None.

    Returns:
        The figure.
    """
    k = len(labels)
    yt = _check_2d(Y_true, k, "Y_true").astype(bool)
    yp = _check_2d(Y_pred, k, "Y_pred").astype(bool)
    tp = (yt & yp).sum(axis=0)
    fn = (yt & ~yp).sum(axis=0)
    fp = (~yt & yp).sum(axis=0)
    tn = (~yt & ~yp).sum(axis=0)

    fig = _new_figure(8.0, max(2.5, 0.4 * k + 1.5))
    ax = fig.subplots()
    rows = np.arange(k)
    left = np.zeros(k)
    for values, name, colour in (
        (tp, "true positive", "#2ca02c"),
        (fn, "false negative", "#ff7f0e"),
        (fp, "false positive", "#d62728"),
    ):
        ax.barh(rows, values, left=left, color=colour, label=name)
        left = left + values
    for i in range(k):
        ax.text(left[i], i, f"  TN={int(tn[i])}", va="center", fontsize=8)
    ax.set_yticks(rows, display_labels(labels))
    ax.invert_yaxis()
    ax.set_xlabel("articles")
    ax.set_xlim(0, max(1.0, float(left.max()) * 1.25))
    ax.set_title("Per-label outcomes (multi-label)")
    ax.legend(loc="lower right", fontsize=8)
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_precision_recall(
    Y_true: np.ndarray,
    scores: np.ndarray,
    labels: Sequence[str],
    path: str | Path | None = None,
) -> Figure:
    """Precision-recall curves, one per label, with average precision (AP) in the legend.

    Labels without a positive article are listed in the legend but have no curve.

    Args:
        Y_true: True 0/1 indicators, shape (n_docs, n_labels) (one-hot for single-label).
        scores: Scores, same shape, columns aligned with ``labels``.
        labels: Label names.
        path: Where to write the PNG, or None.

    Returns:
        The figure.
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    k = len(labels)
    yt = _check_2d(Y_true, k, "Y_true")
    S = _check_2d(scores, k, "scores").astype(float)
    if yt.shape[0] != S.shape[0]:
        raise DataError(f"Y_true has {yt.shape[0]} rows but scores has {S.shape[0]}.")

    from matplotlib import colormaps

    cmap = colormaps["tab10" if k <= 10 else "tab20"]
    fig = _new_figure(9.0 if k > 10 else 7.5, 5.5)
    ax = fig.subplots()
    for j, name in enumerate(display_labels(labels)):
        colour = cmap(j % cmap.N)
        if not yt[:, j].any():
            ax.plot([], [], color=colour, label=f"{name} (no positives)")
            continue
        precision, recall, _ = precision_recall_curve(yt[:, j], S[:, j])
        ap = average_precision_score(yt[:, j], S[:, j])
        ax.step(recall, precision, where="post", color=colour, label=f"{name} (AP={ap:.2f})")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Precision-recall per label")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    if path is not None:
        save_figure(fig, path)
    return fig
