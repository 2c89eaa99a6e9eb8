"""The swappable parts of a BERTopic backend: reducers, clusterers and topic-word representations.

Each part is a small frozen dataclass built from the ``topic_model/reducer``,
``topic_model/clusterer`` and ``topic_model/representation`` config groups (``_target_`` names
the class); its ``build`` method makes the estimator BERTopic plugs into its own slot
(``umap_model``, ``hdbscan_model``, ``representation_model``) once the corpus size and the seed
are known. A new reducer is one YAML file and, at most, one class like these: anything with
``fit``/``transform`` (the contract of BERTopic's ``BaseDimensionalityReduction`` and
``BaseCluster``) will do. Heavy libraries (umap, hdbscan, bertopic) are imported in ``build``.

``saveable`` says whether the built estimator can be saved with skops and reloaded exactly: a
backend whose reducer and clusterer are both saveable reassigns topics after reload exactly as
at fit time (``transform_mode == "parity"``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from arnews_ml.exceptions import ConfigError, DependencyError

__all__ = [
    "LEGACY_CLUSTERERS",
    "LEGACY_REDUCERS",
    "LEGACY_REPRESENTATIONS",
    "Clusterer",
    "CtfidfRepresentation",
    "HdbscanClusterer",
    "KeybertRepresentation",
    "KmeansClusterer",
    "MmrRepresentation",
    "PcaReducer",
    "Reducer",
    "Representation",
    "SklearnPart",
    "SvdReducer",
    "UmapReducer",
    "default_min_cluster_size",
    "require",
]

_INSTALL_HINT = "pip install 'bertopic>=0.17,<0.18' umap-learn hdbscan"


def require(module: str) -> Any:
    """Import an optional heavy module, or raise a DependencyError with the install hint."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise DependencyError(f"The topic model needs {module}: {_INSTALL_HINT}") from err


class Reducer(Protocol):
    """Builds the dimensionality reduction BERTopic runs before clustering."""

    saveable: ClassVar[bool]

    def build(self, *, n_docs: int, n_features: int, seed: int) -> Any: ...


class Clusterer(Protocol):
    """Builds the clustering model (``fit`` sets ``labels_``; ``predict`` when saveable)."""

    saveable: ClassVar[bool]

    def build(self, *, n_docs: int, seed: int) -> Any: ...


class Representation(Protocol):
    """Builds BERTopic's topic-word fine-tuning model (``None``: plain c-TF-IDF)."""

    def build(self, *, top_n_words: int, seed: int) -> Any: ...


# --- reducers ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class UmapReducer:
    """UMAP with cosine distance, ``min_dist=0`` and ``random_state=seed`` (single-threaded, so
    repeatable); sizes capped for small corpora. Not saveable with skops."""

    n_components: int
    n_neighbors: int
    saveable: ClassVar[bool] = False

    def build(self, *, n_docs: int, n_features: int, seed: int) -> Any:
        umap = require("umap")
        return umap.UMAP(
            n_neighbors=max(2, min(int(self.n_neighbors), n_docs - 1)),
            n_components=max(1, min(int(self.n_components), n_docs - 2)),
            min_dist=0.0,
            metric="cosine",
            random_state=seed,
            n_jobs=1,  # what random_state forces anyway; saying so avoids UMAP's warning
            low_memory=False,
        )


# Exact solvers below: with randomized ones fit_transform (U * S of an approximate SVD) and
# transform (X @ V.T) disagree in the second decimal, and k-means then gives some articles
# another topic after reload than at fit time (7 of 1,000 on the sample corpus).


@dataclass(frozen=True, kw_only=True)
class PcaReducer:
    """scikit-learn PCA (full solver): fast, deterministic, saveable (exact reload)."""

    n_components: int
    saveable: ClassVar[bool] = True

    def build(self, *, n_docs: int, n_features: int, seed: int) -> Any:
        from sklearn.decomposition import PCA

        return PCA(
            n_components=max(1, min(int(self.n_components), n_docs, n_features)),
            svd_solver="full",
            random_state=seed,
        )


@dataclass(frozen=True, kw_only=True)
class SvdReducer:
    """scikit-learn TruncatedSVD (ARPACK): no centring, deterministic, saveable (exact reload)."""

    n_components: int
    saveable: ClassVar[bool] = True

    def build(self, *, n_docs: int, n_features: int, seed: int) -> Any:
        from sklearn.decomposition import TruncatedSVD

        return TruncatedSVD(
            n_components=max(1, min(int(self.n_components), n_features - 1, n_docs - 1)),
            algorithm="arpack",
            random_state=seed,
        )


# --- clusterers ----------------------------------------------------------------------------------


