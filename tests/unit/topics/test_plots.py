"""Topic charts: plotly HTML with the (Arabic) topic names, matplotlib PNGs without pyplot."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from arnews_ml.exceptions import DataError
from arnews_ml.topics.analysis import topics_over_time, topics_per_group
from arnews_ml.topics.plots import (
    png_safe_name,
    topics_over_time_figure,
    topics_over_time_static,
    topics_per_group_figure,
    topics_per_group_static,
    write_html,
    write_png,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TOPIC_LABELS = {0: "الدوري_مباراة_فريق", 1: "النفط_اسعار", 2: "elections_vote"}
TOPICS = [0, 0, 1, 2, -1, 1, 0, 2, 1, 0]
DATES = [f"2018-0{m}-1{d}" for m, d in zip([2, 2, 3, 3, 3, 4, 4, 4, 5, 5], range(10), strict=True)]
SOURCES = ["BBC", "CNN", "BBC", "SkyNews", "BBC", "CNN", "CNN", "BBC", "SkyNews", "BBC"]


@pytest.fixture
def over_time() -> pd.DataFrame:
    return topics_over_time(TOPICS, DATES, freq="month", topic_labels=TOPIC_LABELS)


@pytest.fixture
def per_source() -> pd.DataFrame:
    return topics_per_group(TOPICS, SOURCES, topic_labels=TOPIC_LABELS, group_name="source")


def _in_html(name: str, html: str) -> bool:
    # plotly writes non-ASCII text as JSON \\u escapes; browsers show it shaped and right-to-left.
    return name in html or json.dumps(name)[1:-1] in html


def test_over_time_figure_top_k_and_names(over_time, tmp_path):
    fig = topics_over_time_figure(over_time, top_k=2)
    assert [t.name for t in fig.data] == ["0: الدوري_مباراة_فريق", "1: النفط_اسعار"]
    path = write_html(fig, tmp_path / "charts" / "topics_over_time.html")
    html = path.read_text(encoding="utf-8")
    assert path.stat().st_size > 1_000_000  # plotly.js inline: opens offline and in MLflow
    assert _in_html("الدوري_مباراة_فريق", html)
    assert not _in_html("elections_vote", html)  # third topic is beyond top_k
    with_outliers = topics_over_time_figure(over_time, top_k=10, include_outliers=True)
    assert len(with_outliers.data) == 4


def test_per_group_figure_heatmap(per_source, tmp_path):
    fig = topics_per_group_figure(per_source, top_k=3)
    heatmap = fig.data[0]
    assert list(heatmap.x) == ["BBC", "CNN", "SkyNews"]
    assert len(heatmap.y) == 3
    path = write_html(fig, tmp_path / "per_source.html", include_plotlyjs="cdn")
    html = path.read_text(encoding="utf-8")
    assert path.stat().st_size < 200_000
    assert _in_html("النفط_اسعار", html) and "SkyNews" in html
    assert "Topics per source" in html


def test_static_pngs_are_written_without_pyplot(over_time, per_source, tmp_path):
    line = topics_over_time_static(over_time, top_k=3)
    heat = topics_per_group_static(per_source, top_k=3, value="count")
    for fig, name in ((line, "over_time.png"), (heat, "per_source.png")):
        path = write_png(fig, tmp_path / "png" / name)
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC)
        assert len(data) > 5_000
    legend = [t.get_text() for t in line.axes[0].get_legend().get_texts()]
    # Arabic names would render disconnected and reversed: ids instead; Latin names stay.
    assert legend == ["topic 0", "topic 1", "2: elections_vote"]
    ticks = [t.get_text() for t in heat.axes[0].get_yticklabels()]
    assert ticks == ["topic 0", "topic 1", "2: elections_vote"]


def test_static_charts_survive_empty_tables(tmp_path):
    empty_time = topics_over_time([-1, -1], ["2018-01-01", "2018-01-02"])
    write_png(topics_over_time_static(empty_time), tmp_path / "a.png")
    empty_group = topics_per_group([-1], ["BBC"], group_name="source")
    assert (
        write_png(topics_per_group_static(empty_group), tmp_path / "b.png")
        .read_bytes()
        .startswith(PNG_MAGIC)
    )


def test_png_safe_name_and_bad_tables(over_time):
    assert png_safe_name("رياضة", "topic 3") == "topic 3"
    assert png_safe_name("sport", "topic 3") == "sport"
    assert len(png_safe_name("x" * 100, "t")) == 40
    with pytest.raises(DataError, match="topics_over_time"):
        topics_over_time_figure(over_time.drop(columns=["period"]))
    with pytest.raises(DataError, match="value"):
        topics_over_time_static(over_time, value="mean")


def test_sparse_stray_periods_are_left_out_of_the_charts_not_the_table():
    dates = ["2012-10-11"] + ["2018-03-05"] * 30 + ["2018-04-02"] * 30
    table = topics_over_time([0] * 61, dates, freq="month")
    assert table["period"].nunique() == 3  # the table keeps everything
    fig = topics_over_time_figure(table)
    assert pd.Timestamp("2012-10-01") not in set(pd.to_datetime(fig.data[0].x))
    assert "1 documents in 1 sparse periods" in fig.layout.title.subtitle.text
    static = topics_over_time_static(table)
    assert "sparse periods" in static.get_supxlabel()
    assert len(topics_over_time_figure(table, min_period_fraction=0).data[0].x) == 3
