"""evaluate_classifier and its reports, with a fake classifier that scores by keyword."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from arnews_ml.classify.evaluate import (
    CONFUSION_PNG,
    ERRORS_CSV,
    LABEL_CONFUSION_PNG,
    PR_CURVES_PNG,
    REPORT_CSV,
    evaluate_classifier,
    write_evaluation_reports,
)
from arnews_ml.classify.metrics import classification_metrics
from arnews_ml.classify.targets import to_indicator
from arnews_ml.exceptions import DataError

# diacritics, tatweel, Latin and digits, as the house style asks
TEXTS = [
    "فَازَ المنتخب بالمباراة 2-1",
    "الاقتصـــاد ينمو بنسبة 3% حسب IMF",
    "المنتخب والاقتصاد: ملعب جديد بتمويل حكومي",
    "خبر عن الطقس",
]
KEYWORDS = {"sports": "المنتخب", "economy": "الاقتصاد"}


class KeywordClassifier:
    """Scores 0.9 for a label whose keyword is in the text (tatweel removed), else 0.1."""

    def __init__(self, multilabel: bool) -> None:
        self.labels_ = ["economy", "sports"]
        self.multilabel_ = multilabel

    def predict_scores(self, texts: list[str]) -> pd.DataFrame:
        rows = [
            [0.9 if KEYWORDS[lab] in t.replace("ـ", "") else 0.1 for lab in self.labels_]
            for t in texts
        ]
        return pd.DataFrame(rows, columns=[f"score_{lab}" for lab in self.labels_])

    def predict_from_scores(self, scores: np.ndarray) -> list[list[str]]:
        if self.multilabel_:
            return [
                [lab for lab, s in zip(self.labels_, row, strict=True) if s > 0.5] for row in scores
            ]
        return [[self.labels_[int(np.argmax(row))]] for row in scores]

    def binarize(self, labels, *, unknown="error"):
        return to_indicator(labels, self.labels_, unknown=unknown)


def test_multilabel_scores_match_classification_metrics_and_count_unknown_labels():
    clf = KeywordClassifier(multilabel=True)
    truth = [["sports"], ["economy"], ["sports", "economy"], ["weather", "سياسة"]]
    result = evaluate_classifier(clf, TEXTS, truth, ids=["a", "b", "c", "d"])
    expected = classification_metrics(
        to_indicator(truth, clf.labels_, unknown="ignore"),
        to_indicator(result.predicted, clf.labels_),
        clf.labels_,
        multilabel=True,
    )
    assert result.metrics == pytest.approx(expected)
    assert result.metrics["test_f1_macro"] == pytest.approx(1.0)
    assert result.unknown_labels == {"weather": 1, "سياسة": 1}
    assert result.n_docs_with_unknown_labels == 1 and result.n_docs == 4
    assert result.y_true.shape == result.scores.shape == (4, 2)


def test_prefix_and_single_label():
    clf = KeywordClassifier(multilabel=False)
    result = evaluate_classifier(clf, TEXTS[:2], [["sports"], ["sports"]], prefix="holdout")
    assert result.metrics["holdout_accuracy"] == pytest.approx(0.5)
    assert "holdout_hamming_loss" not in result.metrics and result.unknown_labels == {}


def test_reports_are_written(tmp_path: Path):
    multi = evaluate_classifier(KeywordClassifier(True), TEXTS[:3], [["sports"], ["economy"], []])
    paths = write_evaluation_reports(multi, tmp_path / "m")
    assert {p.name for p in paths} == {REPORT_CSV, LABEL_CONFUSION_PNG, PR_CURVES_PNG, ERRORS_CSV}
    assert all(p.stat().st_size > 0 for p in paths)
    report = pd.read_csv(tmp_path / "m" / REPORT_CSV, index_col="label")
    assert list(report.index[:2]) == ["economy", "sports"]
    single = evaluate_classifier(KeywordClassifier(False), TEXTS[:2], [["sports"], ["economy"]])
    names = {p.name for p in write_evaluation_reports(single, tmp_path / "s")}
    assert CONFUSION_PNG in names and LABEL_CONFUSION_PNG not in names


def test_bad_input():
    with pytest.raises(DataError, match="at least one"):
        evaluate_classifier(KeywordClassifier(True), [], [])
    with pytest.raises(DataError, match="same articles"):
        evaluate_classifier(KeywordClassifier(True), TEXTS, [["sports"]])
