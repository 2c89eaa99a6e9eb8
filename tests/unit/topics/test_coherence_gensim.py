"""NPMI and C_v against gensim's CoherenceModel on the same topics and tokens (to 1e-6).

gensim is a test dependency only (the package counts co-occurrences itself, vectorised); these
tests pin the definitions of ``npmi`` (gensim's ``c_npmi``: boolean sliding windows of 10 tokens)
and ``c_v`` (110-token windows, indirect cosine over NPMI vectors) to the reference code.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from arnews_ml.topics.coherence import cv_coherence, npmi_coherence
from arnews_ml.topics.metrics import evaluate_topics

gensim = pytest.importorskip("gensim")
from gensim.corpora import Dictionary  # noqa: E402
from gensim.models.coherencemodel import CoherenceModel  # noqa: E402


def _gensim(topics: list[list[str]], texts: list[list[str]], measure: str) -> list[float]:
    dictionary = Dictionary(texts)
    model = CoherenceModel(
        topics=topics, texts=texts, dictionary=dictionary, coherence=measure, processes=1
    )
    return [float(v) for v in model.get_coherence_per_topic()]


def _corpus(seed: int, n_docs: int, vocab_size: int, max_len: int) -> list[list[str]]:
    """Documents of Zipf-like words, some longer than both windows, a few topical clusters."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(vocab_size)]
    weights = [1.0 / (i + 1) for i in range(vocab_size)]
    docs = []
    for _ in range(n_docs):
        theme = rng.randrange(4)
        themed = vocab[theme * 5 : theme * 5 + 5]
        length = rng.randint(1, max_len)
        docs.append(
            [
                rng.choice(themed) if rng.random() < 0.3 else rng.choices(vocab, weights)[0]
                for _ in range(length)
            ]
        )
    return docs


TOPICS = [
    ["w0", "w1", "w2", "w3", "w4"],
    ["w5", "w6", "w7", "w8", "w9", "w30", "w31"],
    ["w10", "w11", "w12", "w13", "w14", "w15", "w16", "w17", "w18", "w19"],
    ["w0", "w20", "w40", "w55", "w59"],
]


@pytest.mark.parametrize(("seed", "max_len"), [(1, 8), (2, 40), (3, 260)])
def test_npmi_equals_gensim_c_npmi(seed, max_len):
    docs = _corpus(seed, n_docs=150, vocab_size=60, max_len=max_len)
    _, ours = npmi_coherence(TOPICS, docs)  # default: 10-token windows
    expected = _gensim(TOPICS, docs, "c_npmi")
    assert ours == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("seed", "max_len"), [(4, 30), (5, 300)])
def test_cv_equals_gensim_c_v(seed, max_len):
    docs = _corpus(seed, n_docs=120, vocab_size=60, max_len=max_len)
    _, ours = cv_coherence(TOPICS, docs)
    expected = _gensim(TOPICS, docs, "c_v")
    assert ours == pytest.approx(expected, abs=1e-6)


def test_evaluate_topics_npmi_and_c_v_are_gensims_and_npmi_doc_is_whole_documents():
    docs = _corpus(6, n_docs=100, vocab_size=60, max_len=120)
    topics = dict(enumerate(TOPICS))
    metrics = evaluate_topics(topics, docs)
    assert metrics["npmi"] == pytest.approx(np.mean(_gensim(TOPICS, docs, "c_npmi")), abs=1e-6)
    assert metrics["c_v"] == pytest.approx(np.mean(_gensim(TOPICS, docs, "c_v")), abs=1e-6)
    # npmi_doc: gensim's c_npmi with a window longer than every document (= whole documents).
    whole = CoherenceModel(
        topics=TOPICS,
        texts=docs,
        dictionary=Dictionary(docs),
        coherence="c_npmi",
        window_size=1000,
        processes=1,
    ).get_coherence()
    assert metrics["npmi_doc"] == pytest.approx(whole, abs=1e-6)
    assert metrics["npmi_doc"] != pytest.approx(metrics["npmi"], abs=1e-3)
