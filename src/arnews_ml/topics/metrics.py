"""Topic quality metrics: NPMI and C_v coherence, diversity, label alignment and seed stability.

Every function takes plain values (topic word lists, token lists, label lists) and returns floats,
lists or DataFrames, so one module scores BERTopic and the LDA/NMF baselines alike. The outlier
topic ``-1`` is left out of every topic-word metric.

NPMI and C_v are computed in :mod:`arnews_ml.topics.coherence` (which defines co-occurrence units,
NPMI, topic words and absent words) and topic words are normalised in
:mod:`arnews_ml.topics.topic_words`; their public names are re-exported here.

- **Stability** matches the topics of two runs one-to-one with the Hungarian algorithm on top-word
  overlap ``|A & B| / max(|A|, |B|)``; topics of the larger run left without a partner count as 0,
  so a run that finds a different number of topics is, correctly, less stable.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from arnews_ml.exceptions import ConfigError, DataError
from arnews_ml.topics.analysis import as_group_lists, topic_id_array, topic_name
from arnews_ml.topics.coherence import (
    CV_WINDOW,
    NPMI_GENSIM_WINDOW,
    _cooccurrence,
    _cv_scores,
    _locate,
    _nanmean,
    _npmi_matrix,
    _npmi_scores,
    _prepare,
    _present_indices,
    cv_coherence,
    npmi_coherence,
)
from arnews_ml.topics.topic_words import OUTLIER_TOPIC, TopicWords, topic_word_lists

__all__ = [
    "CV_WINDOW",
    "NPMI_GENSIM_WINDOW",
    "OUTLIER_TOPIC",
    "TOPIC_LABEL_TABLE_FILE",
    "cv_coherence",
    "evaluate_topics",
    "label_alignment",
    "npmi_coherence",
    "score_topic_model",
    "topic_diversity",
    "topic_label_table",
    "topic_stability",
    "topic_word_lists",
]

logger = logging.getLogger(__name__)

TOPIC_LABEL_TABLE_FILE = "topic_label_table.csv"


# --- diversity -----------------------------------------------------------------------------------


def topic_diversity(topics: TopicWords, top_n: int = 25) -> float:
    """Share of unique words among the top words of all topics (Dieng et al. 2020).

    ``unique words in the union of every topic's top-n / total top words``; the denominator is
    ``n_topics * top_n`` whenever every topic has ``top_n`` words. 1 means no word is shared.

    Args:
        topics: ``{topic_id: words}`` or a sequence of word lists; topic ``-1`` is ignored.
        top_n: Words per topic (25 by convention).

    Returns:
        The diversity in (0, 1], or NaN when there are no topic words.
    """
    lists = topic_word_lists(topics, top_n)
    total = sum(len(ws) for ws in lists.values())
    if total == 0:
        return float("nan")
    return len({w for ws in lists.values() for w in ws}) / total


# --- labels ----------------------------------------------------------------------------------


def _label_pairs(
    topics_per_doc: Sequence[int], labels_per_doc: Sequence[Any], ignore_outliers: bool
) -> tuple[np.ndarray, list[str], np.ndarray, int]:
    topics = topic_id_array(topics_per_doc, "topics_per_doc")
    labels = as_group_lists(labels_per_doc, name="labels_per_doc")
    if len(labels) != len(topics):
        raise DataError(
            f"'topics_per_doc' has {len(topics)} documents but 'labels_per_doc' has "
            f"{len(labels)}; pass one entry per document."
        )
    pair_topics, pair_labels, docs = [], [], []
    n_unlabelled = 0
    for i, (topic, doc_labels) in enumerate(zip(topics, labels, strict=True)):
        if not doc_labels:
            n_unlabelled += 1
            continue
        if ignore_outliers and topic == OUTLIER_TOPIC:
            continue
        for label in doc_labels:
            pair_topics.append(int(topic))
            pair_labels.append(label)
            docs.append(i)
    return np.asarray(pair_topics, dtype=np.int64), pair_labels, np.asarray(docs), n_unlabelled


def label_alignment(
    topics_per_doc: Sequence[int],
    labels_per_doc: Sequence[Sequence[str] | str | None],
    *,
    ignore_outliers: bool = True,
) -> dict[str, float]:
    """How well topics align with gold labels: NMI and ARI over (topic, label) pairs.

    A multi-label article contributes one (topic, label) pair per label; articles without labels
    are skipped; outlier documents (topic -1) are skipped when ``ignore_outliers``.

    Args:
        topics_per_doc: Topic id per document, shape (n_docs,).
        labels_per_doc: Labels per document: a list of labels, one label string, or None.
        ignore_outliers: Leave out documents assigned to topic -1.

    Returns:
        ``label_nmi`` and ``label_ari`` (NaN when nothing is aligned), ``n_aligned`` (documents
        used), ``n_label_pairs`` (expanded pairs) and ``n_unlabelled`` (documents without labels).
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    pair_topics, pair_labels, docs, n_unlabelled = _label_pairs(
        topics_per_doc, labels_per_doc, ignore_outliers
    )
    nmi = ari = float("nan")
    if len(pair_topics):
        nmi = float(normalized_mutual_info_score(pair_labels, pair_topics))
        ari = float(adjusted_rand_score(pair_labels, pair_topics))
    return {
        "label_nmi": nmi,
        "label_ari": ari,
        "n_aligned": float(len(np.unique(docs))),
        "n_label_pairs": float(len(pair_topics)),
        "n_unlabelled": float(n_unlabelled),
    }


