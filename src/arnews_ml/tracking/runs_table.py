"""Tables of MLflow runs for ``arnews-runs``: one per task, ranked, with the params that vary.

Works on ``mlflow.entities.Run`` objects (anything with ``info`` and ``data`` alike); no
MLflow import here. :mod:`arnews_ml.tracking.runs` finds the runs and prints the tables.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from arnews_ml.tracking.base import TAG_ERROR, TAG_SWEEP_ID, TAG_SWEEP_PARENT, TAG_TASK
from arnews_ml.tracking.results import _markdown

__all__ = [
    "CHOICE_PARAMS",
    "DEFAULT_METRIC",
    "KEY_METRICS",
    "MAX_PARAM_COLUMNS",
    "TAG_ERROR",
    "TAG_SWEEP_ID",
    "TAG_SWEEP_PARENT",
    "TAG_TASK",
    "OutputFormat",
    "RunsTable",
    "build_table",
    "group_by_task",
    "is_ascending",
    "render_tables",
    "run_task",
    "varying_params",
]

OutputFormat = Literal["table", "csv", "markdown", "json"]


#: Metrics shown for each task (besides the ranking metric), in column order.
KEY_METRICS: dict[str, tuple[str, ...]] = {
    "classification": (
        "val_f1_macro",
        "test_f1_macro",
        "test_f1_micro",
        "test_accuracy",
        "test_hamming_loss",
        "fit_seconds",
        "embed_seconds",
    ),
    "topics": (
        "npmi",
        "c_v",
        "topic_diversity",
        "n_topics",
        "outlier_ratio",
        "label_nmi",
        "fit_seconds",
    ),
    "evaluation": ("test_f1_macro", "test_f1_micro", "test_accuracy", "test_hamming_loss"),
}

#: The ranking metric when ``--metric`` is not given: validation, never test, for classifiers.
DEFAULT_METRIC: dict[str, str] = {
    "classification": "val_f1_macro",
    "topics": "npmi",
    "evaluation": "test_f1_macro",
}

#: Config-group choice params, shown before any other varying param.
CHOICE_PARAMS: tuple[str, ...] = ("classifier", "embedder", "topic_model", "data", "text")

#: Param columns shown in ``table`` and ``markdown`` output (csv and json keep them all).
MAX_PARAM_COLUMNS = 8

_ASCENDING_SUFFIXES = ("_loss", "_seconds", "outlier_ratio")
# Params that differ between runs without saying anything about the model.
_NOISE_PREFIXES = ("paths.", "hydra.")
_NOISE_KEYS = frozenset({"data.quarantine_path", "cache.dir", "run_name"})
_NOISE_PARTS = ("output_dir",)
_TASK_ORDER = ("classification", "topics", "evaluation")


def is_ascending(metric: str) -> bool:
    """True when smaller is better: names ending in ``_loss``, ``_seconds`` or ``outlier_ratio``."""
    return metric.endswith(_ASCENDING_SUFFIXES)


def run_task(run: Any) -> str:
    """The run's task: its ``arnews_ml.task`` tag, else guessed from its metrics."""
    task = run.data.tags.get(TAG_TASK)
    if task:
        return str(task)
    metrics = run.data.metrics
    if "npmi" in metrics or "n_topics" in metrics:
        return "topics"
    if any(key.endswith("_f1_macro") for key in metrics):
        return "classification"
    return "other"


def _is_noise(key: str) -> bool:
    return (
        key.startswith(_NOISE_PREFIXES)
        or key in _NOISE_KEYS
        or any(part in key for part in _NOISE_PARTS)
    )


def varying_params(runs: Sequence[Any]) -> list[str]:
    """Param keys whose value differs between ``runs`` (a missing param counts as a value).

    Choice params (:data:`CHOICE_PARAMS`) come first in that order, then the others sorted;
    bookkeeping params (``paths.*``, ``*output_dir*``, ``data.quarantine_path``, ...) are
    left out, and so is ``<group>._target_`` when the ``<group>`` choice already varies.
    """
    if len(runs) < 2:
        return []
    keys = sorted({key for run in runs for key in run.data.params})
    varying = [
        key
        for key in keys
        if not _is_noise(key) and len({run.data.params.get(key) for run in runs}) > 1
    ]
    choices = [key for key in CHOICE_PARAMS if key in varying]
    rest = [
        key
        for key in varying
        if key not in choices
        and not (key.endswith("._target_") and key.rsplit(".", 1)[0] in choices)
    ]
    return choices + rest


def _param_value(key: str, value: str | None) -> str | None:
    if value is not None and key.endswith("_target_"):
        return value.rsplit(".", 1)[-1]
    return value


def _duration(run: Any) -> float | None:
    start, end = run.info.start_time, run.info.end_time
    if start is None or end is None:
        return None
    return (end - start) / 1000.0


@dataclass
class RunsTable:
    """The runs of one task, ranked.

    Attributes:
        task: ``classification``, ``topics``, ...
        metric: The ranking metric.
        frame: One row per run, best first: ``run`` (8 chars), ``name``, ``status``,
            ``duration_s``, the metrics, the varying params (and ``error`` when asked);
            ``run_id`` holds the full id.
        params: The varying param columns, in display order.
    """

    task: str
    metric: str
    frame: pd.DataFrame
    params: list[str]

    @property
    def title(self) -> str:
        order = "ascending" if is_ascending(self.metric) else "descending"
        n = len(self.frame)
        return f"{self.task} runs ({n}), ranked by {self.metric} ({order})"


