"""A batch scored in forked slices gives the rows of the batch scored at once."""

from __future__ import annotations

import os

import numpy as np
import pytest

from arnews_ml.classify import TextClassifier, batch_scoring
from arnews_ml.classify.heads import svm
from arnews_ml.embed.tfidf import TfidfEmbedder
from arnews_ml.parallel import can_fork
from arnews_ml.persist import load_bundle, save_bundle

TEXTS = [
    "صوت البرلمان على قانون الموازنة",
    "فاز الفريق في المباراة النهائية",
    "ارتفعت أسعار النفط في الأسواق",
    "النواب يناقشون قانون الانتخابات",
    "اللاعب سجل هدفين في الملعب",
    "البنك المركزي يرفع سعر الفائدة",
]
LABELS = [["politics"], ["sports"], ["economy"], ["politics"], ["sports"], ["economy", "politics"]]


@pytest.fixture(scope="module")
def model() -> TextClassifier:
    embedder = TfidfEmbedder(min_df=1, max_df=1.0)
    return TextClassifier(embedder, svm(), task="multilabel").fit(TEXTS * 3, LABELS * 3)


@pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")
def test_forked_slices_give_the_same_scores(model, monkeypatch):
    batch = [f"{t} {i}" for i in range(7) for t in TEXTS]  # 42 articles, slices of 21
    model.predict_n_jobs = None
    alone = model.predict_scores(batch)
    monkeypatch.setattr(batch_scoring, "MIN_PARALLEL_DOCS", 0)
    model.predict_n_jobs = 2
    assert batch_scoring.workers_for(model.predict_n_jobs, len(batch)) == min(
        2, os.cpu_count() or 1
    )
    sliced = model.predict_scores(batch)
    np.testing.assert_array_equal(sliced.to_numpy(), alone.to_numpy())
    assert model.predict(batch) == model.predict_from_scores(alone)


def test_small_batches_are_scored_here(model):
    assert batch_scoring.workers_for(-1, batch_scoring.MIN_PARALLEL_DOCS - 1) == 1
    assert batch_scoring.workers_for(None, 10**6) == 1


def test_a_loaded_model_scores_large_batches_on_every_core_and_requests_here(model, tmp_path):
    loaded = load_bundle(save_bundle(model, tmp_path / "bundle"))
    assert loaded.predict_n_jobs == -1
    cores = os.cpu_count() or 1
    assert batch_scoring.workers_for(loaded.predict_n_jobs, 10**6) == (cores if can_fork() else 1)
    assert batch_scoring.workers_for(loaded.predict_n_jobs, 50) == 1  # a served request
