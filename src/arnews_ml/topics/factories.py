"""Builders of the parts BERTopic is composed from, and the adapter that lends it our embedder.

Every builder is seeded and imports its heavy library (umap, hdbscan, bertopic) only when called.
:class:`~arnews_ml.topics.model.TopicModel` plugs the results into BERTopic's own slots
(``umap_model``, ``hdbscan_model``, ``vectorizer_model``, ``ctfidf_model``,
``representation_model``, ``embedding_model``); nothing here subclasses BERTopic or touches its
private methods. The config group ``topic_model`` builds ``TopicModel`` directly; the presets at
the end (:func:`bertopic`, :func:`bertopic_kmeans`, ...) are the same options for code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import scipy.sparse as sp

from arnews_ml.exceptions import ArtifactError, ConfigError, DependencyError
from arnews_ml.topics.vectorizer import vocabulary_of

if TYPE_CHECKING:
    from sklearn.decomposition import TruncatedSVD

    from arnews_ml.embed.base import Embedder
    from arnews_ml.topics.model import TopicModel

__all__ = [
    "CLUSTERERS",
    "REDUCERS",
    "REPRESENTATIONS",
    "TERM_WEIGHTINGS",
    "assign_outliers",
    "bertopic",
    "bertopic_guided",
    "bertopic_kmeans",
    "build_clusterer",
    "build_ctfidf",
    "build_reducer",
    "build_representation",
    "default_min_cluster_size",
    "dense_embeddings",
    "document_term_sets",
    "embedder_adapter",
    "fit_bertopic",
    "fit_dense_reduction",
    "lda",
    "load_bertopic",
    "nmf",
    "save_bertopic",
    "split_terms",
    "term_set_vectorizer",
    "topic_similarities",
]

REDUCERS: tuple[str, ...] = ("umap", "pca", "svd")
CLUSTERERS: tuple[str, ...] = ("hdbscan", "kmeans")
REPRESENTATIONS: tuple[str, ...] = ("ctfidf", "keybert", "mmr")
TERM_WEIGHTINGS: tuple[str, ...] = ("documents", "counts")
#: Bundle part names of a BERTopic model.
BERTOPIC_DIR = "bertopic"
REDUCER_FILE = "reducer.skops"
CLUSTERER_FILE = "clusterer.skops"

_INSTALL_HINT = "pip install 'bertopic>=0.17,<0.18' umap-learn hdbscan"


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise DependencyError(f"The topic model needs {module}: {_INSTALL_HINT}") from err


def default_min_cluster_size(n_docs: int) -> int:
    """HDBSCAN's ``min_cluster_size`` when the config leaves it ``null``.

    ``max(10, n_docs // 200)``: 10 up to 2,000 documents (BERTopic's own default), then growing
    so that a 100k-document corpus does not split into thousands of micro-topics; never more than
    a quarter of the corpus and never below 2, so tiny corpora still form clusters.
    """
    size = max(10, n_docs // 200)
    return int(max(2, min(size, n_docs // 4)))


def build_reducer(
    kind: Literal["umap", "pca", "svd"],
    *,
    n_components: int,
    n_neighbors: int,
    n_docs: int,
    n_features: int,
    seed: int,
) -> Any:
    """The dimensionality reduction before clustering (BERTopic's ``umap_model`` slot).

    UMAP uses cosine distance, ``min_dist=0`` and ``random_state=seed`` (single-threaded, so
    repeatable). PCA and TruncatedSVD are scikit-learn estimators: fast, deterministic and
    saveable with skops (exact ``transform`` after reload). Sizes are capped for small corpora.
    """
    n_components = int(n_components)
    if kind == "umap":
        umap = _require("umap")
        return umap.UMAP(
            n_neighbors=max(2, min(int(n_neighbors), n_docs - 1)),
            n_components=max(1, min(n_components, n_docs - 2)),
            min_dist=0.0,
            metric="cosine",
            random_state=seed,
            n_jobs=1,  # what random_state forces anyway; saying so avoids UMAP's warning
            low_memory=False,
        )
    from sklearn.decomposition import PCA, TruncatedSVD

    # Exact solvers: with randomized ones fit_transform (U * S of an approximate SVD) and
    # transform (X @ V.T) disagree in the second decimal, and k-means then gives some articles
    # another topic after reload than at fit time (7 of 1,000 on the sample corpus).
    if kind == "pca":
        return PCA(
            n_components=max(1, min(n_components, n_docs, n_features)),
            svd_solver="full",
            random_state=seed,
        )
    if kind == "svd":
        return TruncatedSVD(
            n_components=max(1, min(n_components, n_features - 1, n_docs - 1)),
            algorithm="arpack",
            random_state=seed,
        )
    raise ConfigError(f"topic_model.reducer must be one of {REDUCERS}; got {kind!r}.")


def build_clusterer(
    kind: Literal["hdbscan", "kmeans"],
    *,
    n_docs: int,
    n_clusters: int = 20,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
    seed: int = 42,
) -> Any:
    """The clustering model (BERTopic's ``hdbscan_model`` slot).

    HDBSCAN (with ``prediction_data=True`` so ``transform`` can place new documents) finds the
    number of topics itself and leaves outliers (-1). k-means takes ``n_clusters`` (capped at the
    number of documents), has no outliers, and is seeded (``n_init=10``).
    """
    if kind == "hdbscan":
        hdbscan = _require("hdbscan")
        size = default_min_cluster_size(n_docs) if min_cluster_size is None else min_cluster_size
        return hdbscan.HDBSCAN(
            min_cluster_size=int(size),
            min_samples=None if min_samples is None else int(min_samples),
            metric="euclidean",
            cluster_selection_method="eom",
            prediction_data=True,
        )
    if kind == "kmeans":
        from sklearn.cluster import KMeans

        if int(n_clusters) < 2:
            raise ConfigError(f"topic_model.n_clusters must be >= 2; got {n_clusters}.")
        return KMeans(n_clusters=min(int(n_clusters), n_docs), n_init=10, random_state=seed)
    raise ConfigError(f"topic_model.clusterer must be one of {CLUSTERERS}; got {kind!r}.")


def build_ctfidf(*, bm25_weighting: bool = False, reduce_frequent_words: bool = True) -> Any:
    """BERTopic's ClassTfidfTransformer; ``reduce_frequent_words`` (sqrt of tf) suits news."""
    vectorizers = _require("bertopic.vectorizers")
    return vectorizers.ClassTfidfTransformer(
        bm25_weighting=bool(bm25_weighting), reduce_frequent_words=bool(reduce_frequent_words)
    )


def build_representation(
    kind: Literal["ctfidf", "keybert", "mmr"],
    *,
    top_n_words: int = 10,
    mmr_diversity: float = 0.3,
    seed: int = 42,
) -> Any:
    """Topic-word fine-tuning: ``None`` for plain c-TF-IDF, KeyBERTInspired, or MMR.

    Both KeyBERTInspired and MaximalMarginalRelevance embed candidate words with BERTopic's
    ``embedding_model``, i.e. our :func:`embedder_adapter`.
    """
    if kind == "ctfidf":
        return None
    representation = _require("bertopic.representation")
    if kind == "keybert":
        return representation.KeyBERTInspired(top_n_words=int(top_n_words), random_state=seed)
    if kind == "mmr":
        if not 0.0 <= float(mmr_diversity) <= 1.0:
            raise ConfigError(f"topic_model.mmr_diversity must be in [0, 1]; got {mmr_diversity}.")
        return representation.MaximalMarginalRelevance(
            diversity=float(mmr_diversity), top_n_words=int(top_n_words)
        )
    raise ConfigError(f"topic_model.representation must be one of {REPRESENTATIONS}; got {kind!r}.")


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
    backend = _require("bertopic.backend")

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


# --- composing, fitting, scoring and saving BERTopic ----------------------------------------


def fit_bertopic(
    params: TopicModel,
    texts: list[str],
    embeddings: np.ndarray,
    seed_topic_list: list[list[str]] | None = None,
) -> tuple[Any, np.ndarray]:
    """Compose BERTopic from a TopicModel's parameters and fitted parts, fit it, reduce outliers.

    Args:
        params: The TopicModel (its parameters, ``embedder``, ``svd_`` and ``vectorizer_``).
        texts: Documents for topic words, length n.
        embeddings: Dense embeddings (n, dim); not modified.
        seed_topic_list: Guided seed words per topic, or ``None``.

    Returns:
        ``(bertopic_model, topics)`` with topics an int64 array (n,).
    """
    bertopic = _require("bertopic")
    n_docs = len(texts)
    ctfidf = {
        "bm25_weighting": params.bm25_weighting,
        "reduce_frequent_words": params.reduce_frequent_words,
    }
    representation = build_representation(
        params.representation,
        top_n_words=params.top_n_words,
        mmr_diversity=params.mmr_diversity,
        seed=params.seed,
    )
    model = bertopic.BERTopic(
        language="multilingual",  # "english" would strip every Arabic letter from topic words
        top_n_words=params.top_n_words,
        nr_topics=params.nr_topics,
        calculate_probabilities=False,
        seed_topic_list=seed_topic_list,
        embedding_model=embedder_adapter(params.embedder, params.svd_),
        umap_model=build_reducer(
            params.reducer,
            n_components=params.n_components,
            n_neighbors=params.n_neighbors,
            n_docs=n_docs,
            n_features=embeddings.shape[1],
            seed=params.seed,
        ),
        hdbscan_model=build_clusterer(
            params.clusterer,
            n_docs=n_docs,
            n_clusters=params.n_clusters,
            min_cluster_size=params.min_cluster_size,
            min_samples=params.min_samples,
            seed=params.seed,
        ),
        vectorizer_model=params.vectorizer_,
        ctfidf_model=build_ctfidf(**ctfidf),
        representation_model=representation,
    )
    # a copy: guided modelling nudges the embeddings it is given, in place
    topics, _ = model.fit_transform(texts, embeddings=embeddings.copy())
    topics = np.asarray(topics, dtype=np.int64)
    reduced = params.reduce_outliers is not None and (topics == -1).any()
    if reduced:
        topics = np.asarray(
            model.reduce_outliers(
                texts,
                topics.tolist(),
                strategy=params.reduce_outliers,
                threshold=float(params.outlier_threshold),
                embeddings=embeddings if params.reduce_outliers == "embeddings" else None,
            ),
            dtype=np.int64,
        )
    by_documents = params.term_weighting == "documents"
    if reduced or by_documents:
        docs = document_term_sets(params.vectorizer_, texts) if by_documents else texts
        with _expected_bertopic_warnings():  # "custom list of topic assignments": intended
            model.update_topics(
                docs,
                topics=topics.tolist(),
                top_n_words=params.top_n_words,
                vectorizer_model=term_set_vectorizer(params.vectorizer_)
                if by_documents
                else params.vectorizer_,
                ctfidf_model=build_ctfidf(**ctfidf),
                representation_model=representation,
            )
        # the document vectorizer serves transform, outlier assignment and saving
        model.vectorizer_model = params.vectorizer_
        topics = np.asarray(model.topics_, dtype=np.int64)
        # update_topics falls back to word-embedding topic vectors; keep document centroids
        model.topic_embeddings_ = np.vstack(
            [embeddings[topics == t].mean(axis=0) for t in np.unique(topics)]
        )
    return model, topics


#: Separates the terms of one document in :func:`document_term_sets`: a control character, never
#: inside a normalised term and left alone by BERTopic (which turns newlines into spaces before
#: c-TF-IDF, and joins a topic's documents with a space).
_TERM_SEPARATOR = "\x1f"


def document_term_sets(vectorizer: Any, texts: Sequence[str]) -> list[str]:
    """Each document as the set of its vocabulary terms, one per line (for c-TF-IDF by documents).

    BERTopic's c-TF-IDF counts a word once per occurrence in the joined documents of a topic, so a
    name repeated 20 times in one long article outweighs a word found in half the topic's
    articles. Counting each term once per document makes a topic's words the words *many of its
    documents* share (document frequency within the topic), which is what a reader, and
    co-occurrence coherence, expect of topic words.

    Args:
        vectorizer: The fixed-vocabulary topic vectorizer (its analyzer and vocabulary).
        texts: Documents, length n.

    Returns:
        n strings: the document's distinct in-vocabulary terms (n-grams kept whole), each
        followed by the separator, so that joined documents still split into whole terms.
    """
    analyzer = vectorizer.build_analyzer()
    vocabulary = set(vocabulary_of(vectorizer))
    out = []
    for text in texts:
        terms = dict.fromkeys(t for t in analyzer(text) if t in vocabulary)
        out.append("".join(f"{term}{_TERM_SEPARATOR}" for term in terms))
    return out


def split_terms(doc: str) -> list[str]:
    """Inverse of :func:`document_term_sets` for one (possibly joined) string: its terms."""
    return [term.strip() for term in doc.split(_TERM_SEPARATOR) if term.strip()]


def term_set_vectorizer(vectorizer: Any) -> Any:
    """A CountVectorizer over the same vocabulary that reads :func:`document_term_sets` output."""
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(analyzer=split_terms, vocabulary=vocabulary_of(vectorizer))


@contextmanager
def _expected_bertopic_warnings() -> Iterator[None]:
    """Silence BERTopic's own logger for a call whose warning does not apply to our use."""
    bertopic_logger = logging.getLogger("BERTopic")
    level = bertopic_logger.level
    bertopic_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        bertopic_logger.setLevel(level)


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


def save_bertopic(model: Any, directory: Path, *, parity: bool) -> None:
    """BERTopic as safetensors (+ c-TF-IDF); with ``parity`` also its reducer and clusterer (skops)."""
    from sklearn.feature_extraction.text import CountVectorizer

    from arnews_ml.persist import dump_skops

    if parity:
        dump_skops(model.umap_model, directory / REDUCER_FILE)
        dump_skops(model.hdbscan_model, directory / CLUSTERER_FILE)
    # BERTopic writes the vectorizer's deep get_params() as JSON, which our analyzer's
    # Normalizer is not: save a plain stand-in with the same vocabulary (load swaps ours back).
    ours = model.vectorizer_model
    model.vectorizer_model = CountVectorizer(vocabulary=vocabulary_of(ours)).fit(["-"])
    try:
        with _expected_bertopic_warnings():  # "no embedding model": ours is saved beside it
            model.save(
                str(directory / BERTOPIC_DIR),
                serialization="safetensors",
                save_ctfidf=True,
                save_embedding_model=False,
            )
    finally:
        model.vectorizer_model = ours


def load_bertopic(directory: Path, adapter: Any, vectorizer: Any, *, parity: bool) -> Any:
    """Inverse of :func:`save_bertopic`; ``adapter`` embeds, ``vectorizer`` replaces the one
    BERTopic rebuilds (it cannot rebuild our analyzer, only a default CountVectorizer)."""
    from arnews_ml.persist import load_skops

    bertopic = _require("bertopic")
    # an absolute, existing folder: BERTopic takes other paths with "/" for hub ids
    folder = (Path(directory) / BERTOPIC_DIR).absolute()
    if not folder.is_dir():
        raise ArtifactError(f"The topic bundle lacks its BERTopic folder {folder}; re-export it.")
    model = bertopic.BERTopic.load(str(folder), embedding_model=adapter)
    model.vectorizer_model = vectorizer
    if parity:
        model.umap_model = load_skops(Path(directory) / REDUCER_FILE)
        model.hdbscan_model = load_skops(Path(directory) / CLUSTERER_FILE)
    return model


# --- presets: the config group's options, for code ------------------------------------------


def _model(embedder: Embedder | None, preset: Mapping[str, Any], **overrides: Any) -> TopicModel:
    from arnews_ml.topics.model import TopicModel

    return TopicModel(embedder, **{**preset, **overrides})


def bertopic(embedder: Embedder, **overrides: Any) -> TopicModel:
    """UMAP + HDBSCAN BERTopic (seeded); reloads in "similarity" transform mode."""
    return _model(
        embedder, {"backend": "bertopic", "reducer": "umap", "clusterer": "hdbscan"}, **overrides
    )


def bertopic_kmeans(embedder: Embedder, **overrides: Any) -> TopicModel:
    """PCA + k-means BERTopic: fast, deterministic, no outliers, exact reload ("parity")."""
    preset = {"backend": "bertopic", "reducer": "pca", "clusterer": "kmeans", "n_components": 10}
    return _model(embedder, preset, **overrides)


def bertopic_guided(
    embedder: Embedder, seed_words: Mapping[str, Sequence[str]], **overrides: Any
) -> TopicModel:
    """Guided BERTopic (UMAP + HDBSCAN) with seed words per label."""
    preset = {"backend": "bertopic", "reducer": "umap", "clusterer": "hdbscan"}
    return _model(embedder, {**preset, "seed_words": dict(seed_words)}, **overrides)


def lda(embedder: Embedder | None = None, **overrides: Any) -> TopicModel:
    """scikit-learn LDA on the topic vocabulary's counts (the embedder is not used)."""
    return _model(embedder, {"backend": "lda"}, **overrides)


def nmf(embedder: Embedder | None = None, **overrides: Any) -> TopicModel:
    """scikit-learn NMF on TF-IDF of the topic vocabulary (the embedder is not used)."""
    return _model(embedder, {"backend": "nmf"}, **overrides)
