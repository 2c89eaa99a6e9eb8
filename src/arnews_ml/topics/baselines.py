"""LDA and NMF baselines on the topic vocabulary, behind the same backend protocol as BERTopic.

LDA models word counts (its generative story needs them); NMF factorises TF-IDF of the same
counts. Both use the fixed document-level vocabulary the
:class:`~arnews_ml.topics.model.TopicModel` fitted, so their topic words are comparable with
BERTopic's. Options (``LdaOptions``/``NmfOptions``) come from the ``topic_model=lda|nmf``
configs; the backends keep the fitted scikit-learn estimator in ``model_`` and save it as plain
arrays (NMF) or with skops (LDA).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import NMF, LatentDirichletAllocation
from sklearn.feature_extraction.text import TfidfTransformer

from arnews_ml.exceptions import ArtifactError, ConfigError
from arnews_ml.plain_arrays import object_state, read_arrays, restore, write_arrays
from arnews_ml.topics.backend import BackendFit, TransformMode
from arnews_ml.topics.vectorizer import vocabulary_of

__all__ = [
    "ARRAYS_FILE",
    "ESTIMATOR_FILE",
    "PLAIN_CLASSES",
    "STATE_FILE",
    "WEIGHTING_FILE",
    "LdaBackend",
    "LdaOptions",
    "NmfBackend",
    "NmfOptions",
    "assign_topics",
    "baseline_input",
    "load_baseline",
    "save_baseline",
    "topic_words",
]

logger = logging.getLogger(__name__)

#: Bundle part names: JSON and plain arrays (NMF), or skops (LDA, and bundles saved before).
STATE_FILE = "baseline.json"
ARRAYS_FILE = "baseline.npz"
ESTIMATOR_FILE = "estimator.skops"
WEIGHTING_FILE = "weighting.skops"
#: The only classes rebuilt from plain arrays, by name.
PLAIN_CLASSES: dict[str, type] = {"NMF": NMF, "TfidfTransformer": TfidfTransformer}
_KIND = "topic baseline"


@dataclass(frozen=True, kw_only=True)
class LdaOptions:
    """``topic_model=lda``: number of topics and batch iterations."""

    n_topics: int
    max_iter: int

    def __post_init__(self) -> None:
        _check_n_topics(self.n_topics)

    def build(self) -> LdaBackend:
        return LdaBackend(self)


@dataclass(frozen=True, kw_only=True)
class NmfOptions:
    """``topic_model=nmf``: number of topics and iterations."""

    n_topics: int
    max_iter: int

    def __post_init__(self) -> None:
        _check_n_topics(self.n_topics)

    def build(self) -> NmfBackend:
        return NmfBackend(self)


def _check_n_topics(n_topics: int) -> None:
    if int(n_topics) < 1:
        raise ConfigError(f"topic_model.n_topics must be >= 1; got {n_topics}.")


class _FactorisationBackend:
    """Shared body of the LDA and NMF backends: fit on the vocabulary's counts, a topic per
    document from its topic distribution, exact save and reload (``transform_mode`` parity)."""

    name: ClassVar[str]
    #: Default iterations of bundles saved before ``max_iter`` was always set in the config.
    legacy_max_iter: ClassVar[int]
    options_class: ClassVar[type[LdaOptions] | type[NmfOptions]]
    embedder = None

    def __init__(self, options: LdaOptions | NmfOptions) -> None:
        self.options = options

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.options!r})"

    @property
    def transform_mode(self) -> TransformMode:
        return "parity"

    def _limit(self, counts: sp.csr_matrix) -> int:
        """Most topics the estimator can find in ``counts``."""
        raise NotImplementedError

    def _weighting(self, counts: sp.csr_matrix) -> TfidfTransformer | None:
        return None

    def _estimator(self, n_topics: int, seed: int) -> Any:
        raise NotImplementedError

    def fit(
        self,
        texts: list[str],
        embed_texts: list[str],
        *,
        vectorizer: Any,
        embedder: Any = None,
        top_n_words: int,
        seed: int,
    ) -> BackendFit:
        """Fit on the counts of ``texts`` over ``vectorizer``'s vocabulary (``embed_texts`` and
        ``embedder`` are not used); ``n_topics`` is capped at what the corpus allows."""
        counts = vectorizer.fit_transform(texts)
        n_topics = int(self.options.n_topics)
        k = min(n_topics, max(1, self._limit(counts)))
        if k < n_topics:
            logger.warning("topics baseline=%s n_topics=%d capped_to=%d", self.name, n_topics, k)
        self.vectorizer_ = vectorizer
        self.weighting_ = self._weighting(counts)
        self.model_ = self._estimator(k, seed)
        self.model_.fit(baseline_input(counts, self.weighting_))
        self.top_n_words_ = int(top_n_words)
        topics, scores = assign_topics(self.model_, counts, self.weighting_)
        return BackendFit(topics, scores)

    def transform(self, texts: list[str], embed_texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return assign_topics(self.model_, self.vectorizer_.transform(texts), self.weighting_)

    def topic_words(self) -> dict[int, list[tuple[str, float]]]:
        return topic_words(self.model_, vocabulary_of(self.vectorizer_), self.top_n_words_)

    def save(self, directory: Path) -> dict[str, Any]:
        save_baseline(directory, self.model_, self.weighting_)
        return {}

    @classmethod
    def load(
        cls,
        directory: Path,
        manifest: Mapping[str, Any],
        vectorizer: Any,
        options: LdaOptions | NmfOptions,
    ) -> _FactorisationBackend:
        backend = cls(options)
        backend.model_, backend.weighting_ = load_baseline(directory)
        backend.vectorizer_ = vectorizer
        backend.top_n_words_ = int(manifest.get("params", {}).get("top_n_words", 10))
        return backend

    @classmethod
    def legacy_options(cls, params: Mapping[str, Any]) -> LdaOptions | NmfOptions:
        """The options of a bundle saved with flat parameters (``backend: "lda"``, ...)."""
        max_iter = params.get("max_iter")
        return cls.options_class(
            n_topics=int(params["n_topics"]),
            max_iter=int(max_iter) if max_iter is not None else cls.legacy_max_iter,
        )


class LdaBackend(_FactorisationBackend):
    """scikit-learn LatentDirichletAllocation (batch) on the topic vocabulary's counts."""

    name = "lda"
    legacy_max_iter = 20
    options_class = LdaOptions

    def _limit(self, counts: sp.csr_matrix) -> int:
        return counts.shape[0]

    def _estimator(self, n_topics: int, seed: int) -> Any:
        return LatentDirichletAllocation(
            n_components=n_topics,
            learning_method="batch",
            max_iter=int(self.options.max_iter),
            random_state=seed,
        )


