"""Topic coherence: NPMI and C_v of each topic's top words against a reference corpus.

Both scores come from counting how often the topic words co-occur in the corpus; the counting is
shared, so ``evaluate_topics`` (in :mod:`arnews_ml.topics.metrics`) locates the tokens once and
counts them for every window. The outlier topic ``-1`` is never scored.

Definitions (the choices a reader of the numbers needs to know):

- **Co-occurrence unit.** An integer ``window`` slides a window of that many tokens over each
  document one token at a time and counts every window as a virtual document; a document shorter
  than the window is one window. This is gensim's ``p_boolean_sliding_window``: gensim's
  ``c_npmi`` uses ``window=10`` (:data:`NPMI_GENSIM_WINDOW`, the default of
  :func:`npmi_coherence` and the metric ``npmi``), ``c_v`` uses ``110`` (:data:`CV_WINDOW`).
  ``window=None`` counts boolean *documents* (a word pair co-occurs when both words are somewhere
  in the same document): the metric ``npmi_doc``, robust for short news texts and cheap, but not
  the number other papers report.
- **NPMI.** ``log((P(a,b) + eps) / (P(a) P(b))) / -log(P(a,b) + eps)`` with ``eps = 1e-12``,
  exactly as gensim's ``log_ratio_measure(normalize=True)``; so a pair that never co-occurs scores
  ``-1 - log(P(a)P(b)) / log(eps)`` (a little above -1), as in gensim. One deliberate difference:
  a pair that co-occurs in every unit scores ``1`` (gensim's formula gives ``-1`` there, 0/0 in
  the limit); only toy corpora have such pairs.
- **Topic words.** The first ``top_n`` distinct, non-empty words of each topic (BERTopic pads short
  topics with empty strings; ``(word, score)`` pairs are accepted). Multi-word terms (n-grams such
  as ``"الشرق الاوسط"``) are matched as contiguous token sequences.
- **Words absent from the corpus** are dropped from their topic before scoring (gensim raises
  instead), counted, and logged as a warning; a topic left with fewer than two words scores NaN and
  is left out of the mean. ``evaluate_topics`` reports the count as ``n_missing_topic_words``.

On topics of single words present in the corpus, ``npmi_coherence`` equals gensim's
``CoherenceModel(coherence="c_npmi")`` and ``cv_coherence`` its ``coherence="c_v"`` to 1e-6
(``tests/unit/topics/test_coherence_gensim.py``); the counting here is vectorised (work grows with
the occurrences of the topic words, not with ``n_tokens * window``), so it is much faster than
gensim's accumulators and needs no gensim at run time.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import scipy.sparse as sp

from arnews_ml.exceptions import ConfigError, DataError
from arnews_ml.topics.topic_words import TopicWords, topic_word_lists

__all__ = [
    "CV_WINDOW",
    "NPMI_GENSIM_WINDOW",
    "cv_coherence",
    "npmi_coherence",
]

logger = logging.getLogger(__name__)

CV_WINDOW = 110  # Röder et al. (2015) and gensim's c_v
NPMI_GENSIM_WINDOW = 10  # gensim's c_npmi / c_uci sliding window


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


def _window_intervals(
    occ: _Occurrences, window: int, n_windows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(first, last, word, doc)``: the window starts (per document) in which gensim counts a
    term present, as intervals sorted by document.

    gensim's ``WordOccurrenceAccumulator`` keeps a set of the terms in the current window: the
    first window's terms, then at each step it removes the token that left on the left and adds
    the one that entered on the right. A term whose occurrence leaves is therefore marked absent
    even when another occurrence of it is still inside the window, until its next occurrence
    enters. We replay exactly these events: an occurrence at tokens ``start .. end`` is *added* at
    step ``max(end - window + 1, 0)`` and *removed* at step ``start + 1`` (a removal comes before
    an addition of the same step); a term is present from each addition up to, not including,
    its next event. Without repeated terms inside a window this is the exact count.
    """
    fits = occ.end - occ.start < window  # an n-gram longer than the window fits in none
    doc, word = occ.doc[fits], occ.word[fits]
    start, end = occ.start[fits], occ.end[fits]
    n = len(doc)
    # Event times: 2*step for removals, 2*step + 1 for additions.
    ev_doc, ev_word = np.concatenate((doc, doc)), np.concatenate((word, word))
    ev_time = np.concatenate((2 * np.maximum(end - window + 1, 0) + 1, 2 * (start + 1)))
    ev_add = np.r_[np.ones(n, dtype=bool), np.zeros(n, dtype=bool)]
    order = np.lexsort((ev_time, ev_word, ev_doc))
    ev_doc, ev_word, ev_time, ev_add = ev_doc[order], ev_word[order], ev_time[order], ev_add[order]
    same_next = np.r_[(ev_doc[1:] == ev_doc[:-1]) & (ev_word[1:] == ev_word[:-1]), False]
    next_time = np.r_[ev_time[1:], 0]
    first = (ev_time - 1) // 2
    last = np.where(same_next, (next_time - 2) // 2, np.iinfo(np.int64).max)
    last = np.minimum(last, n_windows[ev_doc] - 1)
    keep = ev_add & (first <= last)
    return first[keep], last[keep], ev_word[keep], ev_doc[keep]


def _window_counts(occ: _Occurrences, window: int) -> tuple[np.ndarray, int]:
    """Counts over boolean sliding windows (gensim's) without materialising the windows.

    Every term is present over intervals of window starts (:func:`_window_intervals`). Between
    consecutive interval boundaries the set of terms present is constant, so the windows collapse
    into weighted segments: ``counts = P.T @ diag(len) @ P`` with ``P`` the sparse binary
    (segment x term) presence matrix. Work and memory grow with the number of occurrences, not
    with ``n_tokens * window``; documents are processed in chunks.
    """
    n_words = len(occ.words)
    counts = np.zeros((n_words, n_words), dtype=np.float64)
    n_windows = np.maximum(occ.doc_lengths - window + 1, 1)
    window_offset = np.concatenate(([0], np.cumsum(n_windows)))
    first, last, word, doc = _window_intervals(occ, window, n_windows)
    first, stop = window_offset[doc] + first, window_offset[doc] + last + 1
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
    window: int | None = NPMI_GENSIM_WINDOW,
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
        window: Sliding window in tokens (10: gensim's ``c_npmi``, the metric ``npmi``); ``None``
            counts whole documents (the metric ``npmi_doc``, the only choice for a doc-term
            matrix).
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
