"""Chunked reading: the chunks of every format add up to the whole-file frame, across chunk
boundaries, with bad rows (empty, null, numbers, broken lines, stray quotes) in the middle."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from arnews_ml.data.io import read_table
from arnews_ml.data.schema import ERROR_COL
from arnews_ml.data.stream import iter_table
from arnews_ml.exceptions import DataError

N_ROWS = 50
CHUNK = 7
TEXTS = ["وَقَّعَ الوزيرُ اتفاقية ـــ جديدة مع Siemens عام 2024", "ارتفع سعر النفط 3% اليوم"]


def _records() -> list[dict]:
    records = []
    for i in range(N_ROWS):
        record = {
            "id": f"n{i}" if i % 9 else "",  # some ids generated from the row number
            "text": f"{TEXTS[i % 2]} رقم {i}",
            "labels": ["economy"] if i % 3 else ["economy", "politics"],
            "date": f"2024-01-{1 + i % 28:02d}",
        }
        if i == 10:
            record["text"] = ""
        if i == 11:
            record["text"] = "   "
        if i == 20:
            record["text"] = None
        if i == 21:
            record["text"] = 42
        if i == 22:
            record["text"] = "سطر أول\nسطر ثان، مع فاصلة"
        records.append(record)
    return records


def _concat(path: Path, **kwargs) -> pd.DataFrame:
    stream = iter_table(path, chunk_rows=CHUNK, **kwargs)
    chunks = list(stream)
    # a record merged by a stray quote comes back as one quarantined row per line
    assert all(len(c) <= CHUNK or "merged_lines" in c[ERROR_COL].tolist() for c in chunks)
    assert len(chunks) >= N_ROWS // CHUNK
    assert stream.n_rows == sum(len(c) for c in chunks)
    return pd.concat(chunks, ignore_index=True)


def _assert_same(path: Path, **kwargs) -> pd.DataFrame:
    whole = read_table(path, **kwargs)
    streamed = _concat(path, **kwargs)
    pd.testing.assert_frame_equal(streamed, whole)
    return streamed


def _jsonl_lines() -> list[str]:
    lines = [json.dumps(r, ensure_ascii=False) for r in _records()]
    lines.insert(15, "")  # a blank line shifts the line numbers of the rows after it
    lines.insert(30, '{"id": "broken", "text": "no end')  # a broken line mid-file
    lines.insert(40, "[1, 2]")  # a JSON line that is not an object
    return lines


def test_jsonl_chunks_equal_the_whole_file(tmp_path: Path):
    path = tmp_path / "news.jsonl"
    path.write_text("\n".join(_jsonl_lines()) + "\n", encoding="utf-8")
    frame = _assert_same(path)
    assert len(frame) == N_ROWS + 2
    assert frame[ERROR_COL].tolist().count("invalid_json") == 2
    assert "news:1" in frame["id"].tolist()  # generated ids use the file's own line numbers


def test_jsonl_gz_chunks_equal_the_whole_file(tmp_path: Path):
    path = tmp_path / "news.jsonl.gz"
    path.write_bytes(gzip.compress(("\n".join(_jsonl_lines()) + "\n").encode("utf-8")))
    _assert_same(path)


def test_cp1256_jsonl_with_a_utf8_line(tmp_path: Path):
    lines = [json.dumps(r, ensure_ascii=False) for r in _records() if isinstance(r["text"], str)]
    data = b"\n".join(
        line.encode("utf-8") if i == 25 else line.encode("cp1256") for i, line in enumerate(lines)
    )
    path = tmp_path / "win.jsonl"
    path.write_bytes(data)
    frame = _assert_same(path)
    assert frame[ERROR_COL].tolist().count("mixed_encoding") == 1


@pytest.mark.parametrize("sep, suffix", [(",", ".csv"), ("\t", ".tsv")])
def test_delimited_chunks_equal_the_whole_file(tmp_path: Path, sep: str, suffix: str):
    frame = pd.DataFrame(_records())
    frame["labels"] = frame["labels"].map("|".join)
    path = tmp_path / f"news{suffix}"
    frame.to_csv(path, sep=sep, index=False)  # row 22 is a quoted field over two lines
    streamed = _assert_same(path)
    assert "\n" in streamed.loc[22, "text"]


def test_csv_stray_quote_mid_file(tmp_path: Path):
    frame = pd.DataFrame(_records())[["id", "text"]]
    frame["text"] = frame["text"].astype(str).str.replace("\n", " ")
    frame["extra"] = "x"
    lines = frame.to_csv(index=False).splitlines()
    lines[30] = 'n29,"قال الوزير,x'  # an unbalanced quote swallows the lines up to the next quote
    lines[33] = 'n32,وانتهى" هنا,x'
    path = tmp_path / "stray.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    streamed = _assert_same(path)
    assert "merged_lines" in streamed[ERROR_COL].tolist()


def test_parquet_chunks_equal_the_whole_file(tmp_path: Path):
    frame = pd.DataFrame(_records())
    frame["text"] = frame["text"].map(lambda t: t if isinstance(t, str) or t is None else str(t))
    path = tmp_path / "news.parquet"
    frame.to_parquet(path, index=False)
    _assert_same(path)
    assert iter_table(path, chunk_rows=CHUNK).fraction_read is None  # nothing read yet


def test_progress_fraction_grows_to_one(tmp_path: Path):
    path = tmp_path / "news.jsonl"
    path.write_text("\n".join(_jsonl_lines()) + "\n", encoding="utf-8")
    stream = iter_table(path, chunk_rows=CHUNK)
    seen = [stream.fraction_read for _ in stream]
    assert all(f is not None and 0 < f <= 1 for f in seen)
    assert seen == sorted(seen)


def test_empty_and_header_only_files_are_refused(tmp_path: Path):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="is empty"):
        list(iter_table(empty))
    header = tmp_path / "header.csv"
    header.write_text("id,text\n", encoding="utf-8")
    with pytest.raises(DataError, match="has no records"):
        list(iter_table(header))


def test_missing_text_column_is_named(tmp_path: Path):
    path = tmp_path / "news.csv"
    path.write_text("id,body\n1,خبر\n", encoding="utf-8")
    from arnews_ml.data.schema import ColumnMap

    with pytest.raises(DataError, match="body"):
        list(iter_table(path, ColumnMap(text="content")))


def test_encoding_switch_between_chunks_is_refused(tmp_path: Path):
    lines = [json.dumps({"text": f"خبر رقم {i}"}, ensure_ascii=False) for i in range(20)]
    data = b"\n".join(
        line.encode("utf-8") if i < 10 else line.encode("cp1256") for i, line in enumerate(lines)
    )
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(data)
    with pytest.raises(DataError, match="mixes encodings"):
        list(iter_table(path, chunk_rows=5))


def test_long_multiline_records_are_never_cut(tmp_path: Path, monkeypatch):
    from arnews_ml.data import stream

    monkeypatch.setattr(stream, "MAX_RECORD_LINES", 20)  # a chunk holds 7 x 8 = 56 lines
    texts = ["\n".join(f"فقرة {j} من الخبر {i}" for j in range(8)) for i in range(N_ROWS)]
    path = tmp_path / "long.csv"
    pd.DataFrame({"id": range(N_ROWS), "text": texts}).to_csv(path, index=False)
    frame = _assert_same(path)
    assert frame[ERROR_COL].isna().all() and frame["text"].tolist() == texts


def test_a_quote_that_never_closes_is_cut_and_quarantined(tmp_path: Path, monkeypatch):
    from arnews_ml.data import stream

    monkeypatch.setattr(stream, "MAX_RECORD_LINES", 5)
    lines = ["id,text,extra"] + [f"n{i},خبر رقم {i},x" for i in range(N_ROWS)]
    lines[21] = 'n20,"خبر بلا نهاية,x'
    path = tmp_path / "open.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    frame = pd.concat(list(iter_table(path, chunk_rows=CHUNK)), ignore_index=True)
    assert len(frame) == N_ROWS  # every data line accounted for, none read into another
    merged = frame[frame[ERROR_COL] == "merged_lines"]
    assert merged["_row"].min() == 21 and len(merged) >= 5
