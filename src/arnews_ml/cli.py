"""Command-line entry points: thin shells over the tasks (Hydra apps and the predict command)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

import hydra
from omegaconf import DictConfig

from arnews_ml.config import register_resolvers
from arnews_ml.exceptions import ArnewsError

__all__ = ["corpus_main", "predict_main", "topics_main", "train_main"]

log = logging.getLogger("arnews_ml")


def _prepare_environment() -> None:
    """Process-level defaults the commands need (set here, never at import of the package)."""
    register_resolvers()
    # UMAP's numba code is compiled once and cached; keep that cache out of site-packages.
    os.environ.setdefault(
        "NUMBA_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "arnews_ml", "numba")
    )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _run_task(task: Callable[[DictConfig], Any], cfg: DictConfig) -> Any:
    """Run a task; package errors become one clear message and exit status 2, not a traceback."""
    try:
        return task(cfg)
    except ArnewsError as err:
        log.error("%s", err)
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from err


@hydra.main(version_base="1.3", config_path="conf", config_name="corpus")
def _corpus_app(cfg: DictConfig) -> None:
    from arnews_ml.data.summary import format_summary
    from arnews_ml.tasks.describe_corpus import describe_corpus

    summary = _run_task(describe_corpus, cfg)
    print(format_summary(summary))
    print(f"output folder    {summary['output_dir']}")


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def _train_app(cfg: DictConfig) -> float | None:
    from arnews_ml.tasks.train_classifier import format_result, train_classifier

    result = _run_task(train_classifier, cfg)
    print(format_result(result))
    # Returned so a Hydra sweeper can optimise it.
    return result.metrics.get("val_f1_macro", result.metrics.get("test_f1_macro"))


@hydra.main(version_base="1.3", config_path="conf", config_name="topics")
def _topics_app(cfg: DictConfig) -> float | None:
    from arnews_ml.tasks.fit_topics import fit_topics, format_topics_result

    result = _run_task(fit_topics, cfg)
    print(format_topics_result(result))
    return result.metrics.get("npmi")


def corpus_main() -> None:
    """`arnews-corpus [overrides]`: load, validate and clean a corpus, print its summary."""
    _prepare_environment()
    _corpus_app()


def train_main() -> None:
    """`arnews-train [overrides]`: train, evaluate and log a classifier."""
    _prepare_environment()
    _train_app()


def topics_main() -> None:
    """`arnews-topics [overrides]`: fit, evaluate and log a topic model."""
    _prepare_environment()
    _topics_app()


def predict_main(argv: list[str] | None = None) -> int:
    """`arnews-predict --model URI_OR_FOLDER --input FILE [--output FILE]`: label new articles."""
    from arnews_ml.tasks.predict import main as predict_cli

    return predict_cli(argv)
