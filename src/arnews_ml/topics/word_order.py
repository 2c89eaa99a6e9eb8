"""Topic words ordered by local co-occurrence: which of a topic's c-TF-IDF words lead its list.

c-TF-IDF ranks a topic's words by how much they set the topic apart; a reader (and the standard
NPMI coherence, gensim's ``c_npmi``) also wants the leading words to belong together: to be
used near one another in the same articles. :func:`cooccurrence_order` keeps a topic's word
*set* (its c-TF-IDF top-n) and re-orders only its first ``n_lead`` words, greedily:

1. the topic's first c-TF-IDF word leads;
2. each next word is the remaining candidate with the highest
   ``mean NPMI(candidate, words chosen so far) + prior * (1 - c-TF-IDF rank / n)``, where NPMI
   counts boolean sliding windows of ``window`` tokens over the corpus the model was fitted on
   (the counting of :mod:`arnews_ml.topics.coherence`);
3. the other words follow in c-TF-IDF order.

``prior`` keeps c-TF-IDF's say (0: co-occurrence alone). The set of top-n words is unchanged,
so topic diversity over the top-n is too. Word scores stay the c-TF-IDF scores, so after
re-ordering they are no longer sorted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from arnews_ml.exceptions import ConfigError
from arnews_ml.topics.coherence import _cooccurrence, _npmi_matrix

__all__ = ["cooccurrence_order"]

#: NPMI given to a pair whose words never occur (cannot happen for words of the fitted corpus's
#: vocabulary; a guard, the lowest NPMI).
_UNSEEN = -1.0


def cooccurrence_order(
    topic_words: Mapping[int, Sequence[str]],
    tokens: Sequence[Sequence[str]],
    *,
    window: int,
    n_lead: int,
    prior: float,
    eps: float = 1e-12,
) -> dict[int, list[str]]:
    """Re-order each topic's words so that its first ``n_lead`` co-occur locally (see module).

    Args:
        topic_words: ``{topic: [word, ...]}`` in c-TF-IDF order (n-grams space-joined).
        tokens: The fitted corpus as token lists (the topic analyzer's output).
        window: Sliding window in tokens (10: gensim's ``c_npmi``).
        n_lead: Words chosen greedily; the rest keep their order.
        prior: Weight of the c-TF-IDF rank, ``>= 0``.
        eps: Smoothing inside NPMI's logarithms, as in gensim.

    Returns:
        ``{topic: words}``: the same words per topic, re-ordered.
    """
    if not isinstance(window, int) or window < 2:
        raise ConfigError(f"topic_model.word_order_window must be an int >= 2; got {window!r}.")
    if not isinstance(n_lead, int) or n_lead < 2:
        raise ConfigError(f"topic_model.word_order_lead must be an int >= 2; got {n_lead!r}.")
    if prior < 0:
        raise ConfigError(f"topic_model.word_order_prior must be >= 0; got {prior!r}.")
    words = sorted({w for ws in topic_words.values() for w in ws})
    if not words:
        return {int(t): list(ws) for t, ws in topic_words.items()}
    index = {w: i for i, w in enumerate(words)}
    counts, n_units = _cooccurrence(words, list(tokens), None, window)
    npmi = np.nan_to_num(_npmi_matrix(counts, n_units, eps), nan=_UNSEEN)
    out: dict[int, list[str]] = {}
    for topic, candidates in topic_words.items():
        candidates = list(candidates)
        n = len(candidates)
        if n <= 2:
            out[int(topic)] = candidates
            continue
        ids = np.array([index[w] for w in candidates])
        pair = npmi[np.ix_(ids, ids)]
        rank_prior = prior * (1.0 - np.arange(n) / n)
        chosen = [0]
        open_ = np.ones(n, dtype=bool)
        open_[0] = False
        total = pair[:, 0].copy()  # sum of NPMI with the chosen words, per candidate
        while len(chosen) < min(n_lead, n):
            score = np.where(open_, total / len(chosen) + rank_prior, -np.inf)
            best = int(np.argmax(score))  # ties: the better c-TF-IDF rank
            chosen.append(best)
            open_[best] = False
            total += pair[:, best]
        lead = [candidates[i] for i in chosen]
        out[int(topic)] = lead + [w for i, w in enumerate(candidates) if open_[i]]
    return out