def topic_label_table(
    topics_per_doc: Sequence[int],
    labels_per_doc: Sequence[Sequence[str] | str | None],
    topic_labels: Mapping[int, str] | None = None,
    *,
    normalize: bool = False,
    ignore_outliers: bool = False,
) -> pd.DataFrame:
    """Topic x label table: how many documents of each topic carry each label.

    Args:
        topics_per_doc: Topic id per document, shape (n_docs,).
        labels_per_doc: Labels per document (multi-label documents count once per label).
        topic_labels: Optional ``{topic_id: name}``; adds a leading ``topic_label`` column.
        normalize: Divide each label column by ``total``: the share of the topic's documents with
            that label (rows can sum above 1 in multi-label corpora).
        ignore_outliers: Leave out the outlier row (topic -1).

    Returns:
        One row per topic (index ``topic``, ascending), one column per label (sorted), and
        ``total``: the number of labelled documents in the topic. ``attrs["n_unlabelled"]`` counts
        the documents left out for having no label.
    """
    pair_topics, pair_labels, docs, n_unlabelled = _label_pairs(
        topics_per_doc, labels_per_doc, ignore_outliers
    )
    pairs = pd.DataFrame({"topic": pair_topics, "label": pair_labels, "doc": docs})
    table = pd.crosstab(pairs["topic"], pairs["label"]).astype(np.int64)
    table.columns = [str(c) for c in table.columns]
    for reserved in ("total", "topic_label"):
        if reserved in table.columns:
            raise DataError(
                f"A corpus label is named {reserved!r}, which this table uses as a column; "
                "rename that label."
            )
    totals = pairs.groupby("topic")["doc"].nunique()
    table["total"] = totals.reindex(table.index).fillna(0).astype(np.int64)
    if normalize:
        label_columns = [c for c in table.columns if c != "total"]
        shares = table[label_columns].div(table["total"].where(table["total"] > 0), axis=0)
        table = pd.concat([shares.fillna(0.0), table["total"]], axis=1)
    table.index = table.index.astype(np.int64)
    table.index.name = "topic"
    table.columns.name = None
    if topic_labels is not None:
        names = [topic_name(int(t), topic_labels) for t in table.index]
        table.insert(0, "topic_label", names)
    table.attrs["n_unlabelled"] = n_unlabelled
    return table


# --- stability ------------------------------------------------------------------------------------


def _overlap_matrix(a: list[list[str]], b: list[list[str]]) -> np.ndarray:
    vocab = {w: i for i, w in enumerate(sorted({w for ws in a + b for w in ws}))}

    def binary(lists: list[list[str]]) -> np.ndarray:
        m = np.zeros((len(lists), len(vocab)), dtype=np.float64)
        for r, ws in enumerate(lists):
            m[r, [vocab[w] for w in ws]] = 1.0
        return m

    ma, mb = binary(a), binary(b)
    sizes = np.maximum.outer(ma.sum(axis=1), mb.sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sizes > 0, (ma @ mb.T) / sizes, 0.0)


