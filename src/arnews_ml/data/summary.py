"""Corpus summary: documents, labels, multi-label share, dates, sources, boilerplate found."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from arnews_ml.data.corpus import Corpus

__all__ = ["format_summary", "summarize_corpus"]


def summarize_corpus(
    corpus: Corpus, boilerplate_lines: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """Describe a loaded corpus in plain values (JSON-able).

    Args:
        corpus: The loaded corpus.
        boilerplate_lines: Rows of a fitted `BoilerplateRemover.report()` (source, line, n_docs).

    Returns:
        A dict with `documents`, `label_counts` (label -> documents carrying it), `multilabel_share`,
        `unlabelled`, `date_min`/`date_max`/`months` (None without dates), `sources`
        (source -> documents), `words_mean`/`words_median`, the validation counts
        (`n_read`, `n_quarantined`, `quarantine_reasons`) and `boilerplate_lines`.
    """
    frame = corpus.frame
    n_labels = frame["labels"].map(len)
    label_counts = (
        frame["labels"].explode().dropna().value_counts().sort_values(ascending=False)
        if len(frame)
        else pd.Series(dtype=int)
    )
    # (a plain loop: pandas' .str.split() keeps every word list and takes 4x as long)
    words = pd.Series([len(text.split()) for text in frame["text"]], dtype=float)
    summary: dict[str, Any] = {
        "documents": len(frame),
        "label_counts": {str(k): int(v) for k, v in label_counts.items()},
        "multilabel_share": float((n_labels >= 2).mean()) if len(frame) else 0.0,
        "unlabelled": int((n_labels == 0).sum()),
        "words_mean": float(words.mean()) if len(frame) else 0.0,
        "words_median": float(words.median()) if len(frame) else 0.0,
        "date_min": None,
        "date_max": None,
        "months": None,
        "sources": {},
    }
    if "date" in frame and frame["date"].notna().any():
        dates = frame["date"].dropna()
        summary["date_min"] = dates.min().date().isoformat()
        summary["date_max"] = dates.max().date().isoformat()
        summary["months"] = int(dates.dt.to_period("M").nunique())
        summary["undated"] = int(frame["date"].isna().sum())
    if "source" in frame:
        counts = frame["source"].fillna("(none)").value_counts()
        summary["sources"] = {str(k): int(v) for k, v in counts.items()}
    if "split" in frame:
        summary["splits"] = {str(k): int(v) for k, v in frame["split"].value_counts().items()}
    report = corpus.report
    summary["n_read"] = int(report.n_read)
    summary["n_quarantined"] = int(report.n_read - report.n_kept)
    summary["quarantine_reasons"] = {str(k): int(v) for k, v in report.counts_by_reason().items()}
    summary["boilerplate_lines"] = _distinct_lines(boilerplate_lines)
    return summary


def _distinct_lines(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per learned line: a line learned for a source and also across all sources
    ("*") is listed under its source only."""
    per_source = {row["line"] for row in rows if row["source"] != "*"}
    kept = [dict(row) for row in rows if row["source"] != "*" or row["line"] not in per_source]
    return sorted(kept, key=lambda row: (-int(row["n_docs"]), str(row["source"]), row["line"]))


def format_summary(summary: dict[str, Any], *, max_lines: int = 12) -> str:
    """Render `summarize_corpus` output as an aligned plain-text block for the terminal."""
    out: list[str] = []
    n = summary["documents"]
    out.append(
        f"documents        {n:,} (read {summary['n_read']:,}, quarantined {summary['n_quarantined']:,})"
    )
    for reason, count in summary["quarantine_reasons"].items():
        out.append(f"  quarantined    {count:,} x {reason}")
    if "splits" in summary:
        out.append(
            "splits           " + ", ".join(f"{k} {v:,}" for k, v in summary["splits"].items())
        )
    out.append(
        f"words/document   mean {summary['words_mean']:.0f}, median {summary['words_median']:.0f}"
    )
    out.append(
        f"labels           {len(summary['label_counts'])} "
        f"(multi-label share {summary['multilabel_share']:.1%}, unlabelled {summary['unlabelled']:,})"
    )
    for label, count in summary["label_counts"].items():
        out.append(f"  {label:<22} {count:>7,}  {count / max(n, 1):6.1%}")
    if summary["date_min"]:
        out.append(
            f"dates            {summary['date_min']} .. {summary['date_max']} "
            f"({summary['months']} months, undated {summary.get('undated', 0):,})"
        )
    else:
        out.append("dates            none")
    out.append(f"sources          {len(summary['sources'])}")
    for source, count in list(summary["sources"].items())[:max_lines]:
        out.append(f"  {source:<22} {count:>7,}")
    lines = summary["boilerplate_lines"]
    out.append(f"boilerplate      {len(lines)} repeated lines learned and stripped")
    for row in lines[:max_lines]:
        out.append(f"  [{row['source']}] x{row['n_docs']:,}  {row['line'][:70]}")
    if len(lines) > max_lines:
        out.append(f"  ... {len(lines) - max_lines} more (see the run's boilerplate report)")
    return "\n".join(out)
