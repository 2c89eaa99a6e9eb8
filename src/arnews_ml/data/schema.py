"""The canonical corpus columns, the ColumnMap that maps input names onto them, and label parsing."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from arnews_ml.exceptions import ConfigError, DataError

__all__ = [
    "CANONICAL_COLUMNS",
    "COLUMN_KWARGS",
    "LABEL_FORMATS",
    "PRIVATE_COLUMNS",
    "SPLIT_NAMES",
    "ColumnMap",
    "LabelFormat",
    "normalize_split_values",
    "parse_labels",
]

CANONICAL_COLUMNS: tuple[str, ...] = ("id", "text", "labels", "date", "source", "title")
"""Columns of every corpus frame, in this order (plus ``split`` when the corpus has one)."""

SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")

# Provenance carried from io to validate, dropped from the clean frame.
FILE_COL = "_file"
ROW_COL = "_row"
ERROR_COL = "_error"
ERROR_DETAIL_COL = "_error_detail"
ID_GENERATED_COL = "_id_generated"
DATE_UNPARSEABLE_COL = "_date_unparseable"
PRIVATE_COLUMNS: tuple[str, ...] = (
    FILE_COL,
    ROW_COL,
    ERROR_COL,
    ERROR_DETAIL_COL,
    ID_GENERATED_COL,
    DATE_UNPARSEABLE_COL,
)

LabelFormat = Literal["auto", "list", "delimited", "single", "onehot"]
LABEL_FORMATS: tuple[str, ...] = get_args(LabelFormat)

# load_corpus keyword -> ColumnMap field
COLUMN_KWARGS: dict[str, str] = {
    "text_column": "text",
    "id_column": "id",
    "labels_column": "labels",
    "date_column": "date",
    "source_column": "source",
    "title_column": "title",
    "label_format": "label_format",
    "label_delimiter": "label_delimiter",
    "label_columns": "label_columns",
}

_SPLIT_SYNONYMS: dict[str, str] = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}


@dataclass(frozen=True)
class ColumnMap:
    """Where the canonical fields live in an input file, and how labels are written.

    Attributes:
        text: Input column holding the article text (required).
        id: Input column with a unique id; when absent, ids are generated as
            ``<file stem>:<row>``. ``None`` means "never read ids".
        labels: Input column with the labels (``None``: no labels; ignored for ``onehot``).
        date: Input column with the publication date (``None``: no dates).
        source: Input column with the outlet / source name (``None``: none).
        title: Input column with the headline, kept apart from ``text`` (``None``: none).
        label_format: ``auto`` (detect per value: list, JSON-list string, delimited, single),
            ``list``, ``delimited``, ``single`` or ``onehot`` (one 0/1 column per label).
        label_delimiter: Separator for ``delimited`` (and ``auto``) labels, e.g. ``security|politics``.
        label_columns: The 0/1 columns for ``onehot``; the label name is the column name.

    A column that keeps its default name may be absent from the file; a column given a
    non-default name must exist (a typo should fail loudly, not give an unlabelled corpus).
    """

    text: str = "text"
    id: str | None = "id"
    labels: str | None = "labels"
    date: str | None = "date"
    source: str | None = "source"
    title: str | None = "title"
    label_format: LabelFormat = "auto"
    label_delimiter: str = "|"
    label_columns: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text:
            raise ConfigError(
                f"data.text_column must be a non-empty column name, got {self.text!r}."
            )
        if self.label_format not in LABEL_FORMATS:
            raise ConfigError(
                f"data.label_format must be one of {', '.join(LABEL_FORMATS)}; "
                f"got {self.label_format!r}."
            )
        if not isinstance(self.label_delimiter, str) or not self.label_delimiter:
            raise ConfigError(
                f"data.label_delimiter must be a non-empty string, got {self.label_delimiter!r}."
            )
        if self.label_columns is not None:
            if isinstance(self.label_columns, str):
                cols: tuple[str, ...] = (self.label_columns,)
            else:
                cols = tuple(str(c) for c in self.label_columns)
            object.__setattr__(self, "label_columns", cols)
        if self.label_format == "onehot" and not self.label_columns:
            raise ConfigError(
                "data.label_format=onehot needs data.label_columns, the list of 0/1 columns "
                "(one per label), e.g. data.label_columns=[politics,sports]."
            )

    @classmethod
    def resolve(cls, columns: ColumnMap | None = None, **column_kwargs: Any) -> ColumnMap:
        """Build a ColumnMap from an optional base and ``load_corpus``-style keyword arguments.

        Args:
            columns: A base map (defaults when ``None``).
            **column_kwargs: ``text_column=``, ``id_column=``, ``labels_column=``,
                ``date_column=``, ``source_column=``, ``title_column=``, ``label_format=``,
                ``label_delimiter=``, ``label_columns=``; they override ``columns``.

        Raises:
            ConfigError: An unknown keyword or an invalid value.
        """
        base = columns if columns is not None else cls()
        if not isinstance(base, ColumnMap):
            raise ConfigError(f"columns must be a ColumnMap or None, got {type(base).__name__}.")
        unknown = sorted(set(column_kwargs) - set(COLUMN_KWARGS))
        if unknown:
            raise ConfigError(
                f"Unknown column option(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(COLUMN_KWARGS)}."
            )
        if not column_kwargs:
            return base
        return dataclasses.replace(
            base, **{COLUMN_KWARGS[key]: value for key, value in column_kwargs.items()}
        )

    def is_default(self, field: str) -> bool:
        """Whether ``field`` still has its default input name (then it may be absent)."""
        return getattr(self, field) == _DEFAULTS[field]


_DEFAULTS: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(ColumnMap)}


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return value is pd.NA or value is pd.NaT


def _is_listlike(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray | pd.Series)


def _clean_label_list(items: Iterable[Any]) -> list[str]:
    """Strip, drop empties, de-duplicate (first occurrence wins); raises TypeError on nesting."""
    out: list[str] = []
    for item in items:
        if _is_missing(item):
            continue
        if isinstance(item, dict | list | tuple | np.ndarray):
            raise TypeError(f"a label must be a string, got {type(item).__name__} {item!r}")
        if isinstance(item, float) and item.is_integer():
            item = int(item)
        label = str(item).strip()
        if label and label not in out:
            out.append(label)
    return out


def _parse_json_list(text: str) -> list[str]:
    value = json.loads(text)
    if not isinstance(value, list):
        raise TypeError(f"JSON value is a {type(value).__name__}, not a list")
    return _clean_label_list(value)


def _parse_one(value: Any, fmt: str, delimiter: str) -> list[str]:
    """Parse one input label value into a list of strings; raises ValueError/TypeError."""
    if isinstance(value, Mapping):
        raise TypeError("a labels cell must be a string or a list of strings, got a JSON object")
    if _is_listlike(value):
        if fmt == "single" and len(value) > 1:
            raise TypeError(f"label_format=single but the value is a list of {len(value)}")
        return _clean_label_list(list(value))
    if _is_missing(value):
        return []
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        return []
    if fmt == "single":
        return [text]
    if fmt == "list":
        if not text.startswith("["):
            raise TypeError(f"label_format=list but the value is not a list: {text[:60]!r}")
        return _parse_json_list(text)
    if fmt == "delimited":
        return _clean_label_list(text.split(delimiter))
    # auto
    if text.startswith("{"):
        raise TypeError(f"a labels cell must not be a JSON object: {text[:60]!r}")
    if text.startswith("["):
        return _parse_json_list(text)
    if delimiter in text:
        return _clean_label_list(text.split(delimiter))
    return [text]


_TRUE = frozenset({"1", "1.0", "true", "yes", "y", "t"})
_FALSE = frozenset({"0", "0.0", "false", "no", "n", "f", "", "nan", "none", "<na>"})


def _parse_onehot(raw: pd.DataFrame, columns: tuple[str, ...], file_name: str) -> list[list[str]]:
    flags = np.zeros((len(raw), len(columns)), dtype=bool)
    for j, col in enumerate(columns):
        values = raw[col].astype(object).where(raw[col].notna(), "").astype(str).str.strip()
        values = values.str.lower()
        is_true = values.isin(_TRUE).to_numpy()
        is_false = values.isin(_FALSE).to_numpy()
        bad = ~(is_true | is_false)
        if bad.any():
            examples = sorted(set(values[bad].tolist()))[:5]
            raise DataError(
                f"The one-hot label column {col!r} in {file_name} must hold 0/1 values; "
                f"found {int(bad.sum())} other value(s), e.g. {examples}. "
                "Fix the file or set data.label_format to a non-onehot format."
            )
        flags[:, j] = is_true
    names = np.asarray([c.strip() for c in columns], dtype=object)  # labels are stripped
    return [names[row].tolist() for row in flags]


def parse_labels(
    raw: pd.DataFrame, columns: ColumnMap, file_name: str
) -> tuple[list[list[str]], list[str | None]]:
    """Turn the input label column(s) of ``raw`` into one list of strings per row.

    Args:
        raw: The input table with its own column names.
        columns: Where the labels are and how they are written.
        file_name: Used in error messages.

    Returns:
        ``(labels, errors)``: ``labels[i]`` is a list of label strings (possibly empty, missing
        values give ``[]``); ``errors[i]`` is ``None`` or the reason row ``i`` could not be
        parsed (such rows get ``[]`` and are quarantined by validation).

    Raises:
        DataError: A one-hot column is absent or holds values other than 0/1.
    """
    n = len(raw)
    if columns.label_format == "onehot":
        assert columns.label_columns is not None  # checked in ColumnMap
        missing = [c for c in columns.label_columns if c not in raw.columns]
        if missing:
            raise DataError(
                f"The one-hot label column(s) {', '.join(missing)} are not in {file_name}; "
                f"columns are: {', '.join(map(str, raw.columns))}. Fix data.label_columns."
            )
        return _parse_onehot(raw, columns.label_columns, file_name), [None] * n
    if columns.labels is None or columns.labels not in raw.columns:
        return [[] for _ in range(n)], [None] * n
    labels: list[list[str]] = []
    errors: list[str | None] = []
    fmt, delimiter = columns.label_format, columns.label_delimiter
    for value in raw[columns.labels].to_numpy(dtype=object):
        try:
            labels.append(_parse_one(value, fmt, delimiter))
            errors.append(None)
        except (ValueError, TypeError) as exc:
            labels.append([])
            errors.append(f"cannot parse labels ({exc})")
    return labels, errors


def normalize_split_values(values: pd.Series, file_name: str) -> pd.Series:
    """Map split names (train/training, val/valid/validation/dev, test/testing) to train|val|test.

    Raises:
        DataError: A value that is not a known split name.
    """
    clean = values.astype(object).where(values.notna(), "").astype(str).str.strip().str.lower()
    mapped = clean.map(_SPLIT_SYNONYMS)
    bad = mapped.isna()
    if bad.any():
        counts = clean[bad].value_counts().head(5).to_dict()
        raise DataError(
            f"The 'split' column of {file_name} has {int(bad.sum())} value(s) that are not "
            f"split names: {counts}. Allowed: {', '.join(_SPLIT_SYNONYMS)}. "
            "Fix the values or rename the column."
        )
    return mapped.astype(str)


def missing_column_message(
    kind: str, name: str, file_name: str, available: Iterable[Any], option: str
) -> str:
    """The house error: what is missing, where, what exists, and the setting that fixes it."""
    cols = [str(c) for c in available]
    listed = ", ".join(cols) if cols else "(none)"
    hint = _guess_column(kind, cols)
    fix = f"Set data.{option}={hint}." if hint else f"Set data.{option} to one of them."
    return f"The {kind} column {name!r} is not in {file_name}; columns are: {listed}. {fix}"


_GUESSES: Mapping[str, tuple[str, ...]] = {
    "text": ("text", "content", "body", "article", "story", "document", "doc", "news", "Text"),
    "labels": ("labels", "label", "category", "categories", "class", "topic", "tags"),
    "id": ("id", "doc_id", "ID", "Id", "uid", "guid", "url"),
    "date": ("date", "published", "pub_date", "time", "timestamp", "datetime"),
    "source": ("source", "outlet", "site", "publisher"),
    "title": ("title", "headline", "Title"),
}


def _guess_column(kind: str, cols: list[str]) -> str | None:
    lower = {c.lower(): c for c in cols}
    for guess in _GUESSES.get(kind, ()):
        if guess.lower() in lower:
            return lower[guess.lower()]
    return None
