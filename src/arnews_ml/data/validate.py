"""Validate a canonical frame: quarantine bad rows with a reason, count warnings, drop nothing silently."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arnews_ml.data.schema import (
    CANONICAL_COLUMNS,
    DATE_UNPARSEABLE_COL,
    ERROR_COL,
    ERROR_DETAIL_COL,
    FILE_COL,
    ID_GENERATED_COL,
    PRIVATE_COLUMNS,
    ROW_COL,
)
from arnews_ml.exceptions import DataError

__all__ = ["BAD_ROW_COLUMNS", "REASONS", "WARNING_KEYS", "ValidationReport", "validate"]

logger = logging.getLogger(__name__)

REASONS: tuple[str, ...] = (
    "invalid_json",
    "merged_lines",
    "mixed_encoding",
    "invalid_labels",
    "empty_text",
    "unknown_label",
    "duplicate_id",
    "duplicate_text",
)
"""Quarantine reasons, in the order they are checked (a row gets the first that applies)."""

WARNING_KEYS: tuple[str, ...] = ("generated_ids", "unparseable_dates", "unlabelled_docs")
"""Counts over kept rows: ids made as ``<file stem>:<row>``, dates kept as NaT, docs with no label."""

BAD_ROW_COLUMNS: tuple[str, ...] = (
    "file",
    "row",
    "id",
    "reason",
    "detail",
    "text_preview",
    "text",
    "labels",
)
PREVIEW_CHARS = 80

# Whitespace plus invisible format characters (ZWSP..RLM, bidi embeddings/isolates, BOM).
_BLANK = "[\\s\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]*"


@dataclass
class ValidationReport:
    """What validation read, kept and quarantined.

    Attributes:
        n_read: Rows read (every record or line, broken ones included).
        n_kept: Rows in the clean frame; ``n_read == n_kept + len(bad_rows)``.
        bad_rows: One row per quarantined input row, columns ``file, row, id, reason, detail,
            text_preview, text, labels`` (``row`` is 1-based in its source file; ``reason`` is
            one of :data:`REASONS`, ``detail`` says why in words).
        warnings: Counts of kept rows with something to know (:data:`WARNING_KEYS`).
        encodings: Source file -> encoding used to decode it.
    """

    n_read: int
    n_kept: int
    bad_rows: pd.DataFrame
    warnings: dict[str, int] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)

    @property
    def n_bad(self) -> int:
        """Number of quarantined rows."""
        return len(self.bad_rows)

    def counts_by_reason(self) -> dict[str, int]:
        """Quarantined rows per reason, in :data:`REASONS` order, zero counts left out."""
        counts = self.bad_rows["reason"].value_counts()
        return {r: int(counts[r]) for r in REASONS if r in counts.index} | {
            str(r): int(c) for r, c in counts.items() if r not in REASONS
        }

    def to_dict(self, max_examples: int = 20) -> dict[str, Any]:
        """A JSON-able summary: counts, warnings, encodings and the first bad rows (no full text)."""
        examples = self.bad_rows.drop(columns=["text", "labels"]).head(max_examples)
        return {
            "n_read": int(self.n_read),
            "n_kept": int(self.n_kept),
            "n_bad": int(self.n_bad),
            "counts_by_reason": self.counts_by_reason(),
            "warnings": {k: int(v) for k, v in self.warnings.items()},
            "encodings": dict(self.encodings),
            "bad_row_examples": [
                {k: (int(v) if k == "row" else str(v)) for k, v in rec.items()}
                for rec in examples.to_dict(orient="records")
            ],
        }

    def summary(self) -> str:
        """One line for logs and the console."""
        reasons = ", ".join(f"{k}={v}" for k, v in self.counts_by_reason().items()) or "none"
        warns = ", ".join(f"{k}={v}" for k, v in self.warnings.items() if v) or "none"
        return (
            f"n_read={self.n_read} n_kept={self.n_kept} n_bad={self.n_bad} "
            f"quarantined[{reasons}] warnings[{warns}]"
        )

    def write_quarantine(self, path: str | Path) -> Path:
        """Write every bad row (full text, reason and detail) for a person to fix.

        JSON Lines (UTF-8) by default; a ``.csv`` path gives a CSV with a UTF-8 BOM so that
        Excel shows Arabic. Parent folders are created.

        Returns:
            The path written.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".csv":
            frame = self.bad_rows.copy()
            frame["labels"] = [json.dumps(list(x), ensure_ascii=False) for x in frame["labels"]]
            frame.to_csv(path, index=False, encoding="utf-8-sig")
            return path
        with path.open("w", encoding="utf-8") as fh:
            for rec in self.bad_rows.to_dict(orient="records"):
                rec["row"] = int(rec["row"])
                rec["labels"] = list(rec["labels"])
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        return path