def topic_stability(runs: Sequence[TopicWords], top_n: int = 10) -> dict[str, float]:
    """How similar the topics of several runs (e.g. seeds) are: matched top-word overlap.

    For every pair of runs the topics are matched one-to-one (Hungarian algorithm, maximising the
    total overlap ``|A & B| / max(|A|, |B|)`` of their top-``top_n`` word sets). The pair scores
    the sum of matched overlaps divided by the larger topic count, so unmatched topics count 0.

    Args:
        runs: Topic words of each run (``{topic_id: words}``); topic -1 is ignored. Topic ids need
            not correspond between runs.
        top_n: Words per topic.

    Returns:
        ``stability_overlap`` (mean over pairs), ``stability_min`` (worst pair),
        ``stability_matched_overlap`` (mean overlap of matched topics only) and ``n_runs``.
        Pairs in which neither run has a topic are NaN and left out of the means.

    Raises:
        ConfigError: With fewer than two runs.
    """
    from scipy.optimize import linear_sum_assignment

    if len(runs) < 2:
        raise ConfigError(
            f"Topic stability compares runs; got {len(runs)}. Fit with at least two seeds, "
            "e.g. topic_model.seeds=[1,2,3]."
        )
    lists = [list(topic_word_lists(run, top_n).values()) for run in runs]
    pair_scores, matched_scores = [], []
    for a, b in combinations(lists, 2):
        if not a and not b:
            pair_scores.append(float("nan"))
            matched_scores.append(float("nan"))
            continue
        if not a or not b:
            pair_scores.append(0.0)
            matched_scores.append(float("nan"))
            continue
        overlap = _overlap_matrix(a, b)
        rows, cols = linear_sum_assignment(overlap, maximize=True)
        matched = overlap[rows, cols]
        pair_scores.append(float(matched.sum() / max(len(a), len(b))))
        matched_scores.append(float(matched.mean()))
    finite = [s for s in pair_scores if not math.isnan(s)]
    return {
        "stability_overlap": _nanmean(pair_scores),
        "stability_min": float(min(finite)) if finite else float("nan"),
        "stability_matched_overlap": _nanmean(matched_scores),
        "n_runs": float(len(runs)),
    }


# --- everything at once ----------------------------------------------------------------------------


def evaluate_topics(
    topic_words: TopicWords,
    docs_tokens: Sequence[Sequence[str]] | sp.spmatrix,
    *,
    vocabulary: Sequence[str] | Mapping[str, int] | None = None,
    top_n: int = 10,
    diversity_top_n: int = 25,
    npmi_window: int | None = NPMI_GENSIM_WINDOW,
    cv_window: int | None = CV_WINDOW,
    doc_topics: Sequence[int] | None = None,
    outlier_ratio: float | None = None,
    fit_seconds: float | None = None,
    eps: float = 1e-12,
) -> dict[str, float]:
    """The topic metrics logged for every model: coherence, diversity, counts.

    ``npmi`` is the standard NPMI coherence (gensim's ``c_npmi``: boolean sliding windows of 10
    tokens), ``npmi_doc`` the same measure over whole documents, ``c_v`` gensim's ``c_v``
    (110-token windows). Tokens are located once and counted for each window. With a doc-term
    matrix instead of token lists there are no positions to slide over: ``npmi`` and ``c_v``
    fall back to whole documents and a warning says so.

    Args:
        topic_words: ``{topic_id: words}``; topic -1 is ignored everywhere.
        docs_tokens: Token lists (or a sparse doc-term matrix with ``vocabulary``).
        vocabulary: Column terms of a doc-term matrix.
        top_n: Words per topic for the coherences (10).
        diversity_top_n: Words per topic for ``topic_diversity`` (25).
        npmi_window: Sliding window for ``npmi`` (10, gensim's ``c_npmi``).
        cv_window: Sliding window for ``c_v`` (110).
        doc_topics: Topic per document; gives ``outlier_ratio`` when that is not passed.
        outlier_ratio: Share of documents in topic -1, if known.
        fit_seconds: Fitting time to report alongside.
        eps: Smoothing inside the NPMI logarithms.

    Returns:
        ``npmi``, ``npmi_doc``, ``c_v``, ``topic_diversity``, ``n_topics``,
        ``n_missing_topic_words`` and, when known, ``outlier_ratio`` and ``fit_seconds``.
    """
    lists, words, index = _prepare(topic_words, top_n)
    matrix = sp.issparse(docs_tokens)
    if matrix and (npmi_window is not None or cv_window is not None):
        logger.warning(
            "npmi_window=None c_v_window=None reason='a doc-term matrix has no token positions'"
        )
        npmi_window = cv_window = None
    located = None if matrix else _locate(words, docs_tokens)
    present: list[np.ndarray] | None = None
    n_missing = 0
    matrices: dict[int | None, np.ndarray] = {}
    for window in dict.fromkeys((None, npmi_window, cv_window)):
        counts, n_units = _cooccurrence(words, docs_tokens, vocabulary, window, located)
        if present is None:  # whole documents: a word is missing when no document holds it
            present, n_missing = _present_indices(lists, index, np.diag(counts))
        matrices[window] = _npmi_matrix(counts, n_units, eps)
    assert present is not None
    metrics = {
        "npmi": _nanmean(_npmi_scores(matrices[npmi_window], present)),
        "npmi_doc": _nanmean(_npmi_scores(matrices[None], present)),
        "c_v": _nanmean(_cv_scores(matrices[cv_window], present)),
        "topic_diversity": topic_diversity(topic_words, diversity_top_n),
        "n_topics": float(len(lists)),
        "n_missing_topic_words": float(n_missing),
    }
    if outlier_ratio is None and doc_topics is not None:
        topics = topic_id_array(doc_topics)
        outlier_ratio = float(np.mean(topics == OUTLIER_TOPIC)) if len(topics) else float("nan")
    if outlier_ratio is not None:
        metrics["outlier_ratio"] = float(outlier_ratio)
    if fit_seconds is not None:
        metrics["fit_seconds"] = float(fit_seconds)
    return metrics


