"""Score a fitted classifier on new labelled articles: metrics, unknown labels, reports and plots.

The scoring follows training (``tasks/train_classifier.py``): labels the model does not know
are ignored in the indicator matrices (they cannot be predicted) and counted instead, and the
metric names are those of :func:`~arnews_ml.classify.metrics.classification_metrics`
(``test_f1_macro``, ...). No MLflow here: :mod:`arnews_ml.tracking.evaluation` logs the result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arnews_ml.classify.metrics import classification_metrics, classification_report_frame
from arnews_ml.classify.plots import (
    plot_confusion_matrix,
    plot_label_confusion,
    plot_precision_recall,
)
from arnews_ml.classify.report import prediction_errors_frame
from arnews_ml.exceptions import DataError

__all__ = [
    "CONFUSION_PNG",
    "ERRORS_CSV",
    "LABEL_CONFUSION_PNG",
    "PR_CURVES_PNG",
    "REPORT_CSV",
    "ClassifierEvaluation",
    "evaluate_classifier",
    "write_evaluation_plots",
    "write_evaluation_reports",
]

# Artifact file names: the same as a training run's, so the two read alike in MLflow.
REPORT_CSV = "classification_report.csv"
CONFUSION_PNG = "confusion_matrix.png"
LABEL_CONFUSION_PNG = "label_confusion.png"
PR_CURVES_PNG = "precision_recall.png"
ERRORS_CSV = "predictions_worst_first.csv"


@dataclass
class ClassifierEvaluation:
    """A classifier's scores on a labelled set of articles.

    Attributes:
        metrics: ``{"<prefix>_f1_macro": ..., ...}`` as from ``classification_metrics``.
        labels: The model's labels (the columns of the matrices).
        multilabel: The model's task.
        ids: Article ids of the scored rows.
        texts: Their texts.
        true_labels: Their label lists as given (unknown labels included).
        predicted: The predicted label lists.
        y_true: True 0/1 indicators, shape (n_docs, n_labels); unknown labels left out.
        y_pred: Predicted 0/1 indicators, same shape.
        scores: The model's scores, same shape.
        unknown_labels: Label -> number of articles carrying it, for labels the model does
            not know (ignored in the scores).
    """

    metrics: dict[str, float]
    labels: tuple[str, ...]
    multilabel: bool
    ids: list[str]
    texts: list[str]
    true_labels: list[list[str]]
    predicted: list[list[str]]
    y_true: np.ndarray
    y_pred: np.ndarray
    scores: np.ndarray
    unknown_labels: dict[str, int] = field(default_factory=dict)

    @property
    def n_docs(self) -> int:
        """Number of articles scored."""
        return len(self.ids)

    @property
    def n_docs_with_unknown_labels(self) -> int:
        """Articles carrying at least one label the model does not know."""
        known = set(self.labels)
        return sum(1 for row in self.true_labels if any(lab not in known for lab in row))

    def report(self) -> pd.DataFrame:
        """Per-label precision, recall, F1 and support, then the averages."""
        return classification_report_frame(
            self.y_true, self.y_pred, list(self.labels), multilabel=self.multilabel
        )


def evaluate_classifier(
    classifier: Any,
    texts: Sequence[str],
    labels: Sequence[Sequence[str]],
    *,
    ids: Sequence[str] | None = None,
    prefix: str = "test",
    scores: Any = None,
) -> ClassifierEvaluation:
    """Predict ``texts`` with a fitted classifier and score the predictions against ``labels``.

    Args:
        classifier: A fitted :class:`~arnews_ml.classify.model.TextClassifier` (anything with
            ``labels_``, ``multilabel_``, ``predict_scores``, ``predict_from_scores`` and
            ``binarize``).
        texts: The articles.
        labels: One list of true labels per article; labels the model does not know are
            counted in ``unknown_labels`` and otherwise ignored, as in training.
        ids: Article ids (default ``0..n-1``).
        prefix: Metric name prefix (``test`` gives ``test_f1_macro``, ...).
        scores: The classifier's scores of ``texts`` when the caller has them already
            (``predict_scores`` output); default: computed here.

    Returns:
        The metrics, matrices and unknown-label counts.

    Raises:
        DataError: No articles, or ``texts``, ``labels`` and ``ids`` of different lengths.
    """
    texts = [str(t) for t in texts]
    rows = [[str(x) for x in row] for row in labels]
    ids = [str(i) for i in ids] if ids is not None else [str(i) for i in range(len(texts))]
    if not texts:
        raise DataError("evaluate_classifier needs at least one labelled article; got none.")
    if not len(texts) == len(rows) == len(ids):
        raise DataError(
            f"texts ({len(texts)}), labels ({len(rows)}) and ids ({len(ids)}) must describe "
            "the same articles."
        )
    model_labels = tuple(str(x) for x in classifier.labels_)
    known = set(model_labels)
    unknown = Counter(lab for row in rows for lab in dict.fromkeys(row) if lab not in known)

    if scores is None:
        scores = classifier.predict_scores(texts)
    scores = np.asarray(scores, dtype=np.float64)
    predicted = [list(p) for p in classifier.predict_from_scores(scores)]
    y_true = classifier.binarize(rows, unknown="ignore")
    y_pred = classifier.binarize(predicted)
    metrics = classification_metrics(
        y_true, y_pred, model_labels, multilabel=bool(classifier.multilabel_), prefix=prefix
    )
    return ClassifierEvaluation(
        metrics=metrics,
        labels=model_labels,
        multilabel=bool(classifier.multilabel_),
        ids=ids,
        texts=texts,
        true_labels=rows,
        predicted=predicted,
        y_true=np.asarray(y_true),
        y_pred=np.asarray(y_pred),
        scores=scores,
        unknown_labels=dict(sorted(unknown.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def write_evaluation_reports(
    evaluation: ClassifierEvaluation,
    out_dir: str | Path,
    *,
    worst: int = 200,
    errors_file: str = ERRORS_CSV,
    plots: bool = True,
) -> list[Path]:
    """Write the classification report CSV, the plots and the worst predictions into ``out_dir``.

    Files: :data:`REPORT_CSV`; the plots of :func:`write_evaluation_plots` unless ``plots`` is
    false; ``errors_file`` (default :data:`ERRORS_CSV`: the ``worst`` worst predictions first).

    Returns:
        The written paths.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    evaluation.report().to_csv(out / REPORT_CSV, index=True)
    paths = [out / REPORT_CSV]
    if plots:
        paths += write_evaluation_plots(evaluation, out)
    errors = prediction_errors_frame(
        evaluation.ids,
        evaluation.texts,
        evaluation.true_labels,
        evaluation.predicted,
        evaluation.scores,
        list(evaluation.labels),
        multilabel=evaluation.multilabel,
    )
    errors.head(worst).to_csv(out / errors_file, index=False)
    paths.append(out / errors_file)
    return paths


def write_evaluation_plots(evaluation: ClassifierEvaluation, out_dir: str | Path) -> list[Path]:
    """Write the evaluation's plots into ``out_dir``: :data:`LABEL_CONFUSION_PNG` (multi-label)
    or :data:`CONFUSION_PNG` (single-label), and :data:`PR_CURVES_PNG`.

    Returns:
        The written paths.
    """
    out = Path(out_dir)
    labels = list(evaluation.labels)
    if evaluation.multilabel:
        path = out / LABEL_CONFUSION_PNG
        plot_label_confusion(evaluation.y_true, evaluation.y_pred, labels, path)
    else:
        path = out / CONFUSION_PNG
        plot_confusion_matrix(evaluation.y_true, evaluation.y_pred, labels, path)
    plot_precision_recall(evaluation.y_true, evaluation.scores, labels, out / PR_CURVES_PNG)
    return [path, out / PR_CURVES_PNG]
