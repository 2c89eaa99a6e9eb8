"""load_corpus and Corpus: single file, split files, column options, quarantine, package exports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import arnews_ml.data as data_pkg
from arnews_ml.data import ColumnMap, Corpus, load_corpus
from arnews_ml.exceptions import ConfigError, DataError

DOCS = [
    "نفّذت القواتُ الأمنيةُ عمليةً واسعةً ضدّ خلايا داعش في صلاح الدين",
    "صوّت البرلمـــان العراقي على قرار يطالب بانسحاب القوات الأجنبية خلال ١٢ شهراً",
    "ارتفعت أسعار النفط إلى 85 دولاراً للبرميل 😀",
    "فاز فريق الزوراء على الشرطة بهدفين في الدوري الممتاز",
    "أعلنت وزارة الصحة افتتاح مستشفى في البصرة https://example.org/news",
    "اجتمع رئيس الوزراء مع السفير لبحث مستقبل قوات التحالف",
]
LABELS = [
    ["security", "foreign_forces"],
    ["politics", "foreign_forces"],
    ["economy"],
    ["sports"],
    ["health"],
    ["politics", "foreign_forces"],
]


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


def _records(ids: range = range(6)) -> list[dict]:
    return [{"id": f"n{i}", "text": DOCS[i], "labels": LABELS[i]} for i in ids]


def test_load_single_file(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "news.jsonl", _records())
    corpus = load_corpus(path)
    assert isinstance(corpus, Corpus)
    assert corpus.n_docs == 6
    assert corpus.is_multilabel
    assert corpus.label_set == (
        "economy",
        "foreign_forces",
        "health",
        "politics",
        "security",
        "sports",
    )
    assert corpus.label_counts().to_dict() == {
        "economy": 1,
        "foreign_forces": 3,
        "health": 1,
        "politics": 2,
        "security": 1,
        "sports": 1,
    }
    assert corpus.paths == (path,)
    assert corpus.report.n_bad == 0
    assert corpus.report.encodings == {str(path): "utf-8"}
    assert "split" not in corpus.frame.columns
    assert "n_docs=6" in repr(corpus)


def test_single_label_corpus_is_not_multilabel(tmp_path: Path) -> None:
    corpus = load_corpus(_jsonl(tmp_path / "a.jsonl", _records(range(2, 5))))
    assert not corpus.is_multilabel


def test_fixed_label_set_quarantines_and_counts_zeros(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "news.jsonl", _records())
    allowed = ["sports", "economy", "health", "culture"]
    quarantine = tmp_path / "out" / "quarantine.jsonl"
    corpus = load_corpus(path, label_set=allowed, quarantine_path=quarantine)
    assert corpus.label_set == ("culture", "economy", "health", "sports")
    assert corpus.frame["id"].tolist() == ["n2", "n3", "n4"]
    assert corpus.label_counts().to_dict() == {"culture": 0, "economy": 1, "health": 1, "sports": 1}
    assert corpus.report.counts_by_reason() == {"unknown_label": 3}
    lines = quarantine.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["n0", "n1", "n5"]
    with pytest.raises(ConfigError, match="list of labels"):
        load_corpus(path, label_set="sports")


def test_no_quarantine_file_without_bad_rows(tmp_path: Path) -> None:
    quarantine = tmp_path / "q.jsonl"
    load_corpus(_jsonl(tmp_path / "a.jsonl", _records()), quarantine_path=quarantine)
    assert not quarantine.exists()


def test_split_files_keep_the_test_file_as_given_unless_told(tmp_path: Path) -> None:
    train = _jsonl(tmp_path / "train.jsonl", _records(range(4)))
    val = _jsonl(tmp_path / "val.jsonl", _records(range(4, 5)))
    test_records = [*_records(range(5, 6)), {"id": "leak", "text": DOCS[0], "labels": ["x"]}]
    test = _jsonl(tmp_path / "test.jsonl", test_records)
    # a test article also in train stays in the test split (it is reported by the training task)
    corpus = load_corpus(train_path=train, val_path=val, test_path=test)
    assert corpus.frame["split"].tolist() == ["train"] * 4 + ["val", "test", "test"]
    assert corpus.paths == (train, val, test)
    assert corpus.report.n_bad == 0 and corpus.report.n_read == 7
    # deduplication across splits is an explicit choice
    corpus = load_corpus(train_path=train, val_path=val, test_path=test, dedupe_across_splits=True)
    assert corpus.frame["split"].tolist() == ["train"] * 4 + ["val", "test"]
    bad = corpus.report.bad_rows
    assert bad["reason"].tolist() == ["duplicate_text"]
    assert bad["file"].tolist() == [str(test)] and bad["row"].tolist() == [2]
    assert "'n0'" in bad["detail"][0]
    assert corpus.report.n_read == corpus.report.n_kept + corpus.report.n_bad == 7
    # duplicates inside one split are still quarantined (and counted)
    dup_test = _jsonl(tmp_path / "dup.jsonl", [*test_records, {**test_records[0], "id": "again"}])
    corpus = load_corpus(train_path=train, test_path=dup_test)
    assert corpus.report.counts_by_reason() == {"duplicate_text": 1}


def test_train_only(tmp_path: Path) -> None:
    corpus = load_corpus(train_path=_jsonl(tmp_path / "t.jsonl", _records()))
    assert set(corpus.frame["split"]) == {"train"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "No corpus given"),
        ({"path": "a.csv", "train_path": "b.csv"}, "not both"),
        ({"val_path": "b.csv"}, "need data.train_path"),
        ({"path": "a.csv", "body_column": "x"}, "Unknown column option"),
    ],
)
def test_path_options_are_checked(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_corpus(**kwargs)


def test_column_kwargs_and_column_map(tmp_path: Path) -> None:
    path = tmp_path / "articles.csv"
    pd.DataFrame(
        {
            "doc": ["x1", "x2", "x3"],
            "headline": ["عنوان ١", "عنوان ٢", "عنوان ٣"],
            "body": DOCS[:3],
            "cats": ["security;foreign_forces", "politics", ""],
            "published": ["2018-02-01", "2018-02-02", "2018-02-03"],
            "outlet": ["INA", "BBC", "INA"],
        }
    ).to_csv(path, index=False)
    kwargs = {
        "text_column": "body",
        "id_column": "doc",
        "labels_column": "cats",
        "date_column": "published",
        "source_column": "outlet",
        "title_column": "headline",
        "label_delimiter": ";",
    }
    corpus = load_corpus(path, **kwargs)
    frame = corpus.frame
    assert frame["id"].tolist() == ["x1", "x2", "x3"]
    assert frame["text"].tolist() == DOCS[:3]  # the title is kept apart, not merged
    assert frame["title"].tolist() == ["عنوان ١", "عنوان ٢", "عنوان ٣"]
    assert frame["labels"].tolist() == [["security", "foreign_forces"], ["politics"], []]
    assert frame["source"].tolist() == ["INA", "BBC", "INA"]
    assert frame["date"].dt.day.tolist() == [1, 2, 3]
    assert corpus.report.warnings["unlabelled_docs"] == 1

    columns = ColumnMap(text="body", id="doc", labels="cats", label_delimiter=";")
    same = load_corpus(path, columns=columns, date_column="published")
    assert same.frame["labels"].tolist() == frame["labels"].tolist()
    assert same.frame["date"].notna().all()


def test_missing_text_column_error(tmp_path: Path) -> None:
    path = tmp_path / "articles.csv"
    pd.DataFrame({"id": [1], "title": ["t"], "content": ["نص"]}).to_csv(path, index=False)
    with pytest.raises(
        DataError, match=r"columns are: id, title, content\. Set data\.text_column=content"
    ):
        load_corpus(path, text_column="body")


def test_exports_and_lazy_sample() -> None:
    assert set(data_pkg.__all__) >= {
        "load_corpus",
        "Corpus",
        "ColumnMap",
        "ValidationReport",
        "split_corpus",
        "Splits",
        "read_table",
        "load_sample",
    }
    with pytest.raises(AttributeError):
        _ = data_pkg.no_such_name
    code = "import sys, arnews_ml.data; print('arnews_ml.data.sample' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_load_sample_is_reachable() -> None:
    sample = pytest.importorskip("arnews_ml.data.sample", reason="sample/ is built separately")
    if not hasattr(sample, "load_sample"):
        pytest.skip("arnews_ml.data.sample has no load_sample yet (built separately)")
    assert data_pkg.load_sample is sample.load_sample
