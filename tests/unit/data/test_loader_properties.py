"""load_corpus properties (hypothesis): for any table written as CSV, TSV, JSONL(.gz) or Parquet
in UTF-8, UTF-8 with BOM or cp1256, every row is accounted for (read = kept + quarantined, each
bad row with its reason and row), kept texts and labels round-trip, only DataError/ConfigError
escape, and a file that mixes encodings line by line never gives mojibake."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from arnews_ml.data import load_corpus
from arnews_ml.data.validate import REASONS
from arnews_ml.exceptions import ArnewsError

# Bounded and derandomised: the same examples on every run and in CI; more with
# ARNEWS_HYPOTHESIS_EXAMPLES=1000 when looking for trouble.
PROPERTY = settings(
    max_examples=int(os.environ.get("ARNEWS_HYPOTHESIS_EXAMPLES", "30")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Arabic letters of cp1256 (two of them in a row are never valid UTF-8, see below).
ARABIC_LETTERS = [chr(c) for c in range(0x0621, 0x064B) if not 0x063B <= c <= 0x0640]
_ARABIC_WORD = st.text(
    st.sampled_from([*ARABIC_LETTERS, "\u064e", "\u0651"]), min_size=2, max_size=8
)
_ARABIC_WORD = _ARABIC_WORD.filter(lambda w: sum(c in ARABIC_LETTERS for c in w) >= 2)
_LATIN_WORD = st.text(st.sampled_from("abcXYZé0123456789"), min_size=1, max_size=6)
_ODD = st.sampled_from(
    [" ", " ", "  ", ",", ";", '"', "'", '""', "\n", "\t", "\r\n", "،", "؟", "«", "»", "|", "😀",
     "\U0002a700", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\u200f", "\u2028", "\\", "{", "[",
     "NA", "null", "nan", "#", "١٢"]
)  # fmt: skip
TEXT = st.lists(st.one_of(_ARABIC_WORD, _ARABIC_WORD, _LATIN_WORD, _ODD), max_size=10).map("".join)
LABEL_NAMES = ["politics", "economy", "sports", "سياسة", "اقتصاد", "foreign forces", " health "]
LABELS = st.lists(st.sampled_from(LABEL_NAMES), max_size=3)
IDS = st.one_of(st.sampled_from(["", "007", "d1", "d2", "خبر-1"]), st.uuids().map(str))

FORMATS = ["csv", "tsv", "jsonl", "jsonl.gz", "parquet"]
LABEL_FORMATS = ["auto", "list", "delimited", "single", "onehot"]
ENCODINGS = ["utf-8", "utf-8-sig", "cp1256"]
_BLANK = re.compile("[\\s\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]*")


@dataclass
class Row:
    id: str | None  # None: no id cell (missing key / empty cell)
    text: str | None  # None: no text cell
    labels: list[str] | None  # None: no labels cell


ROW = st.builds(
    Row,
    id=st.one_of(st.none(), IDS),
    text=st.one_of(TEXT, TEXT, TEXT, st.none(), st.sampled_from(["", "   ", "\u200f\n"])),
    labels=st.one_of(LABELS, LABELS, st.none()),
)
# Repeats on purpose: duplicate texts and ids.
ROWS = st.lists(ROW, min_size=1, max_size=12).flatmap(
    lambda rows: st.lists(st.sampled_from(rows), min_size=len(rows), max_size=len(rows) + 3).map(
        lambda extra: rows + extra[len(rows) :]
    )
)


def _expected_labels(labels: list[str] | None, label_format: str) -> list[str]:
    if labels is None:
        return []
    if label_format == "single":
        labels = labels[:1]
    out: list[str] = []
    for name in labels:
        if name.strip() and name.strip() not in out:
            out.append(name.strip())
    if label_format == "onehot":  # in the order of the label columns
        return [name.strip() for name in LABEL_NAMES if name.strip() in out]
    return out


def _label_cell(labels: list[str] | None, label_format: str, fmt: str, i: int):
    """The labels cell as the file writes it (per row varied under ``auto``)."""
    if labels is None:
        return None
    if label_format == "single":
        return labels[0] if labels else ""
    if fmt == "parquet" and label_format in ("auto", "list"):
        return list(labels)  # a Parquet column holds one type: lists
    if label_format == "delimited" or (label_format == "auto" and i % 3 == 1):
        return "|".join(labels)
    if fmt in ("jsonl", "jsonl.gz") and (label_format == "list" or i % 3 == 0):
        return list(labels)
    return json.dumps(labels, ensure_ascii=False)


def _table(rows: list[Row], fmt: str, label_format: str) -> tuple[pd.DataFrame, list[dict]]:
    records = []
    for i, row in enumerate(rows):
        rec: dict = {}
        if row.id is not None:
            rec["id"] = row.id
        if row.text is not None:
            rec["text"] = row.text
        if label_format == "onehot":
            expected = _expected_labels(row.labels, "auto")
            for name in LABEL_NAMES:
                rec[name] = int(name.strip() in expected)
        elif row.labels is not None:
            rec["labels"] = _label_cell(row.labels, label_format, fmt, i)
        records.append(rec)
    frame = pd.DataFrame.from_records(records)
    for col in ("id", "text", "labels"):
        if col in frame.columns and fmt in ("csv", "tsv"):
            frame[col] = frame[col].where(frame[col].notna(), "")
    return frame, records


def _write(path: Path, rows: list[Row], fmt: str, label_format: str, encoding: str) -> None:
    frame, records = _table(rows, fmt, label_format)
    if fmt == "parquet":
        frame.to_parquet(path)
        return
    if fmt.startswith("jsonl"):
        body = "".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in records)
    else:
        buf = io.StringIO()
        frame.to_csv(buf, index=False, sep="," if fmt == "csv" else "\t")
        body = buf.getvalue()
    data = body.encode(encoding)
    path.write_bytes(gzip.compress(data) if fmt.endswith(".gz") else data)


def _expected(rows: list[Row]) -> list[str | None]:
    """The quarantine reason of each row (None: kept), as validate documents it: each check
    over the rows still alive after the ones before it (ids before texts)."""
    reasons: list[str | None] = [
        "empty_text" if _BLANK.fullmatch(row.text or "") else None for row in rows
    ]
    ids: set[str] = set()
    for i, row in enumerate(rows):
        if reasons[i] is None and row.id:  # an empty or missing id is generated, unique
            reasons[i] = "duplicate_id" if row.id in ids else None
            ids.add(row.id)
    texts: set[str] = set()
    for i, row in enumerate(rows):
        if reasons[i] is None:
            key = (row.text or "").strip()
            reasons[i] = "duplicate_text" if key in texts else None
            texts.add(key)
    return reasons


def _encodable(rows: list[Row], encoding: str) -> bool:
    try:
        for row in rows:
            for value in (row.id, row.text, *(row.labels or [])):
                (value or "").encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


@PROPERTY
@given(
    rows=ROWS,
    fmt=st.sampled_from(FORMATS),
    label_format=st.sampled_from(LABEL_FORMATS),
    encoding=st.sampled_from(ENCODINGS),
    explicit=st.booleans(),
)
@example(
    rows=[Row("1", "خبر\r\nثان", ["politics"]), Row(None, '"', None), Row("1", "x", [])],
    fmt="csv",
    label_format="auto",
    encoding="utf-8",
    explicit=False,
)
@example(  # one-hot labels come in column order, stripped like every other label
    rows=[Row("1", "خبر", ["سياسة", " health ", "politics"]), Row("2", "   ", ["economy"])],
    fmt="csv",
    label_format="onehot",
    encoding="utf-8",
    explicit=False,
)
@example(  # ids are checked before texts, over the rows still alive
    rows=[Row("007", "x", None), Row("d1", "x", None), Row("d1", "y", None)],
    fmt="jsonl",
    label_format="auto",
    encoding="utf-8",
    explicit=False,
)
@example(  # a line of spaces in a one-column CSV is a row (empty text), not a blank line
    rows=[Row(None, "   ", None), Row(None, "خبر", None)],
    fmt="csv",
    label_format="auto",
    encoding="utf-8",
    explicit=False,
)
def test_every_row_is_accounted_for_and_round_trips(
    rows: list[Row], fmt: str, label_format: str, encoding: str, explicit: bool
) -> None:
    if encoding == "cp1256":
        assume(fmt != "parquet" and _encodable(rows, "cp1256"))
    assume(any(row.text is not None for row in rows) or label_format == "onehot")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"corpus.{fmt}"
        _write(path, rows, fmt, label_format, encoding)
        columns = {"label_format": label_format}
        if label_format == "onehot":
            columns["label_columns"] = LABEL_NAMES
        try:
            corpus = load_corpus(path, encoding=encoding if explicit else "auto", **columns)
        except ArnewsError as exc:
            # Documented refusals only: no text column at all, or a file of no Arabic in a
            # single-byte encoding that auto cannot tell from other codecs.
            message = str(exc)
            no_text = all(row.text is None for row in rows)
            assert no_text or ("cp1256" in message and encoding == "cp1256"), message
            return
    report = corpus.report
    expected = _expected(rows)
    assert report.n_read == len(rows) == report.n_kept + report.n_bad
    bad = report.bad_rows
    assert bad["reason"].tolist() == [r for r in expected if r is not None]
    assert set(bad["reason"]) <= set(REASONS)
    assert all(bad["detail"].str.len() > 0) and all(bad["row"] >= 1)
    assert bad["row"].is_monotonic_increasing
    kept = [row for row, reason in zip(rows, expected, strict=True) if reason is None]
    frame = corpus.frame
    assert frame["text"].tolist() == [row.text for row in kept]
    assert frame["labels"].tolist() == [_expected_labels(r.labels, label_format) for r in kept]
    assert frame["id"].is_unique
    given_ids = [row.id for row in kept]
    assert [i for i, g in zip(frame["id"], given_ids, strict=True) if g] == [
        g for g in given_ids if g
    ]


# ---------------------------------------------------------------- mixed encodings

ARABIC_TEXT = st.lists(
    st.one_of(_ARABIC_WORD, _ARABIC_WORD, _LATIN_WORD, st.sampled_from([" ", ",", '"', "؟", "«"])),
    min_size=1,
    max_size=8,
).map(lambda parts: " ".join(parts).strip())
ARABIC_TEXT = ARABIC_TEXT.filter(lambda t: any(c in ARABIC_LETTERS for c in t))
MOJIBAKE = re.compile("[طظ][\u00a7\u201e\u00a9\u00b1\u00b3\u00b9\u2020\u0679\u0688]")


@PROPERTY
@given(
    texts=st.lists(ARABIC_TEXT, min_size=2, max_size=14, unique_by=str.strip),
    fmt=st.sampled_from(["csv", "tsv", "jsonl"]),
    base=st.sampled_from(["utf-8", "cp1256"]),
    data=st.data(),
)
@example(texts=["خبر اول", "خبر ثان"], fmt="csv", base="utf-8", data=None)
def test_mixed_encodings_quarantine_the_minority_rows_never_mojibake(
    texts: list[str], fmt: str, base: str, data
) -> None:
    n = len(texts)
    other = "cp1256" if base == "utf-8" else "utf-8"
    if data is None:
        foreign: set[int] = set()
    else:
        foreign = data.draw(st.sets(st.integers(0, n - 1), max_size=(n - 1) // 2))
    lines = []
    for i, text in enumerate(texts):
        if fmt == "jsonl":
            line = json.dumps({"id": f"r{i}", "text": text}, ensure_ascii=False)
        else:
            buf = io.StringIO()
            pd.DataFrame({"id": [f"r{i}"], "text": [text]}).to_csv(
                buf, index=False, header=False, sep="," if fmt == "csv" else "\t"
            )
            line = buf.getvalue().rstrip("\n")
        lines.append(line.encode(other if i in foreign else base))
    head = [] if fmt == "jsonl" else [b"id,text" if fmt == "csv" else b"id\ttext"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"mixed.{fmt}"
        path.write_bytes(b"\n".join(head + lines) + b"\n")
        corpus = load_corpus(path)
    report, corpus_texts = corpus.report, corpus.frame["text"].tolist()
    assert report.n_read == n == report.n_kept + report.n_bad
    assert report.encodings[str(path)] == base
    bad = report.bad_rows
    assert bad["row"].tolist() == [i + 1 for i in sorted(foreign)]
    assert set(bad["reason"]) <= {"mixed_encoding"}
    offset = 0 if fmt == "jsonl" else 1
    for i, detail in zip(sorted(foreign), bad["detail"], strict=True):
        assert f"line {i + 1 + offset} is {other}" in detail
    # Each row in its own encoding: the true text, kept or quarantined, never mojibake.
    assert corpus_texts == [t for i, t in enumerate(texts) if i not in foreign]
    assert bad["text"].tolist() == [texts[i] for i in sorted(foreign)]
    for text in corpus_texts + bad["text"].tolist():
        assert not MOJIBAKE.search(text), text


@pytest.mark.parametrize("base", ["utf-8", "cp1256"])
def test_mojibake_pattern_catches_what_it_should(base: str) -> None:
    # The check above would see UTF-8 Arabic read as cp1256.
    assert MOJIBAKE.search("الخبر".encode().decode("cp1256"))
    assert not MOJIBAKE.search("الخبر")
