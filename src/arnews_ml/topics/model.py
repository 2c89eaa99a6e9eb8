"""TopicModel: BERTopic composed from our embedder and Arabic vocabulary, or an LDA/NMF baseline."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from arnews_ml.exceptions import ArtifactError, ConfigError, DataError
from arnews_ml.persist import dump_skops, load_skops
from arnews_ml.text.cleaner import cleaner_entry, load_cleaner
from arnews_ml.topics import baselines, factories
from arnews_ml.topics.vectorizer import (
    VECTORIZER_FILE,
    build_topic_vectorizer,
    seed_topic_list,
    vectorizer_from_dict,
    vectorizer_to_dict,
    vocabulary_of,
)

__all__ = ["BACKENDS", "OUTLIER_STRATEGIES", "TopicModel"]

logger = logging.getLogger(__name__)

BACKENDS: tuple[str, ...] = ("bertopic", "lda", "nmf")
OUTLIER_STRATEGIES: tuple[str | None, ...] = (None, "c-tf-idf", "embeddings")
#: Bundle part names.
STATE_FILE = "topic_model.json"
EMBEDDER_DIR = "embedder"
SVD_FILE = "svd.skops"
_STATE = (
    "topics_", "scores_", "topic_words_", "topic_labels_", "topic_sizes_",
    "representative_docs_", "outlier_ratio_", "fit_seconds_", "embed_seconds_",
)  # fmt: skip
_TABLE_COLUMNS = ("topic", "label", "size", "top_words", "top_words_weights", "representative_docs")
_N_REPRESENTATIVE = 10
_DOC_CHARS = 200
_PARAMS = (
    "backend", "reducer", "clusterer", "n_components", "n_neighbors", "min_cluster_size",
    "min_samples", "n_clusters", "n_topics", "max_iter", "seed_words", "representation",
    "mmr_diversity", "term_weighting", "bm25_weighting", "reduce_frequent_words", "reduce_outliers",
    "outlier_threshold", "nr_topics", "top_n_words", "label_map", "label_words", "min_df",
    "max_df", "max_features", "ngram_range", "proclitics", "stemmer", "stopwords_extra",
    "svd_components", "svd_max_docs", "fit_embedder", "seed",
)  # fmt: skip


class TopicModel:
    """Topics of Arabic news: BERTopic (UMAP/PCA/SVD + HDBSCAN/k-means) or LDA/NMF, one surface.

    Topic words come from a document-level vocabulary built by the package's Arabic analyzer
    (normalised, stop words, digits and Latin tokens dropped, proclitics stripped); embeddings
    come from ``embedder``, which sees the raw text. A sparse (TF-IDF) embedding is reduced with a
    TruncatedSVD fitted here (``svd_``, rows L2-normalised) before BERTopic sees it.

    ``topic_score`` is the cosine similarity between a document's embedding and its topic's
    embedding (BERTopic backends; the same at fit, transform and after reload; HDBSCAN's
    membership probabilities are not computed, they are slow and unavailable after reload), or
    the topic's share of the document's LDA/NMF topic distribution.

    Args:
        embedder: An Embedder (a caching wrapper is fine). Not used by ``lda``/``nmf``.
        backend: ``"bertopic"``, ``"lda"`` or ``"nmf"``.
        reducer: ``"umap"``, ``"pca"`` or ``"svd"`` (BERTopic).
        clusterer: ``"hdbscan"`` or ``"kmeans"`` (BERTopic).
        n_components, n_neighbors: Dimensions after the reducer; UMAP neighbours.
        min_cluster_size: HDBSCAN minimum topic size; ``None``: see
            :func:`~arnews_ml.topics.factories.default_min_cluster_size`.
        min_samples: HDBSCAN ``min_samples`` (``None``: = min_cluster_size; lower, fewer outliers).
        n_clusters, n_topics: Number of k-means clusters; of LDA/NMF topics.
        max_iter: LDA/NMF iterations (``None``: 20 / 400).
        seed_words: ``{label: [words]}`` for guided BERTopic; analysed like the vocabulary.
        representation: ``"ctfidf"``, ``"keybert"`` (KeyBERT-inspired) or ``"mmr"``.
        mmr_diversity: MMR diversity in [0, 1].
        term_weighting: What c-TF-IDF counts per topic (BERTopic backends): ``"documents"``
            (default: the topic's documents that hold the word, so one long article repeating
            a name cannot outweigh a word most of the topic's articles share; see
            :func:`~arnews_ml.topics.factories.document_term_sets`) or ``"counts"`` (BERTopic's
            own: every occurrence in the topic's joined documents).
        bm25_weighting, reduce_frequent_words: c-TF-IDF options (BM25 idf; sqrt of tf).
        reduce_outliers: ``None``, ``"c-tf-idf"`` or ``"embeddings"``: give outliers (-1) their
            most similar topic after fit (BERTopic's ``reduce_outliers``, then ``update_topics``)
            and in ``transform``.
        outlier_threshold: Minimum similarity for that reassignment.
        nr_topics: BERTopic topic reduction: ``None``, an int or ``"auto"``.
        top_n_words: Words kept per topic.
        label_map, label_words: ``{topic_id: label}`` overriding the generated labels; number of
            top words in a generated label (``"3_نفط_اسعار_برميل"``).
        min_df, max_df, max_features, ngram_range, proclitics, stemmer, stopwords_extra:
            Vocabulary options, see :func:`~arnews_ml.topics.vectorizer.build_topic_vectorizer`.
        svd_components: Dimension of the dense reduction of a sparse embedding.
        svd_max_docs: Learn that reduction on a seeded sample of at most this many documents
            (``None``: all); every document is projected.
        fit_embedder: Call ``embedder.fit(embed_texts)`` in :meth:`fit` (TF-IDF needs it).
        cleaner: The model's text pipeline (a fitted ``TextCleaner``): what the training
            articles went through, applied by :meth:`predict_frame` to raw new articles (its
            normalised view for the topic words, its embedder view for the embedder); its
            normaliser is also the topic analyzer's. ``fit`` and ``transform`` take texts
            already cleaned.
        seed: Seed of every random part (SVD, UMAP, k-means, PCA, LDA, NMF, KeyBERT sampling).
    """

    bundle_kind = "topics"

    def __init__(
        self,
        embedder: Any = None,
        *,
        backend: Literal["bertopic", "lda", "nmf"] = "bertopic",
        reducer: Literal["umap", "pca", "svd"] = "umap",
        clusterer: Literal["hdbscan", "kmeans"] = "hdbscan",
        n_components: int = 5,
        n_neighbors: int = 15,
        min_cluster_size: int | None = None,
        min_samples: int | None = None,
        n_clusters: int = 20,
        n_topics: int = 20,
        max_iter: int | None = None,
        seed_words: Mapping[str, Sequence[str]] | None = None,
        representation: Literal["ctfidf", "keybert", "mmr"] = "ctfidf",
        mmr_diversity: float = 0.3,
        term_weighting: Literal["documents", "counts"] = "documents",
        bm25_weighting: bool = False,
        reduce_frequent_words: bool = True,
        reduce_outliers: Literal["c-tf-idf", "embeddings"] | None = None,
        outlier_threshold: float = 0.0,
        nr_topics: int | Literal["auto"] | None = None,
        top_n_words: int = 10,
        label_map: Mapping[int, str] | None = None,
        label_words: int = 3,
        min_df: int | float = 5,
        max_df: int | float = 0.5,
        max_features: int | None = None,
        ngram_range: Sequence[int] = (1, 1),
        proclitics: bool | Literal["article"] = "article",
        stemmer: Literal["light", "isri", "snowball"] | None = None,
        stopwords_extra: Sequence[str] = (),
        svd_components: int = 256,
        svd_max_docs: int | None = 5000,
        fit_embedder: bool = True,
        seed: int = 42,
        cleaner: Any = None,
    ) -> None:
        self.embedder = embedder
        self.cleaner = cleaner
        given = locals()  # sklearn style: store every parameter unchanged, validate in fit
        for name in _PARAMS:
            setattr(self, name, given[name])

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The constructor parameters (``embedder`` included)."""
        return {
            "embedder": self.embedder,
            "cleaner": self.cleaner,
            **{name: getattr(self, name) for name in _PARAMS},
        }

    @property
    def transform_mode(self) -> Literal["parity", "similarity"]:
        """How a reloaded bundle assigns topics.

        ``"parity"``: exactly as fitted (LDA/NMF; PCA/SVD + k-means, saved with skops).
        ``"similarity"``: by cosine similarity to the topic embeddings, as BERTopic's safetensors
        format does (UMAP cannot be saved with skops, HDBSCAN only with untrusted types).
        """
        if self.backend in baselines.BASELINES:
            return "parity"
        return "parity" if self.reducer != "umap" and self.clusterer == "kmeans" else "similarity"

    # --- fitting ---------------------------------------------------------------------------

    def fit(self, texts: Sequence[str], embed_texts: Sequence[str] | None = None) -> TopicModel:
        """Fit the topic model.

        Args:
            texts: Cleaned texts for topic words (the analyzer normalises them), length n.
            embed_texts: What the embedder sees (raw or lightly cleaned), length n; default
                ``texts``. Ignored by LDA/NMF.

        Returns:
            self, with ``topics_`` (int64, (n,)), ``scores_`` (float64, (n,)), ``topic_words_``,
            ``topic_labels_``, ``topic_sizes_``, ``outlier_ratio_``, ``representative_docs_``,
            ``vectorizer_``, ``model_``, ``svd_``, ``fit_seconds_`` and ``embed_seconds_``.

        Raises:
            ConfigError: An invalid parameter. DataError: empty or mismatched inputs.
        """
        start = time.perf_counter()
        self._check_params()
        texts, embed_texts = _as_texts(texts, embed_texts)
        self.vectorizer_ = build_topic_vectorizer(
            texts,
            normalizer=getattr(self.cleaner, "normalizer", None),
            min_df=self.min_df,
            max_df=self.max_df,
            ngram_range=self.ngram_range,
            stopwords_extra=self.stopwords_extra,
            proclitics=self.proclitics,
            stemmer=self.stemmer,
            max_features=self.max_features,
        )
        self.svd_ = self.weighting_ = None
        self.embed_seconds_ = 0.0
        if self.backend in baselines.BASELINES:
            self._fit_baseline(texts)
        else:
            self._fit_bertopic(texts, embed_texts)
        self._finish_fit(texts)
        self.fit_seconds_ = time.perf_counter() - start
        logger.info(
            "topics fitted backend=%s %s docs=%d topics=%d outlier_ratio=%.3f seconds=%.1f",
            self.backend, self._variant(), len(texts), len(self.topic_words_),
            self.outlier_ratio_, self.fit_seconds_,
        )  # fmt: skip
        return self

    def _fit_baseline(self, texts: list[str]) -> None:
        counts = self.vectorizer_.fit_transform(texts)
        self.model_, self.weighting_ = baselines.fit_baseline(
            self.backend, counts, n_topics=self.n_topics, seed=self.seed, max_iter=self.max_iter
        )
        self.topics_, self.scores_ = baselines.assign_topics(self.model_, counts, self.weighting_)
        words = vocabulary_of(self.vectorizer_)
        self.topic_words_ = baselines.topic_words(self.model_, words, self.top_n_words)

    def _fit_bertopic(self, texts: list[str], embed_texts: list[str]) -> None:
        if self.fit_embedder:
            self.embedder.fit(embed_texts)
        started = time.perf_counter()
        raw = self.embedder.encode(embed_texts)
        if sp.issparse(raw):
            self.svd_ = factories.fit_dense_reduction(
                raw, self.svd_components, self.seed, max_docs=self.svd_max_docs
            )
        embeddings = factories.dense_embeddings(raw, self.svd_)
        self.embed_seconds_ = time.perf_counter() - started
        self.model_, self.topics_ = factories.fit_bertopic(
            self, texts, embeddings, seed_topic_list(self.vectorizer_.analyzer, self.seed_words)
        )
        self.scores_ = factories.topic_similarities(self.model_, embeddings, self.topics_)
        self.topic_words_ = {
            int(topic): [(str(w), float(s)) for w, s in words if str(w)]
            for topic, words in self.model_.get_topics().items()
            if int(topic) != -1
        }

    def _finish_fit(self, texts: list[str]) -> None:
        self.topic_sizes_ = {
            int(k): int(v) for k, v in sorted(Counter(self.topics_.tolist()).items())
        }
        self.outlier_ratio_ = float(np.mean(self.topics_ == -1)) if len(self.topics_) else 0.0
        self.topic_labels_ = self._labels()
        self.representative_docs_ = {}
        for topic in self.topic_words_:
            members = np.flatnonzero(self.topics_ == topic)
            best = members[np.argsort(-self.scores_[members], kind="stable")][:_N_REPRESENTATIVE]
            self.representative_docs_[topic] = [texts[i][:_DOC_CHARS] for i in best]

    # --- prediction --------------------------------------------------------------------------

    def transform(
        self, texts: Sequence[str], embed_texts: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Assign topics to documents.

        Args:
            texts: Documents (as for ``fit``), length n.
            embed_texts: What the embedder sees; default ``texts``.

        Returns:
            ``(topics, scores)``: int64 array (n,) (-1: outlier) and float64 array (n,).
        """
        self._check_fitted()
        texts, embed_texts = _as_texts(texts, embed_texts, allow_empty=True)
        if not texts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        if self.backend in baselines.BASELINES:
            counts = self.vectorizer_.transform(texts)
            return baselines.assign_topics(self.model_, counts, self.weighting_)
        embeddings = factories.dense_embeddings(self.embedder.encode(embed_texts), self.svd_)
        topics, _ = self.model_.transform(texts, embeddings=embeddings)
        topics = np.asarray(topics, dtype=np.int64)
        if self.reduce_outliers is not None and (topics == -1).any():
            topics = factories.assign_outliers(
                self.model_, texts, embeddings, topics, self.reduce_outliers, self.outlier_threshold
            )
        return topics, factories.topic_similarities(self.model_, embeddings, topics)

    def predict_frame(self, texts: Sequence[str]) -> pd.DataFrame:
        """The pyfunc output: columns ``topic`` (int64), ``topic_label`` (str), ``topic_score``
        (float64), one row per raw article. With a ``cleaner`` (the model's text pipeline) the
        articles get both views of fit time: normalised text for the topic words, the light
        view for the embedder."""
        embed_texts = None
        if self.cleaner is not None:
            texts, embed_texts = self.cleaner.views(list(texts))
        topics, scores = self.transform(texts, embed_texts)
        labels = [self.topic_labels_.get(int(t), str(int(t))) for t in topics]
        return pd.DataFrame(
            {
                "topic": pd.Series(topics, dtype="int64"),
                "topic_label": pd.Series(labels, dtype=object),
                "topic_score": pd.Series(scores, dtype="float64"),
            }
        )

    def top_words(self, n: int = 10) -> dict[int, list[str]]:
        """The ``n`` best words of every topic (outliers excluded): ``{topic_id: [word, ...]}``."""
        self._check_fitted()
        return {topic: [w for w, _ in words[:n]] for topic, words in self.topic_words_.items()}

    def get_topic_table(self, n_docs: int = 3) -> pd.DataFrame:
        """One row per topic (the outlier topic -1 included when present).

        Columns: ``topic``, ``label``, ``size``, ``top_words`` (space-joined), ``top_words_weights``
        (JSON object word -> weight), ``representative_docs`` (JSON list of the ``n_docs``
        documents closest to the topic, first 200 characters each).
        """
        self._check_fitted()
        rows = []
        for topic in sorted(set(self.topic_sizes_) | set(self.topic_words_)):
            words = self.topic_words_.get(topic, [])
            docs = self.representative_docs_.get(topic, [])[: max(0, int(n_docs))]
            rows.append(
                {
                    "topic": topic,
                    "label": self.topic_labels_.get(topic, str(topic)),
                    "size": self.topic_sizes_.get(topic, 0),
                    "top_words": " ".join(w for w, _ in words),
                    "top_words_weights": json.dumps(
                        {w: round(s, 6) for w, s in words}, ensure_ascii=False
                    ),
                    "representative_docs": json.dumps(docs, ensure_ascii=False),
                }
            )
        return pd.DataFrame(rows, columns=list(_TABLE_COLUMNS)).astype(
            {"topic": "int64", "size": "int64"}
        )

    # --- persistence -------------------------------------------------------------------------

    def _write_bundle_parts(self, directory: str | Path) -> dict[str, Any]:
        """Write the bundle parts (no pickle); returns the manifest metadata."""
        self._check_fitted()
        directory = Path(directory)
        _write_json(directory / VECTORIZER_FILE, vectorizer_to_dict(self.vectorizer_))
        _write_json(directory / STATE_FILE, self._state())
        params = {k: v for k, v in self.get_params().items() if k not in ("embedder", "cleaner")}
        meta: dict[str, Any] = {
            "backend": self.backend,
            "transform_mode": self.transform_mode,
            "params": _jsonable(params),
            "topic_labels": {str(k): v for k, v in self.topic_labels_.items()},
            "n_topics": len(self.topic_words_),
            "outlier_ratio": self.outlier_ratio_,
            "cleaner": cleaner_entry(self.cleaner),
        }
        if self.backend in baselines.BASELINES:
            baselines.save_baseline(directory, self.model_, self.weighting_)
            return meta
        meta["embedder"] = self.embedder.save(directory / EMBEDDER_DIR)
        if self.svd_ is not None:
            dump_skops(self.svd_, directory / SVD_FILE)
        factories.save_bertopic(self.model_, directory, parity=self.transform_mode == "parity")
        return meta

    @classmethod
    def _read_bundle_parts(cls, directory: str | Path, manifest: Mapping[str, Any]) -> TopicModel:
        """Rebuild a fitted TopicModel from its bundle (see :attr:`transform_mode`)."""
        directory = Path(directory).absolute()
        try:
            params = dict(manifest["params"])
            parity = manifest["transform_mode"] == "parity"
        except KeyError as err:
            raise ArtifactError(
                f"The topic bundle {directory} has no {err} in its manifest; re-export it."
            ) from err
        vectorizer = vectorizer_from_dict(_read_json(directory / VECTORIZER_FILE))
        if params.get("backend") in baselines.BASELINES:
            model = cls(None, **params)
            model.model_, model.weighting_ = baselines.load_baseline(directory)
            model.svd_ = None
        else:
            from arnews_ml.embed.base import load_embedder

            embedder = load_embedder(directory / EMBEDDER_DIR, manifest.get("embedder") or {})
            model = cls(embedder, **params)
            svd = directory / SVD_FILE
            model.svd_ = load_skops(svd) if svd.is_file() else None
            model.weighting_ = None
            adapter = factories.embedder_adapter(embedder, model.svd_)
            model.model_ = factories.load_bertopic(directory, adapter, vectorizer, parity=parity)
        model.vectorizer_ = vectorizer
        model.cleaner = load_cleaner(manifest.get("cleaner"), directory)
        model._restore(_read_json(directory / STATE_FILE))
        return model

    def _state(self) -> dict[str, Any]:
        return _jsonable({name: getattr(self, name) for name in _STATE})

    def _restore(self, state: Mapping[str, Any]) -> None:
        try:
            self.topics_ = np.asarray(state["topics_"], dtype=np.int64)
            self.scores_ = np.asarray(state["scores_"], dtype=np.float64)
            self.topic_words_ = {
                int(k): [(str(w), float(x)) for w, x in v] for k, v in state["topic_words_"].items()
            }
            self.topic_labels_ = {int(k): str(v) for k, v in state["topic_labels_"].items()}
            self.topic_sizes_ = {int(k): int(v) for k, v in state["topic_sizes_"].items()}
            docs = state["representative_docs_"]
            self.representative_docs_ = {int(k): list(v) for k, v in docs.items()}
            for name in ("outlier_ratio_", "fit_seconds_", "embed_seconds_"):
                setattr(self, name, float(state[name]))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ArtifactError(
                f"The saved topic model state ({STATE_FILE}) is incomplete: {err}. Re-export it."
            ) from err

    # --- helpers -----------------------------------------------------------------------------

    def _variant(self) -> str:
        if self.backend in baselines.BASELINES:
            return f"n_topics={self.n_topics}"
        return f"reducer={self.reducer}, clusterer={self.clusterer}"

    def _check_params(self) -> None:
        choices = {
            "backend": BACKENDS,
            "reducer": factories.REDUCERS,
            "clusterer": factories.CLUSTERERS,
            "representation": factories.REPRESENTATIONS,
            "term_weighting": factories.TERM_WEIGHTINGS,
            "reduce_outliers": OUTLIER_STRATEGIES,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"topic_model.{name} must be one of {list(allowed)}; got {getattr(self, name)!r}."
                )
        nr = self.nr_topics
        if nr not in (None, "auto") and (type(nr) is not int or nr < 2):
            raise ConfigError(
                f"topic_model.nr_topics must be null, 'auto' or an int >= 2; got {nr!r}."
            )
        if self.backend == "bertopic" and self.embedder is None:
            raise ConfigError(
                "The bertopic backend needs an embedder: TopicModel(embedder, ...) or "
                "instantiate(cfg.topic_model, embedder=embedder)."
            )

    def _labels(self) -> dict[int, str]:
        custom = {int(k): str(v) for k, v in (self.label_map or {}).items()}
        labels = {}
        for topic in sorted({-1} | set(self.topic_sizes_) | set(self.topic_words_)):
            if topic == -1:
                default = "-1_outliers"
            else:
                words = [w for w, _ in self.topic_words_.get(topic, [])[: self.label_words]]
                default = "_".join([str(topic), *words])
            labels[topic] = custom.get(topic, default)
        return labels

    def _check_fitted(self) -> None:
        if not hasattr(self, "topics_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                "This TopicModel is not fitted yet: call fit(texts) first, or load a saved "
                "bundle with arnews_ml.load_bundle(path)."
            )


def _as_texts(
    texts: Sequence[str], embed_texts: Sequence[str] | None, allow_empty: bool = False
) -> tuple[list[str], list[str]]:
    """Check the documents (and the embedder's texts, default: the same) and return lists."""
    checked = []
    for name, values in (
        ("texts", texts),
        ("embed_texts", texts if embed_texts is None else embed_texts),
    ):
        if isinstance(values, str):
            raise DataError(f"{name} must be a list of documents, not a single string: [text].")
        values = list(values)
        bad = [i for i, t in enumerate(values) if not isinstance(t, str)]
        if bad:
            raise DataError(
                f"{name} must hold strings; item {bad[0]} is {type(values[bad[0]]).__name__} "
                f"({len(bad)} such items). Fill or drop missing texts first."
            )
        checked.append(values)
    if len(checked[0]) != len(checked[1]):
        raise DataError(
            f"embed_texts has {len(checked[1])} items but texts has {len(checked[0])}; pass one "
            "embedding text per document."
        )
    if not checked[0] and not allow_empty:
        raise DataError("texts is empty; the topic model needs documents to fit.")
    return checked[0], checked[1]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return value


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ArtifactError(
            f"Cannot read {path}: {err}. The bundle is damaged; re-export it."
        ) from err
