"""Topic models on large corpora: fit on a seeded sample, then assign every document in chunks.

A topic model's fit (UMAP, HDBSCAN, LDA, NMF...) grows faster than linearly with the corpus and
holds the whole corpus at once; assigning documents to fitted topics is cheap and independent per
document. So on a large corpus we fit on a seeded random sample (``topic_model.fit_sample=N``)
and give every other document its topic with the fitted model's ``transform``, chunk by chunk,
as BERTopic's maintainer recommends for 10M+ documents (MaartenGr/BERTopic#1954). Documents of
the sample keep the topic of the fit. The assignments are written as Parquet chunk by chunk
(:class:`DocumentTopicsWriter`), so memory holds one chunk of embeddings and rows at a time.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from arnews_ml.exceptions import ArtifactError, ConfigError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DocumentTopicsWriter",
    "assign_topics",
    "sample_indices",
]

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 10_000

#: Called after each chunk with ``(start, stop, topics, scores)`` of documents ``start:stop``.
ChunkCallback = Callable[[int, int, np.ndarray, np.ndarray], None]


def sample_indices(n_docs: int, fit_sample: int | None, seed: int) -> np.ndarray:
    """The documents a topic model is fitted on: all, or a seeded random sample, ascending.

    Args:
        n_docs: Documents in the corpus.
        fit_sample: Sample size; ``None`` (or at least ``n_docs``) fits on every document.
        seed: Seed of the sample (the same seed gives the same sample).

    Returns:
        Sorted int64 indices into the corpus.

    Raises:
        ConfigError: ``fit_sample`` below 2.
    """
    if fit_sample is None or int(fit_sample) >= n_docs:
        return np.arange(n_docs, dtype=np.int64)
    if isinstance(fit_sample, bool) or int(fit_sample) < 2:
        raise ConfigError(
            f"topic_model.fit_sample must be null (fit on every document) or a number of "
            f"documents >= 2; got {fit_sample!r}."
        )
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_docs, size=int(fit_sample), replace=False)).astype(np.int64)


def assign_topics(
    model: Any,
    texts: Sequence[str],
    embed_texts: Sequence[str] | None = None,
    *,
    fitted: np.ndarray | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_chunk: ChunkCallback | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Topic and score of every document: the fit's for the documents it was fitted on, the
    fitted model's ``transform`` for the others, ``chunk_size`` documents at a time.

    Args:
        model: A fitted :class:`~arnews_ml.topics.model.TopicModel`.
        texts: Cleaned texts of the whole corpus (as for ``fit``), length n.
        embed_texts: What the embedder sees, length n; default ``texts``.
        fitted: Sorted indices (into ``texts``) of the documents ``model`` was fitted on, in the
            order of ``model.topics_``; ``None``: none (every document is transformed).
        chunk_size: Documents per chunk (bounds the memory of one transform).
        on_chunk: Called after each chunk, e.g. to write it (see :class:`DocumentTopicsWriter`).

    Returns:
        ``(topics, scores)``: int64 (n,) and float64 (n,).

    Raises:
        ConfigError: ``chunk_size`` below 1, or ``fitted`` not matching the model's fit.
    """
    if isinstance(chunk_size, bool) or int(chunk_size) < 1:
        raise ConfigError(
            f"topic_model.assign_chunk_size must be a number of documents >= 1; got {chunk_size!r}."
        )
    n_docs = len(texts)
    embed_texts = texts if embed_texts is None else embed_texts
    fitted = np.zeros(0, dtype=np.int64) if fitted is None else np.asarray(fitted, np.int64)
    if len(fitted) != (len(model.topics_) if len(fitted) else 0):
        raise ConfigError(
            f"{len(fitted)} fitted document indices were given but the model was fitted on "
            f"{len(model.topics_)} documents; pass the indices it was fitted on."
        )
    in_fit = np.full(n_docs, -1, dtype=np.int64)
    in_fit[fitted] = np.arange(len(fitted))
    topics = np.empty(n_docs, dtype=np.int64)
    scores = np.empty(n_docs, dtype=np.float64)
    started, n_transformed = time.perf_counter(), 0
    for start in range(0, n_docs, int(chunk_size)):
        stop = min(start + int(chunk_size), n_docs)
        position = in_fit[start:stop]
        known = position >= 0
        topics[start:stop][known] = model.topics_[position[known]]
        scores[start:stop][known] = model.scores_[position[known]]
        todo = np.flatnonzero(~known) + start
        if len(todo):
            chunk_topics, chunk_scores = model.transform(
                [texts[i] for i in todo], [embed_texts[i] for i in todo]
            )
            topics[todo], scores[todo] = chunk_topics, chunk_scores
            n_transformed += len(todo)
        if on_chunk is not None:
            on_chunk(start, stop, topics[start:stop], scores[start:stop])
        elapsed = time.perf_counter() - started
        rate = n_transformed / elapsed if elapsed > 0 else float("nan")
        left = (n_docs - stop) / (stop / elapsed) if elapsed > 0 and stop else float("nan")
        logger.info(
            "topics assigned docs=%d/%d transformed=%d docs_per_s=%.0f eta_s=%.0f",
            stop, n_docs, n_transformed, rate, left,
        )  # fmt: skip
    return topics, scores


class DocumentTopicsWriter:
    """Writes the document-topic table as Parquet, one chunk at a time, atomically.

    Each :meth:`write` appends a row group (a frame from
    :func:`~arnews_ml.topics.analysis.document_topics_frame`) to a temporary file beside
    ``path``; leaving the ``with`` block renames it into place, so a reader never sees a half
    written file, and an exception leaves no file behind. The schema is
    :func:`~arnews_ml.topics.analysis.document_topics_table`'s (the same as
    :func:`~arnews_ml.topics.analysis.write_document_topics`).

    Args:
        path: Destination ``.parquet`` file; its folder is created.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.n_rows = 0
        self._writer: Any = None
        self._tmp: Path | None = None

    def __enter__(self) -> DocumentTopicsWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append the rows of ``frame`` (a document-topic frame)."""
        import pyarrow.parquet as pq

        from arnews_ml.topics.analysis import document_topics_table

        if self._tmp is None:
            raise ArtifactError("DocumentTopicsWriter.write() outside its 'with' block.")
        table = document_topics_table(frame)
        try:
            if self._writer is None:
                self._writer = pq.ParquetWriter(self._tmp, table.schema)
            self._writer.write_table(table)
        except (OSError, ValueError) as err:
            raise ArtifactError(f"Cannot write the document topics to {self.path}: {err}") from err
        self.n_rows += len(frame)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._tmp is not None
        try:
            if self._writer is not None:
                self._writer.close()
            if exc_type is None:
                if self._writer is None:
                    raise ArtifactError(
                        f"No document topics were written to {self.path}: the corpus is empty."
                    )
                os.replace(self._tmp, self.path)
        except OSError as err:
            raise ArtifactError(f"Cannot write the document topics to {self.path}: {err}") from err
        finally:
            self._tmp.unlink(missing_ok=True)  # still there only when something failed
            self._tmp = None
