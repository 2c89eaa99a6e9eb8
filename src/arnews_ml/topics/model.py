"""TopicModel: a topic backend (BERTopic, LDA, NMF, ...) on the model's Arabic vocabulary and
text pipeline, with one surface for fitting, predicting, tables and bundles."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arnews_ml.exceptions import ConfigError, DataError
from arnews_ml.text.rows import predict_rows
from arnews_ml.topics import bundle
from arnews_ml.topics.backend import TopicBackend, TransformMode, VocabularyOptions

__all__ = ["TopicModel"]

logger = logging.getLogger(__name__)

_TABLE_COLUMNS = ("topic", "label", "size", "top_words", "top_words_weights", "representative_docs")
_N_REPRESENTATIVE = 10
_DOC_CHARS = 200


class TopicModel:
    """Topics of Arabic news: a backend composed with a vocabulary and a text pipeline.

    Topic words come from a document-level vocabulary built by the package's Arabic analyzer
    (normalised, stop words, digits and Latin tokens dropped, proclitics stripped), fitted here
    and handed to the backend; embeddings (BERTopic) come from ``embedder``, which sees the
    lightly cleaned text. Build one from config with
    :func:`arnews_ml.tasks.fit_topics.build_topic_model`.

    ``topic_score`` is the backend's confidence: for BERTopic the cosine similarity between a
    document's embedding and its topic's embedding; for LDA/NMF the topic's share of the
    document's topic distribution.

    Args:
        backend: A :class:`~arnews_ml.topics.backend.TopicBackend` (e.g.
            ``BertopicOptions(...).build()``, ``NmfOptions(...).build()``, or a test's fake).
        embedder: An Embedder (a caching wrapper is fine), passed to the backend's ``fit``;
            LDA/NMF ignore it.
        cleaner: The model's text pipeline (a fitted ``TextCleaner``): what the training
            articles went through, applied by :meth:`predict_frame` to raw new articles (its
            normalised view for the topic words, its embedder view for the embedder); its
            normaliser is also the topic analyzer's. ``fit`` and ``transform`` take texts
            already cleaned.
        vocabulary: The topic vocabulary's settings.
        top_n_words: Words kept per topic.
        label_map: ``{topic_id: label}`` overriding the generated labels.
        label_words: Number of top words in a generated label (``"3_نفط_اسعار_برميل"``).
        seed: Seed of every random part of the backend.
    """

    bundle_kind = "topics"

    def __init__(
        self,
        backend: TopicBackend,
        *,
        embedder: Any = None,
        cleaner: Any = None,
        vocabulary: VocabularyOptions | None = None,
        top_n_words: int = 10,
        label_map: Mapping[int, str] | None = None,
        label_words: int = 3,
        seed: int = 42,
    ) -> None:
        self.backend = backend
        self.embedder = embedder
        self.cleaner = cleaner
        self.vocabulary = vocabulary
        self.top_n_words = top_n_words
        self.label_map = label_map
        self.label_words = label_words
        self.seed = seed

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The constructor parameters."""
        names = ("backend", "embedder", "cleaner", "vocabulary", "top_n_words", "label_map")
        return {name: getattr(self, name) for name in (*names, "label_words", "seed")}

    @property
    def transform_mode(self) -> TransformMode:
        """How a reloaded bundle assigns topics: ``"parity"`` exactly as fitted, ``"similarity"``
        by cosine similarity to the topic embeddings (see the backend's ``transform_mode``)."""
        return self.backend.transform_mode

    # --- fitting ---------------------------------------------------------------------------

    def fit(self, texts: Sequence[str], embed_texts: Sequence[str] | None = None) -> TopicModel:
        """Fit the vocabulary, then the backend on it.

        Args:
            texts: Cleaned texts for topic words (the analyzer normalises them), length n.
            embed_texts: What the embedder sees (raw or lightly cleaned), length n; default
                ``texts``. Ignored by LDA/NMF.

        Returns:
            self, with ``topics_`` (int64, (n,)), ``scores_`` (float64, (n,)), ``topic_words_``,
            ``topic_labels_``, ``topic_sizes_``, ``outlier_ratio_``, ``representative_docs_``,
            ``vectorizer_``, ``backend_`` (the fitted backend), ``fit_seconds_`` and
            ``embed_seconds_``.

        Raises:
            ConfigError: An invalid parameter. DataError: empty or mismatched inputs.
        """
        start = time.perf_counter()
        self._check_params()
        texts, embed_texts = _as_texts(texts, embed_texts)
        vocabulary = self.vocabulary if self.vocabulary is not None else VocabularyOptions()
        self.vectorizer_ = vocabulary.fit(texts, getattr(self.cleaner, "normalizer", None))
        result = self.backend.fit(
            texts,
            embed_texts,
            vectorizer=self.vectorizer_,
            embedder=self.embedder,
            top_n_words=int(self.top_n_words),
            seed=int(self.seed),
        )
        self.backend_ = self.backend
        self.topics_ = np.asarray(result.topics, dtype=np.int64)
        self.scores_ = np.asarray(result.scores, dtype=np.float64)
        self.embed_seconds_ = float(result.embed_seconds)
        self.topic_words_ = self.backend.topic_words()
        self._finish_fit(texts)
        self.fit_seconds_ = time.perf_counter() - start
        logger.info(
            "topics fitted backend=%r docs=%d topics=%d outlier_ratio=%.3f seconds=%.1f",
            self.backend, len(texts), len(self.topic_words_), self.outlier_ratio_,
            self.fit_seconds_,
        )  # fmt: skip
        return self

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
        topics, scores = self.backend_.transform(texts, embed_texts)
        return np.asarray(topics, dtype=np.int64), np.asarray(scores, dtype=np.float64)

    def predict_frame(self, texts: Sequence[str]) -> pd.DataFrame:
        """The pyfunc output: columns ``topic`` (int64), ``topic_label`` (str), ``topic_score``
        (float64), one row per raw article. With a ``cleaner`` (the model's text pipeline) the
        articles get both views of fit time: normalised text for the topic words, the light
        view for the embedder. A text that is not a non-empty string gets an ``error``."""

        def predict(valid: list[str]) -> pd.DataFrame:
            embed_texts = None
            if self.cleaner is not None:
                valid, embed_texts = self.cleaner.views(valid)
            topics, scores = self.transform(valid, embed_texts)
            labels = [self.topic_labels_.get(int(t), str(int(t))) for t in topics]
            return pd.DataFrame(
                {
                    "topic": pd.Series(topics, dtype="int64"),
                    "topic_label": pd.Series(labels, dtype=object),
                    "topic_score": pd.Series(scores, dtype="float64"),
                }
            )

        return predict_rows(texts, predict)

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
        return bundle.write_parts(self, Path(directory))

    @classmethod
    def _read_bundle_parts(cls, directory: str | Path, manifest: Mapping[str, Any]) -> TopicModel:
        """Rebuild a fitted TopicModel from its bundle (see :attr:`transform_mode`)."""
        return bundle.read_parts(cls, Path(directory).absolute(), manifest)

    # --- helpers -----------------------------------------------------------------------------

    def _check_params(self) -> None:
        if not isinstance(self.backend, TopicBackend):
            raise ConfigError(
                f"TopicModel's backend must implement the TopicBackend protocol (name, "
                f"transform_mode, fit, transform, topic_words, save, load); got "
                f"{type(self.backend).__name__}."
            )
        if self.vocabulary is not None and not isinstance(self.vocabulary, VocabularyOptions):
            raise ConfigError(
                f"TopicModel's vocabulary must be VocabularyOptions; got "
                f"{type(self.vocabulary).__name__}."
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
