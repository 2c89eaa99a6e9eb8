"""Task: label (and topic-tag) the articles of a file with saved models (arnews-predict's work)."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from arnews_ml.data.schema import ERROR_COL, ERROR_DETAIL_COL, ColumnMap
from arnews_ml.data.stream import DEFAULT_CHUNK_ROWS, TableStream, iter_table
from arnews_ml.exceptions import DataError
from arnews_ml.jsonable import to_jsonable
from arnews_ml.text.rows import ERROR_COLUMN, text_problem

__all__ = [
    "OUTPUT_FORMATS",
    "PredictSummary",
    "iter_predictions",
    "output_format",
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


READ_ERRORS = ("invalid_json", "merged_lines")
"""Read-time errors whose row holds no article (a broken line): answered with an error."""

OUTPUT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
"""Output file endings and their format; any other ending (and ``-``) is JSONL."""


@dataclass
class _Chunk:
    """One chunk of results: an id and an error (or None) per input row, predictions for the
    rows without an error (in order)."""

    ids: list[str]
    errors: list[str | None]
    preds: pd.DataFrame | None

    def records(self) -> Iterator[dict[str, Any]]:
        """One JSON-ready dict per input row: ``id`` then the predictions, or ``id, error``."""
        predicted = iter(self.preds.to_dict("records") if self.preds is not None else [])
        for row_id, error in zip(self.ids, self.errors, strict=True):
            line: dict[str, Any] = {"id": row_id}
            if error is None:
                line.update({k: to_jsonable(v) for k, v in next(predicted).items()})
            else:
                line["error"] = error
            yield line

    def frame(self, columns: Sequence[str]) -> pd.DataFrame:
        """All rows as one frame: ``id``, ``columns`` (null on error rows) and ``error``."""
        good = [i for i, e in enumerate(self.errors) if e is None]
        if self.preds is not None and len(good):
            preds = self.preds.reindex(columns=list(columns))
            preds.index = pd.Index(good)
            preds = preds.reindex(range(len(self.ids)))
            if len(good) < len(self.ids):
                preds = preds.astype(object).where(preds.notna(), None)
        else:
            preds = pd.DataFrame(
                {c: [None] * len(self.ids) for c in columns},
                index=pd.RangeIndex(len(self.ids)),
                dtype=object,
            )
        out = preds.reset_index(drop=True)
        out.insert(0, "id", pd.Series(self.ids, dtype=object))
        out["error"] = pd.Series(self.errors, dtype=object)
        return out


class _Progress:
    """Progress as log lines (rows, docs/s, ETA), at most one every ``every`` seconds."""

    def __init__(self, stream: TableStream, every: float | None) -> None:
        self.stream = stream
        self.every = every
        self.start = self.last = time.monotonic()

    def update(self, n_rows: int) -> None:
        now = time.monotonic()
        if self.every is None or now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.start
        rate = n_rows / elapsed if elapsed > 0 else 0.0
        fraction = self.stream.fraction_read
        if fraction:
            eta = f"{elapsed * (1 - fraction) / fraction:.0f}s"
            done = f" ({100 * fraction:.0f}%)"
        else:
            eta, done = "unknown", ""
        log.info("predict rows=%d%s rate=%.0f docs/s eta=%s", n_rows, done, rate, eta)

    def finish(self, n_rows: int) -> None:
        if self.every is None:
            return
        elapsed = time.monotonic() - self.start
        rate = n_rows / elapsed if elapsed > 0 else 0.0
        log.info("predict done rows=%d in %.1fs rate=%.0f docs/s", n_rows, elapsed, rate)


def iter_predictions(
    models: Sequence[Any],
    input_path: str | Path,
    summary: PredictSummary,
    *,
    text_column: str = "text",
    id_column: str = "id",
    encoding: str = "auto",
    batch_size: int = 256,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: bool = True,
    progress_every: float = 10.0,
) -> Iterator[_Chunk]:
    """Read ``input_path`` chunk by chunk and predict each chunk (``batch_size`` articles at a
    time), counting rows into ``summary``; one result row per input row, in order."""
    if batch_size < 1:
        raise DataError(f"batch_size must be a positive integer, got {batch_size!r}.")
    columns = ColumnMap(
        text=text_column, id=id_column, labels=None, date=None, source=None, title=None
    )
    stream = iter_table(input_path, columns, encoding=encoding, chunk_rows=chunk_rows)
    meter = _Progress(stream, progress_every if progress else None)
    for frame in stream:
        errors = [text_problem(t) for t in frame["text"]]
        for i, (code, detail) in enumerate(
            zip(frame[ERROR_COL], frame[ERROR_DETAIL_COL], strict=True)
        ):
            if code in READ_ERRORS:
                errors[i] = detail
                summary.bad_reasons[code] = summary.bad_reasons.get(code, 0) + 1
            elif errors[i] is not None:
                summary.bad_reasons[errors[i]] = summary.bad_reasons.get(errors[i], 0) + 1
        texts = frame["text"].tolist()
        good = [texts[i] for i, e in enumerate(errors) if e is None]
        parts = [
            predict_frame(models, good[s : s + batch_size]) for s in range(0, len(good), batch_size)
        ]
        preds = pd.concat(parts, ignore_index=True) if parts else None
        summary.n_rows += len(frame)
        summary.n_predicted += len(good)
        summary.n_bad += len(frame) - len(good)
        yield _Chunk(frame["id"].astype(str).tolist(), errors, preds)
        meter.update(summary.n_rows)
    meter.finish(summary.n_rows)


def predict_file(
    models: Sequence[Any],
    input_path: str | Path,
    output: TextIO,
    **options: Any,
) -> PredictSummary:
    """Predict every article of a file and write one JSON line per input row, as it goes.

    The input is read ``chunk_rows`` rows at a time (:func:`arnews_ml.data.stream.iter_table`),
    so memory stays flat whatever its size. Rows whose text is missing or empty (or a broken
    line) are written with an `error` field instead of predictions, counted, and reported;
    they never stop the run.

    Args:
        models: Loaded models (classifier and/or topic model bundles).
        input_path: Any file or folder `load_corpus` reads.
        output: Where the JSONL goes (an open text stream).
        **options: ``text_column`` (default ``text``), ``id_column`` (``id``; generated
            ``<file>:<row>`` if absent), ``encoding`` (``auto``, ``utf-8``, ``cp1256``),
            ``batch_size`` (articles per model call, 256), ``chunk_rows`` (rows read at a
            time), ``progress`` (log rows/s and ETA) and ``progress_every`` (seconds).

    Returns:
        The counts.
    """
    return _run(models, input_path, _JsonlWriter(output), options)


def _run(
    models: Sequence[Any], input_path: str | Path, writer: Any, options: dict[str, Any]
) -> PredictSummary:
    summary = PredictSummary()
    with tempfile.TemporaryDirectory(prefix="arnews-predict-") as scratch:
        replaced = share_embedder(models, scratch) if len(models) > 1 else []
        if replaced:
            log.info("%d models share one embedder: each article is embedded once", len(replaced))
        try:
            for chunk in iter_predictions(models, input_path, summary, **options):
                writer.write(chunk)
            writer.close()
        finally:
            writer.abort()
            for model, original in replaced:
                model.embedder = original
    return summary


class _JsonlWriter:
    """One JSON line per row (``id``, predictions or ``error``) on an open text stream."""

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle

    def write(self, chunk: _Chunk) -> None:
        self.handle.writelines(
            json.dumps(line, ensure_ascii=False) + "\n" for line in chunk.records()
        )

    def close(self) -> None:
        self.handle.flush()

    def abort(self) -> None:
        """Nothing to release: the caller owns the stream."""


class _TableWriter:
    """CSV or Parquet with fixed columns: ``id``, the models' columns, ``error``.

    The columns (and Parquet types) are those of the first chunk with predictions; chunks
    before it (all rows bad) wait for it, and a file with no prediction at all gets ``id`` and
    ``error`` only. CSV cells holding lists (``labels``) are JSON arrays.
    """

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind
        self.columns: list[str] | None = None
        self.waiting: list[_Chunk] = []
        self.writer: Any = None
        self.schema: Any = None

    def write(self, chunk: _Chunk) -> None:
        if self.columns is None:
            if chunk.preds is None or not len(chunk.preds):
                self.waiting.append(chunk)
                return
            self.columns = [c for c in chunk.preds.columns if c not in ("id", ERROR_COLUMN)]
        for pending in [*self.waiting, chunk]:
            self._write_frame(pending.frame(self.columns))
        self.waiting = []

    def _write_frame(self, frame: pd.DataFrame) -> None:
        if self.kind == "csv":
            for column in frame.columns:
                if frame[column].map(lambda v: isinstance(v, list | tuple | np.ndarray)).any():
                    frame[column] = frame[column].map(
                        lambda v: (
                            None if v is None else json.dumps(to_jsonable(v), ensure_ascii=False)
                        )
                    )
            frame.to_csv(self.path, mode="a", header=self.writer is None, index=False)
            self.writer = True
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:
            self.schema = _parquet_schema(pa.Schema.from_pandas(frame, preserve_index=False))
            self.writer = pq.ParquetWriter(self.path, self.schema)
        self.writer.write_table(
            pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        )

    def close(self) -> None:
        if self.columns is None:
            self.columns = []
        for pending in self.waiting:
            self._write_frame(pending.frame(self.columns))
        self.waiting = []
        if self.writer is None:  # no rows at all
            self._write_frame(pd.DataFrame({"id": [], "error": []}, dtype=object))
        self.abort()

    def abort(self) -> None:
        """Close the Parquet writer (its file is then complete, or removed by the caller)."""
        if self.kind == "parquet" and self.writer is not None:
            self.writer.close()
            self.writer = None


def _parquet_schema(schema: Any) -> Any:
    """Types the first chunk could not tell: an all-null column is a string, a list of
    nothing a list of strings."""
    import pyarrow as pa

    fields = []
    for f in schema:
        if pa.types.is_null(f.type):
            f = f.with_type(pa.string())
        elif pa.types.is_list(f.type) and pa.types.is_null(f.type.value_type):
            f = f.with_type(pa.list_(pa.string()))
        fields.append(f)
    return pa.schema(fields)


def output_format(output: str) -> str:
    """``jsonl``, ``csv`` or ``parquet`` from the output path's ending (JSONL by default)."""
    suffix = Path(output).suffix.lower()
    return "parquet" if suffix == ".pq" else OUTPUT_FORMATS.get(suffix, "jsonl")


def predict_to_path(
    models: Sequence[Any], input_path: str | Path, output: str, **options: Any
) -> PredictSummary:
    """Predict into ``output``: a ``.jsonl`` (any other ending too), ``.csv`` or ``.parquet``
    path, or ``-`` for JSONL on standard output. Rows are written as they are predicted.

    A file is written as ``<output>.partial`` and renamed when complete, so a failed run
    leaves no half-written output. ``options`` are :func:`predict_file`'s keyword arguments.
    """
    if output == "-":
        return predict_file(models, input_path, sys.stdout, **options)
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    tmp.unlink(missing_ok=True)
    kind = output_format(output)
    try:
        if kind == "jsonl":
            with tmp.open("w", encoding="utf-8") as handle:
                summary = predict_file(models, input_path, handle, **options)
        else:
            summary = _run(models, input_path, _TableWriter(tmp, kind), options)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(target)
    summary.output = str(target)
    return summary
