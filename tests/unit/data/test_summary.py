"""The corpus summary counts documents, labels, multi-label share, dates, sources, boilerplate."""

from __future__ import annotations

import json
from pathlib import Path

from arnews_ml.data.corpus import load_corpus
from arnews_ml.data.summary import format_summary, summarize_corpus

ROWS = [
    {
        "id": "1",
        "text": "نفذت القوات عملية أمنية",
        "labels": ["security", "foreign_forces"],
        "date": "2023-01-05",
        "source": "a",
    },
    {
        "id": "2",
        "text": "صوت البرلمان على القانون",
        "labels": ["politics"],
        "date": "2023-03-10",
        "source": "a",
    },
    {
        "id": "3",
        "text": "ارتفع سعر النفط",
        "labels": ["economy"],
        "date": "not a date",
        "source": "b",
    },
    {
        "id": "3",
        "text": "نص مكرر المعرف",
        "labels": ["economy"],
        "date": "2023-02-01",
        "source": "b",
    },
]


def _corpus(tmp_path: Path):
    path = tmp_path / "news.jsonl"
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS) + "\n", encoding="utf-8"
    )
    return load_corpus(path)


def test_summary_counts(tmp_path: Path):
    boiler = [
        {"source": "*", "line": "أضف تعليقك", "n_docs": 3},
        {"source": "a", "line": "أضف تعليقك", "n_docs": 2},
        {"source": "*", "line": "شارك الخبر", "n_docs": 3},
    ]
    summary = summarize_corpus(_corpus(tmp_path), boiler)
    assert summary["documents"] == 3 and summary["n_read"] == 4 and summary["n_quarantined"] == 1
    assert summary["quarantine_reasons"] == {"duplicate_id": 1}
    assert summary["label_counts"] == {
        "economy": 1,
        "foreign_forces": 1,
        "politics": 1,
        "security": 1,
    }
    assert summary["multilabel_share"] == 1 / 3
    assert (summary["date_min"], summary["date_max"], summary["months"]) == (
        "2023-01-05",
        "2023-03-10",
        2,
    )
    assert summary["undated"] == 1
    assert summary["sources"] == {"a": 2, "b": 1}
    # a line learned for a source and across all sources is listed once, under its source
    assert [(r["source"], r["line"]) for r in summary["boilerplate_lines"]] == [
        ("*", "شارك الخبر"),
        ("a", "أضف تعليقك"),
    ]


def test_format_summary_mentions_every_part(tmp_path: Path):
    text = format_summary(summarize_corpus(_corpus(tmp_path)))
    for needle in [
        "documents        3 (read 4, quarantined 1)",
        "duplicate_id",
        "multi-label share 33.3%",
        "2023-01-05 .. 2023-03-10",
        "sources          2",
        "boilerplate      0 repeated lines",
    ]:
        assert needle in text, needle