class NmfBackend(_FactorisationBackend):
    """scikit-learn NMF (``init="nndsvda"``) on sublinear TF-IDF of the vocabulary's counts."""

    name = "nmf"
    legacy_max_iter = 400
    options_class = NmfOptions

    def _limit(self, counts: sp.csr_matrix) -> int:
        return min(counts.shape)

    def _weighting(self, counts: sp.csr_matrix) -> TfidfTransformer:
        return TfidfTransformer(sublinear_tf=True).fit(counts)

    def _estimator(self, n_topics: int, seed: int) -> Any:
        return NMF(
            n_components=n_topics,
            init="nndsvda",
            max_iter=int(self.options.max_iter),
            random_state=seed,
        )


def baseline_input(counts: sp.csr_matrix, weighting: TfidfTransformer | None) -> sp.csr_matrix:
    """What the estimator sees: the counts for LDA, their TF-IDF for NMF."""
    return counts if weighting is None else weighting.transform(counts)


def assign_topics(
    estimator: Any, counts: sp.csr_matrix, weighting: TfidfTransformer | None
) -> tuple[np.ndarray, np.ndarray]:
    """Topic per document: argmax of its topic distribution; score: that topic's share.

    A document with no vocabulary word has no topic evidence at all (LDA would give it the
    prior, NMF a zero row): it gets topic -1 and score 0.0, so it is counted as an outlier
    instead of landing in topic 0.

    Args:
        estimator: Fitted LDA or NMF.
        counts: Document-term counts over the topic vocabulary, shape (n_docs, n_words).
        weighting: The TF-IDF transformer for NMF, ``None`` for LDA.

    Returns:
        ``(topics, scores)``: int64 array (n_docs,) and float64 array (n_docs,) in [0, 1].
    """
    n_docs = counts.shape[0]
    if n_docs == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    dist = np.asarray(estimator.transform(baseline_input(counts, weighting)), dtype=np.float64)
    totals = dist.sum(axis=1, keepdims=True)
    dist = np.divide(dist, totals, out=np.zeros_like(dist), where=totals > 0)
    topics = dist.argmax(axis=1).astype(np.int64)
    scores = dist.max(axis=1)
    empty = np.asarray(counts.sum(axis=1)).ravel() == 0
    topics[empty] = -1
    scores[empty] = 0.0
    return topics, scores


