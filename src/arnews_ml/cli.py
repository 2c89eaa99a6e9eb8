"""Command-line entry points: thin shells over the tasks (Hydra apps and the predict command)."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from arnews_ml.config import register_resolvers
from arnews_ml.exceptions import ArnewsError

__all__ = [
    "corpus_main",
    "evaluate_main",
    "predict_main",
    "runs_main",
    "topics_main",
    "train_main",
]

log = logging.getLogger("arnews_ml")


def _prepare_environment() -> None:
    """Process-level defaults the commands need (set here, never at import of the package)."""
    register_resolvers()
    # UMAP's numba code is compiled once and cached; keep that cache out of site-packages.
    os.environ.setdefault(
        "NUMBA_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "arnews_ml", "numba")
    )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _run_context() -> Any:
    """The run's surroundings from Hydra's global state (read here only, never in the tasks)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from arnews_ml.config import CHOICE_GROUPS
    from arnews_ml.tasks.context import RunContext
    from arnews_ml.tracking.sweep_context import read_sweep_info

    hydra_cfg = HydraConfig.get()
    choices = {
        str(group): str(option)
        for group, option in hydra_cfg.runtime.choices.items()
        if group in CHOICE_GROUPS and option is not None
    }
    sweep = read_sweep_info(hydra_cfg.sweep.dir) if hydra_cfg.mode == RunMode.MULTIRUN else None
    run_dir = Path(hydra_cfg.runtime.output_dir)
    log_file = run_dir / f"{hydra_cfg.job.name}.log"
    return RunContext(choices, tuple(hydra_cfg.overrides.task), sweep, log_file, run_dir)


def _in_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.get().mode == RunMode.MULTIRUN


def _run_task(task: Callable[..., Any], cfg: DictConfig, **kwargs: Any) -> Any:
    """Run a task; package errors become one clear message and exit status 2, not a traceback.

    In a sweep a failing job must not stop the others: its error is reported (and its run is
    FAILED in MLflow), and the job returns None so the sweep goes on.
    """
    sweep_job = _in_multirun()
    try:
        return task(cfg, **kwargs)
    except ArnewsError as err:
        log.error("%s", err)
        print(f"error: {err}", file=sys.stderr)
        if sweep_job:
            return None
        raise SystemExit(2) from err
    except Exception as err:
        if not sweep_job:
            raise
        log.exception("job failed: %s", err)
        print(f"error: job failed: {type(err).__name__}: {err}", file=sys.stderr)
        return None


def _objective(result: Any, cfg: DictConfig) -> float:
    """The value a sweeper optimises: ``cfg.objective`` of the run's metrics (NaN if absent,
    which Optuna records as a failed trial)."""
    if result is None:
        return math.nan
    name = str(cfg.get("objective") or "")
    if name not in result.metrics:
        log.warning(
            "objective %r is not among the run's metrics; the sweeper gets NaN. Metrics: %s",
            name,
            ", ".join(sorted(result.metrics)),
        )
        return math.nan
    return float(result.metrics[name])


@hydra.main(version_base="1.3", config_path="conf", config_name="corpus")
def _corpus_app(cfg: DictConfig) -> None:
    from arnews_ml.data.summary import format_summary
    from arnews_ml.tasks.describe_corpus import describe_corpus

    summary = _run_task(describe_corpus, cfg, run_dir=_run_context().run_dir)
    if summary is not None:
        print(format_summary(summary))
        print(f"output folder    {summary['output_dir']}")


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def _train_app(cfg: DictConfig) -> float:
    from arnews_ml.tasks.train_classifier import format_result, train_classifier

    result = _run_task(train_classifier, cfg, context=_run_context())
    if result is not None:
        print(format_result(result))
    return _objective(result, cfg)


@hydra.main(version_base="1.3", config_path="conf", config_name="topics")
def _topics_app(cfg: DictConfig) -> float:
    from arnews_ml.tasks.fit_topics import fit_topics, format_topics_result

    result = _run_task(fit_topics, cfg, context=_run_context())
    if result is not None:
        print(format_topics_result(result))
    return _objective(result, cfg)


def _run_app(app: Callable[[], Any], config_name: str) -> None:
    """Run a Hydra app; close a sweep the sweeper left open, and fail when all its jobs did.

    A config folder or ``hydra`` override from the command line is checked first: Hydra builds
    its callbacks, launcher and sweeper before the task sees the config (see config_guard).
    """
    from arnews_ml.config_guard import check_command_line
    from arnews_ml.tracking.sweep import close_open_sweep, last_sweep_status

    try:
        check_command_line(config_name, sys.argv[1:])
    except ArnewsError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        app()
    except BaseException as err:
        # the sweeper raised (or the user pressed Ctrl-C): the parent run still gets its summary
        close_open_sweep(interrupted=isinstance(err, KeyboardInterrupt))
        raise
    if last_sweep_status() == "FAILED":
        print(
            "error: every job of the sweep failed; the errors are above, in each job's log and "
            "in the sweep's parent run in MLflow.",
            file=sys.stderr,
        )
        raise SystemExit(1)


