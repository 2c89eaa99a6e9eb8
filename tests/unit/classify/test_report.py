"""The worst-errors-first prediction table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arnews_ml.classify.report import ERROR_COLUMNS, prediction_errors_frame


def test_multiclass_errors_sorted_worst_first():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    frame = prediction_errors_frame(
        ["d1", "d2", "d3"],
        ["نص أول", "نص ثانٍ", "نص ثالث"],
        [["a"], ["a"], ["b"]],
        [["a"], ["b"], ["a"]],
        scores,
        ["a", "b"],
    )
    assert list(frame.columns) == list(ERROR_COLUMNS)
    assert frame["id"].tolist() == ["d2", "d3", "d1"]
    assert frame["error"].tolist() == pytest.approx([0.8, 0.6, 0.1])  # 1 - score of true label
    assert frame["correct"].tolist() == [False, False, True]
    assert frame.loc[0, "top_scores"] == "b:0.80|a:0.20"


def test_multilabel_error_is_sum_of_absolute_gaps():
    scores = pd.DataFrame({"score_a": [0.9, 0.5], "score_b": [0.8, 0.5], "score_c": [0.1, 0.5]})
    frame = prediction_errors_frame(
        None,
        ["x" * 300, "y"],
        [["a", "b"], ["c"]],
        [["a", "b"], ["a", "b", "c"]],
        scores,
        ["a", "b", "c"],
        multilabel=True,
    )
    # row 0: 0.1 + 0.2 + 0.1 = 0.4; row 1: 0.5 + 0.5 + 0.5 = 1.5
    assert frame["id"].tolist() == [1, 0]
    assert frame["error"].tolist() == pytest.approx([1.5, 0.4])
    assert frame["true"].tolist() == ["c", "a|b"]
    assert frame["predicted"].tolist() == ["a|b|c", "a|b"]
    assert frame["correct"].tolist() == [False, True]
    assert len(frame.loc[1, "text"]) == 200


def test_ties_keep_input_order():
    scores = np.array([[0.5, 0.5], [0.5, 0.5]])
    frame = prediction_errors_frame(
        [7, 8], ["p", "q"], [["a"], ["a"]], [["a"], ["a"]], scores, ["a", "b"]
    )
    assert frame["id"].tolist() == [7, 8]
