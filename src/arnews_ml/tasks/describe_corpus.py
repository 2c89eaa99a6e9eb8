"""Task: load, validate and clean a corpus, and summarise it (no model, no tracking)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from arnews_ml.data.summary import summarize_corpus
from arnews_ml.tasks.common import build_cleaner, load_data, output_dir

__all__ = ["SUMMARY_FILE", "describe_corpus"]

log = logging.getLogger(__name__)

SUMMARY_FILE = "corpus_summary.json"


def describe_corpus(cfg: Any, run_dir: str | Path | None = None) -> dict[str, Any]:
    """Load the configured corpus, learn its boilerplate lines, and summarise it.

    Args:
        cfg: A composed `corpus` (or `train`/`topics`) config.
        run_dir: Hydra's run folder (from the command layer), used unless
            `paths.output_dir` is set.

    Returns:
        The summary dict of `summarize_corpus`, with `output_dir` added; the summary is also
        written as JSON to the output folder.
    """
    out_dir = output_dir(cfg, run_dir)
    corpus = load_data(cfg, out_dir)
    sources = corpus.frame["source"].tolist() if "source" in corpus.frame else None
    cleaner = build_cleaner(cfg).fit(corpus.frame["text"].tolist(), sources)
    summary = summarize_corpus(corpus, cleaner.boilerplate_report())
    summary["output_dir"] = str(out_dir)
    Path(out_dir, SUMMARY_FILE).write_text(
        json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    log.info("corpus summary written path=%s", Path(out_dir, SUMMARY_FILE))
    return summary
