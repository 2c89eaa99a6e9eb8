"""Topic coherence on tiny hand-checked corpora: NPMI, C_v, sliding windows, doc-term matrices."""

from __future__ import annotations

import logging
import math
import random
from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp

from arnews_ml.exceptions import ConfigError, DataError
from arnews_ml.topics.coherence import cv_coherence, npmi_coherence
from arnews_ml.topics.topic_words import topic_word_lists

# Four documents. Document frequencies (N = 4):
#   a {0,1} 1/2   b {0,1} 1/2   c {0,2} 1/2   d {1,2} 1/2   x {2,3} 1/2   e {3} 1/4   y {3} 1/4
DOCS = [["a", "b", "c"], ["a", "b", "d"], ["c", "d", "x"], ["e", "x", "y"]]

# The same shape with Arabic tokens: sport words together, economy words together.
SPORT = ["مباراة", "فريق", "هدف", "الدوري"]
ECONOMY = ["النفط", "اسعار", "البرميل", "الموازنة"]
ARABIC_DOCS = [
    ["فاز", "فريق", "الزوراء", "في", "مباراة", "الدوري", "بهدف"],
    ["سجل", "الفريق", "هدف", "في", "مباراة", "الدوري", "فريق"],
    ["مباراة", "فريق", "هدف", "الدوري", "اليوم"],
    ["ارتفعت", "اسعار", "النفط", "الى", "85", "دولارا", "للبرميل", "البرميل"],
    ["النفط", "يدعم", "الموازنة", "و", "اسعار", "البرميل"],
    ["الموازنة", "تعتمد", "على", "النفط", "اسعار", "البرميل"],
]


EPS = 1e-12  # gensim's EPSILON


def npmi_by_hand(joint: float, p_a: float, p_b: float) -> float:
    return math.log((joint + EPS) / (p_a * p_b)) / -math.log(joint + EPS)


# --- NPMI ---------------------------------------------------------------------------------------


def test_npmi_hand_checked_pairs():
    # a,b: together in 2 of 4 docs, each in 2 -> log(0.5 / 0.25) / -log(0.5) = 1.
    # (whole documents: window=None, the metric npmi_doc)
    assert npmi_coherence([["a", "b"]], DOCS, window=None)[0] == pytest.approx(1.0)
    # a,e never co-occur -> gensim's epsilon: log(eps / (1/2 * 1/4)) / -log(eps), a bit above -1.
    never = math.log(EPS / (0.5 * 0.25)) / -math.log(EPS)
    assert -0.93 < never < -0.92
    assert npmi_coherence([["a", "e"]], DOCS, window=None)[0] == pytest.approx(never, abs=1e-12)
    # a,c: together in 1 of 4, each in 2: P(a,c) = 1/4 = P(a)P(c) -> independent -> 0.
    assert npmi_coherence([["a", "c"]], DOCS, window=None)[0] == pytest.approx(0.0, abs=1e-9)
    # e,y: together in 1 of 4, each in 1: log(0.25 / 0.0625) / -log(0.25) = 1.
    assert npmi_by_hand(0.25, 0.25, 0.25) == pytest.approx(1.0)
    assert npmi_coherence([["e", "y"]], DOCS, window=None)[0] == pytest.approx(1.0)
    # Every document is shorter than gensim's 10-token window: the default is the same here.
    assert npmi_coherence([["a", "e"]], DOCS)[0] == pytest.approx(never, abs=1e-12)


def test_npmi_topic_mean_over_pairs_then_over_topics():
    # [a,b,c]: pairs ab = 1, ac = 0, bc = 0 -> 1/3.  [a,e]: never (~ -0.92).
    never = math.log(EPS / (0.5 * 0.25)) / -math.log(EPS)
    mean, per_topic = npmi_coherence({0: ["a", "b", "c"], 1: ["a", "e"]}, DOCS)
    assert per_topic == pytest.approx([1 / 3, never], abs=1e-9)
    assert mean == pytest.approx((1 / 3 + never) / 2, abs=1e-9)


