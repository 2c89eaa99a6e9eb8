"""The Corpus value (frame + label set + validation report) and load_corpus, the data entry point."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arnews_ml.data.io import read_source
from arnews_ml.data.schema import ColumnMap
from arnews_ml.data.validate import ValidationReport, validate
from arnews_ml.exceptions import ConfigError

__all__ = ["Corpus", "load_corpus"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Corpus:
    """A validated corpus.

    Attributes:
        frame: Canonical columns ``id`` (str, unique), ``text`` (str, non-empty), ``labels``
            (list of str, possibly empty), ``date`` (datetime64, NaT when unknown), ``source``
            (str, "" when unknown), ``title`` (str, "" when unknown), and ``split``
            (``train|val|test``) when the input defined one.
        label_set: Sorted allowed labels: the fixed set given to :func:`load_corpus`, or those
            observed in ``frame``.
        report: What was read, kept and quarantined.
        paths: The source files (or text folders) read.
    """

    frame: pd.DataFrame
    label_set: tuple[str, ...]
    report: ValidationReport
    paths: tuple[Path, ...] = ()

    @property
    def n_docs(self) -> int:
        """Number of documents kept."""
        return len(self.frame)

    @property
    def is_multilabel(self) -> bool:
        """True when any document has two or more labels."""
        return bool((self.frame["labels"].map(len) >= 2).any())

    def label_counts(self) -> pd.Series:
        """Documents per label (a document counts once for each of its labels).

        Returns:
            Integer Series indexed by every label of ``label_set`` (zeros included), in
            ``label_set`` order, named ``n_docs``.
        """
        exploded = self.frame["labels"].explode().dropna()
        counts = exploded.value_counts()
        index = list(self.label_set) + sorted(set(counts.index) - set(self.label_set))
        out = counts.reindex(index, fill_value=0).astype(np.int64)
        out.index.name = "label"
        out.name = "n_docs"
        return out

    def __repr__(self) -> str:
        return (
            f"Corpus(n_docs={self.n_docs}, labels={len(self.label_set)}, "
            f"multilabel={self.is_multilabel}, bad_rows={self.report.n_bad}, "
            f"paths={[str(p) for p in self.paths]})"
        )


def _split_inputs(
    path: str | Path | None,
    train_path: str | Path | None,
    val_path: str | Path | None,
    test_path: str | Path | None,
) -> list[tuple[Path, str | None]]:
    if path is not None and any(p is not None for p in (train_path, val_path, test_path)):
        raise ConfigError(
            "Give either data.path (one corpus) or data.train_path (+ optional data.val_path, "
            "data.test_path), not both."
        )
    if path is not None:
        return [(Path(path), None)]
    if train_path is None:
        if val_path is not None or test_path is not None:
            raise ConfigError("data.val_path / data.test_path need data.train_path as well.")
        raise ConfigError(
            "No corpus given: set data.path (one file or a <root>/<label>/*.txt folder) or "
            "data.train_path (+ optional data.val_path, data.test_path)."
        )
    named = [(train_path, "train"), (val_path, "val"), (test_path, "test")]
    return [(Path(p), name) for p, name in named if p is not None]


def load_corpus(
    path: str | Path | None = None,
    *,
    train_path: str | Path | None = None,
    val_path: str | Path | None = None,
    test_path: str | Path | None = None,
    encoding: str = "auto",
    label_set: Iterable[str] | None = None,
    quarantine_path: str | Path | None = None,
    dedupe_across_splits: bool = False,
    columns: ColumnMap | None = None,
    **column_kwargs: Any,
) -> Corpus:
    """Read, map, validate and quarantine a corpus from one file/folder or from split files.

    Args:
        path: One CSV/TSV/JSONL(.gz)/Parquet file or a ``<root>/<label>/<file>.txt`` folder.
        train_path: Instead of ``path``: the training file; with ``val_path`` and
            ``test_path`` (optional) the files are concatenated and a ``split`` column
            (``train|val|test``) is added.
        val_path: Validation file (needs ``train_path``).
        test_path: Test file (needs ``train_path``).
        encoding: ``auto`` (UTF-8 with or without BOM, else cp1256 if that gives Arabic) or a
            codec name such as ``utf-8`` or ``cp1256``.
        label_set: A fixed label set; rows with other labels are quarantined. ``None``: the
            observed labels.
        quarantine_path: Where to write bad rows (JSONL, or CSV with BOM for ``.csv``) when
            there are any.
        dedupe_across_splits: With split files, quarantine val/test rows whose text is also in
            an earlier file. Default: a given test file is kept as given (the training task
            reports how many of its rows it saw in training).
        columns: Input column names and label format.
        **column_kwargs: ``text_column``, ``id_column``, ``labels_column``, ``date_column``,
            ``source_column``, ``title_column``, ``label_format``, ``label_delimiter``,
            ``label_columns``; they override ``columns``.

    Returns:
        The validated :class:`Corpus`.

    Raises:
        ConfigError: No path, both kinds of path, or an invalid column option.
        DataError: Unreadable input (names the file, row or column and the fix).
    """
    start = time.perf_counter()
    column_map = ColumnMap.resolve(columns, **column_kwargs)
    if isinstance(label_set, str):
        raise ConfigError(f"data.label_set must be a list of labels, got the string {label_set!r}.")
    fixed_labels = None if label_set is None else tuple(sorted({str(x) for x in label_set}))
    inputs = _split_inputs(path, train_path, val_path, test_path)

    frames: list[pd.DataFrame] = []
    encodings: dict[str, str] = {}
    for source, split in inputs:
        frame, used = read_source(source, column_map, encoding)
        if split is not None:
            frame["split"] = split
        frames.append(frame)
        encodings[str(source)] = used
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    source_name = ", ".join(str(p) for p, _ in inputs)
    clean, report = validate(
        frame,
        label_set=fixed_labels,
        source_name=source_name,
        dedupe_across_splits=dedupe_across_splits,
    )
    report.encodings = encodings
    if fixed_labels is not None:
        final_labels = fixed_labels
    else:
        final_labels = tuple(sorted(set(clean["labels"].explode().dropna().astype(str))))
    if quarantine_path is not None and report.n_bad:
        written = report.write_quarantine(quarantine_path)
        logger.warning("load_corpus quarantined=%d path=%s", report.n_bad, written)
    corpus = Corpus(
        frame=clean,
        label_set=final_labels,
        report=report,
        paths=tuple(p for p, _ in inputs),
    )
    logger.info(
        "load_corpus source=%s %s labels=%d seconds=%.2f",
        source_name,
        report.summary(),
        len(final_labels),
        time.perf_counter() - start,
    )
    return corpus