def score_topic_model(
    model: Any,
    topic_texts: Sequence[str],
    labels: Sequence[Sequence[str]] | None = None,
    *,
    runs: Sequence[Any] = (),
    stability_top_n: int = 10,
    doc_topics: Sequence[int] | np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric of a fitted topic model, whatever its backend, on its own analyzer's tokens.

    Args:
        model: A fitted :class:`~arnews_ml.topics.model.TopicModel` (any object with its fitted
            attributes: ``vectorizer_``, ``topic_words_``, ``topics_``, ``outlier_ratio_``,
            ``fit_seconds_``, ``embed_seconds_``, ``top_words()`` and ``seed``).
        topic_texts: The texts it was fitted on, length n; with ``doc_topics``, the whole
            corpus it assigned (a model fitted on a sample is scored on every document).
        labels: Gold labels per document (lists), length n; adds label alignment.
        runs: The same model fitted with other seeds; adds stability across ``model`` and
            ``runs`` and each run's topic count.
        stability_top_n: Words per topic compared for stability.
        doc_topics: Topic of every document of ``topic_texts`` (see
            :func:`arnews_ml.topics.assign.assign_topics`); default: the fit's ``topics_``.

    Returns:
        ``npmi``, ``npmi_doc``, ``c_v``, ``topic_diversity``, ``n_topics``, ``n_missing_topic_words``,
        ``outlier_ratio``, ``fit_seconds``, ``embed_seconds``; ``label_nmi`` and ``label_ari``
        when ``labels`` has any label; with ``runs``, ``stability_overlap``, ``stability_min``,
        ``stability_matched_overlap``, ``n_runs`` and ``n_topics_seed_<seed>`` per run.
    """
    analyzer = model.vectorizer_.build_analyzer()
    tokens = [analyzer(doc) for doc in topic_texts]
    assigned = model.topics_ if doc_topics is None else topic_id_array(doc_topics)
    if len(assigned) != len(tokens):
        raise DataError(
            f"{len(tokens)} texts but {len(assigned)} topics; pass doc_topics with one topic "
            "per text (a model fitted on a sample: the topics assign_topics gave every text)."
        )
    metrics = evaluate_topics(
        model.topic_words_,
        tokens,
        doc_topics=assigned,
        outlier_ratio=model.outlier_ratio_ if doc_topics is None else None,
        fit_seconds=model.fit_seconds_,
    )
    metrics["embed_seconds"] = float(model.embed_seconds_)
    if labels is not None and any(len(x) for x in labels):
        alignment = label_alignment(assigned, labels)
        metrics["label_nmi"] = float(alignment["label_nmi"])
        metrics["label_ari"] = float(alignment["label_ari"])
    if runs:
        every = [model, *runs]
        stability = topic_stability(
            [run.top_words(stability_top_n) for run in every], top_n=stability_top_n
        )
        metrics.update({k: float(v) for k, v in stability.items()})
        for run in runs:
            metrics[f"n_topics_seed_{run.seed}"] = float(len(run.topic_words_))
    return metrics