def test_npmi_top_n_outlier_topic_and_bertopic_pairs():
    topics = {
        -1: ["a", "e"],  # the outlier topic is never scored
        3: [("a", 0.9), ("b", 0.5), ("", 1e-5), ("c", 0.1)],  # BERTopic pads with empty strings
    }
    mean, per_topic = npmi_coherence(topics, DOCS, top_n=2)
    assert per_topic == pytest.approx([1.0])  # only a, b
    assert mean == pytest.approx(1.0)
    assert topic_word_lists(topics, 3) == {3: ["a", "b", "c"]}


def test_npmi_sliding_window_hand_checked():
    # window=2 gives 8 windows: ab bc | ab bd | cd dx | ex xy.
    # a in 2, b in 4, a&b in 2 -> log((2/8) / ((2/8)(4/8))) / -log(2/8) = log 2 / log 4 = 0.5.
    assert npmi_coherence([["a", "b"]], DOCS, window=2)[0] == pytest.approx(0.5)
    # a and c share document 0 but never a 2-token window -> about -1 (gensim's epsilon).
    # a in 2 windows, c in 2, never together: log(eps / (2/8 * 2/8)) / -log(eps).
    never = math.log(EPS / (0.25 * 0.25)) / -math.log(EPS)
    assert npmi_coherence([["a", "c"]], DOCS, window=2)[0] == pytest.approx(never, abs=1e-12)
    # A window larger than every document is the document itself.
    assert npmi_coherence([["a", "c"]], DOCS, window=50)[0] == pytest.approx(
        npmi_coherence([["a", "c"]], DOCS, window=None)[0]
    )


def test_npmi_ngram_terms_match_contiguous_tokens():
    # "a b" occurs in docs 0 and 1 (like a alone); "b a" occurs nowhere and is dropped.
    assert npmi_coherence([["a b", "c"]], DOCS)[0] == pytest.approx(0.0, abs=1e-9)
    assert npmi_coherence([["a b", "a"]], DOCS)[0] == pytest.approx(1.0)
    assert math.isnan(npmi_coherence([["b a", "c"]], DOCS)[0])


def test_absent_words_are_dropped_and_reported(caplog):
    with caplog.at_level(logging.WARNING, logger="arnews_ml.topics.coherence"):
        mean, per_topic = npmi_coherence({0: ["a", "b", "zzz"], 1: ["a", "qqq"]}, DOCS)
    assert per_topic[0] == pytest.approx(1.0)  # scored on a, b only
    assert math.isnan(per_topic[1])  # one word left: not scorable
    assert mean == pytest.approx(1.0)  # NaN topics are left out of the mean
    assert "coherence_missing_words=2" in caplog.text
    assert math.isnan(npmi_coherence([["zzz", "qqq"]], DOCS)[0])
    assert math.isnan(npmi_coherence([["a", "b"]], [[], []])[0])  # empty corpus: no crash


def _brute_force_npmi(topic: list[str], docs: list[list[str]], window: int) -> float:
    """gensim's counting replayed window by window: a set of the terms in the current window;
    at each step the terms whose occurrence starts at the token that left are removed (even if
    another occurrence is still inside), those whose occurrence ends at the token that entered
    are added."""
    windows = []
    for doc in docs:

        def at(i: int, term: str, doc: list[str] = doc) -> bool:
            parts = term.split()
            return doc[i : i + len(parts)] == parts

        def ends_at(j: int, term: str) -> bool:
            k = len(term.split())
            return j - k + 1 >= 0 and at(j - k + 1, term)

        first = doc[:window]
        state = {
            t
            for t in topic
            if any(first[i : i + len(t.split())] == t.split() for i in range(len(first)))
        }
        windows.append(set(state))
        for s in range(1, max(len(doc) - window + 1, 1)):
            state -= {t for t in topic if at(s - 1, t)}
            state |= {t for t in topic if ends_at(s + window - 1, t) and len(t.split()) <= window}
            windows.append(set(state))

    def has(win: set[str], term: str) -> bool:
        return term in win

    n = len(windows)
    present = {t: {i for i, w in enumerate(windows) if has(w, t)} for t in topic}
    scores = []
    for a, b in combinations([t for t in topic if present[t]], 2):
        joint = len(present[a] & present[b])
        if joint == n:
            scores.append(1.0)
        else:
            scores.append(npmi_by_hand(joint / n, len(present[a]) / n, len(present[b]) / n))
    return float(np.mean(scores)) if scores else float("nan")


