"""read_table / decode_bytes: every format, encodings, label formats, ids, dates, broken input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from arnews_ml.data.io import decode_bytes, read_source, read_table
from arnews_ml.data.schema import ColumnMap
from arnews_ml.exceptions import ConfigError, DataError

# Diacritics, tatweel, Arabic-Indic and ASCII digits, Latin, an embedded quote and comma.
DOCS = [
    "نفّذت القواتُ الأمنيةُ عمليةً واسعةً ضدّ خلايا داعش في صلاح الدين",
    "صوّت البرلمـــان العراقي على قرار بانسحاب القوات خلال ١٢ شهراً",
    'ارتفعت أسعار النفط إلى 85 دولاراً، وقال الوزير "نتوقع زيادة" في OPEC',
]
LABELS = [["security", "foreign_forces"], ["politics"], ["economy"]]
TITLES = ["عملية أمنية", "قرار البرلمان", "النفط"]


def _records() -> list[dict]:
    return [
        {"id": f"d{i}", "text": t, "labels": lab, "date": f"2018-0{i + 1}-15", "source": "INA"}
        | {"title": TITLES[i]}
        for i, (t, lab) in enumerate(zip(DOCS, LABELS, strict=True))
    ]


def _csv_frame() -> pd.DataFrame:
    frame = pd.DataFrame(_records())
    frame["labels"] = ["|".join(x) for x in frame["labels"]]
    return frame


def _write_jsonl(path: Path, records: list[dict], gz: bool = False) -> Path:
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    path.write_bytes(gzip.compress(body) if gz else body)
    return path


def _check_canonical(frame: pd.DataFrame) -> None:
    assert list(frame.columns[:6]) == ["id", "text", "labels", "date", "source", "title"]
    assert frame["id"].tolist() == ["d0", "d1", "d2"]
    assert frame["text"].tolist() == DOCS
    assert frame["labels"].tolist() == LABELS
    assert frame["title"].tolist() == TITLES
    assert frame["source"].tolist() == ["INA"] * 3
    assert pd.api.types.is_datetime64_any_dtype(frame["date"])
    assert frame["date"].dt.month.tolist() == [1, 2, 3]


def test_csv(tmp_path: Path) -> None:
    path = tmp_path / "articles.csv"
    _csv_frame().to_csv(path, index=False)
    _check_canonical(read_table(path))


def test_tsv(tmp_path: Path) -> None:
    path = tmp_path / "articles.tsv"
    _csv_frame().to_csv(path, index=False, sep="\t")
    _check_canonical(read_table(path))


def test_jsonl_and_gz(tmp_path: Path) -> None:
    _check_canonical(read_table(_write_jsonl(tmp_path / "a.jsonl", _records())))
    _check_canonical(read_table(_write_jsonl(tmp_path / "a.jsonl.gz", _records(), gz=True)))


def test_csv_gz(tmp_path: Path) -> None:
    path = tmp_path / "articles.csv.gz"
    path.write_bytes(gzip.compress(_csv_frame().to_csv(index=False).encode("utf-8")))
    _check_canonical(read_table(path))


def test_parquet_with_list_labels(tmp_path: Path) -> None:
    path = tmp_path / "articles.parquet"
    frame = pd.DataFrame(_records())
    frame["date"] = pd.to_datetime(frame["date"])
    frame.to_parquet(path)
    out, used = read_source(path)
    assert used == "binary"
    _check_canonical(out)
    assert all(isinstance(x, list) for x in out["labels"])


def test_text_folder(tmp_path: Path) -> None:
    root = tmp_path / "sanad"
    for i, (text, labels) in enumerate(zip(DOCS, LABELS, strict=True)):
        folder = root / labels[0]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i}.txt").write_text(text, encoding="utf-8")
    (root / "Culture").mkdir()
    (root / "Culture" / "x.txt").write_bytes("مهرجان الشِّعر".encode("cp1256"))
    (root / "README.md").write_text("not a document", encoding="utf-8")
    frame, used = read_source(root)
    assert frame["id"].tolist() == [
        "Culture/x.txt",
        "economy/2.txt",
        "politics/1.txt",
        "security/0.txt",
    ]
    assert frame["labels"].tolist() == [["Culture"], ["economy"], ["politics"], ["security"]]
    assert frame["text"].tolist()[0] == "مهرجان الشِّعر"
    assert frame["text"].tolist()[1:] == [DOCS[2], DOCS[1], DOCS[0]]
    assert "cp1256=1" in used and "utf-8=3" in used


def test_text_folder_without_txt_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"<root>/<label>/<file>\.txt"):
        read_table(tmp_path / "empty")


# ---------------------------------------------------------------- encodings


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(_csv_frame().to_csv(index=False).encode("utf-8-sig"))
    frame, used = read_source(path)
    assert used == "utf-8"
    _check_canonical(frame)


def test_cp1256_auto_detected_and_by_option(tmp_path: Path) -> None:
    # cp1256 has no Arabic-Indic digits: a Windows-1256 file writes them in ASCII.
    path = tmp_path / "win.csv"
    source = _csv_frame()
    source["text"] = source["text"].str.replace("١٢", "12")
    path.write_bytes(source.to_csv(index=False).encode("cp1256"))
    for encoding in ("auto", "cp1256", "windows-1256"):
        frame, used = read_source(path, encoding=encoding)
        assert used == "cp1256"
        assert frame["text"].tolist() == source["text"].tolist()
        assert frame["labels"].tolist() == LABELS
        assert frame["title"].tolist() == TITLES


def test_explicit_utf8_on_cp1256_file_names_offset_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "win.csv"
    path.write_bytes(b"id,text\n1," + "خبر".encode("cp1256"))
    with pytest.raises(DataError, match=r"win\.csv.*offset 10.*data\.encoding=cp1256"):
        read_table(path, encoding="utf-8")


def test_explicit_cp1256_on_utf8_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    _csv_frame().to_csv(path, index=False)
    with pytest.raises(DataError, match="mojibake"):
        read_table(path, encoding="cp1256")


def test_bytes_invalid_in_both_encodings(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"id,text\n1,caf\xe9 au lait\n")
    with pytest.raises(DataError) as err:
        read_table(path)
    message = str(err.value)
    assert "latin.csv" in message
    assert "offset 13" in message
    assert "0xe9" in message
    assert "data.encoding=cp1256" in message


def test_corrupt_utf8_arabic_is_not_read_as_cp1256(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    good = json.dumps({"text": DOCS[0]}, ensure_ascii=False).encode()
    path.write_bytes(good + b"\n" + good[:-5] + b"\xd8" + b'"}\n')
    with pytest.raises(DataError, match=r"cut\.jsonl.*offset \d+.*invalid sequence"):
        read_table(path)


def test_decode_bytes_directly() -> None:
    assert decode_bytes("\ufeffسلام".encode("utf-8")) == ("سلام", "utf-8")
    assert decode_bytes("سلام".encode("cp1256")) == ("سلام", "cp1256")
    assert decode_bytes("سلام".encode(), encoding="UTF8") == ("سلام", "utf-8")
    with pytest.raises(ConfigError, match=r"Unknown data\.encoding"):
        decode_bytes(b"x", encoding="no-such-codec")


# ---------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv"):
        read_table(tmp_path / "nope.csv")


def test_unsupported_extension_lists_supported(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(DataError, match=r"'\.xlsx'.*\.csv.*\.jsonl\.gz.*\.parquet"):
        read_table(path)


def test_missing_text_column_lists_columns_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "articles.csv"
    pd.DataFrame({"id": [1], "title": ["t"], "content": ["نص"]}).to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        read_table(path, ColumnMap(text="body"))
    assert str(err.value) == (
        "The text column 'body' is not in articles.csv; columns are: id, title, content. "
        "Set data.text_column=content."
    )


def test_explicit_optional_column_must_exist(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    pd.DataFrame({"text": ["نص"], "category": ["x"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"labels column 'cat'.*data\.labels_column=category"):
        read_table(path, ColumnMap(labels="cat"))
    # default names may be absent: no labels, no dates
    frame = read_table(path)
    assert frame["labels"].tolist() == [[]]
    assert frame["date"].isna().all()


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="no records"):
        read_table(path)


def test_bad_gzip(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"text": "x"}\n')[:12])
    with pytest.raises(DataError, match="decompress"):
        read_table(path)


# ---------------------------------------------------------------- JSONL lines


def test_broken_jsonl_line_becomes_error_row(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    lines = [json.dumps({"id": "a", "text": DOCS[0]}, ensure_ascii=False), '{"id": "b", "text": ']
    lines += ["", "[1, 2]", json.dumps({"id": "c", "text": DOCS[1]}, ensure_ascii=False)]
    lines += [json.dumps({"id": "d", "text": DOCS[2]}, ensure_ascii=False)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    frame = read_table(path)
    assert frame["_row"].tolist() == [1, 2, 4, 5, 6]  # blank line 3 is not a record
    assert frame["_error"].tolist() == [None, "invalid_json", "invalid_json", None, None]
    assert "line 2" in frame["_error_detail"][1]
    assert frame["text"][1] == '{"id": "b", "text":'


def test_mostly_broken_jsonl_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"text": "نص"}\nnot json\nstill not\n', encoding="utf-8")
    with pytest.raises(DataError, match="2 of 3 lines"):
        read_table(path)


def test_line_separator_inside_json_string(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    text = "سطر\u2028سطر آخر\x85نهاية"
    _write_jsonl(path, [{"id": "x", "text": text}])
    assert read_table(path)["text"].tolist() == [text]


# ---------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("values", "fmt", "delimiter", "expected"),
    [
        (['["a", "b"]', '["c"]', "[]"], "auto", "|", [["a", "b"], ["c"], []]),
        (["a|b", "c", ""], "auto", "|", [["a", "b"], ["c"], []]),
        (["a; b", "c", "a;a"], "delimited", ";", [["a", "b"], ["c"], ["a"]]),
        (["a|b", "c", ""], "single", "|", [["a|b"], ["c"], []]),
        (['["a", "b"]', '["c"]', ""], "list", "|", [["a", "b"], ["c"], []]),
        (["أمن", "سياسة|اقتصاد", ""], "auto", "|", [["أمن"], ["سياسة", "اقتصاد"], []]),
    ],
)
def test_label_formats_in_csv(
    tmp_path: Path, values: list[str], fmt: str, delimiter: str, expected: list[list[str]]
) -> None:
    path = tmp_path / "a.csv"
    pd.DataFrame({"text": DOCS, "labels": values}).to_csv(path, index=False)
    frame = read_table(path, ColumnMap(label_format=fmt, label_delimiter=delimiter))  # type: ignore[arg-type]
    assert frame["labels"].tolist() == expected
    assert frame["_error"].isna().all()


def test_onehot_labels(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    pd.DataFrame(
        {"text": DOCS, "politics": [1, 0, 1], "sports": [0, 0, 1], "other": [5, 5, 5]}
    ).to_csv(path, index=False)
    columns = ColumnMap(label_format="onehot", label_columns=["politics", "sports"])
    assert read_table(path, columns)["labels"].tolist() == [
        ["politics"],
        [],
        ["politics", "sports"],
    ]
    with pytest.raises(DataError, match=r"'other'.*0/1"):
        read_table(path, ColumnMap(label_format="onehot", label_columns=["other"]))
    with pytest.raises(DataError, match="missing_col"):
        read_table(path, ColumnMap(label_format="onehot", label_columns=["missing_col"]))


def test_jsonl_labels_list_string_number_and_missing(tmp_path: Path) -> None:
    records = [
        {"text": DOCS[0], "labels": ["a", " b ", "a"]},
        {"text": DOCS[1], "labels": "c"},
        {"text": DOCS[2], "labels": None},
        {"text": "نص رابع", "labels": 7},
        {"text": "نص خامس"},
    ]
    frame = read_table(_write_jsonl(tmp_path / "a.jsonl", records))
    assert frame["labels"].tolist() == [["a", "b"], ["c"], [], ["7"], []]


def test_unparseable_labels_become_error_rows(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    pd.DataFrame({"text": DOCS, "labels": ['["a", ', "b", '{"x": 1}']}).to_csv(path, index=False)
    frame = read_table(path)
    # a JSON object is no label (issue 10): it was taken as the label '{"x": 1}'
    assert frame["_error"].tolist() == ["invalid_labels", None, "invalid_labels"]
    frame = read_table(path, ColumnMap(label_format="list"))
    assert frame["_error"].tolist() == ["invalid_labels", "invalid_labels", "invalid_labels"]


def test_labels_of_an_unexpected_type_are_quarantined_and_every_row_counted(tmp_path) -> None:
    from arnews_ml.data import load_corpus

    records = [
        {"id": "1", "text": DOCS[0], "labels": {"security": 1}},  # a JSON object
        {"id": "2", "text": DOCS[1], "labels": [["a", "b"]]},  # a nested list
        {"id": "3", "text": DOCS[2], "labels": ["sports"]},
        {"id": "4", "text": "نص رابع", "labels": '{"a": 1}'},  # an object written as text
        {"id": "5", "text": "نص خامس", "labels": ["politics", "security"]},
    ]
    quarantine = tmp_path / "quarantine.jsonl"
    corpus = load_corpus(_write_jsonl(tmp_path / "a.jsonl", records), quarantine_path=quarantine)
    assert corpus.frame["id"].tolist() == ["3", "5"]
    report = corpus.report
    assert report.n_read == len(records) == report.n_kept + report.n_bad
    assert report.counts_by_reason() == {"invalid_labels": 3}
    assert len(quarantine.read_text(encoding="utf-8").splitlines()) == 3


def test_column_map_validation() -> None:
    with pytest.raises(ConfigError, match="label_columns"):
        ColumnMap(label_format="onehot")
    with pytest.raises(ConfigError, match="auto, list, delimited, single, onehot"):
        ColumnMap(label_format="csv")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="text_col"):
        ColumnMap.resolve(None, text_col="body")
    resolved = ColumnMap.resolve(ColumnMap(text="body"), labels_column="cat", label_columns=None)
    assert (resolved.text, resolved.labels) == ("body", "cat")


# ---------------------------------------------------------------- ids, dates, titles


def test_generated_ids_and_string_ids(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "news.jsonl.gz", [{"text": t} for t in DOCS], gz=True)
    frame = read_table(path)
    assert frame["id"].tolist() == ["news:1", "news:2", "news:3"]
    assert frame["_id_generated"].all()
    csv = tmp_path / "ids.csv"
    pd.DataFrame({"id": ["007", "", "12"], "text": DOCS}).to_csv(csv, index=False)
    frame = read_table(csv)
    assert frame["id"].tolist() == ["007", "ids:2", "12"]
    assert frame["_id_generated"].tolist() == [False, True, False]


def test_float_ids_from_jsonl_stay_integers(tmp_path: Path) -> None:
    records = [{"id": 1, "text": DOCS[0]}, {"text": DOCS[1]}, {"id": 3, "text": DOCS[2]}]
    frame = read_table(_write_jsonl(tmp_path / "a.jsonl", records))
    assert frame["id"].tolist() == ["1", "a:2", "3"]


def test_dates_mixed_formats_and_unparseable(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    dates = ["2018-03-04", "March 5, 2018", "not a date", "", "2018-03-06T10:00:00+03:00"]
    texts = [f"{DOCS[0]} {i}" for i in range(len(dates))]
    pd.DataFrame({"text": texts, "date": dates}).to_csv(path, index=False)
    frame = read_table(path)
    assert frame["date"].dt.strftime("%Y-%m-%d %H").tolist()[:2] == [
        "2018-03-04 00",
        "2018-03-05 00",
    ]
    assert frame["date"].isna().tolist() == [False, False, True, True, False]
    assert frame["date"][4] == pd.Timestamp("2018-03-06 07:00")  # converted to naive UTC
    assert frame["_date_unparseable"].tolist() == [False, False, True, False, False]


def test_split_column_is_kept_and_normalised(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    pd.DataFrame({"text": DOCS, "split": ["Train", "dev", "test"]}).to_csv(path, index=False)
    assert read_table(path)["split"].tolist() == ["train", "val", "test"]
    pd.DataFrame({"text": DOCS, "split": ["train", "holdout", "test"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="holdout"):
        read_table(path)


def test_epoch_dates_as_pandas_writes_them_are_parsed(tmp_path):
    from arnews_ml.data.corpus import load_corpus

    # pandas 3's to_json writes dates as epoch milliseconds by default
    rows = [
        {"id": "a", "text": "خبر أول", "labels": ["x"], "date": 1519862400000},  # 2018-03-01
        {"id": "b", "text": "خبر ثان", "labels": ["y"], "date": 1539993600000},  # 2018-10-20
    ]
    path = tmp_path / "dates.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    corpus = load_corpus(path)
    assert corpus.frame["date"].dt.strftime("%Y-%m-%d").tolist() == ["2018-03-01", "2018-10-20"]
    assert corpus.report.warnings.get("unparseable_dates", 0) == 0


def test_mixed_date_strings_fall_back_without_crashing(tmp_path):
    from arnews_ml.data.corpus import load_corpus

    path = tmp_path / "mixed.csv"
    path.write_text(
        "id,text,date\na,خبر أول,2018-03-01\nb,خبر ثان,20 March 2018\nc,خبر ثالث,soon\n",
        encoding="utf-8",
    )
    corpus = load_corpus(path)
    dates = corpus.frame.set_index("id")["date"]
    assert dates["a"].strftime("%Y-%m-%d") == "2018-03-01"
    assert dates["b"].strftime("%Y-%m-%d") == "2018-03-20"
    assert pd_isna(dates["c"]) and corpus.report.warnings["unparseable_dates"] == 1


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))
