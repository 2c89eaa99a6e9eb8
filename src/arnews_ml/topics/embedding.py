"""The embedding side of the BERTopic backend: sparse embeddings made dense, and our embedder
lent to BERTopic through its public ``BaseEmbedder``.

A sparse (TF-IDF) embedding is reduced by a TruncatedSVD fitted here (rows L2-normalised) before
BERTopic sees it; the adapter applies the same reduction to the words and documents BERTopic
embeds itself (seed words, KeyBERT/MMR candidates, new documents).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from arnews_ml.exceptions import ConfigError
from arnews_ml.topics.parts import require

if TYPE_CHECKING:
    from sklearn.decomposition import TruncatedSVD

    from arnews_ml.embed.base import Embedder

__all__ = ["dense_embeddings", "embedder_adapter", "fit_dense_reduction"]


def fit_dense_reduction(
    matrix: Any, n_components: int, seed: int, max_docs: int | None = None
) -> TruncatedSVD:
    """Fit the TruncatedSVD that turns a sparse TF-IDF embedding into a dense one.

    The randomized SVD's cost is a dozen sparse products with the whole matrix (word + character
    n-gram TF-IDF of 30k news articles: 70M non-zeros, about 15 minutes on 2 cores). The
    projection is therefore learnt on a seeded random sample of ``max_docs`` documents (the
    main directions of a news vocabulary are stable well below that) and applied to all of them
    by :func:`dense_embeddings`, one product.

    Args:
        matrix: Sparse embeddings, shape (n_docs, n_features).
        n_components: Wanted dimension; capped at ``min(n_rows, n_features) - 1``.
        seed: ``random_state`` of the sample and of the randomized SVD.
        max_docs: Fit on at most this many documents; ``None``: all of them.
    """
    from sklearn.decomposition import TruncatedSVD

    n_docs = matrix.shape[0]
    if max_docs is not None and n_docs > int(max_docs):
        rows = np.sort(np.random.default_rng(seed).choice(n_docs, int(max_docs), replace=False))
        matrix = matrix[rows]
    limit = min(matrix.shape) - 1
    if limit < 1:
        raise ConfigError(
            f"Cannot reduce a {matrix.shape[0]}x{matrix.shape[1]} TF-IDF matrix; pass more "
            "documents to the topic model."
        )
    svd = TruncatedSVD(n_components=max(1, min(int(n_components), limit)), random_state=seed)
    return svd.fit(matrix)


def dense_embeddings(matrix: Any, svd: TruncatedSVD | None = None) -> np.ndarray:
    """Embeddings as BERTopic wants them: a dense float32 array (n, dim).

    Sparse input goes through ``svd`` and its rows are L2-normalised (so cosine similarity and
    the Euclidean geometry of UMAP/k-means agree); dense input passes through unchanged.

    Raises:
        ConfigError: Sparse input without a fitted ``svd``.
    """
    if sp.issparse(matrix):
        if svd is None:
            raise ConfigError(
                "The embedder returned a sparse matrix but the topic model has no fitted SVD; "
                "fit the TopicModel before calling transform."
            )
        from sklearn.preprocessing import normalize

        return normalize(svd.transform(matrix)).astype(np.float32)
    return np.asarray(matrix, dtype=np.float32)


@lru_cache(maxsize=1)
def _adapter_class() -> type:
    backend = require("bertopic.backend")

    class EmbedderAdapter(backend.BaseEmbedder):
        """Our Embedder behind BERTopic's public ``BaseEmbedder`` (words, seeds, new documents).

        Sparse output goes through the topic model's fitted SVD, so words and documents live in
        the same space as the training embeddings.
        """

        def __init__(self, embedder: Embedder, svd: TruncatedSVD | None = None) -> None:
            super().__init__()
            self.embedder = embedder
            self.svd = svd

        def embed(self, documents: Sequence[str], verbose: bool = False) -> np.ndarray:
            documents = [str(d) for d in documents]
            if not documents:
                dim = self.svd.n_components if self.svd is not None else self.embedder.dim
                return np.zeros((0, int(dim)), dtype=np.float32)
            return dense_embeddings(self.embedder.encode(documents), self.svd)

    return EmbedderAdapter


def embedder_adapter(embedder: Embedder, svd: TruncatedSVD | None = None) -> Any:
    """Wrap an Embedder (and the SVD applied to its sparse output) as a BERTopic ``BaseEmbedder``."""
    return _adapter_class()(embedder, svd)