def topic_words(
    estimator: Any, vocabulary: Sequence[str], top_n: int = 10
) -> dict[int, list[tuple[str, float]]]:
    """Top words per topic from ``components_``, weights normalised to sum to 1 per topic.

    Args:
        estimator: Fitted LDA or NMF over ``vocabulary``.
        vocabulary: The words, in column order.
        top_n: Words per topic.

    Returns:
        ``{topic_id: [(word, weight), ...]}`` best first; words with zero weight are left out.
    """
    components = np.asarray(estimator.components_, dtype=np.float64)
    words = np.asarray(list(vocabulary), dtype=object)
    out: dict[int, list[tuple[str, float]]] = {}
    for topic, row in enumerate(components):
        total = row.sum()
        weights = row / total if total > 0 else row
        order = np.argsort(-weights, kind="stable")[:top_n]
        out[topic] = [(str(words[i]), float(weights[i])) for i in order if weights[i] > 0]
    return out


def save_baseline(directory: Path, estimator: Any, weighting: TfidfTransformer | None) -> None:
    """Write the fitted estimator (and NMF's TF-IDF weighting): as JSON and plain arrays when
    they allow it (NMF), else with skops (LDA keeps a fitted random generator)."""
    directory = Path(directory)
    arrays: dict[str, np.ndarray] = {}
    state = {
        "estimator": object_state(estimator, PLAIN_CLASSES, "estimator.", arrays),
        "weighting": None
        if weighting is None
        else object_state(weighting, PLAIN_CLASSES, "weighting.", arrays),
    }
    if state["estimator"] is not None and (weighting is None or state["weighting"] is not None):
        write_arrays(directory / ARRAYS_FILE, arrays)
        (directory / STATE_FILE).write_text(json.dumps(state, indent=1), encoding="utf-8")
        return
    from arnews_ml.persist import dump_skops

    dump_skops(estimator, directory / ESTIMATOR_FILE)
    if weighting is not None:
        dump_skops(weighting, directory / WEIGHTING_FILE)


def load_baseline(directory: Path) -> tuple[Any, TfidfTransformer | None]:
    """Inverse of :func:`save_baseline`: ``(estimator, weighting or None)``."""
    directory = Path(directory)
    if (directory / STATE_FILE).is_file():
        where = f"The topic baseline in {directory}"
        try:
            state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ArtifactError(f"{where}: {STATE_FILE} is not readable JSON ({err}).") from err
        if not isinstance(state, dict):
            raise ArtifactError(f"{where}: {STATE_FILE} is malformed; re-export the bundle.")
        arrays = read_arrays(directory / ARRAYS_FILE, where)
        estimator = restore(
            state.get("estimator"), PLAIN_CLASSES, "estimator.", arrays, where, _KIND
        )
        weighting = state.get("weighting")
        if weighting is not None:
            weighting = restore(weighting, PLAIN_CLASSES, "weighting.", arrays, where, _KIND)
        return estimator, weighting
    from arnews_ml.persist import load_skops

    weighting_file = directory / WEIGHTING_FILE
    estimator = load_skops(directory / ESTIMATOR_FILE)
    return estimator, (load_skops(weighting_file) if weighting_file.is_file() else None)
