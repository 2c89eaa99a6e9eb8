"""LDA and NMF baselines on the topic vocabulary, giving the same small surface as BERTopic.

LDA models word counts (its generative story needs them); NMF factorises TF-IDF of the same
counts. Both use the fixed document-level vocabulary of
:func:`~arnews_ml.topics.vectorizer.build_topic_vectorizer`, so their topic words are comparable
with BERTopic's. :class:`~arnews_ml.topics.model.TopicModel` (``backend="lda"|"nmf"``) wraps
these functions; they return plain arrays and fitted scikit-learn estimators.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import NMF, LatentDirichletAllocation
from sklearn.feature_extraction.text import TfidfTransformer

from arnews_ml.exceptions import ConfigError

__all__ = [
    "BASELINES",
    "ESTIMATOR_FILE",
    "WEIGHTING_FILE",
    "assign_topics",
    "baseline_input",
    "fit_baseline",
    "load_baseline",
    "save_baseline",
    "topic_words",
]

logger = logging.getLogger(__name__)

BaselineKind = Literal["lda", "nmf"]
BASELINES: tuple[str, ...] = ("lda", "nmf")
_DEFAULT_MAX_ITER = {"lda": 20, "nmf": 400}
#: Bundle part names (skops, no pickle).
ESTIMATOR_FILE = "estimator.skops"
WEIGHTING_FILE = "weighting.skops"


def fit_baseline(
    kind: BaselineKind,
    counts: sp.csr_matrix,
    *,
    n_topics: int = 20,
    seed: int = 42,
    max_iter: int | None = None,
) -> tuple[Any, TfidfTransformer | None]:
    """Fit LDA (on counts) or NMF (on TF-IDF of the counts).

    Args:
        kind: ``"lda"`` or ``"nmf"``.
        counts: Document-term counts, shape (n_docs, n_words), over the topic vocabulary.
        n_topics: Number of topics; capped at the number of documents (and, for NMF, words).
        seed: ``random_state`` of the estimator (NMF starts from ``init="nndsvda"``).
        max_iter: Iterations; ``None``: 20 for LDA, 400 for NMF.

    Returns:
        ``(estimator, weighting)``: the fitted LatentDirichletAllocation or NMF, and the fitted
        TfidfTransformer for NMF (``None`` for LDA).

    Raises:
        ConfigError: Unknown ``kind`` or ``n_topics < 1``.
    """
    if kind not in BASELINES:
        raise ConfigError(f"topic_model.backend must be one of {BASELINES}; got {kind!r}.")
    if int(n_topics) < 1:
        raise ConfigError(f"topic_model.n_topics must be >= 1; got {n_topics}.")
    n_docs, n_words = counts.shape
    limit = n_docs if kind == "lda" else min(n_docs, n_words)
    k = min(int(n_topics), max(1, limit))
    if k < int(n_topics):
        logger.warning("topics baseline=%s n_topics=%d capped_to=%d", kind, n_topics, k)
    iterations = int(max_iter) if max_iter is not None else _DEFAULT_MAX_ITER[kind]
    if kind == "lda":
        estimator: Any = LatentDirichletAllocation(
            n_components=k, learning_method="batch", max_iter=iterations, random_state=seed
        )
        estimator.fit(counts)
        return estimator, None
    weighting = TfidfTransformer(sublinear_tf=True).fit(counts)
    estimator = NMF(n_components=k, init="nndsvda", max_iter=iterations, random_state=seed)
    estimator.fit(weighting.transform(counts))
    return estimator, weighting


def baseline_input(counts: sp.csr_matrix, weighting: TfidfTransformer | None) -> sp.csr_matrix:
    """What the estimator sees: the counts for LDA, their TF-IDF for NMF."""
    return counts if weighting is None else weighting.transform(counts)


def assign_topics(
    estimator: Any, counts: sp.csr_matrix, weighting: TfidfTransformer | None
) -> tuple[np.ndarray, np.ndarray]:
    """Topic per document: argmax of its topic distribution; score: that topic's share.

    A document with no vocabulary word has no topic evidence at all (LDA would give it the
    prior, NMF a zero row): it gets topic -1 and score 0.0, so it is counted as an outlier
    instead of landing in topic 0.

    Args:
        estimator: Fitted LDA or NMF.
        counts: Document-term counts over the topic vocabulary, shape (n_docs, n_words).
        weighting: The TF-IDF transformer for NMF, ``None`` for LDA.

    Returns:
        ``(topics, scores)``: int64 array (n_docs,) and float64 array (n_docs,) in [0, 1].
    """
    n_docs = counts.shape[0]
    if n_docs == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    dist = np.asarray(estimator.transform(baseline_input(counts, weighting)), dtype=np.float64)
    totals = dist.sum(axis=1, keepdims=True)
    dist = np.divide(dist, totals, out=np.zeros_like(dist), where=totals > 0)
    topics = dist.argmax(axis=1).astype(np.int64)
    scores = dist.max(axis=1)
    empty = np.asarray(counts.sum(axis=1)).ravel() == 0
    topics[empty] = -1
    scores[empty] = 0.0
    return topics, scores


def topic_words(
    estimator: Any, vocabulary: Sequence[str], top_n: int = 10
) -> dict[int, list[tuple[str, float]]]:
    """Top words per topic from ``components_``, weights normalised to sum to 1 per topic.

    Args:
        estimator: Fitted LDA or NMF over ``vocabulary``.
        vocabulary: The words, in column order.
        top_n: Words per topic.

    Returns:
        ``{topic_id: [(word, weight), ...]}`` best first; words with zero weight are left out.
    """
    components = np.asarray(estimator.components_, dtype=np.float64)
    words = np.asarray(list(vocabulary), dtype=object)
    out: dict[int, list[tuple[str, float]]] = {}
    for topic, row in enumerate(components):
        total = row.sum()
        weights = row / total if total > 0 else row
        order = np.argsort(-weights, kind="stable")[:top_n]
        out[topic] = [(str(words[i]), float(weights[i])) for i in order if weights[i] > 0]
    return out


def save_baseline(directory: Path, estimator: Any, weighting: TfidfTransformer | None) -> None:
    """Write the fitted estimator (and NMF's TF-IDF weighting) with skops."""
    from arnews_ml.persist import dump_skops

    dump_skops(estimator, Path(directory) / ESTIMATOR_FILE)
    if weighting is not None:
        dump_skops(weighting, Path(directory) / WEIGHTING_FILE)


def load_baseline(directory: Path) -> tuple[Any, TfidfTransformer | None]:
    """Inverse of :func:`save_baseline`: ``(estimator, weighting or None)``."""
    from arnews_ml.persist import load_skops

    weighting = Path(directory) / WEIGHTING_FILE
    estimator = load_skops(Path(directory) / ESTIMATOR_FILE)
    return estimator, (load_skops(weighting) if weighting.is_file() else None)
