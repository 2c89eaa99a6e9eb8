"""Topic similarity and outlier reassignment for a fitted BERTopic model, from its public
fitted attributes (``topic_sizes_``, ``topic_embeddings_``, ``c_tf_idf_``, ``vectorizer_model``,
``ctfidf_model``): the same at fit, at transform and after a reload."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

__all__ = ["assign_outliers", "topic_similarities"]


def _topic_rows(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """Topic ids in the row order of BERTopic's ``topic_embeddings_`` (sorted, -1 first) and rows."""
    ids = np.asarray(sorted(int(t) for t in model.topic_sizes_), dtype=np.int64)
    return ids, np.asarray(model.topic_embeddings_, dtype=np.float64)


def topic_similarities(model: Any, embeddings: np.ndarray, topics: np.ndarray) -> np.ndarray:
    """Cosine similarity of each document embedding to its topic's embedding, float64 (n,)."""
    from sklearn.metrics.pairwise import cosine_similarity

    ids, vectors = _topic_rows(model)
    if len(topics) == 0:
        return np.zeros(0, dtype=np.float64)
    sims = cosine_similarity(embeddings, vectors)
    index = {int(t): i for i, t in enumerate(ids)}
    rows = np.asarray([index.get(int(t), -1) for t in topics], dtype=np.int64)
    picked = sims[np.arange(len(topics)), np.maximum(rows, 0)]
    return np.where(rows >= 0, picked, 0.0).astype(np.float64)


def assign_outliers(
    model: Any,
    texts: Sequence[str],
    embeddings: np.ndarray,
    topics: np.ndarray,
    strategy: Literal["c-tf-idf", "embeddings"],
    threshold: float = 0.0,
) -> np.ndarray:
    """Give outlier documents (-1) their most similar topic, as ``reduce_outliers`` does at fit.

    Same computation as BERTopic's ``reduce_outliers`` for the two strategies, from its public
    fitted attributes (``topic_embeddings_``, ``c_tf_idf_``, ``vectorizer_model``,
    ``ctfidf_model``): it cannot be called on a model whose outliers were already reduced.
    """
    from sklearn.metrics.pairwise import cosine_similarity

    ids, vectors = _topic_rows(model)
    keep = ids != -1
    mask = topics == -1
    if strategy == "embeddings":
        sims = cosine_similarity(embeddings[mask], vectors[keep])
    else:
        outliers = [text for text, is_outlier in zip(texts, mask, strict=True) if is_outlier]
        weighted = model.ctfidf_model.transform(model.vectorizer_model.transform(outliers))
        sims = cosine_similarity(weighted, model.c_tf_idf_[np.flatnonzero(keep)])
    sims[sims < float(threshold)] = 0
    best = np.where(sims.sum(axis=1) > 0, ids[keep][sims.argmax(axis=1)], -1)
    out = topics.copy()
    out[mask] = best
    return out