def default_min_cluster_size(n_docs: int) -> int:
    """HDBSCAN's ``min_cluster_size`` when the config leaves it ``null``.

    ``max(10, n_docs // 200)``: 10 up to 2,000 documents (BERTopic's own default), then growing
    so that a 100k-document corpus does not split into thousands of micro-topics; never more than
    a quarter of the corpus and never below 2, so tiny corpora still form clusters.
    """
    size = max(10, n_docs // 200)
    return int(max(2, min(size, n_docs // 4)))


@dataclass(frozen=True, kw_only=True)
class HdbscanClusterer:
    """HDBSCAN: finds the number of topics itself and leaves outliers (-1).

    ``prediction_data=True`` so ``transform`` can place new documents. ``min_cluster_size``
    ``None``: :func:`default_min_cluster_size`; ``min_samples`` ``None``: = min_cluster_size
    (lower gives fewer outliers). Not saveable without untrusted types.
    """

    min_cluster_size: int | None
    min_samples: int | None
    saveable: ClassVar[bool] = False

    def build(self, *, n_docs: int, seed: int) -> Any:
        hdbscan = require("hdbscan")
        size = self.min_cluster_size
        size = default_min_cluster_size(n_docs) if size is None else size
        return hdbscan.HDBSCAN(
            min_cluster_size=int(size),
            min_samples=None if self.min_samples is None else int(self.min_samples),
            metric="euclidean",
            cluster_selection_method="eom",
            prediction_data=True,
        )


@dataclass(frozen=True, kw_only=True)
class KmeansClusterer:
    """k-means with ``n_clusters`` (capped at the number of documents), seeded, ``n_init=10``:
    no outliers, saveable (exact reload)."""

    n_clusters: int
    saveable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if int(self.n_clusters) < 2:
            raise ConfigError(
                f"topic_model.clusterer.n_clusters must be >= 2; got {self.n_clusters}."
            )

    def build(self, *, n_docs: int, seed: int) -> Any:
        from sklearn.cluster import KMeans

        return KMeans(n_clusters=min(int(self.n_clusters), n_docs), n_init=10, random_state=seed)


# --- any scikit-learn estimator ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SklearnPart:
    """Any scikit-learn reducer or clusterer named in config, so a new one is one YAML file::

        _target_: arnews_ml.topics.parts.SklearnPart
        saveable: true                  # skops reloads it exactly (a clusterer needs predict)
        estimator:
          _target_: sklearn.random_projection.GaussianRandomProjection
          n_components: 8

    ``build`` returns a fresh clone, with ``random_state=seed`` when the estimator has one.
    """

    estimator: Any
    saveable: bool

    def build(self, *, seed: int, **sizes: int) -> Any:
        from sklearn.base import clone

        estimator = clone(self.estimator)
        if "random_state" in estimator.get_params(deep=False):
            estimator.set_params(random_state=seed)
        return estimator


# --- representations -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CtfidfRepresentation:
    """Plain c-TF-IDF topic words (BERTopic's ``representation_model=None``)."""

    def build(self, *, top_n_words: int, seed: int) -> Any:
        return None


@dataclass(frozen=True, kw_only=True)
class KeybertRepresentation:
    """KeyBERTInspired: candidate words re-ranked by similarity to the topic's documents (it
    embeds them with BERTopic's ``embedding_model``, i.e. our embedder adapter)."""

    def build(self, *, top_n_words: int, seed: int) -> Any:
        representation = require("bertopic.representation")
        return representation.KeyBERTInspired(top_n_words=int(top_n_words), random_state=seed)


@dataclass(frozen=True, kw_only=True)
class MmrRepresentation:
    """Maximal marginal relevance: topic words made diverse, ``diversity`` in [0, 1]."""

    diversity: float

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.diversity) <= 1.0:
            raise ConfigError(
                f"topic_model.representation.diversity must be in [0, 1]; got {self.diversity}."
            )

    def build(self, *, top_n_words: int, seed: int) -> Any:
        representation = require("bertopic.representation")
        return representation.MaximalMarginalRelevance(
            diversity=float(self.diversity), top_n_words=int(top_n_words)
        )


#: The string options of bundles saved before the parts were config groups (``reducer: "pca"``):
#: the part, and its fields mapped to the flat parameter names those bundles recorded.
LegacyParts = dict[str, tuple[type, dict[str, str]]]
LEGACY_REDUCERS: LegacyParts = {
    "umap": (UmapReducer, {"n_components": "n_components", "n_neighbors": "n_neighbors"}),
    "pca": (PcaReducer, {"n_components": "n_components"}),
    "svd": (SvdReducer, {"n_components": "n_components"}),
}
LEGACY_CLUSTERERS: LegacyParts = {
    "hdbscan": (
        HdbscanClusterer,
        {"min_cluster_size": "min_cluster_size", "min_samples": "min_samples"},
    ),
    "kmeans": (KmeansClusterer, {"n_clusters": "n_clusters"}),
}
LEGACY_REPRESENTATIONS: LegacyParts = {
    "ctfidf": (CtfidfRepresentation, {}),
    "keybert": (KeybertRepresentation, {}),
    "mmr": (MmrRepresentation, {"diversity": "mmr_diversity"}),
}
