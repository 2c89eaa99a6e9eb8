"""Topic metrics on tiny hand-checked corpora: diversity, labels, stability, evaluate_topics.

NPMI and C_v themselves are tested in ``test_coherence.py``.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from arnews_ml.exceptions import ConfigError, DataError
from arnews_ml.topics import coherence, metrics, topic_words
from arnews_ml.topics.metrics import (
    cv_coherence,
    evaluate_topics,
    label_alignment,
    npmi_coherence,
    topic_diversity,
    topic_label_table,
    topic_stability,
)

# Four documents. Document frequencies (N = 4):
#   a {0,1} 1/2   b {0,1} 1/2   c {0,2} 1/2   d {1,2} 1/2   x {2,3} 1/2   e {3} 1/4   y {3} 1/4
DOCS = [["a", "b", "c"], ["a", "b", "d"], ["c", "d", "x"], ["e", "x", "y"]]


def test_coherence_names_are_re_exported():
    for name in ("CV_WINDOW", "NPMI_GENSIM_WINDOW", "cv_coherence", "npmi_coherence"):
        assert name in metrics.__all__
        assert getattr(metrics, name) is getattr(coherence, name)
    for name in ("OUTLIER_TOPIC", "topic_word_lists"):
        assert name in metrics.__all__
        assert getattr(metrics, name) is getattr(topic_words, name)


# --- diversity -----------------------------------------------------------------------------------


def test_topic_diversity():
    # 2 topics of 3 words sharing one word: 5 unique / 6 -> 5/6.
    assert topic_diversity([["a", "b", "c"], ["c", "d", "e"]]) == pytest.approx(5 / 6)
    assert topic_diversity({-1: ["a", "b"], 0: ["a", "b"], 1: ["c", "d"]}) == 1.0
    assert topic_diversity([["a", "b", "c"], ["a", "b", "d"]], top_n=2) == pytest.approx(0.5)
    assert math.isnan(topic_diversity({-1: ["a"]}))


# --- label alignment -----------------------------------------------------------------------------


def test_label_alignment_perfect_and_crossed():
    perfect = label_alignment([0, 0, 1, 1], [["sport"], ["sport"], ["economy"], ["economy"]])
    assert perfect["label_nmi"] == pytest.approx(1.0)
    assert perfect["label_ari"] == pytest.approx(1.0)
    assert perfect["n_aligned"] == 4
    # Topics cut across the labels: no shared information, ARI below chance.
    crossed = label_alignment([0, 1, 0, 1], ["sport", "sport", "economy", "economy"])
    assert crossed["label_nmi"] == pytest.approx(0.0, abs=1e-12)
    assert crossed["label_ari"] == pytest.approx(-0.5)


def test_label_alignment_expands_multi_label_docs_and_skips_outliers():
    topics = [0, 0, 1, -1, 2]
    labels = [["sport", "culture"], ["sport"], "economy", ["sport"], None]
    result = label_alignment(topics, labels)
    # Pairs: (0,sport) (0,culture) (0,sport) (1,economy); the outlier and the unlabelled doc go.
    pairs_true = ["sport", "culture", "sport", "economy"]
    pairs_pred = [0, 0, 0, 1]
    assert result["n_label_pairs"] == 4
    assert result["n_aligned"] == 3
    assert result["n_unlabelled"] == 1
    assert result["label_nmi"] == pytest.approx(
        normalized_mutual_info_score(pairs_true, pairs_pred)
    )
    assert result["label_ari"] == pytest.approx(adjusted_rand_score(pairs_true, pairs_pred))
    with_outliers = label_alignment(topics, labels, ignore_outliers=False)
    assert with_outliers["n_label_pairs"] == 5


def test_label_alignment_edge_cases():
    empty = label_alignment([0, 1], [None, []])
    assert math.isnan(empty["label_nmi"]) and empty["n_aligned"] == 0
    with pytest.raises(DataError, match="one entry per document"):
        label_alignment([0, 1, 2], [["a"], ["b"]])


def test_topic_label_table_counts_shares_and_names():
    topics = [0, 0, 1, -1, 1]
    labels = [["sport", "culture"], ["sport"], ["economy"], ["sport"], None]
    table = topic_label_table(topics, labels, {0: "رياضة", 1: "اقتصاد"})
    assert list(table.index) == [-1, 0, 1]
    assert list(table.columns) == ["topic_label", "culture", "economy", "sport", "total"]
    assert table.loc[0, "sport"] == 2 and table.loc[0, "culture"] == 1
    assert table.loc[0, "total"] == 2  # documents, not label pairs
    assert table.loc[1, "total"] == 1  # the unlabelled doc is not counted...
    assert table.attrs["n_unlabelled"] == 1  # ...but reported
    assert table.loc[-1, "topic_label"] == "outliers"
    assert table.loc[0, "topic_label"] == "رياضة"
    shares = topic_label_table(topics, labels, normalize=True, ignore_outliers=True)
    assert list(shares.index) == [0, 1]
    assert shares.loc[0, "sport"] == pytest.approx(1.0)
    assert shares.loc[0, "culture"] == pytest.approx(0.5)
    assert "topic_label" not in shares.columns


# --- stability ---------------------------------------------------------------------------------


RUN = {0: ["a", "b", "c", "d"], 1: ["e", "f", "g", "h"], 2: ["i", "j", "k", "l"]}


def test_stability_identical_disjoint_and_permuted():
    assert topic_stability([RUN, RUN])["stability_overlap"] == pytest.approx(1.0)
    disjoint = {0: ["m", "n", "o", "p"], 1: ["q", "r", "s", "t"], 2: ["u", "v", "w", "z"]}
    assert topic_stability([RUN, disjoint])["stability_overlap"] == 0.0
    permuted = {7: list(reversed(RUN[2])), 3: RUN[0], -1: ["x"], 5: RUN[1]}
    result = topic_stability([RUN, permuted, RUN])
    assert result["stability_overlap"] == pytest.approx(1.0)
    assert result["stability_min"] == pytest.approx(1.0)
    assert result["n_runs"] == 3


def test_stability_partial_overlap_and_unmatched_topics():
    # Topic 0 shares 2 of 4 words, topic 1 shares 4 of 4; the third topic has no partner.
    other = {0: ["a", "b", "x", "y"], 1: ["e", "f", "g", "h"]}
    result = topic_stability([RUN, other], top_n=4)
    assert result["stability_overlap"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)
    assert result["stability_matched_overlap"] == pytest.approx((0.5 + 1.0) / 2)
    worse = topic_stability([RUN, other, {0: ["z"]}], top_n=4)
    assert worse["stability_min"] == 0.0
    with pytest.raises(ConfigError, match="at least two"):
        topic_stability([RUN])


# --- evaluate_topics -----------------------------------------------------------------------------


def test_evaluate_topics_reports_every_metric():
    topics = {-1: ["a", "x"], 0: ["a", "b", "c"], 1: ["e", "y", "x"]}
    metrics = evaluate_topics(topics, DOCS, doc_topics=[0, 0, 1, -1], fit_seconds=1.5)
    assert metrics["npmi"] == pytest.approx(npmi_coherence(topics, DOCS)[0])
    assert metrics["npmi_doc"] == pytest.approx(npmi_coherence(topics, DOCS, window=None)[0])
    assert metrics["c_v"] == pytest.approx(cv_coherence(topics, DOCS)[0])
    assert metrics["topic_diversity"] == 1.0
    assert metrics["n_topics"] == 2
    assert metrics["outlier_ratio"] == pytest.approx(0.25)
    assert metrics["fit_seconds"] == 1.5
    assert metrics["n_missing_topic_words"] == 0
    windowed = evaluate_topics(topics, DOCS, npmi_window=2, outlier_ratio=0.1)
    assert windowed["npmi"] == pytest.approx(npmi_coherence(topics, DOCS, window=2)[0])
    assert windowed["outlier_ratio"] == 0.1
    assert all(isinstance(v, float) for v in windowed.values())


def test_evaluate_topics_on_a_doc_term_matrix_falls_back_to_documents(caplog):
    vocabulary = ["a", "b", "c", "d", "e", "x", "y"]
    rows, cols = zip(
        *[(i, vocabulary.index(t)) for i, doc in enumerate(DOCS) for t in doc], strict=True
    )
    counts = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(4, len(vocabulary)))
    topics = {0: ["a", "b", "c"]}
    with caplog.at_level(logging.WARNING, logger="arnews_ml.topics.metrics"):
        metrics = evaluate_topics(topics, counts, vocabulary=vocabulary)
    assert metrics["c_v"] == pytest.approx(cv_coherence(topics, DOCS, window=None)[0])
    assert "no token positions" in caplog.text
