"""The topic backend seam: what :class:`~arnews_ml.topics.model.TopicModel` asks of a backend.

A backend turns documents into topics on a vocabulary the model fitted: BERTopic
(:mod:`arnews_ml.topics.bertopic_backend`) and the LDA/NMF baselines
(:mod:`arnews_ml.topics.baselines`) implement it, and so can a test's fake in a dozen lines (no
base class needed, as with BERTopic's own ``BaseCluster``/``BaseDimensionalityReduction``). Its
options are a frozen dataclass built from the ``topic_model`` config; :func:`options_config`
writes them back as that config (``_target_`` included) for the bundle manifest.

Also here: :class:`VocabularyOptions`, the shared topic vocabulary's settings, which every
backend's words come from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from arnews_ml.topics.vectorizer import ProcliticMode, StemmerName, build_topic_vectorizer

__all__ = [
    "BackendFit",
    "TopicBackend",
    "TransformMode",
    "VocabularyOptions",
    "options_config",
]

TransformMode = Literal["parity", "similarity"]


@dataclass(frozen=True)
class BackendFit:
    """What :meth:`TopicBackend.fit` returns.

    Attributes:
        topics: Topic per document, int64 (n,), -1 for outliers.
        scores: Confidence of that topic per document, float64 (n,).
        embed_seconds: Seconds spent fitting the embedder and encoding (0 when unused).
    """

    topics: np.ndarray
    scores: np.ndarray
    embed_seconds: float = 0.0


@runtime_checkable
class TopicBackend(Protocol):
    """A topic model's engine, composed by :class:`~arnews_ml.topics.model.TopicModel`.

    Attributes:
        name: Short name recorded in the bundle manifest (``backend``), e.g. ``"nmf"``.
        transform_mode: ``"parity"`` when a reloaded backend assigns topics exactly as at fit
            time, ``"similarity"`` when it assigns them by similarity to topic embeddings.
        embedder: The embedder the backend encodes with (``None`` if it uses none); after
            :meth:`load`, the one saved in the bundle.
    """

    name: str
    embedder: Any

    @property
    def transform_mode(self) -> TransformMode: ...

    def fit(
        self,
        texts: list[str],
        embed_texts: list[str],
        *,
        vectorizer: Any,
        embedder: Any,
        top_n_words: int,
        seed: int,
    ) -> BackendFit:
        """Fit on ``texts`` (topic words, over ``vectorizer``'s fixed vocabulary) and
        ``embed_texts`` (what ``embedder`` sees), both length n."""
        ...

    def transform(self, texts: list[str], embed_texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(topics int64 (n,), scores float64 (n,))`` for new documents."""
        ...

    def topic_words(self) -> dict[int, list[tuple[str, float]]]:
        """``{topic_id: [(word, weight), ...]}`` best first, the outlier topic -1 left out."""
        ...

    def save(self, directory: Path) -> dict[str, Any]:
        """Write the fitted parts into ``directory``; return extra manifest entries."""
        ...

    @classmethod
    def load(
        cls, directory: Path, manifest: Mapping[str, Any], vectorizer: Any, options: Any
    ) -> TopicBackend:
        """Inverse of :meth:`save`, given the model's fitted vocabulary and the options."""
        ...


@dataclass(frozen=True, kw_only=True)
class VocabularyOptions:
    """The topic vocabulary every backend's words come from; see
    :func:`~arnews_ml.topics.vectorizer.build_topic_vectorizer` for each setting."""

    min_df: int | float = 5
    max_df: int | float = 0.5
    max_features: int | None = None
    ngram_range: tuple[int, int] = (1, 1)
    proclitics: ProcliticMode = "article"
    stemmer: StemmerName | None = None
    stopwords_extra: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # configs and manifests give lists; keep the value hashable and the tuple sklearn needs
        object.__setattr__(self, "ngram_range", tuple(int(n) for n in self.ngram_range))
        object.__setattr__(self, "stopwords_extra", tuple(self.stopwords_extra))

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def fit(self, texts: Sequence[str], normalizer: Any = None) -> Any:
        """The fixed-vocabulary vectorizer fitted on ``texts`` (see ``build_topic_vectorizer``)."""
        return build_topic_vectorizer(
            texts,
            normalizer=normalizer,
            min_df=self.min_df,
            max_df=self.max_df,
            ngram_range=self.ngram_range,
            stopwords_extra=self.stopwords_extra,
            proclitics=self.proclitics,
            stemmer=self.stemmer,
            max_features=self.max_features,
        )


def options_config(value: Any) -> Any:
    """A frozen options dataclass (and the parts inside it) as the config that builds it.

    Dataclasses (and scikit-learn estimators, by ``get_params``) become
    ``{"_target_": "module.QualName", field: value, ...}``; tuples become
    lists; mappings keep their (string) keys. The result is plain JSON, and
    ``arnews_ml.config.instantiate`` turns it back into an equal value.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        out: dict[str, Any] = {"_target_": f"{cls.__module__}.{cls.__qualname__}"}
        for field in dataclasses.fields(value):
            out[field.name] = options_config(getattr(value, field.name))
        return out
    if hasattr(value, "get_params") and not isinstance(value, type):  # a scikit-learn estimator
        cls = type(value)
        params = {k: options_config(v) for k, v in value.get_params(deep=False).items()}
        return {"_target_": f"{cls.__module__}.{cls.__qualname__}", **params}
    if isinstance(value, Mapping):
        return {str(k): options_config(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [options_config(v) for v in value]
    return value
