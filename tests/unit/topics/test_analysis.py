"""Topic analysis tables: over time, per source/label (multi-label aware), document assignments."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arnews_ml.exceptions import ConfigError, DataError
from arnews_ml.topics.analysis import (
    DOCUMENT_TOPICS_COLUMNS,
    as_group_lists,
    document_topics_frame,
    read_document_topics,
    topic_name,
    topics_over_time,
    topics_per_group,
    write_document_topics,
)

TOPICS = [0, 0, 1, -1, 1, 0]
DATES = ["2018-02-18", "2018-02-27", "2018-03-01", "2018-03-05", None, "not a date"]
SOURCES = ["BBC", "CNN", "BBC", "SkyNews", "BBC", None]
LABELS = [["sport", "culture"], ["sport"], "economy", ["sport"], [], None]
TOPIC_LABELS = {0: "رياضة_الدوري", 1: "اقتصاد_النفط"}


def test_topics_over_time_monthly_counts_shares_and_undated():
    table = topics_over_time(TOPICS, DATES, freq="month", topic_labels=TOPIC_LABELS)
    assert list(table.columns) == ["period", "topic", "topic_label", "count", "share"]
    # Two dated months x three topics (-1, 0, 1), zero counts included.
    assert len(table) == 6
    feb = table[table["period"] == pd.Timestamp("2018-02-01")].set_index("topic")
    mar = table[table["period"] == pd.Timestamp("2018-03-01")].set_index("topic")
    assert feb["count"].to_dict() == {-1: 0, 0: 2, 1: 0}
    assert mar["count"].to_dict() == {-1: 1, 0: 0, 1: 1}
    assert mar.loc[1, "share"] == pytest.approx(0.5)
    assert table.groupby("period")["share"].sum().tolist() == pytest.approx([1.0, 1.0])
    assert feb.loc[0, "topic_label"] == "رياضة_الدوري"
    assert feb.loc[-1, "topic_label"] == "outliers"
    # None and "not a date" are not dropped silently.
    assert table.attrs["n_undated"] == 2
    assert table.attrs["n_documents"] == 6
    assert table.attrs["freq"] == "month"


def test_topics_over_time_week_and_day_bins():
    dates = [dt.date(2018, 2, 18), pd.Timestamp("2018-02-19"), "2018-02-25T23:00:00+00:00"]
    weekly = topics_over_time([0, 0, 1], dates, freq="week")
    # 2018-02-18 is a Sunday: its week starts on Monday 2018-02-12; the others share 02-19.
    assert sorted(weekly["period"].unique()) == [
        pd.Timestamp("2018-02-12"),
        pd.Timestamp("2018-02-19"),
    ]
    daily = topics_over_time([0, 0, 1], dates, freq="day")
    assert daily["period"].nunique() == 3
    assert daily["count"].sum() == 3
    # Strings in different formats are all parsed, not only those like the first one.
    mixed = topics_over_time([0, 1, 1], ["2018-02-18", "2018-02-25 23:00", "25/03/2018"])
    assert mixed.attrs["n_undated"] == 0
    assert mixed["period"].nunique() == 2


def test_topics_over_time_bad_inputs():
    with pytest.raises(ConfigError, match="freq"):
        topics_over_time([0], ["2018-01-01"], freq="hour")
    with pytest.raises(DataError, match="one per"):
        topics_over_time([0, 1], ["2018-01-01"])
    empty = topics_over_time([0, 1], [None, None])
    assert empty.empty and empty.attrs["n_undated"] == 2


def test_topics_per_source_single_values():
    table = topics_per_group(TOPICS, SOURCES, group_name="source", topic_labels=TOPIC_LABELS)
    assert list(table.columns) == ["source", "topic", "topic_label", "count", "share"]
    bbc = table[table["source"] == "BBC"].set_index("topic")
    assert bbc["count"].to_dict() == {-1: 0, 0: 1, 1: 2}
    assert bbc.loc[1, "share"] == pytest.approx(2 / 3)
    assert table.attrs["n_ungrouped"] == 1
    assert sorted(table["source"].unique()) == ["BBC", "CNN", "SkyNews"]


def test_topics_per_label_counts_each_label_of_a_document():
    table = topics_per_group(TOPICS, LABELS, group_name="label")
    counts = table.set_index(["label", "topic"])["count"]
    assert counts[("sport", 0)] == 2  # docs 0 and 1
    assert counts[("culture", 0)] == 1  # doc 0 again, for its second label
    assert counts[("economy", 1)] == 1  # a single string label is one label, not characters
    assert counts[("sport", -1)] == 1
    assert table["count"].sum() == 5  # 4 labelled docs, one with two labels
    assert table.attrs["n_ungrouped"] == 2
    with pytest.raises(ConfigError, match="clashes"):
        topics_per_group(TOPICS, LABELS, group_name="topic")


def test_as_group_lists_shapes():
    values = ["a", ["a", "b", "a"], ("c",), np.array(["d", "e"]), None, float("nan"), "", []]
    assert as_group_lists(values) == [["a"], ["a", "b"], ["c"], ["d", "e"], [], [], [], []]
    with pytest.raises(DataError, match="entry 0"):
        as_group_lists([object()])
    assert topic_name(3) == "topic 3"
    assert topic_name(-1) == "outliers"
    assert topic_name(1, TOPIC_LABELS) == "اقتصاد_النفط"


def test_document_topics_frame_columns_and_scores():
    scores = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.5, 0.5], [0.3, 0.7], [1.0, 0.0]])
    frame = document_topics_frame(
        [f"doc-{i}" for i in range(6)], DATES, SOURCES, LABELS, TOPICS, scores
    )
    assert tuple(frame.columns) == DOCUMENT_TOPICS_COLUMNS
    assert frame["probability"].tolist() == pytest.approx([0.9, 0.6, 0.8, 0.5, 0.7, 1.0])
    assert frame["labels"].tolist() == [
        ["sport", "culture"],
        ["sport"],
        ["economy"],
        ["sport"],
        [],
        [],
    ]
    assert frame["date"].isna().tolist() == [False, False, False, False, True, True]
    assert frame["topic"].dtype == np.int64
    bare = document_topics_frame(None, None, None, None, [2, -1], topic_labels={2: "x"})
    assert bare["id"].tolist() == ["0", "1"]
    assert bare["probability"].isna().all()
    assert bare["topic_label"].tolist() == ["x", "outliers"]
    with pytest.raises(DataError, match="scores"):
        document_topics_frame(None, None, None, None, [0, 1], [0.5])
    with pytest.raises(DataError, match="labels"):
        document_topics_frame(None, None, None, [["a"]], [0, 1])


def test_document_topics_parquet_round_trip(tmp_path):
    frame = document_topics_frame(
        ["a1", "a2", "a3"],
        ["2018-02-18", None, "2018-03-01"],
        ["BBC", None, "CNN"],
        [["رياضة", "ثقافة"], [], None],
        [0, -1, 1],
        [0.9, 0.1, 0.7],
        topic_labels=TOPIC_LABELS,
    )
    path = write_document_topics(frame, tmp_path / "out" / "document_topics.parquet")
    assert path.exists()
    schema = pq.read_schema(path)
    assert schema.field("labels").type == pa.list_(pa.string())
    assert schema.field("id").type == pa.string()
    assert schema.field("topic").type == pa.int64()
    back = read_document_topics(path)
    assert back["labels"].tolist() == [["رياضة", "ثقافة"], [], []]
    assert back["id"].tolist() == ["a1", "a2", "a3"]
    assert back["topic"].tolist() == [0, -1, 1]
    assert back["probability"].tolist() == pytest.approx([0.9, 0.1, 0.7])
    assert back["date"].isna().tolist() == [False, True, False]
    assert back["date"].iloc[0] == pd.Timestamp("2018-02-18")
    assert back["source"].iloc[1] is None or pd.isna(back["source"].iloc[1])
    assert back["topic_label"].tolist() == ["رياضة_الدوري", "outliers", "اقتصاد_النفط"]
    assert not list(tmp_path.joinpath("out").glob(".*"))  # no temporary file left behind
    with pytest.raises(DataError, match="lacks columns"):
        write_document_topics(frame.drop(columns=["labels"]), tmp_path / "x.parquet")
