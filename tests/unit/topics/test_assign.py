"""Fit on a sample, assign every document in chunks, write the assignments as Parquet chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from arnews_ml.config import compose
from arnews_ml.exceptions import ConfigError
from arnews_ml.tasks.fit_topics import build_topic_model
from arnews_ml.testing import themed_corpus as make_corpus
from arnews_ml.testing import topic_purity as purity
from arnews_ml.topics.analysis import document_topics_frame, read_document_topics
from arnews_ml.topics.assign import DocumentTopicsWriter, assign_topics, sample_indices
from arnews_ml.topics.metrics import score_topic_model

DOCS, LABELS = make_corpus()


class FakeModel:
    """Fitted on ``fit_topics``; ``transform`` gives topic = len(text) % 3 and records calls."""

    def __init__(self, fit_topics: list[int]) -> None:
        self.topics_ = np.asarray(fit_topics, dtype=np.int64)
        self.scores_ = np.full(len(fit_topics), 0.5)
        self.calls: list[list[str]] = []

    def transform(self, texts, embed_texts):
        assert len(texts) == len(embed_texts)
        self.calls.append(list(texts))
        return np.array([len(t) % 3 for t in texts], dtype=np.int64), np.full(len(texts), 0.25)


def test_sample_indices_are_seeded_sorted_and_all_when_null():
    a, b = sample_indices(100, 30, seed=7), sample_indices(100, 30, seed=7)
    assert np.array_equal(a, b) and len(a) == 30 and len(set(a.tolist())) == 30
    assert np.all(np.diff(a) > 0) and a.dtype == np.int64
    assert not np.array_equal(a, sample_indices(100, 30, seed=8))
    assert np.array_equal(sample_indices(10, None, 1), np.arange(10))
    assert np.array_equal(sample_indices(10, 50, 1), np.arange(10))  # larger than the corpus
    with pytest.raises(ConfigError, match="fit_sample"):
        sample_indices(100, 1, 1)


def test_assign_topics_keeps_the_fit_and_transforms_the_rest_in_chunks():
    texts = [f"doc {'x' * i}" for i in range(23)]
    fitted = np.array([0, 5, 6, 20])
    model = FakeModel([9, 9, 8, 7])
    chunks = []
    topics, scores = assign_topics(
        model,
        texts,
        fitted=fitted,
        chunk_size=10,
        on_chunk=lambda lo, hi, t, s: chunks.append((lo, hi, t.copy(), s.copy())),
    )
    assert [(lo, hi) for lo, hi, _, _ in chunks] == [(0, 10), (10, 20), (20, 23)]
    assert np.array_equal(np.concatenate([c[2] for c in chunks]), topics)
    assert topics[fitted].tolist() == [9, 9, 8, 7] and np.all(scores[fitted] == 0.5)
    rest = np.setdiff1d(np.arange(23), fitted)
    assert topics[rest].tolist() == [len(texts[i]) % 3 for i in rest]
    assert np.all(scores[rest] == 0.25)
    # only the documents outside the fit are transformed, at most one chunk at a time
    assert sum(len(c) for c in model.calls) == len(rest)
    assert max(len(c) for c in model.calls) <= 10
    assert texts[0] not in model.calls[0]
    with pytest.raises(ConfigError, match="fitted on 4"):
        assign_topics(model, texts, fitted=np.array([1, 2]))
    with pytest.raises(ConfigError, match="assign_chunk_size"):
        assign_topics(model, texts, fitted=fitted, chunk_size=0)


def _frame(lo: int, hi: int) -> pd.DataFrame:
    ids = [f"d{i}" for i in range(lo, hi)]
    return document_topics_frame(
        ids, None, ["src"] * len(ids), [["a"]] * len(ids), np.arange(lo, hi) % 4
    )


def test_writer_appends_row_groups_and_renames_at_the_end(tmp_path):
    path = tmp_path / "out" / "document_topics.parquet"
    with DocumentTopicsWriter(path) as writer:
        writer.write(_frame(0, 5))
        writer.write(_frame(5, 12))
        assert not path.exists()  # only the temporary file until the end
    assert writer.n_rows == 12
    assert pq.ParquetFile(path).metadata.num_row_groups == 2
    frame = read_document_topics(path)
    assert frame["id"].tolist() == [f"d{i}" for i in range(12)]
    assert frame["labels"].tolist() == [["a"]] * 12
    assert list(tmp_path.joinpath("out").iterdir()) == [path]


def test_writer_leaves_nothing_when_interrupted(tmp_path):
    path = tmp_path / "document_topics.parquet"
    with pytest.raises(RuntimeError), DocumentTopicsWriter(path) as writer:
        writer.write(_frame(0, 5))
        raise RuntimeError("killed mid-way")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("option", ["nmf", "bertopic_kmeans"])
def test_fit_on_a_sample_assigns_every_document(option):
    overrides = [f"topic_model={option}", "topic_model.min_df=2", "topic_model.top_n_words=10"]
    overrides += (
        ["topic_model.n_topics=4"]
        if option == "nmf"
        else ["topic_model.clusterer.n_clusters=4", "topic_model.reducer.n_components=5"]
    )
    model = build_topic_model(compose("topics", overrides), None, 42)
    if option != "nmf":
        from arnews_ml.embed import TfidfEmbedder

        model.embedder = TfidfEmbedder()
    fitted = sample_indices(len(DOCS), len(DOCS) // 2, seed=3)
    model.fit([DOCS[i] for i in fitted])
    topics, _ = assign_topics(model, DOCS, fitted=fitted, chunk_size=7)
    assert topics.shape == (len(DOCS),) and np.array_equal(topics[fitted], model.topics_)
    assert purity(topics, LABELS) >= 0.9  # the unseen half lands on its theme's topic too
    metrics = score_topic_model(model, DOCS, [[x] for x in LABELS], doc_topics=topics)
    assert metrics["label_nmi"] > 0.5
    for name in ("npmi", "npmi_doc", "c_v", "topic_diversity"):
        assert np.isfinite(metrics[name]), name