def corpus_main() -> None:
    """`arnews-corpus [overrides]`: load, validate and clean a corpus, print its summary."""
    _prepare_environment()
    _run_app(_corpus_app, "corpus")


def train_main() -> None:
    """`arnews-train [overrides]`: train, evaluate and log a classifier."""
    _prepare_environment()
    _run_app(_train_app, "train")


def topics_main() -> None:
    """`arnews-topics [overrides]`: fit, evaluate and log a topic model."""
    _prepare_environment()
    _run_app(_topics_app, "topics")


def _predict_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arnews-predict",
        description="Label and topic-tag the articles of a file with saved arnews_ml models.",
    )
    parser.add_argument(
        "--model",
        action="append",
        required=True,
        help="Bundle folder or MLflow model URI (models:/name/version, models:/name@alias, "
        "runs:/...). Give it twice for a classifier and a topic model.",
    )
    parser.add_argument(
        "--input", required=True, help="CSV, TSV, JSONL(.gz), Parquet or a text folder."
    )
    parser.add_argument(
        "--output",
        default="-",
        help="Output file: .jsonl (also any other ending), .csv or .parquet; written as "
        "<output>.partial and renamed when complete (default: JSONL on standard output).",
    )
    parser.add_argument("--text-column", default="text", help="Column with the article text.")
    parser.add_argument("--id-column", default="id", help="Column with the article id.")
    parser.add_argument("--encoding", default="auto", help="auto, utf-8 or cp1256.")
    parser.add_argument("--batch-size", type=int, default=256, help="Articles per batch.")
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=10_000,
        help="Rows read and written at a time (memory stays flat whatever the input size).",
    )
    parser.add_argument(
        "--progress-every",
        type=float,
        default=10.0,
        help="Seconds between progress lines (rows, docs/s, ETA) on stderr.",
    )
    parser.add_argument("--no-progress", action="store_true", help="Hide the progress lines.")
    parser.add_argument(
        "--spark",
        action="store_true",
        help="Score a Parquet file or folder on Spark (mlflow.pyfunc.spark_udf) into a Parquet "
        "folder; needs the [spark] extra, Java, and registered models (models:/...).",
    )
    return parser


def predict_main(argv: list[str] | None = None) -> int:
    """`arnews-predict --model URI_OR_FOLDER --input FILE [--output FILE]`: label new articles.

    Returns the exit status: 0, or 2 on a usage or data error (one line on stderr).
    """
    args = _predict_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.no_progress:
        logging.getLogger("arnews_ml.tasks.predict").setLevel(logging.INFO)
    if args.spark:
        return _predict_spark(args)
    from arnews_ml.inference import load_model
    from arnews_ml.tasks.predict import predict_to_path

    try:
        models = [load_model(uri) for uri in args.model]
        summary = predict_to_path(
            models,
            args.input,
            args.output,
            text_column=args.text_column,
            id_column=args.id_column,
            encoding=args.encoding,
            batch_size=args.batch_size,
            chunk_rows=args.chunk_size,
            progress=not args.no_progress,
            progress_every=args.progress_every,
        )
    except ArnewsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        f"predicted {summary.n_predicted:,} of {summary.n_rows:,} rows -> {summary.output}",
        file=sys.stderr,
    )
    if summary.n_bad:
        detail = ", ".join(f"{n} {reason}" for reason, n in summary.bad_reasons.items())
        print(
            f"skipped {summary.n_bad:,} bad rows ({detail}); they carry an 'error' field",
            file=sys.stderr,
        )
    return 0


def _predict_spark(args: argparse.Namespace) -> int:
    """`arnews-predict --spark`: a Parquet input scored on Spark into a Parquet folder."""
    if args.output == "-":
        print("error: --spark writes a Parquet folder: give --output PATH.", file=sys.stderr)
        return 2
    try:
        from arnews_ml.tracking.spark import score_parquet

        n_rows = score_parquet(args.model, args.input, args.output, text_column=args.text_column)
    except ArnewsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"scored {n_rows:,} rows on Spark -> {args.output}", file=sys.stderr)
    return 0


def runs_main(argv: list[str] | None = None) -> int:
    """`arnews-runs [--sweep ID] [--metric M] ... | --promote RUN_OR_VERSION --alias A`."""
    from arnews_ml.tracking.runs import main as runs_cli

    return runs_cli(argv)


def evaluate_main(argv: list[str] | None = None) -> int:
    """`arnews-evaluate --model URI_OR_FOLDER --input labelled.jsonl`: score a saved model."""
    from arnews_ml.tracking.evaluation import main as evaluate_cli

    return evaluate_cli(argv)
