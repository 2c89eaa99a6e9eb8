"""Topic charts: interactive plotly HTML and static matplotlib PNGs of the analysis tables.

HTML files embed plotly.js inline (about 4.8 MB each) so they open offline and inside the MLflow
UI, where a CDN or a sibling ``plotly.min.js`` may not load. PNGs are drawn with matplotlib
(plotly's PNG export needs kaleido and a browser); matplotlib does not shape Arabic (letters come
out disconnected and left-to-right), so PNGs name Arabic-labelled topics ``topic 3`` and keep the
Arabic names for the HTML, where browsers shape them correctly. No pyplot global state is used.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from arnews_ml.exceptions import ArtifactError, DataError

if TYPE_CHECKING:
    import plotly.graph_objects as go
    from matplotlib.figure import Figure

__all__ = [
    "TOPICS_OVER_TIME_HTML",
    "TOPICS_OVER_TIME_PNG",
    "TOPICS_PER_LABEL_HTML",
    "TOPICS_PER_LABEL_PNG",
    "TOPICS_PER_SOURCE_HTML",
    "TOPICS_PER_SOURCE_PNG",
    "png_safe_name",
    "topics_over_time_figure",
    "topics_over_time_static",
    "topics_per_group_figure",
    "topics_per_group_static",
    "write_html",
    "write_png",
]

TOPICS_OVER_TIME_HTML = "topics_over_time.html"
TOPICS_OVER_TIME_PNG = "topics_over_time.png"
TOPICS_PER_SOURCE_HTML = "topics_per_source.html"
TOPICS_PER_SOURCE_PNG = "topics_per_source.png"
TOPICS_PER_LABEL_HTML = "topics_per_label.html"
TOPICS_PER_LABEL_PNG = "topics_per_label.png"

Value = Literal["count", "share"]
_TABLE_COLUMNS = {"topic", "topic_label", "count", "share"}
_RTL_RE = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")  # Hebrew, Arabic, Syriac, ...
_MAX_PNG_NAME = 40
_ANNOTATE_MAX_CELLS = 300


def png_safe_name(text: str, fallback: str) -> str:
    """``text`` when matplotlib can draw it legibly, else ``fallback`` (right-to-left scripts).

    Args:
        text: The name to show.
        fallback: What to show instead, e.g. ``"topic 3"``.

    Returns:
        The name, shortened to 40 characters.
    """
    name = fallback if _RTL_RE.search(text) else text
    return name if len(name) <= _MAX_PNG_NAME else name[: _MAX_PNG_NAME - 1] + "…"


def _check_table(df: pd.DataFrame, required: set[str], builder: str) -> None:
    missing = sorted(required - set(df.columns))
    if missing:
        raise DataError(f"The table lacks columns {missing}; build it with {builder}().")


def _check_value(value: str) -> None:
    if value not in ("count", "share"):
        raise DataError(f"'value' must be 'count' or 'share'; got {value!r}.")


def _top_topics(df: pd.DataFrame, top_k: int, include_outliers: bool) -> list[int]:
    totals = df.groupby("topic")["count"].sum()
    if not include_outliers:
        totals = totals.drop(index=-1, errors="ignore")
    ranked = totals.sort_values(ascending=False, kind="stable")
    return [int(t) for t in ranked.index[: max(int(top_k), 0)]]


def _dense_periods(df: pd.DataFrame, min_period_fraction: float) -> tuple[pd.DataFrame, str]:
    """Leave out periods with few documents (stray old dates) and say so in a note."""
    totals = df.groupby("period")["count"].sum()
    if totals.empty or min_period_fraction <= 0:
        return df, ""
    sparse = totals[totals < min_period_fraction * float(totals.median())]
    if sparse.empty:
        return df, ""
    note = (
        f"{int(sparse.sum())} documents in {len(sparse)} sparse periods "
        f"(< {min_period_fraction:.0%} of the median period) not drawn"
    )
    return df[~df["period"].isin(sparse.index)], note


def _names(df: pd.DataFrame) -> dict[int, str]:
    return {int(t): str(n) for t, n in zip(df["topic"], df["topic_label"], strict=True)}


def _legend_name(topic: int, name: str) -> str:
    return name if name.startswith("topic ") or name == "outliers" else f"{topic}: {name}"


def _group_column(df: pd.DataFrame) -> str:
    if df.attrs.get("group_name") in df.columns:
        return str(df.attrs["group_name"])
    others = [c for c in df.columns if c not in _TABLE_COLUMNS]
    if len(others) != 1:
        raise DataError(
            f"Cannot tell the group column among {list(df.columns)}; build the table with "
            "topics_per_group()."
        )
    return str(others[0])


def _group_matrix(
    df: pd.DataFrame, top_k: int, value: Value, include_outliers: bool
) -> tuple[pd.DataFrame, pd.DataFrame, str, list[int]]:
    _check_table(df, _TABLE_COLUMNS, "topics_per_group")
    _check_value(value)
    group = _group_column(df)
    topics = _top_topics(df, top_k, include_outliers)
    subset = df[df["topic"].isin(topics)]
    z = subset.pivot_table(index="topic", columns=group, values=value, aggfunc="sum")
    counts = subset.pivot_table(index="topic", columns=group, values="count", aggfunc="sum")
    z = z.reindex(index=topics).fillna(0.0)
    counts = counts.reindex(index=topics, columns=z.columns).fillna(0).astype(np.int64)
    return z, counts, group, topics


# --- interactive (plotly) ----------------------------------------------------------------------


def topics_over_time_figure(
    df: pd.DataFrame,
    top_k: int = 10,
    *,
    value: Value = "count",
    include_outliers: bool = False,
    min_period_fraction: float = 0.05,
    title: str = "Topics over time",
) -> go.Figure:
    """Line chart of the ``top_k`` largest topics per period (like BERTopic's).

    Args:
        df: Output of :func:`arnews_ml.topics.analysis.topics_over_time`.
        top_k: Number of topics drawn, by total document count.
        value: ``"count"`` (documents) or ``"share"`` (of the period's documents).
        include_outliers: Also rank the outlier topic -1.
        min_period_fraction: Leave out periods holding fewer documents than this fraction of the
            median period (a few stray old articles otherwise stretch the axis over years and
            show 100% shares); the subtitle says how many documents were left out. 0 keeps all.
        title: Chart title.

    Returns:
        A plotly Figure; topic names (Arabic included) are in the legend and hover text.
    """
    import plotly.graph_objects as go

    _check_table(df, {"period", *_TABLE_COLUMNS}, "topics_over_time")
    _check_value(value)
    names = _names(df)
    df, note = _dense_periods(df, min_period_fraction)
    fig = go.Figure()
    for topic in _top_topics(df, top_k, include_outliers):
        rows = df[df["topic"] == topic].sort_values("period")
        fig.add_trace(
            go.Scatter(
                x=rows["period"],
                y=rows[value],
                mode="lines+markers",
                name=_legend_name(topic, names[topic]),
                customdata=np.stack([rows["count"], rows["share"]], axis=1),
                hovertemplate=(
                    "%{x|%Y-%m-%d}<br>documents: %{customdata[0]}<br>"
                    "share: %{customdata[1]:.1%}<extra>%{fullData.name}</extra>"
                ),
            )
        )
    freq = df.attrs.get("freq", "period")
    fig.update_layout(
        title={"text": title, "subtitle": {"text": note}},
        xaxis_title=f"{freq} (start)",
        yaxis_title="documents" if value == "count" else "share of documents",
        yaxis_tickformat=".0%" if value == "share" else None,
        legend_title_text="topic",
        template="plotly_white",
        hovermode="closest",
    )
    return fig


def topics_per_group_figure(
    df: pd.DataFrame,
    top_k: int = 10,
    *,
    value: Value = "share",
    include_outliers: bool = False,
    title: str | None = None,
) -> go.Figure:
    """Heatmap of the ``top_k`` largest topics (rows) by group (columns: sources or labels).

    Args:
        df: Output of :func:`arnews_ml.topics.analysis.topics_per_group`.
        top_k: Number of topics drawn, by total document count.
        value: ``"share"`` (of the group's documents, comparable across groups of different
            size) or ``"count"``.
        include_outliers: Also rank the outlier topic -1.
        title: Chart title (default "Topics per <group>").

    Returns:
        A plotly Figure with the topic names on the y axis.
    """
    import plotly.graph_objects as go

    z, counts, group, topics = _group_matrix(df, top_k, value, include_outliers)
    names = _names(df)
    fig = go.Figure(
        go.Heatmap(
            z=z.to_numpy(),
            x=[str(c) for c in z.columns],
            y=[_legend_name(t, names[t]) for t in topics],
            customdata=counts.to_numpy(),
            colorscale="Blues",
            hovertemplate=(
                f"{group}: %{{x}}<br>topic: %{{y}}<br>documents: %{{customdata}}<br>"
                + ("share: %{z:.1%}" if value == "share" else "count: %{z}")
                + "<extra></extra>"
            ),
            colorbar={"title": {"text": value}},
        )
    )
    fig.update_layout(
        title={"text": title or f"Topics per {group}"},
        xaxis_title=group,
        yaxis={"autorange": "reversed", "title": {"text": "topic"}},
        template="plotly_white",
    )
    return fig


def write_html(
    fig: Any,
    path: str | os.PathLike[str],
    *,
    include_plotlyjs: Literal["inline", "cdn", "directory"] = "inline",
) -> Path:
    """Write a plotly figure as a standalone HTML file (UTF-8).

    Args:
        fig: A plotly Figure.
        path: Destination ``.html`` file; its folder is created.
        include_plotlyjs: ``"inline"`` embeds plotly.js (~4.8 MB, works offline and in the
            MLflow UI); ``"cdn"`` links it from the internet (small file, needs a connection);
            ``"directory"`` writes ``plotly.min.js`` once beside the file.

    Returns:
        The written path.
    """
    import plotly.io as pio

    modes = {"inline": True, "cdn": "cdn", "directory": "directory"}
    if include_plotlyjs not in modes:
        raise DataError(
            f"'include_plotlyjs' must be one of {sorted(modes)}; got {include_plotlyjs!r}."
        )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        pio.write_html(fig, file=target, include_plotlyjs=modes[include_plotlyjs], full_html=True)
    except OSError as err:
        raise ArtifactError(f"Cannot write the chart to {target}: {err}") from err
    return target


# --- static (matplotlib) --------------------------------------------------------------------------


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png_topic_names(df: pd.DataFrame, topics: list[int]) -> tuple[list[str], bool]:
    names = _names(df)
    shown = [png_safe_name(_legend_name(t, names[t]), f"topic {t}") for t in topics]
    replaced = any(_RTL_RE.search(names[t]) for t in topics)
    return shown, replaced


def topics_over_time_static(
    df: pd.DataFrame,
    top_k: int = 10,
    *,
    value: Value = "share",
    include_outliers: bool = False,
    min_period_fraction: float = 0.05,
    title: str = "Topics over time",
) -> Figure:
    """Static line chart of the ``top_k`` largest topics per period, for the MLflow UI.

    Args:
        df: Output of :func:`arnews_ml.topics.analysis.topics_over_time`.
        top_k: Number of topics drawn, by total document count.
        value: ``"share"`` (of the period's documents) or ``"count"``.
        include_outliers: Also rank the outlier topic -1.
        min_period_fraction: As in :func:`topics_over_time_figure`.
        title: Chart title.

    Returns:
        A matplotlib Figure (not registered with pyplot); save it with :func:`write_png`.
    """
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.ticker import PercentFormatter

    _check_table(df, {"period", *_TABLE_COLUMNS}, "topics_over_time")
    _check_value(value)
    topics = _top_topics(df, top_k, include_outliers)
    labels, replaced = _png_topic_names(df, topics)
    df, note = _dense_periods(df, min_period_fraction)
    fig = _new_figure(11, 5.5)
    ax = fig.add_subplot()
    single_period = df["period"].nunique() == 1
    for topic, label in zip(topics, labels, strict=True):
        rows = df[df["topic"] == topic].sort_values("period")
        ax.plot(rows["period"], rows[value], marker="o" if single_period else ".", label=label)
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    if value == "share":
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("share of documents" if value == "share" else "documents")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if topics:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    else:
        ax.text(0.5, 0.5, "no topics to show", ha="center", va="center", transform=ax.transAxes)
    notes = [note] if note else []
    if replaced:
        notes.append("Arabic topic names are in the HTML version")
    if notes:
        fig.supxlabel("; ".join(notes), fontsize="small")
    return fig


def topics_per_group_static(
    df: pd.DataFrame,
    top_k: int = 10,
    *,
    value: Value = "share",
    include_outliers: bool = False,
    title: str | None = None,
) -> Figure:
    """Static heatmap of the ``top_k`` largest topics by group, for the MLflow UI.

    Args:
        df: Output of :func:`arnews_ml.topics.analysis.topics_per_group`.
        top_k: Number of topics drawn, by total document count.
        value: ``"share"`` (of the group's documents) or ``"count"``.
        include_outliers: Also rank the outlier topic -1.
        title: Chart title (default "Topics per <group>").

    Returns:
        A matplotlib Figure (not registered with pyplot); save it with :func:`write_png`.
    """
    z, _, group, topics = _group_matrix(df, top_k, value, include_outliers)
    topic_labels, replaced = _png_topic_names(df, topics)
    groups = [str(c) for c in z.columns]
    group_labels = [png_safe_name(g, f"{group} {i + 1}") for i, g in enumerate(groups)]
    replaced = replaced or any(_RTL_RE.search(g) for g in groups)
    fig = _new_figure(max(6.0, 1.0 + 0.9 * len(groups) + 3.0), max(3.5, 1.5 + 0.4 * len(topics)))
    ax = fig.add_subplot()
    values = z.to_numpy(dtype=np.float64)
    if values.size == 0:
        ax.text(0.5, 0.5, "no topics to show", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        image = ax.imshow(values, aspect="auto", cmap="Blues", vmin=0.0)
        bar = fig.colorbar(image, ax=ax)
        bar.set_label("share of the group's documents" if value == "share" else "documents")
        ax.set_xticks(range(len(groups)), group_labels, rotation=30, ha="right")
        ax.set_yticks(range(len(topics)), topic_labels)
        if values.size <= _ANNOTATE_MAX_CELLS:
            top = values.max() or 1.0
            for (r, c), v in np.ndenumerate(values):
                text = f"{v:.0%}" if value == "share" else f"{int(v)}"
                ax.text(
                    c,
                    r,
                    text,
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v > 0.6 * top else "black",
                )
    ax.set_xlabel(group)
    ax.set_title(title or f"Topics per {group}")
    if replaced:
        fig.supxlabel(
            "Arabic names are replaced by ids here; see the HTML version", fontsize="small"
        )
    return fig


def write_png(fig: Figure, path: str | os.PathLike[str], *, dpi: int = 110) -> Path:
    """Save a matplotlib Figure as PNG (Agg, no pyplot).

    Args:
        fig: A Figure from :func:`topics_over_time_static` or :func:`topics_per_group_static`.
        path: Destination ``.png`` file; its folder is created.
        dpi: Resolution.

    Returns:
        The written path.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    try:
        fig.savefig(target, format="png", dpi=dpi)
    except OSError as err:
        raise ArtifactError(f"Cannot write the chart to {target}: {err}") from err
    return target
