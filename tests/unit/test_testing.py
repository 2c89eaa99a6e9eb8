"""arnews_ml.testing: the fake embedder and the tiny sentence-transformers builder."""

from __future__ import annotations

import numpy as np

from arnews_ml.testing import FakeEmbedder, build_tiny_sentence_transformer

TEXTS = ["كَتَبَ الولدُ درسَه", "ارتفعت أسعار النفط 85 دولاراً", "news from Baghdad"]


def test_fake_embedder_is_deterministic_and_normalised() -> None:
    a = FakeEmbedder(dim=8).encode([*TEXTS, ""])
    b = FakeEmbedder(dim=8).encode([*TEXTS, ""])
    assert a.dtype == np.float32 and a.shape == (4, 8)
    assert np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-6)
    assert not np.array_equal(a, FakeEmbedder(dim=8, seed=1).encode([*TEXTS, ""]))


def test_fake_embedder_shared_words_are_closer() -> None:
    vecs = FakeEmbedder(dim=32).encode(["النفط أسعار", "أسعار النفط اليوم", "فاز فريق الزوراء"])
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]


def test_tiny_model_builds_offline_and_loads(tmp_path) -> None:
    from sentence_transformers import SentenceTransformer

    path = build_tiny_sentence_transformer(tmp_path / "m", TEXTS, dim=16, seed=1)
    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    vecs = model.encode(TEXTS, show_progress_bar=False)
    assert vecs.shape == (3, 16)
    again = build_tiny_sentence_transformer(tmp_path / "m2", TEXTS, dim=16, seed=1)
    vecs2 = SentenceTransformer(str(again), device="cpu").encode(TEXTS, show_progress_bar=False)
    assert np.allclose(vecs, vecs2, atol=1e-6)


def test_themed_corpus_is_deterministic_and_purity_is_hand_checked():
    from arnews_ml.testing import TOPIC_THEMES, themed_corpus, topic_purity

    docs, labels = themed_corpus(n_per_theme=3, seed=1)
    assert len(docs) == 3 * len(TOPIC_THEMES) and themed_corpus(3, 1) == (docs, labels)
    assert themed_corpus(3, 2)[0] != docs
    # topics [0, 0, 1, 1] over labels [a, a, a, b]: topic 0 -> 2 of 2, topic 1 -> 1 of 2
    assert topic_purity([0, 0, 1, 1], ["a", "a", "a", "b"]) == 0.75
