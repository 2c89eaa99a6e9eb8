"""Error analysis tables: the test predictions ranked from the worst error down."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from arnews_ml.classify.targets import label_rows, to_indicator
from arnews_ml.exceptions import DataError

__all__ = ["ERROR_COLUMNS", "prediction_errors_frame"]

ERROR_COLUMNS = ("id", "text", "true", "predicted", "correct", "error", "top_scores")
LABEL_JOIN = "|"


def _score_matrix(scores: Any, labels: Sequence[str]) -> np.ndarray:
    if isinstance(scores, pd.DataFrame):
        columns = [f"score_{lab}" for lab in labels]
        missing = [c for c in columns if c not in scores.columns]
        if missing:
            raise DataError(f"The scores frame lacks the columns {', '.join(missing)}.")
        scores = scores[columns]
    return np.asarray(scores, dtype=np.float64)


def prediction_errors_frame(
    ids: Sequence[Any] | None,
    texts: Sequence[str],
    true_labels: Sequence[Sequence[str]],
    pred_labels: Sequence[Sequence[str]],
    scores: np.ndarray | pd.DataFrame,
    labels: Sequence[str],
    *,
    multilabel: bool | None = None,
    text_chars: int = 200,
    top_k: int = 3,
) -> pd.DataFrame:
    """Predictions with the worst errors first, for a CSV artifact.

    The error is a severity score: for single-label, ``1 - score`` of the true label; for
    multi-label, the sum over labels of ``|y - score|`` (missed labels and confident false
    alarms both count). Ties keep the input order.

    Args:
        ids: Article ids, or None for 0..n-1.
        texts: Article texts (cut to ``text_chars`` characters).
        true_labels: True label lists.
        pred_labels: Predicted label lists.
        scores: Shape (n_docs, n_labels) in ``labels`` order, or a ``score_<label>`` frame.
        labels: The model's labels (``TextClassifier.labels_``).
        multilabel: The model's task (``TextClassifier.multilabel_``); None infers
            single-label when every true and predicted row has exactly one label and the
            scores of each row sum to 1.
        text_chars: Characters of text kept.
        top_k: Highest scores listed in ``top_scores``.

    Returns:
        Columns ``id, text, true, predicted, correct, error, top_scores``: label lists joined
        with ``|``, ``correct`` (bool: predicted set equals true set), ``top_scores`` like
        ``"sports:0.91|politics:0.12"``; sorted by ``error`` descending.
    """
    n = len(texts)
    ids = list(range(n)) if ids is None else list(ids)
    true_rows = label_rows(true_labels, n, "true_labels")
    pred_rows = label_rows(pred_labels, n, "pred_labels")
    if len(ids) != n:
        raise DataError(f"'ids' has {len(ids)} rows but there are {n} texts.")
    S = _score_matrix(scores, labels)
    if S.shape != (n, len(labels)):
        raise DataError(
            f"scores must have shape ({n}, {len(labels)}) for {n} texts and {len(labels)} "
            f"labels; received {S.shape}."
        )
    Y = to_indicator(true_rows, labels, unknown="ignore", name="true_labels")
    if multilabel is None:
        multilabel = not (
            all(len(r) == 1 for r in true_rows)
            and all(len(r) == 1 for r in pred_rows)
            and np.allclose(S.sum(axis=1), 1.0, atol=1e-6)
        )
    # single-label: a true label the model does not know counts as a full error (1.0)
    error = np.abs(Y - S).sum(axis=1) if multilabel else 1.0 - (S * Y).sum(axis=1)

    order = np.argsort(-S, axis=1, kind="stable")[:, :top_k]
    top = [LABEL_JOIN.join(f"{labels[j]}:{S[i, j]:.2f}" for j in order[i]) for i in range(n)]
    frame = pd.DataFrame(
        {
            "id": ids,
            "text": [str(t)[:text_chars] for t in texts],
            "true": [LABEL_JOIN.join(r) for r in true_rows],
            "predicted": [LABEL_JOIN.join(r) for r in pred_rows],
            "correct": [set(t) == set(p) for t, p in zip(true_rows, pred_rows, strict=True)],
            "error": error.astype(float),
            "top_scores": top,
        },
        columns=list(ERROR_COLUMNS),
    )
    return frame.sort_values("error", ascending=False, kind="stable").reset_index(drop=True)
