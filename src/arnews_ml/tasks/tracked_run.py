"""The bookkeeping every task run shares: check the config, open and name the tracked run, log
its config and choices, record why it failed, and log the datasets it used.

A task supplies its body inside ``with tracked_run(...) as run:``; everything a researcher
compares runs by (the name, the chosen config options, the sweep it belongs to, the data) is
set here the same way for every task.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from arnews_ml.config import CHOICES_KEY, to_container
from arnews_ml.config_checks import check_config
from arnews_ml.tasks.common import frame_fingerprint, output_dir
from arnews_ml.tasks.context import RunContext
from arnews_ml.tracking.base import (
    TAG_ERROR,
    TAG_NOTE,
    TAG_REGISTERED_MODEL,
    TAG_SWEEP_ID,
    TAG_TASK,
    DatasetRecord,
    Tracker,
    flatten_config,
)

__all__ = [
    "CONFIG_FILE",
    "OVERRIDES_FILE",
    "TAG_OVERRIDES",
    "TrackedRun",
    "log_corpus_inputs",
    "quality_first",
    "rerunnable_config_yaml",
    "tracked_run",
]

log = logging.getLogger(__name__)

CONFIG_FILE = "config.yaml"
OVERRIDES_FILE = "overrides.txt"
TAG_OVERRIDES = "arnews_ml.overrides"
_ERROR_LENGTH = 500


@dataclass(frozen=True)
class TrackedRun:
    """An open run: its id (None without tracking), tracker, output folder and context."""

    run_id: str | None
    tracker: Tracker
    out: Path
    context: RunContext


@contextlib.contextmanager
def tracked_run(
    cfg: Any, tracker: Tracker, context: RunContext, *, task: str, default_name: str
) -> Iterator[TrackedRun]:
    """Open the run of one task, log what defines it, and close it FINISHED or FAILED.

    The config's values are checked first, so a bad value is refused before any run exists
    (in a sweep, where the parent run exists already, the job's child run records it).
    Inside a sweep the run is a child of the sweep's parent and is named after the job's
    swept values; otherwise ``run_name`` or ``default_name``. Params: the resolved config as
    dotted keys plus each config group's chosen option (``classifier=svm``). Artifacts: a
    ``config.yaml`` that re-runs the run (see :func:`rerunnable_config_yaml`) and the overrides.
    When the body raises, the run gets the error as tag ``arnews_ml.error`` (and as its
    description) and the job's log file as an artifact, then ends FAILED.

    Args:
        cfg: The composed config.
        tracker: Where to log.
        context: The run's surroundings (choices, overrides, sweep, log file).
        task: ``classification`` or ``topics`` (tag ``arnews_ml.task``).
        default_name: The run name outside a sweep when ``run_name`` is not set.

    Yields:
        The open :class:`TrackedRun`.
    """
    if context.sweep is None:
        check_config(cfg)
    out = output_dir(cfg, context.run_dir)
    sweep = context.sweep
    name = cfg.get("run_name") or context.run_name(default_name)
    tags: dict[str, Any] = {
        TAG_TASK: task,
        TAG_OVERRIDES: " ".join(context.overrides),
    }
    registered = cfg.tracking.get("registered_model") if "tracking" in cfg else None
    if registered:
        tags[TAG_REGISTERED_MODEL] = registered
    if sweep is not None:
        tags[TAG_SWEEP_ID] = sweep.sweep_id
    parent = sweep.parent_run_id if sweep is not None else None
    with tracker.run(run_name=name, tags=tags, parent_run_id=parent) as run_id:
        try:
            if context.sweep is not None:
                # in a sweep the parent exists already: a bad job value fails its child run,
                # so the sweep's summary says which job failed and why
                check_config(cfg)
            resolved = to_container(cfg)
            resolved.pop(CHOICES_KEY, None)
            params = dict(flatten_config(resolved))
            params.update(context.choices)
            tracker.log_params(params)
            (out / CONFIG_FILE).write_text(rerunnable_config_yaml(cfg, context), encoding="utf-8")
            (out / OVERRIDES_FILE).write_text("\n".join(context.overrides) + "\n", encoding="utf-8")
            tracker.log_artifact(out / CONFIG_FILE)
            tracker.log_artifact(out / OVERRIDES_FILE)
            yield TrackedRun(run_id, tracker, out, context)
        except BaseException as err:
            _record_failure(tracker, err, context.log_file)
            raise


def rerunnable_config_yaml(cfg: Any, context: RunContext) -> str:
    """The run's config as plain YAML that Hydra composes again.

    Interpolations stay unresolved (``${tuple:1,2}`` would be dumped as a ``!!python/tuple``
    that neither Hydra nor ``yaml.safe_load`` reads), the group choices are kept under
    ``choices`` (so the re-run is named and logged alike) and ``paths.output_dir`` is cleared
    (a re-run writes its own folder). Re-run with
    ``arnews-train --config-dir <folder of config.yaml> --config-name config``.
    """
    from omegaconf import OmegaConf

    plain = OmegaConf.to_container(cfg, resolve=False) if OmegaConf.is_config(cfg) else dict(cfg)
    plain.pop("hydra", None)
    plain.pop("defaults", None)
    if isinstance(plain.get("paths"), dict) and "output_dir" in plain["paths"]:
        plain["paths"]["output_dir"] = None
    plain[CHOICES_KEY] = dict(context.choices)
    document = {"defaults": ["_self_", {"hydra": "default"}], **plain}
    return OmegaConf.to_yaml(OmegaConf.create(document))


def log_corpus_inputs(
    tracker: Tracker, corpus: Any, parts: Mapping[str, pd.DataFrame], context: RunContext
) -> None:
    """Log each part of the corpus a run used as an MLflow dataset input.

    Args:
        tracker: The open run's tracker.
        corpus: The loaded :class:`~arnews_ml.data.corpus.Corpus` (its paths name the source).
        parts: Context (``training``, ``validation``, ``test``) -> that part's frame; empty
            parts are skipped.
        context: The run's context (the ``data`` choice names a corpus without files).
    """
    paths = [Path(p) for p in getattr(corpus, "paths", ())]
    if len(paths) == 1:
        name = paths[0].name
    elif paths:
        name = Path(os.path.commonpath([p.absolute() for p in paths])).name or "corpus"
    else:
        name = context.choice("data") or "corpus"
    source = ", ".join(str(p.absolute()) for p in paths) or f"arnews_ml data={name}"
    for part, frame in parts.items():
        if len(frame):
            tracker.log_input(
                DatasetRecord(
                    name=name,
                    digest=frame_fingerprint(frame),
                    source=source,
                    n_rows=len(frame),
                    context=part,
                )
            )


def quality_first(metrics: Mapping[str, float]) -> dict[str, float]:
    """The metrics with timings and cache counters last: MLflow's run page lists metrics in the
    order they were logged, so it leads with the quality metrics."""
    bookkeeping = ("_seconds", "cache_hits", "cache_misses")
    return dict(sorted(metrics.items(), key=lambda item: item[0].endswith(bookkeeping)))


def _record_failure(tracker: Tracker, err: BaseException, log_file: Path | None) -> None:
    if isinstance(err, KeyboardInterrupt):
        message = "interrupted (KeyboardInterrupt)"
    else:
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        message = f"{type(err).__name__}: {first}" if first else type(err).__name__
    message = message[:_ERROR_LENGTH]
    try:
        tracker.set_tags({TAG_ERROR: message, TAG_NOTE: f"**Run failed**: {message}"})
        if log_file is not None and Path(log_file).is_file():
            tracker.log_artifact(log_file)
    except Exception as tracking_error:  # the run's own error is the one to report
        log.warning("could not record the failure in the tracker: %s", tracking_error)
