"""Task: label (and topic-tag) the articles of a file with saved models (arnews-predict's work)."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from arnews_ml.data.io import read_table
from arnews_ml.data.schema import ColumnMap
from arnews_ml.jsonable import to_jsonable
from arnews_ml.text.rows import text_problem

__all__ = [
    "PredictSummary",
    "predict_file",
    "predict_frame",
    "predict_to_path",
    "share_embedder",
]

log = logging.getLogger(__name__)


@dataclass
class PredictSummary:
    """Counts of a prediction run."""

    n_rows: int = 0
    n_predicted: int = 0
    n_bad: int = 0
    bad_reasons: dict[str, int] = field(default_factory=dict)
    output: str = "-"


def share_embedder(models: Sequence[Any], cache_dir: str | Path) -> list[tuple[Any, Any]]:
    """Let models with the same embedder (same spec) embed each article once between them.

    Their embedders are replaced by one `CachedEmbedder` over a cache in `cache_dir`: the first
    model to see an article embeds it, the others read the vectors back. Only cacheable
    (dense, unfitted) embedders are shared; a TF-IDF embedder belongs to the model it was
    fitted with.

    Returns:
        (model, original embedder) pairs, to put the originals back when done.
    """
    from arnews_ml.embed.cache import CachedEmbedder, EmbeddingCache

    groups: dict[str, list[Any]] = {}
    for model in models:
        embedder = getattr(model, "embedder", None)
        if embedder is not None and getattr(embedder, "cacheable", False):
            groups.setdefault(embedder.spec.key(), []).append(model)
    replaced: list[tuple[Any, Any]] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        wrapper = CachedEmbedder(members[0].embedder, EmbeddingCache(cache_dir))
        for model in members:
            replaced.append((model, model.embedder))
            model.embedder = wrapper
    return replaced


def predict_frame(models: Sequence[Any], texts: list[str]) -> pd.DataFrame:
    """Run every model on the same texts and put their outputs side by side (one row each)."""
    frames = [model.predict_frame(texts).reset_index(drop=True) for model in models]
    out = pd.concat(frames, axis=1)
    return out.loc[:, ~out.columns.duplicated()]


def _batches(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def predict_file(
    models: Sequence[Any],
    input_path: str | Path,
    output: TextIO,
    *,
    text_column: str = "text",
    id_column: str = "id",
    encoding: str = "auto",
    batch_size: int = 256,
    progress: bool = True,
) -> PredictSummary:
    """Predict every article of a file and write one JSON line per input row.

    Rows whose text is missing or empty are written with an `error` field instead of
    predictions, counted, and reported; they never stop the run.

    Args:
        models: Loaded models (classifier and/or topic model bundles).
        input_path: Any file or folder `load_corpus` reads.
        output: Where the JSONL goes (an open text stream).
        text_column: Input column holding the article text.
        id_column: Input column holding the article id (generated `<file>:<row>` if absent).
        encoding: `auto`, `utf-8` or `cp1256`.
        batch_size: Articles per batch.
        progress: Show a progress bar on stderr.

    Returns:
        The counts.
    """
    with tempfile.TemporaryDirectory(prefix="arnews-predict-") as scratch:
        replaced = share_embedder(models, scratch) if len(models) > 1 else []
        if replaced:
            log.info("%d models share one embedder: each article is embedded once", len(replaced))
        try:
            return _predict_rows(
                models,
                input_path,
                output,
                text_column=text_column,
                id_column=id_column,
                encoding=encoding,
                batch_size=batch_size,
                progress=progress,
            )
        finally:
            for model, original in replaced:
                model.embedder = original


def _predict_rows(
    models: Sequence[Any],
    input_path: str | Path,
    output: TextIO,
    *,
    text_column: str,
    id_column: str,
    encoding: str,
    batch_size: int,
    progress: bool,
) -> PredictSummary:
    from tqdm.auto import tqdm

    frame = read_table(input_path, ColumnMap(text=text_column, id=id_column), encoding=encoding)
    summary = PredictSummary(n_rows=len(frame))
    reasons = [text_problem(t) for t in frame["text"]]
    ok = np.array([r is None for r in reasons])
    for reason in reasons:
        if reason is not None:
            summary.bad_reasons[reason] = summary.bad_reasons.get(reason, 0) + 1
    summary.n_bad = int((~ok).sum())
    ids = frame["id"].astype(str).tolist()
    texts = frame["text"].tolist()

    bar = tqdm(total=len(frame), desc="predict", unit="doc", disable=not progress, file=sys.stderr)
    for part in _batches(len(frame), batch_size):
        rows = np.arange(part.start, part.stop)
        good = rows[ok[part]]
        preds = predict_frame(models, [texts[i] for i in good]) if len(good) else None
        records = {}
        if preds is not None:
            for i, (_, pred) in zip(good, preds.iterrows(), strict=True):
                records[i] = {k: to_jsonable(v) for k, v in pred.items()}
        for i in rows:
            line = {"id": ids[i]}
            if i in records:
                line.update(records[i])
            else:
                line["error"] = reasons[i]
            output.write(json.dumps(line, ensure_ascii=False) + "\n")
        summary.n_predicted += len(good)
        bar.update(len(rows))
    bar.close()
    return summary


def predict_to_path(
    models: Sequence[Any], input_path: str | Path, output: str, **options: Any
) -> PredictSummary:
    """Run :func:`predict_file` into ``output`` (a JSONL path, or ``-`` for standard output).

    A file is written as ``<output>.partial`` and renamed when complete, so a failed run
    leaves no half-written output. ``options`` are :func:`predict_file`'s keyword arguments.
    """
    if output == "-":
        return predict_file(models, input_path, sys.stdout, **options)
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            summary = predict_file(models, input_path, handle, **options)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(target)
    summary.output = str(target)
    return summary