def _with_provenance(frame: pd.DataFrame, source_name: str) -> pd.DataFrame:
    """Accept a plain canonical frame too: fill provenance and optional columns."""
    if "text" not in frame.columns:
        raise DataError(
            f"The frame from {source_name} has no 'text' column; columns are: "
            f"{', '.join(map(str, frame.columns))}. Read files with read_table/load_corpus, "
            "or rename the text column to 'text'."
        )
    frame = frame.reset_index(drop=True).copy()
    n = len(frame)
    if FILE_COL not in frame.columns:
        frame[FILE_COL] = source_name
    if ROW_COL not in frame.columns:
        frame[ROW_COL] = np.arange(1, n + 1, dtype=np.int64)
    for col in (ERROR_COL, ERROR_DETAIL_COL):
        if col not in frame.columns:
            frame[col] = pd.Series([None] * n, dtype=object)
    if "id" not in frame.columns:
        frame["id"] = [f"{source_name}:{r}" for r in frame[ROW_COL]]
        frame[ID_GENERATED_COL] = True
    for col in (ID_GENERATED_COL, DATE_UNPARSEABLE_COL):
        if col not in frame.columns:
            frame[col] = False
    if "labels" not in frame.columns:
        frame["labels"] = pd.Series([[] for _ in range(n)], dtype=object)
    if "date" not in frame.columns:
        frame["date"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
    for col in ("source", "title"):
        if col not in frame.columns:
            frame[col] = ""
    frame["id"] = frame["id"].astype(str)
    frame["text"] = frame["text"].fillna("").astype(str)
    return frame


def _is_nonempty(labels: Any) -> bool:
    return isinstance(labels, list | tuple | np.ndarray) and len(labels) > 0


def _unknown_labels(labels: pd.Series, allowed: set[str]) -> pd.Series:
    """Per row (index kept), the sorted list of labels not in ``allowed``; rows without any left out."""
    exploded = labels.explode()
    unknown = exploded[exploded.notna() & ~exploded.isin(allowed)]
    return unknown.groupby(level=0).agg(lambda s: sorted(set(s)))


def validate(
    frame: pd.DataFrame,
    label_set: Iterable[str] | None = None,
    source_name: str = "<frame>",
    *,
    dedupe_across_splits: bool = False,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Split a canonical frame into clean rows and quarantined rows, with a report.

    Checks, in order (a row is quarantined for the first that applies): problems found while
    reading (:func:`read_table`): lines that were not JSON objects, CSV lines swallowed by a
    stray quote (``merged_lines``), rows on lines in another encoding than the rest of the
    file (``mixed_encoding``), labels that could not be parsed; empty or
    whitespace-only text, labels outside a fixed ``label_set``, duplicate ids (the first is
    kept), exact duplicate texts after stripping outer whitespace (the first is kept; the
    detail names its id). Duplicate texts are looked for among rows that passed the other
    checks: within each split of split files (a given test file is evaluated as given; its rows
    that also occur in training are kept, and the training task reports them), or across all
    of them with ``dedupe_across_splits``; in one file, across the whole file.

    An unparseable date does not cost the article: it is kept with ``date`` NaT and counted
    in ``warnings["unparseable_dates"]``.

    Args:
        frame: Output of :func:`read_table` (or any frame with a ``text`` column).
        label_set: When given, the only allowed labels.
        source_name: Names the source in messages when the frame has no provenance.
        dedupe_across_splits: With split files, also quarantine a val/test row whose text is
            in an earlier file (the same article in train and test); default: keep it.

    Returns:
        ``(clean, report)``: ``clean`` has the canonical columns (plus ``split`` and any other
        non-private columns), a fresh RangeIndex and no private columns.
    """
    frame = _with_provenance(frame, source_name)
    n = len(frame)
    alive = np.ones(n, dtype=bool)
    reasons = np.full(n, None, dtype=object)
    details = np.full(n, None, dtype=object)

    def quarantine(mask: np.ndarray, reason: str, detail: Any) -> None:
        nonlocal alive
        mask = mask & alive
        reasons[mask] = reason
        details[mask] = detail if isinstance(detail, str) else np.asarray(detail, dtype=object)
        alive = alive & ~mask

    errors = frame[ERROR_COL].to_numpy(dtype=object)
    has_error = pd.notna(errors)
    if has_error.any():
        reasons[has_error] = errors[has_error]
        details[has_error] = frame[ERROR_DETAIL_COL].to_numpy(dtype=object)[has_error]
        alive &= ~has_error

    blank = frame["text"].str.fullmatch(_BLANK).fillna(True).to_numpy(dtype=bool)
    quarantine(blank, "empty_text", "text is empty or whitespace only")

    if label_set is not None:
        allowed = {str(x) for x in label_set}
        unknown = _unknown_labels(frame["labels"][alive], allowed)
        if len(unknown):
            mask = np.zeros(n, dtype=bool)
            mask[unknown.index.to_numpy()] = True
            allowed_txt = ", ".join(sorted(allowed))
            quarantine(
                mask,
                "unknown_label",
                [
                    f"unknown label(s) {', '.join(u)}; allowed: {allowed_txt}. "
                    "Fix the row or add the label(s) to data.label_set."
                    for u in unknown
                ],
            )

    ids = frame["id"]
    live_ids = ids[alive]
    dup_id = live_ids.duplicated(keep="first")
    if dup_id.any():
        first = live_ids[~dup_id]
        where = pd.Series(
            (
                frame[FILE_COL][first.index] + " row " + frame[ROW_COL][first.index].astype(str)
            ).to_numpy(),
            index=first.to_numpy(),
        )
        dup_idx = dup_id[dup_id].index.to_numpy()
        mask = np.zeros(n, dtype=bool)
        mask[dup_idx] = True
        quarantine(
            mask,
            "duplicate_id",
            [f"id {i!r} already used by {where[i]} (kept)" for i in ids[dup_idx]],
        )

    key = frame["text"][alive].str.strip()
    if "split" in frame.columns and not dedupe_across_splits:
        key = frame["split"][alive].astype(str) + "\x1f" + key  # duplicates within a split
    dup_text = key.duplicated(keep="first")
    if dup_text.any():
        first_id = pd.Series(ids[key[~dup_text].index].to_numpy(), index=key[~dup_text].to_numpy())
        dup_idx = dup_text[dup_text].index.to_numpy()
        mask = np.zeros(n, dtype=bool)
        mask[dup_idx] = True
        quarantine(
            mask,
            "duplicate_text",
            [f"same text as id {first_id[k]!r} (kept)" for k in key[dup_idx]],
        )

    bad = ~alive
    texts = frame["text"][bad]
    bad_rows = pd.DataFrame(
        {
            "file": frame[FILE_COL][bad].astype(str).to_numpy(),
            "row": frame[ROW_COL][bad].astype(np.int64).to_numpy(),
            "id": ids[bad].to_numpy(),
            "reason": reasons[bad].astype(str),
            "detail": details[bad].astype(str),
            "text_preview": texts.str.replace("\n", " ", regex=False)
            .str.slice(0, PREVIEW_CHARS)
            .to_numpy(),
            "text": texts.to_numpy(),
            "labels": frame["labels"][bad].to_numpy(),
        },
        columns=list(BAD_ROW_COLUMNS),
    )

    kept = frame[alive]
    warnings = {
        "generated_ids": int(kept[ID_GENERATED_COL].sum()),
        "unparseable_dates": int(kept[DATE_UNPARSEABLE_COL].sum()),
        "unlabelled_docs": int(sum(1 for x in kept["labels"] if not _is_nonempty(x))),
    }
    others = [c for c in kept.columns if c not in CANONICAL_COLUMNS and c not in PRIVATE_COLUMNS]
    clean = kept[list(CANONICAL_COLUMNS) + others].reset_index(drop=True)
    report = ValidationReport(n_read=n, n_kept=len(clean), bad_rows=bad_rows, warnings=warnings)
    assert report.n_read == report.n_kept + report.n_bad
    logger.info("validate source=%s %s", source_name, report.summary())
    return clean, report
