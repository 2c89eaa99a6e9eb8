"""Embedders (TF-IDF, sentence-transformers), their frozen spec and the content-addressed cache.

Importing this package loads numpy and scikit-learn only; torch and sentence-transformers are
imported when a sentence-transformers model is first loaded.
"""

from __future__ import annotations

from arnews_ml.embed.base import Embedder, EmbedderSpec, load_embedder
from arnews_ml.embed.cache import CachedEmbedder, EmbeddingCache
from arnews_ml.embed.sentence_transformer import SentenceTransformerEmbedder
from arnews_ml.embed.tfidf import TfidfEmbedder

__all__ = [
    "CachedEmbedder",
    "Embedder",
    "EmbedderSpec",
    "EmbeddingCache",
    "SentenceTransformerEmbedder",
    "TfidfEmbedder",
    "load_embedder",
]