@pytest.mark.parametrize("window", [1, 3, 7])
def test_sliding_window_counts_match_brute_force(window):
    rng = random.Random(window)
    vocab = list("abcdefgh")
    docs = [[rng.choice(vocab) for _ in range(rng.randint(0, 14))] for _ in range(40)]
    topics = [["a", "b", "c", "d"], ["e", "f g", "h", "a"], ["b b", "c", "d e"]]
    _, per_topic = npmi_coherence(topics, docs, window=window)
    expected = [_brute_force_npmi(t, docs, window) for t in topics]
    assert per_topic == pytest.approx(expected, abs=1e-9, nan_ok=True)


def test_doc_term_matrix_gives_the_same_as_tokens():
    vocabulary = ["a", "b", "c", "d", "e", "x", "y"]
    rows, cols = zip(
        *[(i, vocabulary.index(t)) for i, doc in enumerate(DOCS) for t in doc], strict=True
    )
    counts = sp.csr_matrix((np.full(len(rows), 2.0), (rows, cols)), shape=(4, len(vocabulary)))
    topics = {0: ["a", "b", "c"], 1: ["a", "e", "y"]}
    _, from_tokens = npmi_coherence(topics, DOCS, window=None)
    _, from_matrix = npmi_coherence(topics, counts, vocabulary=vocabulary, window=None)
    assert from_matrix == pytest.approx(from_tokens)
    mapping = {w: i for i, w in enumerate(vocabulary)}
    _, from_mapping = npmi_coherence(topics, counts, vocabulary=mapping, window=None)
    assert from_mapping == pytest.approx(from_tokens)
    with pytest.raises(ConfigError, match="token sequences"):
        npmi_coherence(topics, counts, vocabulary=vocabulary)  # the default window is 10
    with pytest.raises(ConfigError, match="vocabulary"):
        npmi_coherence(topics, counts, window=None)
    with pytest.raises(DataError, match="columns"):
        npmi_coherence(topics, counts, vocabulary=vocabulary[:3], window=None)


def test_bad_inputs_are_named():
    with pytest.raises(DataError, match="tokenise first"):
        npmi_coherence([["a", "b"]], ["a b c", "a b d"])
    with pytest.raises(DataError, match="not a list of words"):
        npmi_coherence({0: "a b"}, DOCS)
    with pytest.raises(ConfigError, match="top_n"):
        npmi_coherence([["a", "b"]], DOCS, top_n=0)
    with pytest.raises(ConfigError, match="window"):
        npmi_coherence([["a", "b"]], DOCS, window=0)


# --- C_v -----------------------------------------------------------------------------------------


def test_cv_hand_checked():
    # Document windows (every doc is shorter than 110). NPMI matrix of [a, b, c]:
    #   a [1, 1, 0]   b [1, 1, 0]   c [0, 0, 1]   -> topic vector W = [2, 2, 1], |W| = 3.
    # cos(a, W) = cos(b, W) = 4 / (sqrt(2) * 3);  cos(c, W) = 1 / 3.
    expected = (2 * 4 / (math.sqrt(2) * 3) + 1 / 3) / 3
    mean, per_topic = cv_coherence([["a", "b", "c"]], DOCS)
    assert per_topic == pytest.approx([expected])
    assert mean == pytest.approx(expected)
    assert cv_coherence([["a", "b", "c"]], DOCS, window=None)[0] == pytest.approx(expected)


def test_cv_prefers_coherent_topics():
    coherent = [SPORT, ECONOMY]
    mixed = [SPORT[:2] + ECONOMY[:2], ECONOMY[2:] + SPORT[2:]]
    good, good_topics = cv_coherence(coherent, ARABIC_DOCS)
    bad, _ = cv_coherence(mixed, ARABIC_DOCS)
    assert good > bad
    assert all(0.0 <= s <= 1.0 for s in good_topics)
    assert npmi_coherence(coherent, ARABIC_DOCS)[0] > npmi_coherence(mixed, ARABIC_DOCS)[0]
