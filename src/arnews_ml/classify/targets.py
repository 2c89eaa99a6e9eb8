"""Checking texts and label lists, and deciding single- vs multi-label (helpers of TextClassifier)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np

from arnews_ml.exceptions import ConfigError, DataError

__all__ = [
    "TASKS",
    "check_label_set",
    "check_texts",
    "label_rows",
    "resolve_multilabel",
    "to_indicator",
]

Task = Literal["auto", "multilabel", "multiclass"]
TASKS: tuple[str, ...] = ("auto", "multilabel", "multiclass")
_SHOW = 5  # rows named in an error message


def _rows_text(rows: Sequence[int]) -> str:
    shown = ", ".join(str(i) for i in rows[:_SHOW])
    return shown + (f" (and {len(rows) - _SHOW} more)" if len(rows) > _SHOW else "")


def check_texts(texts: Any, name: str = "texts") -> list[str]:
    """A list of str, one per article; DataError naming the first rows that are not strings."""
    if isinstance(texts, str | bytes):
        raise DataError(
            f"'{name}' must be a list of article texts, not a single string; wrap it: [text]."
        )
    try:
        out = list(texts)
    except TypeError:
        raise DataError(
            f"'{name}' must be a list of article texts; received {type(texts).__name__}."
        ) from None
    bad = [i for i, t in enumerate(out) if not isinstance(t, str)]
    if bad:
        raise DataError(
            f"'{name}' rows {_rows_text(bad)} are not strings (first: {out[bad[0]]!r}); "
            "fill or drop missing texts before fitting or predicting."
        )
    return out


def label_rows(labels: Any, n_texts: int, name: str = "labels") -> list[list[str]]:
    """Normalise labels to one list of distinct label names per article.

    A bare string in a row counts as a one-label list and ``None`` as no label; anything else
    must be an iterable of non-empty strings.
    """
    if isinstance(labels, str | bytes):
        raise DataError(f"'{name}' must hold one list of labels per article, not a single string.")
    try:
        raw = list(labels)
    except TypeError:
        raise DataError(
            f"'{name}' must hold one list of labels per article; received {type(labels).__name__}."
        ) from None
    if len(raw) != n_texts:
        raise DataError(
            f"'{name}' has {len(raw)} rows but there are {n_texts} texts; give one list of "
            "labels per article."
        )
    rows: list[list[str]] = []
    for i, row in enumerate(raw):
        if row is None:
            items: list[Any] = []
        elif isinstance(row, str):
            items = [row]
        else:
            try:
                items = list(row)
            except TypeError:
                raise DataError(
                    f"Row {i} of '{name}' is {row!r}; expected a list of label names "
                    "(e.g. ['politics']). Fill or drop rows with missing labels."
                ) from None
        bad = [x for x in items if not isinstance(x, str) or not x.strip()]
        if bad:
            raise DataError(
                f"Row {i} of '{name}' has {bad[0]!r}, which is not a label name; labels must be "
                "non-empty strings."
            )
        rows.append(list(dict.fromkeys(items)))
    return rows


def resolve_multilabel(task: str, rows: Sequence[Sequence[str]]) -> bool:
    """Decide the task: forced by ``task``, else multi-label iff some article has 2+ labels.

    Raises:
        ConfigError: ``task`` is not one of :data:`TASKS`.
        DataError: Single-label and a row has no label or (forced) several labels.
    """
    if task not in TASKS:
        raise ConfigError(
            f"TextClassifier 'task' must be one of {', '.join(TASKS)}; received {task!r}."
        )
    multi = [i for i, r in enumerate(rows) if len(r) >= 2]
    if task == "multilabel" or (task == "auto" and multi):
        return True
    if multi:
        i = multi[0]
        raise DataError(
            f"task=multiclass takes exactly one label per article, but rows "
            f"{_rows_text(multi)} of the training labels have several (row {i}: "
            f"{', '.join(rows[i])}). Set task=multilabel (or task=auto)."
        )
    empty = [i for i, r in enumerate(rows) if not r]
    if empty:
        raise DataError(
            f"Rows {_rows_text(empty)} of the training labels have no label; single-label "
            "classification needs exactly one per article. Drop those articles, or set "
            "task=multilabel to treat them as having none of the labels."
        )
    return False


def check_label_set(
    rows: Sequence[Sequence[str]],
    label_set: Iterable[str] | None,
    val_rows: Sequence[Sequence[str]] | None,
) -> list[str]:
    """The sorted label set, checked so that every label has at least one training article.

    Args:
        rows: Training labels per article.
        label_set: The known labels (e.g. the corpus label set), or None for those in ``rows``.
        val_rows: Validation labels per article, or None.

    Raises:
        DataError: A training label outside ``label_set``, a label with no positive training
            example, a validation label never seen in training, or fewer than two labels.
    """
    seen = {lab for r in rows for lab in r}
    if label_set is None:
        labels = sorted(seen)
    else:
        labels = sorted(set(label_set))
        unknown = sorted(seen.difference(labels))
        if unknown:
            i = next(i for i, r in enumerate(rows) if unknown[0] in r)
            raise DataError(
                f"Training label {unknown[0]!r} (row {i}) is not in label_set "
                f"({', '.join(labels)}); add it to the label set or fix the row."
            )
    if val_rows is not None:
        for i, r in enumerate(val_rows):
            for lab in r:
                if lab not in seen and lab not in labels:
                    raise DataError(
                        f"Validation row {i} has label {lab!r}, which no training article has; "
                        "a classifier cannot learn it. Re-split so every label occurs in "
                        "training, or drop the label."
                    )
    missing = [lab for lab in labels if lab not in seen]
    if missing:
        raise DataError(
            f"Label {missing[0]!r} has no positive training example"
            + (f" (nor do: {', '.join(missing[1:])})" if len(missing) > 1 else "")
            + "; a classifier cannot learn it. Add training articles with it, re-split so it "
            "occurs in training, or drop it from the label set."
        )
    if len(labels) < 2:
        raise DataError(
            f"Only one label ({', '.join(labels) or 'none'}) occurs in the training data; a "
            "classifier needs at least two labels."
        )
    return labels


def to_indicator(
    rows: Sequence[Sequence[str]],
    labels: Sequence[str],
    *,
    unknown: Literal["error", "ignore"] = "error",
    name: str = "labels",
) -> np.ndarray:
    """0/1 indicator matrix (n_docs, n_labels), int8, columns in ``labels`` order."""
    index = {lab: j for j, lab in enumerate(labels)}
    Y = np.zeros((len(rows), len(labels)), dtype=np.int8)
    for i, r in enumerate(rows):
        for lab in r:
            j = index.get(lab)
            if j is None:
                if unknown == "ignore":
                    continue
                raise DataError(
                    f"Row {i} of '{name}' has label {lab!r}, which the model does not know "
                    f"(labels: {', '.join(labels)}). Fix the row, or pass unknown='ignore'."
                )
            Y[i, j] = 1
    return Y
