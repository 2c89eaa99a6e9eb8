"""arnews_ml: Arabic news classification and topic models, tracked in MLflow.

The public API is re-exported here and imported lazily, so `import arnews_ml` stays light
(no torch, sentence-transformers, BERTopic or MLflow until they are used).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_corpus": "arnews_ml.data.corpus",
    "load_sample": "arnews_ml.data.sample",
    "Corpus": "arnews_ml.data.corpus",
    "split_corpus": "arnews_ml.data.split",
    "normalize": "arnews_ml.text.normalize",
    "Normalizer": "arnews_ml.text.normalize",
    "ArabicAnalyzer": "arnews_ml.text.tokenize",
    "BoilerplateRemover": "arnews_ml.text.boilerplate",
    "TextCleaner": "arnews_ml.text.cleaner",
    "arabic_stopwords": "arnews_ml.text.stopwords",
    "TfidfEmbedder": "arnews_ml.embed.tfidf",
    "SentenceTransformerEmbedder": "arnews_ml.embed.sentence_transformer",
    "TextClassifier": "arnews_ml.classify.model",
    "save_bundle": "arnews_ml.persist",
    "load_bundle": "arnews_ml.persist",
    "load_model": "arnews_ml.inference",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'arnews_ml' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
