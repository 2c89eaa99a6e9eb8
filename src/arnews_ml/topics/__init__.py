"""Topic models: a TopicModel around a backend (BERTopic composed from our embedder and Arabic
vocabulary, LDA/NMF baselines), their metrics and analyses.

Names are imported lazily: ``import arnews_ml.topics`` loads neither BERTopic nor UMAP (they are
imported when a BERTopic model is first fitted or loaded).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "TopicModel": "arnews_ml.topics.model",
    "TopicBackend": "arnews_ml.topics.backend",
    "BackendFit": "arnews_ml.topics.backend",
    "VocabularyOptions": "arnews_ml.topics.backend",
    "BertopicBackend": "arnews_ml.topics.bertopic_backend",
    "BertopicOptions": "arnews_ml.topics.bertopic_backend",
    "OUTLIER_STRATEGIES": "arnews_ml.topics.bertopic_backend",
    "LdaBackend": "arnews_ml.topics.baselines",
    "LdaOptions": "arnews_ml.topics.baselines",
    "NmfBackend": "arnews_ml.topics.baselines",
    "NmfOptions": "arnews_ml.topics.baselines",
    "build_topic_analyzer": "arnews_ml.topics.vectorizer",
    "build_topic_vectorizer": "arnews_ml.topics.vectorizer",
    "embedder_adapter": "arnews_ml.topics.embedding",
    "default_min_cluster_size": "arnews_ml.topics.parts",
    "evaluate_topics": "arnews_ml.topics.metrics",
    "score_topic_model": "arnews_ml.topics.metrics",
    "topic_diversity": "arnews_ml.topics.metrics",
    "npmi_coherence": "arnews_ml.topics.coherence",
    "topic_stability": "arnews_ml.topics.metrics",
    "topics_over_time": "arnews_ml.topics.analysis",
    "topics_per_group": "arnews_ml.topics.analysis",
    "document_topics_frame": "arnews_ml.topics.analysis",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'arnews_ml.topics' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
