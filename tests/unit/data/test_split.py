"""split_corpus: every method, determinism, proportions, edge cases and size checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arnews_ml.data import Corpus, Splits, split_corpus
from arnews_ml.data.validate import validate
from arnews_ml.exceptions import ConfigError, DataError

WORDS = ["القواتُ", "البرلمـــان", "النفط", "الدوري", "الصحة", "١٢", "85", "OPEC"]


def _single_label_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    classes = np.array(["politics"] * 5 + ["sports"] * 3 + ["economy"] * 2)
    labels = rng.choice(classes, size=n)
    return pd.DataFrame(
        {
            "id": [f"d{i}" for i in range(n)],
            "text": [f"{WORDS[i % len(WORDS)]} خبر رقم {i}" for i in range(n)],
            "labels": [[x] for x in labels],
            "date": pd.date_range("2018-01-01", periods=n, freq="D")[rng.permutation(n)],
        }
    )


def _multi_label_frame(n: int = 300, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = ["politics", "security", "economy", "sports", "health", "foreign_forces", "rare"]
    probs = [0.4, 0.3, 0.2, 0.15, 0.1, 0.1, 0.0]
    labels = []
    for _ in range(n):
        row = [name for name, p in zip(names, probs, strict=True) if rng.random() < p]
        labels.append(row)
    labels[7] = ["rare", "politics"]  # one document carries the rarest label
    labels[11] = []  # unlabelled documents are fine
    return pd.DataFrame(
        {"id": [f"m{i}" for i in range(n)], "text": [f"نص {i}" for i in range(n)], "labels": labels}
    )


def _ids(splits: Splits) -> tuple[list[str], list[str], list[str]]:
    return tuple(part["id"].tolist() for part in splits)  # type: ignore[return-value]


def _label_share(frame: pd.DataFrame) -> pd.Series:
    return frame["labels"].explode().value_counts() / len(frame)


def _check_partition(frame: pd.DataFrame, splits: Splits) -> None:
    ids = [i for part in _ids(splits) for i in part]
    assert sorted(ids) == sorted(frame["id"].tolist())
    assert sum(splits.sizes().values()) == len(frame)
    for name, part in zip(("train", "val", "test"), splits, strict=True):
        assert (part["split"] == name).all()
        assert part.index.tolist() == list(range(len(part)))


def test_stratified_deterministic_and_proportional() -> None:
    frame = _single_label_frame()
    first = split_corpus(frame, method="stratified", val_size=0.1, test_size=0.2, seed=5)
    again = split_corpus(frame, method="stratified", val_size=0.1, test_size=0.2, seed=5)
    other = split_corpus(frame, method="stratified", val_size=0.1, test_size=0.2, seed=6)
    assert _ids(first) == _ids(again)
    assert _ids(first) != _ids(other)
    assert first.method == "stratified"
    assert first.sizes() == {"train": 140, "val": 20, "test": 40}
    _check_partition(frame, first)
    overall = _label_share(frame)
    for part in first:
        assert (abs(_label_share(part) - overall) < 0.05).all()


def test_stratified_with_rare_classes_and_unlabelled_docs() -> None:
    frame = _single_label_frame(40)
    frame.loc[0, "labels"] = ["only_once"]
    frame.loc[1, "labels"] = ["also_once"]
    frame.loc[2, "labels"] = []
    frame.loc[3, "labels"] = []
    splits = split_corpus(frame, method="stratified", val_size=0.1, test_size=0.2, seed=1)
    _check_partition(frame, splits)


def test_stratified_falls_back_when_test_is_smaller_than_the_classes() -> None:
    frame = _single_label_frame(12)
    frame["labels"] = [[f"c{i // 2}"] for i in range(12)]  # 6 classes of 2
    splits = split_corpus(frame, method="stratified", val_size=0.1, test_size=0.2, seed=3)
    _check_partition(frame, splits)
    assert splits.sizes() == {"train": 9, "val": 1, "test": 2}


def test_iterative_deterministic_keeps_labels_in_train_and_proportions() -> None:
    frame = _multi_label_frame()
    first = split_corpus(frame, method="iterative", val_size=0.1, test_size=0.2, seed=13)
    again = split_corpus(frame, method="iterative", val_size=0.1, test_size=0.2, seed=13)
    other = split_corpus(frame, method="iterative", val_size=0.1, test_size=0.2, seed=14)
    assert _ids(first) == _ids(again)
    assert _ids(first) != _ids(other)
    _check_partition(frame, first)
    all_labels = set(frame["labels"].explode().dropna())
    assert set(first.train["labels"].explode().dropna()) == all_labels
    sizes = first.sizes()
    assert abs(sizes["test"] - 60) <= 3 and abs(sizes["val"] - 30) <= 3
    overall = _label_share(frame).drop("rare")
    for part in first:
        share = _label_share(part).reindex(overall.index, fill_value=0)
        assert (abs(share - overall) < 0.05).all()


def test_iterative_moves_a_label_into_train_when_it_can() -> None:
    # "b" only co-occurs with "a" in two documents; val/test must not take both.
    frame = pd.DataFrame(
        {
            "id": [str(i) for i in range(10)],
            "text": [f"نص {i}" for i in range(10)],
            "labels": [["a"]] * 8 + [["a", "b"]] * 2,
        }
    )
    for seed in range(10):
        splits = split_corpus(frame, method="iterative", val_size=0.2, test_size=0.3, seed=seed)
        assert "b" in set(splits.train["labels"].explode())


def test_date_split_orders_by_time() -> None:
    frame = _single_label_frame(50)
    splits = split_corpus(frame, method="date", val_size=0.2, test_size=0.2)
    assert splits.sizes() == {"train": 30, "val": 10, "test": 10}
    assert splits.train["date"].max() < splits.val["date"].min()
    assert splits.val["date"].max() < splits.test["date"].min()
    assert _ids(splits) == _ids(split_corpus(frame, method="date", val_size=0.2, test_size=0.2))


def test_date_split_refuses_missing_dates() -> None:
    frame = _single_label_frame(20)
    frame.loc[[3, 4], "date"] = pd.NaT
    with pytest.raises(DataError, match=r"2 of 20 rows.*method='stratified'"):
        split_corpus(frame, method="date")
    with pytest.raises(DataError, match="'published'"):
        split_corpus(frame, method="date", date_column="published")


def test_predefined_uses_split_column_and_carves_val() -> None:
    frame = _single_label_frame(100)
    frame["split"] = ["train"] * 80 + ["test"] * 20
    splits = split_corpus(frame, val_size=0.1, seed=2)
    assert splits.method == "predefined"
    assert splits.sizes() == {"train": 70, "val": 10, "test": 20}
    assert splits.test["id"].tolist() == frame["id"][80:].tolist()
    assert set(splits.val["id"]) <= set(frame["id"][:80])
    empty_val = split_corpus(frame, method="predefined", val_size=0)
    assert empty_val.sizes() == {"train": 80, "val": 0, "test": 20}

    frame["split"] = ["train"] * 70 + ["dev"] * 10 + ["test"] * 20
    kept = split_corpus(frame, method="predefined")
    assert kept.val["id"].tolist() == frame["id"][70:80].tolist()


def test_predefined_needs_a_split_column() -> None:
    with pytest.raises(DataError, match="'split' column"):
        split_corpus(_single_label_frame(20), method="predefined")


def test_auto_picks_the_method() -> None:
    assert split_corpus(_single_label_frame()).method == "stratified"
    assert split_corpus(_multi_label_frame()).method == "iterative"


def test_val_size_zero_and_unpacking() -> None:
    frame = _single_label_frame(50)
    train, val, test = split_corpus(frame, val_size=0, test_size=0.2)
    assert (len(train), len(val), len(test)) == (40, 0, 10)
    assert list(val.columns) == [*frame.columns, "split"]
    train, val, test = split_corpus(_multi_label_frame(), method="iterative", val_size=0)
    assert len(val) == 0 and len(test) > 0


def test_accepts_a_corpus() -> None:
    clean, report = validate(_multi_label_frame())
    corpus = Corpus(frame=clean, label_set=("a",), report=report)
    assert sum(split_corpus(corpus).sizes().values()) == corpus.n_docs


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "random"}, "auto, stratified, iterative, date, predefined"),
        ({"val_size": -0.1}, "val_size"),
        ({"test_size": 1.0}, "test_size"),
        ({"test_size": True}, "test_size"),
        ({"val_size": 0.5, "test_size": 0.5}, "leave rows for training"),
    ],
)
def test_invalid_options(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        split_corpus(_single_label_frame(20), **kwargs)


def test_too_few_rows() -> None:
    with pytest.raises(DataError, match="Too few rows"):
        split_corpus(_single_label_frame(2), val_size=0.1, test_size=0.2)
