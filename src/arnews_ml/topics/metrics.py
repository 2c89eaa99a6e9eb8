"""Topic quality metrics: NPMI and C_v coherence, diversity, label alignment and seed stability.

Every function takes plain values (topic word lists, token lists, label lists) and returns floats,
lists or DataFrames, so one module scores BERTopic and the LDA/NMF baselines alike. The outlier
topic ``-1`` is left out of every topic-word metric.

Definitions (the choices a reader of the numbers needs to know):

- **Co-occurrence unit.** ``window=None`` counts boolean *documents* (a word pair co-occurs when
  both words are somewhere in the same document). An integer ``window`` slides a window of that
  many tokens over each document one token at a time and counts every window as a virtual
  document; a document shorter than the window is one window. This is gensim's
  ``p_boolean_sliding_window``: gensim's ``c_npmi`` uses ``window=10``, ``c_v`` uses ``110``.
  ``npmi_coherence`` defaults to whole documents (robust for short news texts and cheap);
  pass ``window=10`` for numbers comparable with gensim's ``c_npmi``.
- **NPMI.** ``log((P(a,b) + eps) / (P(a) P(b))) / -log(P(a,b) + eps)`` as in gensim, except that a
  pair that never co-occurs scores exactly ``-1`` (the limit of NPMI; gensim's epsilon instead
  gives ``-1 - log(P(a)P(b)) / log(eps)``, a little above -1) and a pair that co-occurs in every
  unit scores ``1``.
- **Topic words.** The first ``top_n`` distinct, non-empty words of each topic (BERTopic pads short
  topics with empty strings; ``(word, score)`` pairs are accepted). Multi-word terms (n-grams such
  as ``"الشرق الاوسط"``) are matched as contiguous token sequences.
- **Words absent from the corpus** are dropped from their topic before scoring (gensim raises
  instead), counted, and logged as a warning; a topic left with fewer than two words scores NaN and
  is left out of the mean. ``evaluate_topics`` reports the count as ``n_missing_topic_words``.
- **Stability** matches the topics of two runs one-to-one with the Hungarian algorithm on top-word
  overlap ``|A & B| / max(|A|, |B|)``; topics of the larger run left without a partner count as 0,
  so a run that finds a different number of topics is, correctly, less stable.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, combinations
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from arnews_ml.exceptions import ConfigError, DataError
from arnews_ml.topics.analysis import as_group_lists, topic_name

__all__ = [
    "CV_WINDOW",
    "NPMI_GENSIM_WINDOW",
    "OUTLIER_TOPIC",
    "TOPIC_LABEL_TABLE_FILE",
    "cv_coherence",
    "evaluate_topics",
    "label_alignment",
    "npmi_coherence",
    "topic_diversity",
    "topic_label_table",
    "topic_stability",
    "topic_word_lists",
]

logger = logging.getLogger(__name__)

OUTLIER_TOPIC = -1
CV_WINDOW = 110  # Röder et al. (2015) and gensim's c_v
NPMI_GENSIM_WINDOW = 10  # gensim's c_npmi / c_uci sliding window
TOPIC_LABEL_TABLE_FILE = "topic_label_table.csv"

TopicWords = Mapping[int, Sequence[Any]] | Sequence[Sequence[Any]]


# --- topic words ---------------------------------------------------------------------------------


def _clean_words(words: Iterable[Any], top_n: int | None) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for item in words:
        # BERTopic's get_topic() gives (word, score) pairs.
        word = item[0] if isinstance(item, tuple | list) else item
        if word is None:
            continue
        word = " ".join(str(word).split())
        if not word or word in seen:
            continue
        seen.add(word)
        out.append(word)
        if top_n is not None and len(out) == top_n:
            break
    return out


def topic_word_lists(topics: TopicWords, top_n: int | None = None) -> dict[int, list[str]]:
    """Normalise topic words to ``{topic_id: [word, ...]}`` without the outlier topic.

    Args:
        topics: ``{topic_id: words}`` (e.g. ``TopicModel.top_words()``) or a sequence of word
            lists (ids 0..n-1). Words may be strings or ``(word, score)`` pairs.
        top_n: Keep the first ``top_n`` distinct non-empty words; ``None`` keeps all.

    Returns:
        ``{topic_id: words}`` in the input's order, topic ``-1`` left out.

    Raises:
        DataError: If a topic is a single string instead of a list of words.
    """
    if top_n is not None and (not isinstance(top_n, int) or top_n < 1):
        raise ConfigError(f"'top_n' must be a positive integer; got {top_n!r}.")
    items = topics.items() if isinstance(topics, Mapping) else enumerate(topics)
    out: dict[int, list[str]] = {}
    for key, words in items:
        topic = int(key)
        if topic == OUTLIER_TOPIC:
            continue
        if isinstance(words, str):
            raise DataError(
                f"Topic {topic} is the string {words[:40]!r}, not a list of words; pass "
                "{topic_id: ['word', ...]} (e.g. TopicModel.top_words())."
            )
        out[topic] = _clean_words(words, top_n)
    return out


# --- co-occurrence counting -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Occurrences:
    """Where the topic words occur in tokenised documents: one entry per occurrence."""

    words: list[str]
    doc: np.ndarray  # (n_occ,) document index
    start: np.ndarray  # (n_occ,) position of the term's first token
    end: np.ndarray  # (n_occ,) position of the term's last token (start for single words)
    word: np.ndarray  # (n_occ,) index into ``words``
    doc_lengths: np.ndarray  # (n_docs,) tokens per document


def _check_token_docs(docs: Sequence[Sequence[str]]) -> None:
    for doc in docs[:5]:
        if isinstance(doc, str):
            raise DataError(
                "'docs_tokens' holds strings, not token lists; tokenise first, e.g. "
                "[text.split() for text in texts] on normalised texts."
            )


def _locate(words: list[str], docs: Sequence[Sequence[str]]) -> _Occurrences:
    """Find every occurrence of ``words`` (single tokens or space-joined n-grams) in ``docs``."""
    docs = docs if isinstance(docs, list | tuple) else list(docs)
    _check_token_docs(docs)
    lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    parts = [w.split(" ") for w in words]
    components = {t: i for i, t in enumerate(sorted({t for p in parts for t in p}))}
    # A dict lookup per token is ~6x faster than pandas' get_indexer on object arrays.
    lookup = components.get
    ids = np.fromiter(
        (lookup(t, -1) for t in chain.from_iterable(docs)), dtype=np.int64, count=int(offsets[-1])
    )
    hits = np.flatnonzero(ids >= 0)
    hit_ids = ids[hits]
    order = np.argsort(hit_ids, kind="stable")  # positions of each component, ascending
    bounds = np.searchsorted(hit_ids[order], np.arange(len(components) + 1))

    def positions(component: int) -> np.ndarray:
        return hits[order[bounds[component] : bounds[component + 1]]]

    starts, ends, word_ids = [], [], []
    for w, tokens in enumerate(parts):
        first = positions(components[tokens[0]])
        if len(tokens) > 1:
            doc_end = offsets[np.searchsorted(offsets, first, side="right")]
            for k, token in enumerate(tokens[1:], start=1):
                nxt = first + k
                ok = nxt < doc_end
                ok[ok] = ids[nxt[ok]] == components[token]
                first, doc_end = first[ok], doc_end[ok]
        starts.append(first)
        ends.append(first + len(tokens) - 1)
        word_ids.append(np.full(len(first), w, dtype=np.int64))
    start = np.concatenate(starts) if starts else np.empty(0, dtype=np.int64)
    doc = np.searchsorted(offsets, start, side="right") - 1
    local = start - offsets[doc]
    end = np.concatenate(ends) - offsets[doc] if ends else np.empty(0, dtype=np.int64)
    word = np.concatenate(word_ids) if word_ids else np.empty(0, dtype=np.int64)
    sort = np.lexsort((local, doc))
    return _Occurrences(words, doc[sort], local[sort], end[sort], word[sort], lengths)


def _document_counts(occ: _Occurrences) -> tuple[np.ndarray, int]:
    n_docs, n_words = len(occ.doc_lengths), len(occ.words)
    presence = sp.csr_matrix(
        (np.ones(len(occ.doc), dtype=np.float64), (occ.doc, occ.word)), shape=(n_docs, n_words)
    )
    presence.data[:] = 1.0  # duplicates were summed; we count documents, not occurrences
    return np.asarray((presence.T @ presence).todense()), n_docs


_CHUNK_OCCURRENCES = 20_000  # bounds the memory of one chunk of _window_counts


def _window_counts(occ: _Occurrences, window: int) -> tuple[np.ndarray, int]:
    """Counts over boolean sliding windows without materialising the windows.

    Window ``s`` of a document (tokens ``s .. s+window-1``) holds a term found at tokens
    ``start .. end`` when ``end - window + 1 <= s <= start``: every occurrence covers an interval
    of window starts. Between consecutive interval boundaries the set of terms present is
    constant, so the windows collapse into weighted segments: ``counts = P.T @ diag(len) @ P``
    with ``P`` the sparse binary (segment x term) presence matrix. Work and memory grow with the
    number of occurrences, not with ``n_tokens * window``; documents are processed in chunks.
    """
    n_words = len(occ.words)
    counts = np.zeros((n_words, n_words), dtype=np.float64)
    n_windows = np.maximum(occ.doc_lengths - window + 1, 1)
    window_offset = np.concatenate(([0], np.cumsum(n_windows)))
    first = window_offset[occ.doc] + np.maximum(occ.end - window + 1, 0)
    last = window_offset[occ.doc] + np.minimum(occ.start, n_windows[occ.doc] - 1)
    keep = first <= last  # an n-gram longer than the window fits in none
    first, stop, word, doc = first[keep], last[keep] + 1, occ.word[keep], occ.doc[keep]
    # Chunk boundaries fall between documents, so no segment straddles two chunks.
    marks = np.arange(_CHUNK_OCCURRENCES, len(doc), _CHUNK_OCCURRENCES)
    cuts = np.unique(np.searchsorted(doc, doc[marks], side="left"))
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(doc)], strict=True):
        if lo == hi:
            continue
        bounds = np.unique(np.concatenate((first[lo:hi], stop[lo:hi])))
        seg_first = np.searchsorted(bounds, first[lo:hi])
        n_seg = np.searchsorted(bounds, stop[lo:hi]) - seg_first
        rows = np.repeat(seg_first - np.cumsum(n_seg) + n_seg, n_seg) + np.arange(n_seg.sum())
        presence = sp.csr_matrix(
            (np.ones(len(rows)), (rows, np.repeat(word[lo:hi], n_seg))),
            shape=(len(bounds), n_words),
        )
        presence.data[:] = 1.0  # overlapping occurrences of one term were summed
        lengths = np.diff(bounds, append=bounds[-1])  # the last boundary opens no segment
        counts += np.asarray(
            (presence.T @ sp.diags(lengths.astype(np.float64)) @ presence).todense()
        )
    return counts, int(n_windows.sum())


def _vocabulary_index(
    vocabulary: Sequence[str] | Mapping[str, int], n_columns: int
) -> dict[str, int]:
    if isinstance(vocabulary, Mapping):
        index = {str(k): int(v) for k, v in vocabulary.items()}
    else:
        index = {str(w): i for i, w in enumerate(vocabulary)}
    if len(index) != n_columns:
        raise DataError(
            f"'vocabulary' has {len(index)} terms but the doc-term matrix has {n_columns} "
            "columns; pass the vectorizer's get_feature_names_out() or vocabulary_."
        )
    return index


def _matrix_counts(
    words: list[str], matrix: sp.spmatrix, vocabulary: Sequence[str] | Mapping[str, int]
) -> tuple[np.ndarray, int]:
    index = _vocabulary_index(vocabulary, matrix.shape[1])
    columns = [index.get(w, -1) for w in words]
    found = [i for i, c in enumerate(columns) if c >= 0]
    sub = sp.csc_matrix(matrix)[:, [columns[i] for i in found]]
    sub = (sub != 0).astype(np.float64)
    counts = np.zeros((len(words), len(words)), dtype=np.float64)
    counts[np.ix_(found, found)] = np.asarray((sub.T @ sub).todense())
    return counts, int(matrix.shape[0])


def _cooccurrence(
    words: list[str],
    docs_tokens: Any,
    vocabulary: Sequence[str] | Mapping[str, int] | None,
    window: int | None,
    located: _Occurrences | None = None,
) -> tuple[np.ndarray, int]:
    """Return ``(counts, n_units)``: counts[i, j] units holding both words, diagonal = singles."""
    if window is not None and (not isinstance(window, int) or window < 1):
        raise ConfigError(f"'window' must be None (whole documents) or >= 1; got {window!r}.")
    if sp.issparse(docs_tokens):
        if vocabulary is None:
            raise ConfigError(
                "A doc-term matrix needs 'vocabulary' (the vectorizer's get_feature_names_out())."
            )
        if window is not None:
            raise ConfigError(
                f"window={window} needs token sequences (positions); a doc-term matrix only "
                "supports window=None. Pass the token lists instead."
            )
        return _matrix_counts(words, docs_tokens, vocabulary)
    occ = located if located is not None else _locate(words, docs_tokens)
    return _document_counts(occ) if window is None else _window_counts(occ, window)


def _npmi_matrix(counts: np.ndarray, n_units: int, eps: float) -> np.ndarray:
    """NPMI for every word pair; rows/columns of words never seen are NaN."""
    if n_units == 0:
        return np.full(counts.shape, np.nan)
    joint = counts / n_units
    single = np.diag(joint).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log((joint + eps) / np.outer(single, single))
        npmi = pmi / -np.log(joint + eps)
    npmi[counts == 0] = -1.0
    npmi[joint >= 1.0] = 1.0  # both words in every unit: perfect association (0/0 otherwise)
    np.fill_diagonal(npmi, 1.0)
    absent = single == 0
    npmi[absent, :] = np.nan
    npmi[:, absent] = np.nan
    return npmi


def _prepare(
    topics: TopicWords, top_n: int
) -> tuple[dict[int, list[str]], list[str], dict[str, int]]:
    lists = topic_word_lists(topics, top_n)
    words = sorted({w for ws in lists.values() for w in ws})
    return lists, words, {w: i for i, w in enumerate(words)}


def _present_indices(
    lists: dict[int, list[str]], index: dict[str, int], single: np.ndarray
) -> tuple[list[np.ndarray], int]:
    present, missing = [], set()
    for ws in lists.values():
        ids = np.array([index[w] for w in ws], dtype=np.int64)
        ok = single[ids] > 0 if len(ids) else np.zeros(0, dtype=bool)
        missing.update(w for w, k in zip(ws, ok, strict=True) if not k)
        present.append(ids[ok])
    if missing:
        logger.warning(
            "coherence_missing_words=%d examples=%s (words absent from the reference corpus are "
            "left out of their topic)",
            len(missing),
            sorted(missing)[:10],
        )
    return present, len(missing)


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _npmi_scores(npmi: np.ndarray, present: list[np.ndarray]) -> list[float]:
    scores = []
    for ids in present:
        if len(ids) < 2:
            scores.append(float("nan"))
            continue
        upper = np.triu_indices(len(ids), k=1)
        scores.append(float(npmi[np.ix_(ids, ids)][upper].mean()))
    return scores


def _cv_scores(npmi: np.ndarray, present: list[np.ndarray]) -> list[float]:
    scores = []
    for ids in present:
        if len(ids) < 2:
            scores.append(float("nan"))
            continue
        vectors = npmi[np.ix_(ids, ids)]  # row w: context vector [NPMI(w, w_j) for w_j in topic]
        topic_vector = vectors.sum(axis=0)  # one-set segmentation: W* = the whole topic
        norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(topic_vector)
        with np.errstate(divide="ignore", invalid="ignore"):
            cosine = np.where(norms > 0, vectors @ topic_vector / norms, 0.0)
        scores.append(float(cosine.mean()))
    return scores


# --- coherence ----------------------------------------------------------------------------------


def npmi_coherence(
    topics: TopicWords,
    docs_tokens: Sequence[Sequence[str]] | sp.spmatrix,
    *,
    vocabulary: Sequence[str] | Mapping[str, int] | None = None,
    top_n: int = 10,
    window: int | None = None,
    eps: float = 1e-12,
) -> tuple[float, list[float]]:
    """NPMI coherence of each topic's top words against a reference corpus.

    A topic scores the mean NPMI over all pairs ``i < j`` of its top words; the model scores the
    mean over topics. See the module docstring for the exact definition.

    Args:
        topics: ``{topic_id: words}`` or a sequence of word lists; topic ``-1`` is ignored.
        docs_tokens: Token lists (one per document, the same normalised tokens the model saw), or
            a sparse doc-term matrix of shape (n_docs, n_terms) with ``vocabulary``.
        vocabulary: Column terms of a doc-term matrix (list, or a ``{term: column}`` mapping).
        top_n: Words per topic.
        window: ``None`` counts whole documents; an int counts sliding windows of that many tokens
            (gensim's ``c_npmi`` uses 10). Needs token lists.
        eps: Smoothing inside the logarithms, as in gensim.

    Returns:
        ``(mean, per_topic)``: the mean over topics (NaN when no topic could be scored) and one
        score per topic in the order of ``topics`` (NaN for topics with < 2 words in the corpus).
    """
    lists, words, index = _prepare(topics, top_n)
    counts, n_units = _cooccurrence(words, docs_tokens, vocabulary, window)
    present, _ = _present_indices(lists, index, np.diag(counts))
    per_topic = _npmi_scores(_npmi_matrix(counts, n_units, eps), present)
    return _nanmean(per_topic), per_topic


def cv_coherence(
    topics: TopicWords,
    docs_tokens: Sequence[Sequence[str]] | sp.spmatrix,
    *,
    vocabulary: Sequence[str] | Mapping[str, int] | None = None,
    top_n: int = 10,
    window: int | None = CV_WINDOW,
    eps: float = 1e-12,
) -> tuple[float, list[float]]:
    """C_v coherence (Röder, Both & Hinneburg 2015), as gensim's ``coherence="c_v"``.

    Boolean sliding windows of 110 tokens estimate the probabilities; NPMI is the confirmation
    measure; one-set segmentation pairs each top word ``w`` with the whole top-word set ``W``;
    the context vector of ``w`` is ``[NPMI(w, w_j) for w_j in W]`` and that of ``W`` is the sum
    of its words' vectors; a topic scores the mean over ``w`` of ``cos(v(w), v(W))``. Scores are
    mostly in [0, 1]; higher is more coherent.

    Args:
        topics: ``{topic_id: words}`` or a sequence of word lists; topic ``-1`` is ignored.
        docs_tokens: Token lists, one per document (a doc-term matrix only with ``window=None``).
        vocabulary: Column terms when ``docs_tokens`` is a doc-term matrix.
        top_n: Words per topic.
        window: Sliding-window size in tokens (110 in the paper); ``None`` uses whole documents.
        eps: Smoothing inside the NPMI logarithms.

    Returns:
        ``(mean, per_topic)`` as in :func:`npmi_coherence`.
    """
    lists, words, index = _prepare(topics, top_n)
    counts, n_units = _cooccurrence(words, docs_tokens, vocabulary, window)
    present, _ = _present_indices(lists, index, np.diag(counts))
    per_topic = _cv_scores(_npmi_matrix(counts, n_units, eps), present)
    return _nanmean(per_topic), per_topic


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


def _topic_array(
    topics_per_doc: Sequence[int] | np.ndarray, name: str = "topics_per_doc"
) -> np.ndarray:
    array = np.asarray(topics_per_doc)
    if array.ndim != 1:
        raise DataError(f"'{name}' must be one topic id per document; got shape {array.shape}.")
    try:
        return array.astype(np.int64)
    except (TypeError, ValueError) as err:
        raise DataError(f"'{name}' must hold integer topic ids; got {array.dtype}.") from err


def _label_pairs(
    topics_per_doc: Sequence[int], labels_per_doc: Sequence[Any], ignore_outliers: bool
) -> tuple[np.ndarray, list[str], np.ndarray, int]:
    topics = _topic_array(topics_per_doc)
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
    npmi_window: int | None = None,
    cv_window: int | None = CV_WINDOW,
    doc_topics: Sequence[int] | None = None,
    outlier_ratio: float | None = None,
    fit_seconds: float | None = None,
    eps: float = 1e-12,
) -> dict[str, float]:
    """The topic metrics logged for every model: coherence, diversity, counts.

    Tokens are located once and counted for both windows. With a doc-term matrix instead of token
    lists, ``c_v`` falls back to whole documents (there are no positions to slide over) and a
    warning says so.

    Args:
        topic_words: ``{topic_id: words}``; topic -1 is ignored everywhere.
        docs_tokens: Token lists (or a sparse doc-term matrix with ``vocabulary``).
        vocabulary: Column terms of a doc-term matrix.
        top_n: Words per topic for the coherences (10).
        diversity_top_n: Words per topic for ``topic_diversity`` (25).
        npmi_window: Co-occurrence window for ``npmi`` (None = whole documents).
        cv_window: Sliding window for ``c_v`` (110).
        doc_topics: Topic per document; gives ``outlier_ratio`` when that is not passed.
        outlier_ratio: Share of documents in topic -1, if known.
        fit_seconds: Fitting time to report alongside.
        eps: Smoothing inside the NPMI logarithms.

    Returns:
        ``npmi``, ``c_v``, ``topic_diversity``, ``n_topics``, ``n_missing_topic_words`` and, when
        known, ``outlier_ratio`` and ``fit_seconds``.
    """
    lists, words, index = _prepare(topic_words, top_n)
    matrix = sp.issparse(docs_tokens)
    if matrix and cv_window is not None:
        logger.warning("c_v_window=None reason='a doc-term matrix has no token positions'")
        cv_window = None
    located = None if matrix else _locate(words, docs_tokens)
    counts, n_units = _cooccurrence(words, docs_tokens, vocabulary, npmi_window, located)
    present, n_missing = _present_indices(lists, index, np.diag(counts))
    npmi = _nanmean(_npmi_scores(_npmi_matrix(counts, n_units, eps), present))
    if cv_window != npmi_window:
        counts, n_units = _cooccurrence(words, docs_tokens, vocabulary, cv_window, located)
    c_v = _nanmean(_cv_scores(_npmi_matrix(counts, n_units, eps), present))
    metrics = {
        "npmi": npmi,
        "c_v": c_v,
        "topic_diversity": topic_diversity(topic_words, diversity_top_n),
        "n_topics": float(len(lists)),
        "n_missing_topic_words": float(n_missing),
    }
    if outlier_ratio is None and doc_topics is not None:
        topics = _topic_array(doc_topics, "doc_topics")
        outlier_ratio = float(np.mean(topics == OUTLIER_TOPIC)) if len(topics) else float("nan")
    if outlier_ratio is not None:
        metrics["outlier_ratio"] = float(outlier_ratio)
    if fit_seconds is not None:
        metrics["fit_seconds"] = float(fit_seconds)
    return metrics
