"""Sweeps as one MLflow parent run with a child run per job (a Hydra callback).

``hydra/default.yaml`` installs :class:`MlflowSweepCallback`. On ``-m`` (any launcher, any
sweeper) it opens the parent run before the first job, publishes a
:class:`~arnews_ml.tracking.sweep_context.SweepInfo` so each job (in this process or another)
opens its run as a child, and when the sweep ends it writes the parent's summary: the children's
table (CSV and Markdown), the best child's run id, metrics (``best_`` prefix) and values of the
swept keys, and the number of failed children. Under ``tracking.register=auto`` it registers the
best child's model, and only that. The parent ends FAILED only when every child failed.

Importing this module is light (Hydra instantiates the callback for single runs too); MLflow is
imported when a sweep starts.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from arnews_ml.config import CHOICE_GROUPS
from arnews_ml.tracking.base import (
    TAG_ERROR,
    TAG_MODEL_ID,
    TAG_NOTE,
    TAG_SWEEP_ID,
    TAG_SWEEP_PARENT,
    TAG_TASK,
)
from arnews_ml.tracking.sweep_context import (
    SweepInfo,
    clear_sweep_info,
    publish_sweep_info,
)

__all__ = [
    "SUMMARY_CSV",
    "SUMMARY_MD",
    "MlflowSweepCallback",
    "close_open_sweep",
    "last_sweep_status",
]

log = logging.getLogger(__name__)

SUMMARY_CSV = "sweep_summary.csv"
SUMMARY_MD = "sweep_summary.md"
OPTUNA_RESULTS_FILE = "optimization_results.yaml"
TAG_BEST_RUN_ID = "arnews_ml.best_run_id"
TAG_OVERRIDES = "arnews_ml.overrides"

#: Metrics shown in the summary table after the objective, per task.
SUMMARY_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("val_f1_macro", "test_f1_macro", "test_f1_micro", "fit_seconds"),
    "topics": (
        "npmi",
        "npmi_doc",
        "c_v",
        "topic_diversity",
        "n_topics",
        "outlier_ratio",
        "fit_seconds",
    ),
}
_TASKS = {"train": "classification", "topics": "topics"}


@dataclass
class _OpenSweep:
    tracker: Any  # MlflowTracker
    parent_run_id: str
    info: SweepInfo
    task: str
    sweep_dir: Path | None
    registered_model: str | None
    log_model: bool
    started: float


_OPEN: _OpenSweep | None = None
_LAST_STATUS: str | None = None


class MlflowSweepCallback(Callback):
    """Opens a parent run when a multirun starts and summarises it when the multirun ends."""

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        global _OPEN, _LAST_STATUS
        _LAST_STATUS = None
        tracking = config.get("tracking") or {}
        info = _sweep_info(config, parent_run_id=None)
        sweep_dir = _sweep_dir(config)
        from arnews_ml.tracking.base import build_tracker
        from arnews_ml.tracking.mlflow_tracker import MlflowTracker, default_run_tags

        tracker = build_tracker(tracking)
        if not isinstance(tracker, MlflowTracker):
            publish_sweep_info(info, sweep_dir)  # child names still show their overrides
            return
        task = _TASKS.get(str(kwargs.get("config_name") or ""), "classification")
        overrides = [str(o) for o in config.hydra.overrides.task]
        swept = [o for o in overrides if o.partition("=")[0].lstrip("+~") in info.swept_keys]
        name = "sweep " + (" ".join(swept or overrides) or info.sweep_id)
        tags = {
            **default_run_tags(),
            TAG_TASK: task,
            TAG_SWEEP_ID: info.sweep_id,
            TAG_SWEEP_PARENT: "true",
            TAG_NOTE: f"Sweep `{info.sweep_id}` running: `{' '.join(overrides)}`",
        }
        run = tracker.client.create_run(tracker.experiment_id, run_name=name[:250], tags=tags)
        parent = run.info.run_id
        from arnews_ml.tracking.base import truncate_params

        params, _ = truncate_params(_sweep_params(config, overrides, info))
        tracker.client.log_batch(parent, params=_param_entities(params))
        info = SweepInfo(**{**info.__dict__, "parent_run_id": parent})
        publish_sweep_info(info, sweep_dir)
        _OPEN = _OpenSweep(
            tracker=tracker,
            parent_run_id=parent,
            info=info,
            task=task,
            sweep_dir=sweep_dir,
            registered_model=tracking.get("registered_model"),
            log_model=bool(tracking.get("log_model", True)),
            started=time.time(),
        )
        log.info("sweep started sweep_id=%s parent_run_id=%s", info.sweep_id, parent)

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        close_open_sweep()


def last_sweep_status() -> str | None:
    """How the last sweep of this process ended (FINISHED, FAILED, KILLED), or None."""
    return _LAST_STATUS


def close_open_sweep(interrupted: bool = False) -> str | None:
    """Summarise and end the sweep still open in this process (idempotent).

    Called by the callback when the multirun ends, and by the command layer when the sweeper
    stopped with an error or the user interrupted it (then the parent ends KILLED).

    Returns:
        The parent's final status, or None when no sweep was open.
    """
    global _OPEN, _LAST_STATUS
    sweep, _OPEN = _OPEN, None
    clear_sweep_info()
    if sweep is None:
        return None
    try:
        status = _summarise(sweep, interrupted)
    except Exception:
        sweep.tracker.client.set_terminated(sweep.parent_run_id, status="FAILED")
        raise
    _LAST_STATUS = status
    return status


def _summarise(sweep: _OpenSweep, interrupted: bool) -> str:
    client = sweep.tracker.client
    parent = sweep.parent_run_id
    runs = client.search_runs(
        [sweep.tracker.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent}'",
        max_results=10000,
    )
    rows = [_child_row(run, sweep) for run in runs]
    rows.sort(key=lambda r: _sort_key(r, sweep.info))
    failed = [r for r in rows if r["status"] != "FINISHED"]
    best = next((r for r in rows if r["status"] == "FINISHED" and _finite(r["objective"])), None)

    params: dict[str, Any] = {"n_children": len(rows), "n_failed_children": len(failed)}
    tags: dict[str, str] = {}
    metrics: dict[str, float] = {}
    if best is not None:
        best_run = next(run for run in runs if run.info.run_id == best["run_id"])
        params["best_run_id"] = best["run_id"]
        params["best_overrides"] = best["overrides"]
        for item in best["overrides"].split(" "):
            key, sep, value = item.partition("=")
            if sep and key.lstrip("+~") in sweep.info.swept_keys:
                params[f"best.{key.lstrip('+~')}"] = value
        tags[TAG_BEST_RUN_ID] = best["run_id"]
        metrics = {f"best_{k}": v for k, v in best_run.data.metrics.items() if _finite(v)}
        if (
            sweep.info.register == "auto"
            and sweep.registered_model
            and sweep.log_model
            and best_run.data.tags.get(TAG_MODEL_ID)
        ):
            from arnews_ml.tracking.registry import register_run_model

            version = register_run_model(
                client, sweep.tracker.tracking_uri, best["run_id"], sweep.registered_model
            )
            tags["arnews_ml.registered_version"] = f"{sweep.registered_model}/{version}"

    with tempfile.TemporaryDirectory(prefix="arnews-sweep-") as tmp:
        folder = Path(tmp)
        table = _write_tables(rows, sweep, folder)
        for name in (SUMMARY_CSV, SUMMARY_MD):
            client.log_artifact(parent, str(folder / name))
    if sweep.sweep_dir is not None and (sweep.sweep_dir / OPTUNA_RESULTS_FILE).is_file():
        client.log_artifact(parent, str(sweep.sweep_dir / OPTUNA_RESULTS_FILE))

    from arnews_ml.tracking.base import truncate_params

    values, _ = truncate_params(params)
    client.log_batch(parent, params=_param_entities(values), metrics=_metric_entities(metrics))
    if interrupted:
        status = "KILLED"
    elif not rows or len(failed) == len(rows):
        status = "FAILED"
    else:
        status = "FINISHED"
    tags[TAG_NOTE] = _note(sweep, rows, failed, best, status, table)
    for key, value in tags.items():
        client.set_tag(parent, key, value)
    client.set_terminated(parent, status=status)
    log.info(
        "sweep ended sweep_id=%s status=%s children=%d failed=%d best_run_id=%s",
        sweep.info.sweep_id,
        status,
        len(rows),
        len(failed),
        best["run_id"] if best else None,
    )
    if status == "FAILED":
        reasons = "; ".join(f"{r['run_name']}: {r['error'] or r['status']}" for r in failed[:5])
        log.error("every job of sweep %s failed: %s", sweep.info.sweep_id, reasons or "no job ran")
    return status


def _child_row(run: Any, sweep: _OpenSweep) -> dict[str, Any]:
    info, data = run.info, run.data
    end = info.end_time or int(time.time() * 1000)
    row: dict[str, Any] = {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "overrides": data.tags.get(TAG_OVERRIDES, ""),
        "status": info.status,
        "duration_s": round((end - info.start_time) / 1000, 1) if info.start_time else None,
        "objective": data.metrics.get(sweep.info.objective, math.nan),
    }
    for name in SUMMARY_METRICS.get(sweep.task, ()):
        if name != sweep.info.objective:
            row[name] = data.metrics.get(name, math.nan)
    row["error"] = data.tags.get(TAG_ERROR, "")
    return row


def _sort_key(row: Mapping[str, Any], info: SweepInfo) -> tuple[int, float]:
    value = row["objective"]
    if row["status"] != "FINISHED" or not _finite(value):
        return (1, 0.0)
    return (0, -value if info.direction == "maximize" else value)


def _write_tables(rows: list[dict[str, Any]], sweep: _OpenSweep, folder: Path) -> str:
    import pandas as pd

    from arnews_ml.tracking.results import _markdown

    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=["run_id", "run_name", "overrides", "status", "objective"])
    frame = frame.rename(columns={"objective": sweep.info.objective or "objective"})
    frame.to_csv(folder / SUMMARY_CSV, index=False)
    shown = frame.drop(columns=["overrides"]).assign(run_id=frame["run_id"].str[:8])
    for column in shown.columns:
        digits = 1 if column.endswith(("seconds", "_s")) else 4
        shown[column] = shown[column].map(lambda v, d=digits: _cell(v, d))
    table = _markdown(shown)
    (folder / SUMMARY_MD).write_text(
        f"# Sweep {sweep.info.sweep_id}\n\nRanked by `{sweep.info.objective}` "
        f"({sweep.info.direction}).\n\n{table}\n",
        encoding="utf-8",
    )
    return table


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{digits}f}"
    return "" if value is None else str(value).replace("|", "\\|")


def _note(
    sweep: _OpenSweep,
    rows: list[dict[str, Any]],
    failed: list[dict[str, Any]],
    best: dict[str, Any] | None,
    status: str,
    table: str,
) -> str:
    parts = [
        f"**Sweep `{sweep.info.sweep_id}`** ({status}): {len(rows)} jobs, {len(failed)} failed, "
        f"ranked by `{sweep.info.objective}` ({sweep.info.direction})."
    ]
    if best is not None:
        parts.append(
            f"Best: `{best['run_name']}` (run {best['run_id'][:8]}), "
            f"{sweep.info.objective} = {best['objective']:.4f}."
        )
    if failed:
        parts.append(
            "\n".join(f"- failed: `{r['run_name']}`: {r['error'] or r['status']}" for r in failed)
        )
    parts.append(table)
    return "\n\n".join(parts)


def _sweep_info(config: Any, parent_run_id: str | None) -> SweepInfo:
    overrides = [str(o) for o in config.hydra.overrides.task]
    swept = _swept_keys(overrides)
    sweeper = config.hydra.get("sweeper") or {}
    for key in sweeper.get("params") or {}:
        if str(key) not in swept:
            swept.append(str(key))
    direction = str(sweeper.get("direction") or "maximize")
    tracking = config.get("tracking") or {}
    return SweepInfo(
        sweep_id=time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6],
        parent_run_id=parent_run_id,
        swept_keys=tuple(swept),
        objective=str(config.get("objective") or ""),
        direction=direction if direction in ("maximize", "minimize") else "maximize",
        register=str(tracking.get("register") or "auto"),
    )


def _swept_keys(overrides: list[str]) -> list[str]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    return [o.key_or_group for o in parsed if o.is_sweep_override()]


def _sweep_dir(config: Any) -> Path | None:
    try:
        return Path(str(config.hydra.sweep.dir)).absolute()
    except Exception:  # an unresolvable sweep dir: jobs find the parent by environment only
        return None


def _sweep_params(config: Any, overrides: list[str], info: SweepInfo) -> dict[str, Any]:
    from omegaconf import OmegaConf

    from arnews_ml.tracking.base import flatten_config

    params: dict[str, Any] = {
        "sweep.overrides": json.dumps(overrides, ensure_ascii=False),
        "sweep.swept_keys": ",".join(info.swept_keys),
        "objective": info.objective,
        "direction": info.direction,
    }
    for part in ("sweeper", "launcher"):
        node = config.hydra.get(part)
        if node is None:
            continue
        plain = OmegaConf.to_container(node, resolve=False)
        target = str(plain.pop("_target_", ""))
        params[part] = target.rsplit(".", 1)[-1]
        params.update({f"{part}.{k}": v for k, v in flatten_config(plain).items()})
    for group, option in (config.hydra.runtime.get("choices") or {}).items():
        # a swept group's base option says nothing about the sweep: its jobs each have theirs
        if group in CHOICE_GROUPS and option is not None and group not in info.swept_keys:
            params[str(group)] = option
    return params


def _param_entities(params: Mapping[str, str]) -> list[Any]:
    from mlflow.entities import Param

    return [Param(k, v) for k, v in params.items()]


def _metric_entities(metrics: Mapping[str, float]) -> list[Any]:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    return [Metric(k, float(v), now, 0) for k, v in metrics.items()]


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
