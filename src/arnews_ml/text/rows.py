"""Per-row input errors at prediction time: a text that is not a non-empty string gets an
``error`` and no prediction, and the other rows are predicted as usual."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

__all__ = ["ERROR_COLUMN", "predict_rows", "text_problem"]

ERROR_COLUMN = "error"


def text_problem(value: Any) -> str | None:
    """Why ``value`` cannot be predicted on (``text is empty``, ...), or None when it can."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "text is missing"
    if not isinstance(value, str):
        return f"text must be a string, got {type(value).__name__}"
    if not value.strip():
        return "text is empty"
    return None


def predict_rows(
    texts: Sequence[Any], predict: Callable[[list[str]], pd.DataFrame]
) -> pd.DataFrame:
    """``predict`` on the rows that hold a non-empty string, one output row per input row.

    When some rows cannot be predicted, the frame gets an :data:`ERROR_COLUMN` (None on the
    predicted rows, the reason on the others, whose other cells are None).
    """
    texts = list(texts)
    problems = [text_problem(t) for t in texts]
    good = [i for i, problem in enumerate(problems) if problem is None]
    frame = predict([texts[i] for i in good])
    if len(good) == len(texts):
        return frame
    frame.index = pd.Index(good)
    out = frame.reindex(range(len(texts))).astype(object)
    out = out.where(out.notna(), None)  # empty cells are null (JSON has no NaN)
    out[ERROR_COLUMN] = pd.Series(problems, dtype=object)
    return out