def build_table(
    runs: Sequence[Any],
    task: str,
    *,
    metric: str | None = None,
    top: int | None = None,
    with_errors: bool = False,
) -> RunsTable:
    """Rank the runs of one task by a metric and lay out their columns.

    Args:
        runs: Runs of one task (``mlflow.entities.Run``).
        task: Their task; picks the key metrics and the default ranking metric.
        metric: Rank by this metric (default :data:`DEFAULT_METRIC` of the task); runs
            without it come last.
        top: Keep the best ``top`` runs.
        with_errors: Add an ``error`` column (the ``arnews_ml.error`` tag).

    Returns:
        The ranked table.
    """
    ranking = metric or DEFAULT_METRIC.get(task, "test_f1_macro")
    metrics = [ranking, *(m for m in KEY_METRICS.get(task, ()) if m != ranking)]
    params = varying_params(runs)
    rows: list[dict[str, Any]] = []
    for run in runs:
        row: dict[str, Any] = {
            "run": run.info.run_id[:8],
            "name": run.info.run_name or "",
            "status": run.info.status,
            "duration_s": _duration(run),
        }
        row.update({m: run.data.metrics.get(m) for m in metrics})
        row.update({p: _param_value(p, run.data.params.get(p)) for p in params})
        if with_errors:
            row["error"] = run.data.tags.get(TAG_ERROR, "")
        row["run_id"] = run.info.run_id
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else ["run", "run_id"])
    # drop key-metric columns no listed run has (a topic table without label_nmi, ...)
    empty = [m for m in metrics[1:] if m in frame and frame[m].isna().all()]
    frame = frame.drop(columns=empty)
    if ranking in frame:
        frame[ranking] = pd.to_numeric(frame[ranking], errors="coerce")
        frame = frame.sort_values(
            ranking, ascending=is_ascending(ranking), na_position="last", kind="stable"
        )
    frame = frame.reset_index(drop=True)
    if top is not None:
        frame = frame.head(top)
    return RunsTable(task=task, metric=ranking, frame=frame, params=params)


def group_by_task(runs: Iterable[Any]) -> dict[str, list[Any]]:
    """Runs grouped by task, classification first, then topics, evaluation, others."""
    groups: dict[str, list[Any]] = {}
    for run in runs:
        groups.setdefault(run_task(run), []).append(run)
    order = [t for t in _TASK_ORDER if t in groups] + sorted(set(groups) - set(_TASK_ORDER))
    return {task: groups[task] for task in order}


def _cell(column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        if column == "duration_s" or column.endswith("_seconds"):
            return f"{value:.1f}"
        if column.startswith("n_") and value.is_integer():
            return str(int(value))
        return f"{value:.4f}"
    return str(value)


def _display_frame(table: RunsTable) -> tuple[pd.DataFrame, list[str]]:
    """The frame as strings with at most MAX_PARAM_COLUMNS params; the params left out."""
    hidden = table.params[MAX_PARAM_COLUMNS:]
    frame = table.frame.drop(columns=["run_id", *hidden])
    text = pd.DataFrame(
        {col: [_cell(col, v) for v in frame[col]] for col in frame.columns}, dtype=object
    )
    return text, hidden


def _aligned(frame: pd.DataFrame) -> str:
    columns = list(frame.columns)
    cells = [columns, *([str(v) for v in row] for row in frame.itertuples(index=False))]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    numeric = [
        all(_looks_numeric(r[i]) for r in cells[1:]) and len(cells) > 1 for i in range(len(columns))
    ]
    lines = []
    for k, row in enumerate(cells):
        parts = [
            v.rjust(w) if num and k > 0 else v.ljust(w)
            for v, w, num in zip(row, widths, numeric, strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _looks_numeric(text: str) -> bool:
    if text == "":
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def _json_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def render_tables(tables: Sequence[RunsTable], fmt: OutputFormat = "table") -> str:
    """The tables as text.

    ``table``: aligned plain text under a title line per task; ``markdown``: a heading and a
    pipe table per task; both show at most :data:`MAX_PARAM_COLUMNS` param columns and name
    the others below. ``csv``: one block per task with a header row and every varying param,
    blocks separated by a blank line. ``json``: one list of objects (every column, raw
    values, ``null`` for missing, plus ``task`` and ``ranked_by``).
    """
    if fmt == "json":
        records = []
        for table in tables:
            for row in table.frame.to_dict(orient="records"):
                record = {"task": table.task, "ranked_by": table.metric}
                record.update({k: _json_value(v) for k, v in row.items()})
                records.append(record)
        return json.dumps(records, ensure_ascii=False, indent=2)
    if fmt == "csv":
        blocks = []
        for table in tables:
            buffer = io.StringIO()
            frame = table.frame.copy()
            frame.insert(0, "task", table.task)
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(frame.columns)
            for row in frame.itertuples(index=False):
                writer.writerow(["" if _json_value(v) is None else v for v in row])
            blocks.append(buffer.getvalue().rstrip("\n"))
        return "\n\n".join(blocks)
    if fmt not in ("table", "markdown"):
        raise ValueError(f"Unknown format {fmt!r}; use table, csv, markdown or json.")
    blocks = []
    for table in tables:
        frame, hidden = _display_frame(table)
        body = _markdown(frame) if fmt == "markdown" else _aligned(frame)
        title = f"### {table.title}" if fmt == "markdown" else table.title
        note = f"\n({len(hidden)} more varying params: {', '.join(hidden)})" if hidden else ""
        blocks.append(f"{title}\n\n{body}{note}" if fmt == "markdown" else f"{title}\n{body}{note}")
    return "\n\n".join(blocks)
