"""The BERTopic backend: BERTopic composed through its own slots from our parts.

``umap_model`` <- a reducer, ``hdbscan_model`` <- a clusterer (:mod:`arnews_ml.topics.parts`),
``vectorizer_model`` <- the model's fixed Arabic vocabulary, ``ctfidf_model`` <- a
ClassTfidfTransformer, ``representation_model`` <- a representation part, ``embedding_model``
<- our embedder (:mod:`arnews_ml.topics.embedding`). Nothing here subclasses BERTopic or calls
its private methods.

``scores`` are the cosine similarity between a document's embedding and its topic's embedding
(the same at fit, transform and after reload; HDBSCAN's membership probabilities are not
computed, they are slow and unavailable after reload).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from arnews_ml.embed.base import fit_encode
from arnews_ml.exceptions import ArtifactError, ConfigError
from arnews_ml.persist import dump_skops, load_skops
from arnews_ml.topics import parts
from arnews_ml.topics.backend import BackendFit, TransformMode
from arnews_ml.topics.bertopic_io import expected_bertopic_warnings, load_bertopic, save_bertopic
from arnews_ml.topics.embedding import dense_embeddings, embedder_adapter, fit_dense_reduction
from arnews_ml.topics.similarity import assign_outliers, topic_similarities
from arnews_ml.topics.term_sets import document_term_sets, term_set_vectorizer
from arnews_ml.topics.vectorizer import seed_topic_list
from arnews_ml.topics.word_order import cooccurrence_order

__all__ = [
    "EMBEDDER_DIR",
    "OUTLIER_STRATEGIES",
    "SVD_FILE",
    "TERM_WEIGHTINGS",
    "WORD_ORDERS",
    "BertopicBackend",
    "BertopicOptions",
    "build_ctfidf",
]

OUTLIER_STRATEGIES: tuple[str | None, ...] = (None, "c-tf-idf", "embeddings")
TERM_WEIGHTINGS: tuple[str, ...] = ("documents", "counts")
WORD_ORDERS: tuple[str, ...] = ("ctfidf", "cooccurrence")
#: Bundle part names.
EMBEDDER_DIR = "embedder"
SVD_FILE = "svd.skops"


@dataclass(frozen=True, kw_only=True)
class BertopicOptions:
    """``topic_model=bertopic*``: the parts and BERTopic's own settings.

    Attributes:
        reducer, clusterer, representation: Parts (``topic_model/reducer``, ...).
        seed_words: ``{label: [words]}`` for guided BERTopic, analysed like the vocabulary.
        term_weighting: What c-TF-IDF counts per topic: ``"documents"`` (a word once per
            article, see :mod:`arnews_ml.topics.term_sets`) or ``"counts"`` (BERTopic's own).
        bm25_weighting, reduce_frequent_words: c-TF-IDF options (BM25 idf; sqrt of tf).
        reduce_outliers: ``None``, ``"c-tf-idf"`` or ``"embeddings"``: give outliers (-1) their
            most similar topic after fit (BERTopic's ``reduce_outliers`` then ``update_topics``)
            and in ``transform``.
        outlier_threshold: Minimum similarity for that reassignment.
        nr_topics: BERTopic topic reduction: ``None``, an int >= 2 or ``"auto"``.
        svd_components: Dimension of the dense reduction of a sparse embedding.
        svd_max_docs: Learn that reduction on a seeded sample of at most this many documents
            (``None``: all); every document is projected.
        fit_embedder: Fit the embedder on ``embed_texts`` in ``fit`` (TF-IDF needs it).
        word_order: ``"ctfidf"`` (BERTopic's order) or ``"cooccurrence"``: a topic's first
            ``word_order_lead`` words re-ordered so that they co-occur within
            ``word_order_window`` tokens, with ``word_order_prior`` the weight of the c-TF-IDF
            rank (:mod:`arnews_ml.topics.word_order`; the topic's top-n words stay the same).
            The defaults here (``"ctfidf"``) are what bundles saved before the option were
            fitted with; ``topic_model=bertopic`` sets ``"cooccurrence"``.
    """

    reducer: parts.Reducer
    clusterer: parts.Clusterer
    representation: parts.Representation
    seed_words: Mapping[str, Sequence[str]] | None
    term_weighting: Literal["documents", "counts"]
    bm25_weighting: bool
    reduce_frequent_words: bool
    reduce_outliers: Literal["c-tf-idf", "embeddings"] | None
    outlier_threshold: float
    nr_topics: int | Literal["auto"] | None
    svd_components: int
    svd_max_docs: int | None
    fit_embedder: bool
    word_order: Literal["ctfidf", "cooccurrence"] = "ctfidf"
    word_order_window: int = 10
    word_order_lead: int = 10
    word_order_prior: float = 0.3

    def __post_init__(self) -> None:
        for name, allowed in (
            ("term_weighting", TERM_WEIGHTINGS),
            ("reduce_outliers", OUTLIER_STRATEGIES),
            ("word_order", WORD_ORDERS),
        ):
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"topic_model.{name} must be one of {list(allowed)}; got {getattr(self, name)!r}."
                )
        nr = self.nr_topics
        if nr not in (None, "auto") and (type(nr) is not int or nr < 2):
            raise ConfigError(
                f"topic_model.nr_topics must be null, 'auto' or an int >= 2; got {nr!r}."
            )
        for name in ("reducer", "clusterer", "representation"):
            if not callable(getattr(getattr(self, name), "build", None)):
                raise ConfigError(
                    f"topic_model.{name} must be a part with a build() method (a config with "
                    f"_target_, e.g. topic_model/{name}=...); got {getattr(self, name)!r}."
                )
        if self.seed_words is not None:
            seeds = {str(k): [str(w) for w in v] for k, v in self.seed_words.items()}
            object.__setattr__(self, "seed_words", seeds)

    def build(self) -> BertopicBackend:
        return BertopicBackend(self)


def build_ctfidf(*, bm25_weighting: bool, reduce_frequent_words: bool) -> Any:
    """BERTopic's ClassTfidfTransformer; ``reduce_frequent_words`` (sqrt of tf) suits news."""
    vectorizers = parts.require("bertopic.vectorizers")
    return vectorizers.ClassTfidfTransformer(
        bm25_weighting=bool(bm25_weighting), reduce_frequent_words=bool(reduce_frequent_words)
    )


class BertopicBackend:
    """BERTopic on our embeddings and vocabulary (see the module docstring).

    Fitted attributes: ``model_`` (the BERTopic model), ``svd_`` (the TruncatedSVD of a sparse
    embedding, or ``None``), ``vectorizer_`` and ``embedder``.
    """

    name = "bertopic"

    def __init__(self, options: BertopicOptions) -> None:
        self.options = options
        self.embedder: Any = None

    def __repr__(self) -> str:
        return f"BertopicBackend({self.options!r})"

    @property
    def transform_mode(self) -> TransformMode:
        """``"parity"`` when the reducer and clusterer are saveable (PCA/SVD + k-means, saved
        with skops), else ``"similarity"``, as BERTopic's safetensors format reloads: UMAP
        cannot be saved with skops, HDBSCAN only with untrusted types."""
        saveable = self.options.reducer.saveable and self.options.clusterer.saveable
        return "parity" if saveable else "similarity"

    # --- fitting ---------------------------------------------------------------------------

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
        """Embed ``embed_texts``, compose and fit BERTopic on ``texts``, reduce outliers."""
        if embedder is None:
            raise ConfigError(
                "The bertopic backend needs an embedder: TopicModel(backend, embedder=...) or "
                "build_topic_model(cfg, embedder, seed)."
            )
        self.embedder, self.vectorizer_, self.svd_ = embedder, vectorizer, None
        started = time.perf_counter()
        if self.options.fit_embedder:  # TF-IDF: fitted here, its training rows counted once
            raw = fit_encode(embedder, embed_texts)
        else:
            raw = embedder.encode(embed_texts)
        if sp.issparse(raw):
            self.svd_ = fit_dense_reduction(
                raw, self.options.svd_components, seed, max_docs=self.options.svd_max_docs
            )
        embeddings = dense_embeddings(raw, self.svd_)
        embed_seconds = time.perf_counter() - started
        seeds = seed_topic_list(vectorizer.analyzer, self.options.seed_words)
        self.model_, topics = self._fit_bertopic(texts, embeddings, seeds, top_n_words, seed)
        scores = topic_similarities(self.model_, embeddings, topics)
        return BackendFit(topics, scores, embed_seconds)

    def _fit_bertopic(
        self,
        texts: list[str],
        embeddings: np.ndarray,
        seed_topic_list: list[list[str]] | None,
        top_n_words: int,
        seed: int,
    ) -> tuple[Any, np.ndarray]:
        bertopic = parts.require("bertopic")
        o, n_docs = self.options, len(texts)
        ctfidf = {
            "bm25_weighting": o.bm25_weighting,
            "reduce_frequent_words": o.reduce_frequent_words,
        }
        representation = o.representation.build(top_n_words=top_n_words, seed=seed)
        model = bertopic.BERTopic(
            language="multilingual",  # "english" would strip every Arabic letter from topic words
            top_n_words=top_n_words,
            nr_topics=o.nr_topics,
            calculate_probabilities=False,
            seed_topic_list=seed_topic_list,
            embedding_model=embedder_adapter(self.embedder, self.svd_),
            umap_model=o.reducer.build(n_docs=n_docs, n_features=embeddings.shape[1], seed=seed),
            hdbscan_model=o.clusterer.build(n_docs=n_docs, seed=seed),
            vectorizer_model=self.vectorizer_,
            ctfidf_model=build_ctfidf(**ctfidf),
            representation_model=representation,
        )
        # a copy: guided modelling nudges the embeddings it is given, in place
        topics, _ = model.fit_transform(texts, embeddings=embeddings.copy())
        topics = np.asarray(topics, dtype=np.int64)
        reduced = o.reduce_outliers is not None and (topics == -1).any()
        if reduced:
            topics = np.asarray(
                model.reduce_outliers(
                    texts,
                    topics.tolist(),
                    strategy=o.reduce_outliers,
                    threshold=float(o.outlier_threshold),
                    embeddings=embeddings if o.reduce_outliers == "embeddings" else None,
                ),
                dtype=np.int64,
            )
        by_documents = o.term_weighting == "documents"
        by_cooccurrence = o.word_order == "cooccurrence"
        analyzer = self.vectorizer_.build_analyzer()
        tokens = [analyzer(text) for text in texts] if by_documents or by_cooccurrence else None
        if reduced or by_documents:
            docs = document_term_sets(self.vectorizer_, texts, tokens) if by_documents else texts
            with expected_bertopic_warnings():  # "custom list of topic assignments": intended
                model.update_topics(
                    docs,
                    topics=topics.tolist(),
                    top_n_words=top_n_words,
                    vectorizer_model=term_set_vectorizer(self.vectorizer_)
                    if by_documents
                    else self.vectorizer_,
                    ctfidf_model=build_ctfidf(**ctfidf),
                    representation_model=representation,
                )
            # the document vectorizer serves transform, outlier assignment and saving
            model.vectorizer_model = self.vectorizer_
            topics = np.asarray(model.topics_, dtype=np.int64)
            # update_topics falls back to word-embedding topic vectors; keep document centroids
            model.topic_embeddings_ = np.vstack(
                [embeddings[topics == t].mean(axis=0) for t in np.unique(topics)]
            )
        if by_cooccurrence:
            self._order_words(model, tokens)
        return model, topics

    def _order_words(self, model: Any, tokens: list[list[str]]) -> None:
        """Re-order each topic's words by local co-occurrence (:func:`cooccurrence_order`) in
        BERTopic's public ``topic_representations_`` (saved with the model; BERTopic derives its
        ``topic_labels_`` from them)."""
        o = self.options
        representations = model.topic_representations_
        scored = {
            t: {str(w): float(s) for w, s in pairs if str(w)}
            for t, pairs in representations.items()
            if int(t) != -1
        }
        ordered = cooccurrence_order(
            {t: list(pairs) for t, pairs in scored.items()},
            tokens,
            window=int(o.word_order_window),
            n_lead=int(o.word_order_lead),
            prior=float(o.word_order_prior),
        )
        for t, words in ordered.items():
            padding = [pair for pair in representations[t] if not str(pair[0])]
            representations[t] = [(w, scored[t][w]) for w in words] + padding

    # --- using ---------------------------------------------------------------------------

    def transform(self, texts: list[str], embed_texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        embeddings = dense_embeddings(self.embedder.encode(embed_texts), self.svd_)
        topics, _ = self.model_.transform(texts, embeddings=embeddings)
        topics = np.asarray(topics, dtype=np.int64)
        o = self.options
        if o.reduce_outliers is not None and (topics == -1).any():
            topics = assign_outliers(
                self.model_, texts, embeddings, topics, o.reduce_outliers, o.outlier_threshold
            )
        return topics, topic_similarities(self.model_, embeddings, topics)

    def topic_words(self) -> dict[int, list[tuple[str, float]]]:
        return {
            int(topic): [(str(w), float(s)) for w, s in words if str(w)]
            for topic, words in self.model_.get_topics().items()
            if int(topic) != -1
        }

    # --- persistence -----------------------------------------------------------------------

    def save(self, directory: Path) -> dict[str, Any]:
        """The embedder, the SVD and BERTopic (see :func:`save_bertopic`); returns the
        embedder's manifest entry."""
        meta = {"embedder": self.embedder.save(directory / EMBEDDER_DIR)}
        if self.svd_ is not None:
            dump_skops(self.svd_, directory / SVD_FILE)
        save_bertopic(self.model_, directory, parity=self.transform_mode == "parity")
        return meta

    @classmethod
    def load(
        cls,
        directory: Path,
        manifest: Mapping[str, Any],
        vectorizer: Any,
        options: BertopicOptions,
    ) -> BertopicBackend:
        from arnews_ml.embed.base import load_embedder

        backend = cls(options)
        backend.embedder = load_embedder(directory / EMBEDDER_DIR, manifest.get("embedder") or {})
        backend.vectorizer_ = vectorizer
        svd = directory / SVD_FILE
        backend.svd_ = load_skops(svd) if svd.is_file() else None
        adapter = embedder_adapter(backend.embedder, backend.svd_)
        parity = manifest.get("transform_mode", backend.transform_mode) == "parity"
        backend.model_ = load_bertopic(directory, adapter, vectorizer, parity=parity)
        return backend

    @classmethod
    def legacy_options(cls, params: Mapping[str, Any]) -> BertopicOptions:
        """The options of a bundle saved with flat parameters (``reducer: "pca"``, ...)."""

        def part(table: parts.LegacyParts, key: str) -> Any:
            try:
                part_class, fields = table[params[key]]
            except KeyError as err:
                raise ArtifactError(
                    f"The topic bundle's {key} {params.get(key)!r} is not one this version "
                    f"of arnews_ml knows ({sorted(table)}); re-export it."
                ) from err
            return part_class(**{name: params[legacy] for name, legacy in fields.items()})

        names = BertopicOptions.__dataclass_fields__
        scalars = {  # options added later keep their defaults (what those bundles used)
            k: params[k]
            for k in names
            if k not in ("reducer", "clusterer", "representation") and k in params
        }
        return BertopicOptions(
            reducer=part(parts.LEGACY_REDUCERS, "reducer"),
            clusterer=part(parts.LEGACY_CLUSTERERS, "clusterer"),
            representation=part(parts.LEGACY_REPRESENTATIONS, "representation"),
            **scalars,
        )
