"""validate / ValidationReport: every quarantine reason, warnings, counts, quarantine files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from arnews_ml.data.io import read_table
from arnews_ml.data.validate import REASONS, ValidationReport, validate
from arnews_ml.exceptions import DataError

GOOD = [
    "نفّذت القواتُ الأمنيةُ عمليةً واسعةً ضدّ خلايا داعش",
    "صوّت البرلمـــان العراقي على قرار خلال ١٢ شهراً",
    "ارتفعت أسعار النفط إلى 85 دولاراً للبرميل",
    "فاز فريق الزوراء على الشرطة بهدفين #الدوري_العراقي",
]

# One JSONL file holding one example of every problem, line numbers in comments.
LINES = [
    {"id": "a", "text": GOOD[0], "labels": ["security"], "date": "2018-03-01"},  # 1 kept
    {"id": "b", "text": "   \n\t ", "labels": ["politics"]},  # 2 empty_text
    {"id": "c", "text": "\u200f\u200e ", "labels": ["politics"]},  # 3 empty_text (marks only)
    {"id": "a", "text": GOOD[1], "labels": ["politics"]},  # 4 duplicate_id
    {"id": "e", "text": "  " + GOOD[0] + " ", "labels": ["security"]},  # 5 duplicate_text of a
    {"id": "f", "text": GOOD[2], "labels": ["economy", "weather"]},  # 6 unknown_label
    "{broken",  # 7 invalid_json
    {"id": "h", "text": GOOD[3], "labels": '["sports"'},  # 8 invalid_labels
    {"id": "i", "text": GOOD[3], "labels": ["sports"], "date": "yesterday-ish"},  # 9 kept
    {"text": GOOD[2], "labels": []},  # 10 kept, generated id, unlabelled
]
LABEL_SET = ["economy", "politics", "security", "sports"]


@pytest.fixture
def messy(tmp_path: Path) -> pd.DataFrame:
    path = tmp_path / "messy.jsonl"
    text = "\n".join(
        line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in LINES
    )
    path.write_text(text, encoding="utf-8")
    return read_table(path)


def test_every_reason_is_quarantined(messy: pd.DataFrame) -> None:
    clean, report = validate(messy, label_set=LABEL_SET)
    assert clean["id"].tolist() == ["a", "i", "messy:10"]
    bad = report.bad_rows.set_index("row")
    assert bad["reason"].to_dict() == {
        2: "empty_text",
        3: "empty_text",
        4: "duplicate_id",
        5: "duplicate_text",
        6: "unknown_label",
        7: "invalid_json",
        8: "invalid_labels",
    }
    assert report.counts_by_reason() == {
        "invalid_json": 1,
        "invalid_labels": 1,
        "empty_text": 2,
        "unknown_label": 1,
        "duplicate_id": 1,
        "duplicate_text": 1,
    }
    assert list(report.counts_by_reason()) == [r for r in REASONS if r in report.counts_by_reason()]
    assert report.n_read == 10
    assert report.n_read == report.n_kept + len(report.bad_rows)
    assert (bad["file"].str.endswith("messy.jsonl")).all()


def test_details_name_the_kept_row_and_the_allowed_labels(messy: pd.DataFrame) -> None:
    _, report = validate(messy, label_set=LABEL_SET)
    detail = report.bad_rows.set_index("reason")["detail"]
    assert "'a'" in detail["duplicate_text"]
    assert "'a'" in detail["duplicate_id"] and "row 1" in detail["duplicate_id"]
    assert "weather" in detail["unknown_label"]
    assert "allowed: economy, politics, security, sports" in detail["unknown_label"]
    assert "line 7" in detail["invalid_json"]


def test_without_label_set_unknown_labels_are_kept(messy: pd.DataFrame) -> None:
    clean, report = validate(messy)
    assert "f" in clean["id"].tolist()
    assert "unknown_label" not in report.counts_by_reason()


def test_warnings_and_unparseable_date_keeps_the_article(messy: pd.DataFrame) -> None:
    clean, report = validate(messy, label_set=LABEL_SET)
    assert report.warnings == {"generated_ids": 1, "unparseable_dates": 1, "unlabelled_docs": 1}
    row = clean.set_index("id").loc["i"]
    assert pd.isna(row["date"])


def test_clean_frame_shape(messy: pd.DataFrame) -> None:
    clean, _ = validate(messy, label_set=LABEL_SET)
    assert list(clean.columns) == ["id", "text", "labels", "date", "source", "title"]
    assert clean.index.tolist() == [0, 1, 2]


def test_text_preview_is_80_chars_one_line(tmp_path: Path) -> None:
    long_text = "سطر أول\n" + "كلمة " * 40
    frame = pd.DataFrame({"id": ["x", "y"], "text": [long_text, long_text]})
    _, report = validate(frame, source_name="inline")
    preview = report.bad_rows["text_preview"][0]
    assert len(preview) == 80 and "\n" not in preview
    assert report.bad_rows["text"][0] == long_text
    assert report.bad_rows["file"][0] == "inline" and report.bad_rows["row"][0] == 2


def test_plain_frame_without_provenance() -> None:
    frame = pd.DataFrame({"text": [*GOOD, ""]})
    clean, report = validate(frame, source_name="mem")
    assert clean["id"].tolist() == ["mem:1", "mem:2", "mem:3", "mem:4"]
    assert clean["labels"].tolist() == [[]] * 4
    assert report.counts_by_reason() == {"empty_text": 1}
    with pytest.raises(DataError, match="no 'text' column"):
        validate(pd.DataFrame({"body": ["x"]}))


def test_no_bad_rows() -> None:
    clean, report = validate(pd.DataFrame({"id": ["1", "2"], "text": GOOD[:2]}))
    assert len(clean) == 2 and report.n_bad == 0
    assert report.counts_by_reason() == {}
    assert "n_bad=0" in report.summary()


def test_to_dict_is_json(messy: pd.DataFrame) -> None:
    _, report = validate(messy, label_set=LABEL_SET)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["n_read"] == 10 and data["n_kept"] == 3 and data["n_bad"] == 7
    assert data["counts_by_reason"]["empty_text"] == 2
    assert data["bad_row_examples"][0]["reason"] == "empty_text"
    assert "text" not in data["bad_row_examples"][0]


def test_write_quarantine_jsonl_and_csv(messy: pd.DataFrame, tmp_path: Path) -> None:
    _, report = validate(messy, label_set=LABEL_SET)
    out = report.write_quarantine(tmp_path / "q" / "bad.jsonl")
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == report.n_bad
    assert records[3]["reason"] == "duplicate_text" and records[3]["text"].strip() == GOOD[0]
    assert set(records[0]) == {
        "file",
        "row",
        "id",
        "reason",
        "detail",
        "text_preview",
        "text",
        "labels",
    }
    csv_path = report.write_quarantine(tmp_path / "bad.csv")
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(csv_path, encoding="utf-8-sig")
    assert back["reason"].tolist() == report.bad_rows["reason"].tolist()


def test_report_is_a_plain_dataclass() -> None:
    report = ValidationReport(
        n_read=1, n_kept=1, bad_rows=pd.DataFrame(columns=["reason"]), warnings={}
    )
    assert report.n_bad == 0 and report.counts_by_reason() == {}
