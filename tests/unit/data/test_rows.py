"""Every row accounted for: stray CSV quotes (merged_lines) and mixed encodings (mixed_encoding)."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest

from arnews_ml.data import load_corpus
from arnews_ml.data.encoding import decode_text
from arnews_ml.exceptions import DataError

QUOTE = '"'
MOJIBAKE = ("ط§", "ظ„", "ظ", "ط¹")  # UTF-8 Arabic bytes read as cp1256


def _doc(i: int) -> str:
    return f"خبر رقم {i} عن السياسة والاقتصاد"


def _csv(path: Path, n: int, quoted: set[int], ncols: int = 3) -> Path:
    lines = ["id,text,labels" if ncols == 3 else "id,text"]
    for i in range(1, n + 1):
        text = ('"' if i in quoted else "") + _doc(i)
        lines.append(f"{i},{text},politics" if ncols == 3 else f"{i},{text}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("n", "quoted", "merged_rows"),
    [
        (30, {12, 17}, range(12, 18)),  # opens at 12, the quote on 17 closes it
        (30, {3, 4}, range(3, 5)),
        (30, {30}, range(30, 31)),  # opens at the last row, never closed
        (30, {25}, range(25, 31)),  # opens near the end, runs to the end of the file
        (40, {5, 8, 20, 22}, [5, 6, 7, 8, 20, 21, 22]),  # two separate stray pairs
    ],
)
def test_stray_quote_lines_are_each_accounted_for(
    tmp_path: Path, n: int, quoted: set[int], merged_rows
) -> None:
    corpus = load_corpus(_csv(tmp_path / "s.csv", n, quoted))
    report = corpus.report
    assert report.n_read == n == report.n_kept + report.n_bad
    bad = report.bad_rows
    assert set(bad["reason"]) == {"merged_lines"}
    assert bad["row"].tolist() == list(merged_rows)
    first = min(merged_rows) + 1  # file line = data row + header
    assert any(f"line {first}" in d for d in bad["detail"])
    assert bad["text"].tolist() == [
        f"{r},{QUOTE if r in quoted else ''}{_doc(r)},politics" for r in merged_rows
    ]
    kept = corpus.frame
    assert sorted(int(i) for i in kept["id"]) == sorted(set(range(1, n + 1)) - set(merged_rows))
    assert all(t == _doc(int(i)) for i, t in zip(kept["id"], kept["text"], strict=True))
    assert all("\n" not in t for t in kept["text"])


def test_merged_detail_names_the_span(tmp_path: Path) -> None:
    bad = load_corpus(_csv(tmp_path / "s.csv", 30, {12, 17})).report.bad_rows
    assert set(bad["detail"]) == {
        "file lines 13-18 were read as one row because of an unbalanced quote at line 13; "
        "each line is quarantined on its own"
    }


def test_unclosed_quote_swallowing_most_of_the_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"139 of 150 data lines.*file lines 13-151"):
        load_corpus(_csv(tmp_path / "s.csv", 150, {12}))


def test_two_column_file_with_stray_quote_pair(tmp_path: Path) -> None:
    report = load_corpus(_csv(tmp_path / "s.csv", 20, {5, 9}, ncols=2)).report
    assert report.n_read == 20 and report.n_kept == 15
    assert report.bad_rows["row"].tolist() == [5, 6, 7, 8, 9]


def test_real_multiline_field_is_kept_and_rows_follow_lines(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    body = 'id,text,labels\n1,"سطر أول\nسطر ثان، وفيه فاصلة",politics\n2,خبر آخر,economy\n'
    path.write_text(body, encoding="utf-8")
    corpus = load_corpus(path)
    assert corpus.report.n_bad == 0 and corpus.report.n_read == 2
    assert corpus.frame["text"][0] == "سطر أول\nسطر ثان، وفيه فاصلة"


def test_quote_inside_a_field_is_not_a_merge(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('id,text\n1,قال "الوزير\n2,خبر آخر\n', encoding="utf-8")
    assert load_corpus(path).report.n_kept == 2


# ---------------------------------------------------------------- mixed encodings

UTF8_ROWS = {4, 7}


def _mixed_lines(n: int = 10) -> list[bytes]:
    return [
        (_doc(i).encode("utf-8") if i in UTF8_ROWS else _doc(i).encode("cp1256"))
        for i in range(1, n + 1)
    ]


def _no_mojibake(texts) -> None:
    for text in texts:
        assert not any(m in text for m in MOJIBAKE), text


def test_decode_text_reports_utf8_lines_and_never_makes_mojibake() -> None:
    data = b"\n".join(_mixed_lines())
    text, used, foreign = decode_text(data)
    assert used == "cp1256" and foreign == {4: "utf-8", 7: "utf-8"}
    assert text.split("\n") == [_doc(i) for i in range(1, 11)]
    text2, _, foreign2 = decode_text(data, encoding="cp1256")
    assert text2 == text and foreign2 == foreign


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "tsv"])
def test_mixed_encoding_rows_are_quarantined_with_their_lines(tmp_path: Path, fmt: str) -> None:
    lines = _mixed_lines()
    path = tmp_path / f"mixed.{fmt}"
    if fmt == "jsonl":
        body = [
            b'{"id": "%d", "text": "' % i + line + b'", "labels": ["politics"]}'
            for i, line in enumerate(lines, start=1)
        ]
        path.write_bytes(b"\n".join(body) + b"\n")
        expected_lines = UTF8_ROWS  # JSONL rows are file lines
    else:
        sep = b"," if fmt == "csv" else b"\t"
        body = [b"id" + sep + b"text"] + [b"%d" % i + sep + line for i, line in enumerate(lines, 1)]
        path.write_bytes(b"\n".join(body) + b"\n")
        expected_lines = {r + 1 for r in UTF8_ROWS}  # header on line 1
    corpus = load_corpus(path)
    report = corpus.report
    assert report.n_read == 10 and report.n_kept == 8
    assert report.counts_by_reason() == {"mixed_encoding": 2}
    assert report.encodings[str(path)] == "cp1256"
    bad = report.bad_rows
    assert bad["row"].tolist() == sorted(UTF8_ROWS)
    for line, detail in zip(sorted(expected_lines), bad["detail"], strict=True):
        assert f"line {line} is utf-8" in detail and "cp1256" in detail
    _no_mojibake(corpus.frame["text"])
    _no_mojibake(bad["text"])
    assert bad["text"].tolist() == [_doc(i) for i in sorted(UTF8_ROWS)]
    assert corpus.frame["text"].tolist() == [_doc(i) for i in range(1, 11) if i not in UTF8_ROWS]


def test_mixed_text_folder_document_is_quarantined(tmp_path: Path) -> None:
    folder = tmp_path / "root" / "politics"
    folder.mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"\n".join(_mixed_lines()))
    (folder / "b.txt").write_bytes(_doc(1).encode("cp1256"))
    report = load_corpus(tmp_path / "root").report
    assert report.counts_by_reason() == {"mixed_encoding": 1}
    assert "line 4 is utf-8, line 7 is utf-8" in report.bad_rows["detail"][0]
    _no_mojibake(report.bad_rows["text"])


# A UTF-8 file with lines pasted in as cp1256 (the other way round): the same rule per row.

# Starts with bytes that are valid UTF-8 (C7 BF) and ends with a UTF-8 lead byte (D8) just
# before the newline: the bad sequence straddles no line, and the first bad byte is mid-line.
BOUNDARY_DOC = "ا؟ خبر عن النفط"


def _mixed_utf8_file(path: Path, fmt: str, cp_rows: set[int], n: int = 10, doc=_doc) -> Path:
    """n rows in UTF-8; rows in ``cp_rows`` (1-based) written in cp1256."""

    def enc(i: int, line: str) -> bytes:
        return line.encode("cp1256" if i in cp_rows else "utf-8")

    if fmt == "jsonl":
        body = [
            enc(i, json.dumps({"id": str(i), "text": doc(i)}, ensure_ascii=False))
            for i in range(1, n + 1)
        ]
    else:
        sep = "," if fmt == "csv" else "\t"
        body = [b"id" + sep.encode() + b"text"]
        body += [enc(i, f"{i}{sep}{doc(i)}") for i in range(1, n + 1)]
    path.write_bytes(b"\n".join(body) + b"\n")
    return path


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "tsv"])
@pytest.mark.parametrize(
    ("cp_rows", "where"), [({1}, "first"), ({5}, "middle"), ({10}, "last"), ({2, 9}, "two")]
)
def test_cp1256_lines_in_utf8_file_are_quarantined_per_row(
    tmp_path: Path, fmt: str, cp_rows: set[int], where: str
) -> None:
    path = _mixed_utf8_file(tmp_path / f"u_{where}.{fmt}", fmt, cp_rows)
    corpus = load_corpus(path)
    report = corpus.report
    assert report.n_read == 10 == report.n_kept + report.n_bad
    assert report.counts_by_reason() == {"mixed_encoding": len(cp_rows)}
    assert report.encodings[str(path)] == "utf-8"
    bad = report.bad_rows
    assert bad["row"].tolist() == sorted(cp_rows)
    offset = 0 if fmt == "jsonl" else 1  # the CSV header is file line 1
    for row, detail in zip(sorted(cp_rows), bad["detail"], strict=True):
        assert f"line {row + offset} is cp1256 inside a file read as utf-8" in detail
    # decoded in its own encoding: the real text, never mojibake, and never kept
    assert bad["text"].tolist() == [_doc(i) for i in sorted(cp_rows)]
    _no_mojibake(corpus.frame["text"])
    assert corpus.frame["text"].tolist() == [_doc(i) for i in range(1, 11) if i not in cp_rows]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "tsv"])
def test_cp1256_line_across_a_multibyte_boundary(tmp_path: Path, fmt: str) -> None:
    assert BOUNDARY_DOC.encode("cp1256")[:2].decode("utf-8")  # a valid UTF-8 pair first
    assert BOUNDARY_DOC.encode("cp1256")[-1:] == b"\xd8"  # a UTF-8 lead byte before "\n"

    def doc(i: int) -> str:
        return BOUNDARY_DOC if i in (3, 4) else _doc(i)

    path = _mixed_utf8_file(tmp_path / f"b.{fmt}", fmt, {3}, doc=doc)
    report = load_corpus(path).report
    assert report.n_read == 10 and report.n_kept == 9
    assert report.bad_rows["text"].tolist() == [BOUNDARY_DOC]
    assert report.bad_rows["row"].tolist() == [3]


def test_cp1256_line_inside_a_multiline_csv_field(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    head = 'id,text\n1,"سطر أول\n'.encode()
    tail = "سطر ثان".encode("cp1256") + '"\n2,خبر آخر\n3,خبر ثالث\n'.encode()
    path.write_bytes(head + tail)
    corpus = load_corpus(path)
    report = corpus.report
    assert report.n_read == 3 and report.n_kept == 2
    assert report.bad_rows["row"].tolist() == [1]
    assert "line 3 is cp1256" in report.bad_rows["detail"][0]
    assert report.bad_rows["text"][0] == "سطر أول\nسطر ثان"
    assert corpus.frame["text"].tolist() == ["خبر آخر", "خبر ثالث"]


def test_utf8_bom_then_cp1256_first_line(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    lines = [json.dumps({"text": _doc(i)}, ensure_ascii=False) for i in range(1, 6)]
    body = codecs.BOM_UTF8 + lines[0].encode("cp1256") + b"\n"
    path.write_bytes(body + "\n".join(lines[1:]).encode() + b"\n")
    report = load_corpus(path).report
    assert report.n_kept == 4 and report.bad_rows["row"].tolist() == [1]
    assert report.bad_rows["text"][0] == _doc(1)  # no BOM, no mojibake


def test_explicit_utf8_allows_a_few_cp1256_rows(tmp_path: Path) -> None:
    path = _mixed_utf8_file(tmp_path / "u.jsonl", "jsonl", {6})
    report = load_corpus(path, encoding="utf-8").report
    assert report.n_kept == 9 and report.bad_rows["row"].tolist() == [6]


def test_cp1256_lines_as_many_as_utf8_lines_refuse_the_file(tmp_path: Path) -> None:
    path = _mixed_utf8_file(tmp_path / "half.jsonl", "jsonl", {1, 3, 5, 7, 9})
    with pytest.raises(
        DataError,
        match=r"half\.jsonl.*\(line 1\).*5 of 10 non-ASCII lines are "
        r"cp1256 \(Windows Arabic: lines 1, 3, 5, 7, 9\).*Nothing was read",
    ):
        load_corpus(path)


def test_mostly_cp1256_with_explicit_utf8_is_refused_naming_the_lines(tmp_path: Path) -> None:
    path = _mixed_utf8_file(tmp_path / "most.csv", "csv", set(range(1, 9)))
    with pytest.raises(
        DataError,
        match=r"most\.csv.*\(line 2\).*8 of 10 non-ASCII lines.*"
        r"lines 2, 3, 4, 5, 6, 7, 8, 9\).*data\.encoding=auto",
    ):
        load_corpus(path, encoding="utf-8")
    # auto: a cp1256 file with two UTF-8 rows, the opposite case
    report = load_corpus(path).report
    assert report.encodings[str(path)] == "cp1256"
    assert report.bad_rows["row"].tolist() == [9, 10]
    assert set(report.bad_rows["reason"]) == {"mixed_encoding"}


def test_mostly_utf8_with_explicit_cp1256_is_refused(tmp_path: Path) -> None:
    path = _mixed_utf8_file(tmp_path / "u.tsv", "tsv", {4})
    with pytest.raises(DataError, match=r"9 of 10 non-ASCII lines are UTF-8 \(lines 2, 3, 4, 6"):
        load_corpus(path, encoding="cp1256")


def test_corrupt_utf8_line_still_stops_the_file(tmp_path: Path) -> None:
    # Truncated UTF-8 Arabic is not cp1256: read as cp1256 it would be mojibake.
    lines = [json.dumps({"text": _doc(i)}, ensure_ascii=False).encode() for i in range(9)]
    lines[5] = lines[5][:-6] + b"\xd8" + b'"}'
    path = tmp_path / "cut.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(DataError, match=r"\(line 6\).*invalid sequence.*Nothing was read"):
        load_corpus(path)


@pytest.mark.parametrize(
    ("name", "body", "blank_row"),
    [
        ("one.csv", "text\n   \nخبر\n", 1),  # pandas wrote an empty-looking text unquoted
        ("two.csv", "id,text\n1,خبر\n \t \n2,خبر آخر\n", 2),
        ("three.tsv", "id\ttext\n1\tخبر\n   \n2\tخبر آخر\n", 2),
    ],
)
def test_a_line_of_spaces_is_a_row_not_a_skipped_line(
    tmp_path: Path, name: str, body: str, blank_row: int
) -> None:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    report = load_corpus(path).report
    assert report.n_read == report.n_kept + 1
    assert report.bad_rows[["row", "reason"]].values.tolist() == [[blank_row, "empty_text"]]
