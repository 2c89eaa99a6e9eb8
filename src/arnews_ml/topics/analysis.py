"""Topic analysis tables: topics over time, topics per source or label, document assignments.

Pure pandas: every function takes per-document values (topic ids, dates, groups) and returns a
long-format DataFrame that is written as CSV and drawn by :mod:`arnews_ml.topics.plots`. Documents
that cannot be placed (no date, no group) are not dropped silently: their number is in the
returned frame's ``attrs`` (``n_undated``, ``n_ungrouped``) for the caller to log.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from arnews_ml.exceptions import ArtifactError, ConfigError, DataError

__all__ = [
    "DOCUMENT_TOPICS_COLUMNS",
    "DOCUMENT_TOPICS_FILE",
    "FREQUENCIES",
    "TOPICS_OVER_TIME_FILE",
    "TOPICS_PER_LABEL_FILE",
    "TOPICS_PER_SOURCE_FILE",
    "as_group_lists",
    "document_topics_frame",
    "document_topics_table",
    "read_document_topics",
    "topic_id_array",
    "topic_name",
    "topics_over_time",
    "topics_per_group",
    "write_document_topics",
]

DOCUMENT_TOPICS_FILE = "document_topics.parquet"
TOPICS_OVER_TIME_FILE = "topics_over_time.csv"
TOPICS_PER_SOURCE_FILE = "topics_per_source.csv"
TOPICS_PER_LABEL_FILE = "topics_per_label.csv"
DOCUMENT_TOPICS_COLUMNS = ("id", "date", "source", "labels", "topic", "probability")

Frequency = Literal["day", "week", "month", "year"]
# Period codes; a week runs Monday..Sunday and is dated by its Monday.
FREQUENCIES: dict[str, str] = {"day": "D", "week": "W", "month": "M", "year": "Y"}
OUTLIER_NAME = "outliers"


def topic_name(topic: int, topic_labels: Mapping[int, str] | None = None) -> str:
    """Display name of a topic: its label when known, else ``"topic 3"`` (``"outliers"`` for -1)."""
    if topic_labels is not None:
        name = topic_labels.get(topic)
        if name is not None and str(name).strip():
            return str(name)
    return OUTLIER_NAME if topic == -1 else f"topic {topic}"


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def as_group_lists(values: Iterable[Any], *, name: str = "groups") -> list[list[str]]:
    """One list of group names per document, whatever shape the groups came in.

    A string is one group (never split into characters); lists, tuples, sets and arrays (as read
    back from Parquet) are several; None, NaN and empty strings are no group.

    Args:
        values: Per-document groups, e.g. a ``source`` column or a ``labels`` column of lists.
        name: Parameter name used in error messages.

    Returns:
        ``[[group, ...], ...]``, one (possibly empty) list per document, duplicates removed.
    """
    out: list[list[str]] = []
    for i, value in enumerate(values):
        if _is_missing(value):
            out.append([])
        elif isinstance(value, str):
            out.append([value] if value.strip() else [])
        elif isinstance(value, Iterable):
            items = [str(v) for v in value if not _is_missing(v) and str(v).strip()]
            out.append(list(dict.fromkeys(items)))
        elif isinstance(value, int | np.integer | bool):
            out.append([str(value)])
        else:
            raise DataError(
                f"'{name}' entry {i} is {type(value).__name__} {value!r}; expected a string, a "
                "list of strings or None."
            )
    return out


def topic_id_array(doc_topics: Sequence[int] | np.ndarray, name: str = "doc_topics") -> np.ndarray:
    """One int64 topic id per document; a DataError naming the argument `name` otherwise."""
    array = np.asarray(doc_topics)
    if array.ndim != 1:
        raise DataError(f"'{name}' must be one topic id per document; got shape {array.shape}.")
    try:
        return array.astype(np.int64)
    except (TypeError, ValueError) as err:
        raise DataError(f"'{name}' must hold integer topic ids; got {array.dtype}.") from err


def _check_length(n_docs: int, values: Sequence[Any] | None, name: str) -> None:
    if values is not None and len(values) != n_docs:
        raise DataError(
            f"'{name}' has {len(values)} entries but there are {n_docs} documents; pass one per "
            "document."
        )


def _to_datetimes(dates: Sequence[Any]) -> pd.Series:
    """Naive UTC timestamps; unparseable or missing dates become NaT."""
    values = pd.Series(list(dates), dtype=object)
    parsed = pd.to_datetime(values, errors="coerce", utc=True)
    # pandas infers one format from the first string; parse the odd ones out one by one.
    retry = parsed.isna() & values.map(lambda v: isinstance(v, str) and bool(v.strip()))
    if retry.any():
        parsed[retry] = pd.to_datetime(values[retry], errors="coerce", utc=True, format="mixed")
    return parsed.dt.tz_localize(None)


def _topic_names(topics: Iterable[int], topic_labels: Mapping[int, str] | None) -> list[str]:
    return [topic_name(int(t), topic_labels) for t in topics]


def topics_over_time(
    doc_topics: Sequence[int] | np.ndarray,
    dates: Sequence[Any],
    *,
    freq: Frequency = "month",
    topic_labels: Mapping[int, str] | None = None,
) -> pd.DataFrame:
    """Documents per topic and period, long format.

    Every topic appears in every period that has at least one dated document (zero counts
    included, so lines do not skip periods). The outlier topic -1 is kept as a row; plots leave it
    out by default. Documents without a parseable date are excluded and counted in
    ``attrs["n_undated"]``.

    Args:
        doc_topics: Topic id per document, shape (n_docs,).
        dates: Date per document (strings, datetimes or Timestamps; None/NaT for unknown).
        freq: Bin size: ``"day"``, ``"week"`` (Monday-start), ``"month"`` or ``"year"``.
        topic_labels: Optional ``{topic_id: name}`` for the ``topic_label`` column.

    Returns:
        Columns ``period`` (start of the bin), ``topic``, ``topic_label``, ``count``, ``share``
        (count / documents in the period), sorted by period then topic. ``attrs`` holds
        ``freq``, ``n_documents`` and ``n_undated``.
    """
    if freq not in FREQUENCIES:
        raise ConfigError(f"'freq' must be one of {sorted(FREQUENCIES)}; got {freq!r}.")
    topics = topic_id_array(doc_topics)
    _check_length(len(topics), dates, "dates")
    when = _to_datetimes(dates)
    dated = when.notna().to_numpy()
    frame = pd.DataFrame(
        {
            "period": when[dated].dt.to_period(FREQUENCIES[freq]).dt.start_time.to_numpy(),
            "topic": topics[dated],
        }
    )
    counts = frame.groupby(["period", "topic"]).size()
    grid = pd.MultiIndex.from_product(
        [np.sort(frame["period"].unique()), np.unique(topics)], names=["period", "topic"]
    )
    out = counts.reindex(grid, fill_value=0).rename("count").reset_index()
    out["count"] = out["count"].astype(np.int64)
    out.insert(2, "topic_label", _topic_names(out["topic"], topic_labels))
    totals = out.groupby("period")["count"].transform("sum")
    out["share"] = (out["count"] / totals.where(totals > 0)).fillna(0.0)
    out.attrs.update(freq=freq, n_documents=len(topics), n_undated=int((~dated).sum()))
    return out


def topics_per_group(
    doc_topics: Sequence[int] | np.ndarray,
    groups: Sequence[str | Sequence[str] | None],
    *,
    topic_labels: Mapping[int, str] | None = None,
    group_name: str = "group",
) -> pd.DataFrame:
    """Documents per topic and group (source, label, ...), long format, multi-label aware.

    A document with several groups (a multi-label article) counts once for each of them.
    Documents without any group are excluded and counted in ``attrs["n_ungrouped"]``.

    Args:
        doc_topics: Topic id per document, shape (n_docs,).
        groups: Per document one group name (e.g. the source) or a list of them (labels).
        topic_labels: Optional ``{topic_id: name}`` for the ``topic_label`` column.
        group_name: Name of the group column, e.g. ``"source"`` or ``"label"``.

    Returns:
        Columns ``<group_name>``, ``topic``, ``topic_label``, ``count``, ``share`` (count /
        documents in the group), every group x topic combination present, sorted by group then
        topic. ``attrs`` holds ``group_name``, ``n_documents`` and ``n_ungrouped``.
    """
    if group_name in {"topic", "topic_label", "count", "share"}:
        raise ConfigError(f"'group_name' {group_name!r} clashes with a column of the table.")
    topics = topic_id_array(doc_topics)
    _check_length(len(topics), groups, group_name)
    lists = as_group_lists(groups, name=group_name)
    lengths = np.fromiter((len(g) for g in lists), dtype=np.int64, count=len(lists))
    frame = pd.DataFrame(
        {
            group_name: pd.Series([g for gs in lists for g in gs], dtype=object),
            "topic": np.repeat(topics, lengths),
        }
    )
    counts = frame.groupby([group_name, "topic"]).size()
    grid = pd.MultiIndex.from_product(
        [sorted(frame[group_name].unique()), np.unique(topics)], names=[group_name, "topic"]
    )
    out = counts.reindex(grid, fill_value=0).rename("count").reset_index()
    out["count"] = out["count"].astype(np.int64)
    out.insert(2, "topic_label", _topic_names(out["topic"], topic_labels))
    totals = out.groupby(group_name)["count"].transform("sum")
    out["share"] = (out["count"] / totals.where(totals > 0)).fillna(0.0)
    out.attrs.update(
        group_name=group_name, n_documents=len(topics), n_ungrouped=int((lengths == 0).sum())
    )
    return out


def document_topics_frame(
    ids: Sequence[Any] | None,
    dates: Sequence[Any] | None,
    sources: Sequence[Any] | None,
    labels: Sequence[Any] | None,
    topics: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray | None = None,
    *,
    topic_labels: Mapping[int, str] | None = None,
) -> pd.DataFrame:
    """The document-topic assignment table (written as Parquet by :func:`write_document_topics`).

    Args:
        ids: Document ids (None: ``"0"``, ``"1"``, ...).
        dates: Dates (None or missing entries: NaT).
        sources: Source per document (None: missing).
        labels: Labels per document: lists, single strings or None (stored as lists of strings).
        topics: Topic id per document, shape (n_docs,).
        scores: Probability of the assigned topic, shape (n_docs,); a (n_docs, n_topics) matrix is
            reduced to its row maximum; None gives NaN.
        topic_labels: Optional ``{topic_id: name}``; adds a ``topic_label`` column after ``topic``.

    Returns:
        Columns ``id, date, source, labels, topic, probability`` (+ ``topic_label``).
    """
    topic_array = topic_id_array(topics)
    n_docs = len(topic_array)
    for name, values in (("ids", ids), ("dates", dates), ("sources", sources), ("labels", labels)):
        _check_length(n_docs, values, name)
    if scores is None:
        probability = np.full(n_docs, np.nan)
    else:
        probability = np.asarray(scores, dtype=np.float64)
        if probability.ndim == 2:
            probability = (
                probability.max(axis=1) if probability.shape[1] else np.full(n_docs, np.nan)
            )
        if probability.shape != (n_docs,):
            raise DataError(
                f"'scores' has shape {probability.shape}; expected ({n_docs},) or "
                f"({n_docs}, n_topics)."
            )
    frame = pd.DataFrame(
        {
            "id": [str(i) for i in ids] if ids is not None else [str(i) for i in range(n_docs)],
            "date": _to_datetimes(dates if dates is not None else [None] * n_docs).to_numpy(),
            "source": pd.Series(
                [None if _is_missing(s) else str(s) for s in sources]
                if sources is not None
                else [None] * n_docs,
                dtype=object,
            ),
            "labels": pd.Series(
                as_group_lists(labels if labels is not None else [None] * n_docs, name="labels"),
                dtype=object,
            ),
            "topic": topic_array,
            "probability": probability,
        }
    )
    if topic_labels is not None:
        frame.insert(5, "topic_label", _topic_names(topic_array, topic_labels))
    return frame


def document_topics_table(frame: pd.DataFrame) -> Any:
    """The document-topic frame as a ``pyarrow.Table`` of the fixed schema (``labels`` as
    list<string>): what :func:`write_document_topics` writes, one chunk of what
    :class:`arnews_ml.topics.assign.DocumentTopicsWriter` writes."""
    import pyarrow as pa

    missing = [c for c in DOCUMENT_TOPICS_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"The document-topic frame lacks columns {missing}; build it with "
            "document_topics_frame()."
        )
    arrays = {
        "id": pa.array(frame["id"].astype(object).tolist(), type=pa.string()),
        "date": pa.array(
            pd.to_datetime(frame["date"]).astype("datetime64[us]"), pa.timestamp("us")
        ),
        "source": pa.array(
            [None if _is_missing(s) else str(s) for s in frame["source"]], type=pa.string()
        ),
        "labels": pa.array(
            as_group_lists(frame["labels"], name="labels"), type=pa.list_(pa.string())
        ),
        "topic": pa.array(frame["topic"].to_numpy(dtype=np.int64), type=pa.int64()),
        "probability": pa.array(frame["probability"].to_numpy(dtype=np.float64), pa.float64()),
    }
    if "topic_label" in frame.columns:
        arrays["topic_label"] = pa.array(frame["topic_label"].astype(str).tolist(), pa.string())
    return pa.table(arrays)


def write_document_topics(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write the document-topic table to Parquet with a fixed schema (``labels`` as list<string>).

    The file is written beside its destination and renamed into place, so a reader never sees a
    half-written file. For a corpus assigned in chunks, see
    :class:`arnews_ml.topics.assign.DocumentTopicsWriter`.

    Args:
        frame: Output of :func:`document_topics_frame`.
        path: Destination ``.parquet`` file; its folder is created.

    Returns:
        The written path.
    """
    import pyarrow.parquet as pq

    table = document_topics_table(frame)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, target)
    except OSError as err:
        raise ArtifactError(f"Cannot write the document-topic table to {target}: {err}") from err
    finally:
        Path(tmp).unlink(missing_ok=True)  # only still there when the write failed
    return target


def read_document_topics(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table written by :func:`write_document_topics`; ``labels`` come back as lists."""
    frame = pd.read_parquet(path)
    frame["labels"] = pd.Series(as_group_lists(frame["labels"], name="labels"), dtype=object)
    return frame
