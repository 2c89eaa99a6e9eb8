"""Choosing a head's C among candidates on a held-out part of training (classify.choose)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score
from sklearn.svm import LinearSVC

from arnews_ml.classify import TextClassifier, choose, heads
from arnews_ml.persist import load_bundle, save_bundle
from arnews_ml.testing import FakeEmbedder, build_head


def _noisy_blobs(n: int = 300, k: int = 3, dim: int = 300, seed: int = 0):
    """Overlapping classes in many noisy dimensions: C matters (strong regularisation wins)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centers = rng.normal(scale=0.12, size=(k, dim))
    X = centers[y] + rng.normal(size=(n, dim))
    return X, np.eye(k, dtype=int)[y]


def test_the_default_svm_config_carries_a_grid_and_resolves_to_one_c():
    head = build_head("svm")
    assert isinstance(head.C, list) and len(head.C) >= 2
    X, Y = _noisy_blobs()
    resolved = choose.resolve_head(head, X, Y, multilabel=False, tuned=True)
    assert isinstance(resolved, LinearSVC) and resolved.C in head.C
    assert resolved.class_weight == "balanced"  # "auto" on a single-label task
    assert isinstance(head.C, list) and head.class_weight == "auto"  # template untouched
    assert heads.svm(C=0.7).C == 0.7 and heads.svm(C=2, C_grid=[1, 2]).C == [1.0, 2.0]
    assert heads.svm(C=0.7, C_grid=[1, 2]).C == 0.7  # a C outside the grid is fixed


def test_the_chosen_c_is_the_best_on_the_held_out_rows():
    X, Y = _noisy_blobs()
    base = heads.svm(class_weight="balanced")
    candidates = [0.0001, 0.01, 100.0]
    best = choose.choose_c(base, ["C"], candidates, X, Y, multilabel=False)
    # recompute the held-out scores the same way and compare
    order = np.random.default_rng(0).permutation(len(X))
    hold, fit = order[: int(choose.HOLD_OUT * len(X))], order[int(choose.HOLD_OUT * len(X)) :]
    scores = []
    for C in candidates:
        pred = heads.svm(C=C).fit(X[fit], Y[fit].argmax(1)).predict(X[hold])
        scores.append(f1_score(Y[hold].argmax(1), pred, average="macro"))
    assert best == candidates[int(np.argmax(scores))]
    assert len(set(np.round(scores, 6))) > 1  # the candidates really differ here


def test_multilabel_choice_and_small_data_fall_back_to_the_middle_candidate():
    X, Y = _noisy_blobs()
    Y = Y.copy()
    Y[::5, 0] = 1  # some rows with two labels
    best = choose.choose_c(heads.svm(), ["C"], [0.01, 1.0, 10.0], X, Y, multilabel=True)
    assert best in (0.01, 1.0, 10.0)
    few = choose.choose_c(heads.svm(), ["C"], [0.01, 1.0, 10.0], X[:30], Y[:30], multilabel=True)
    assert few == 1.0


@pytest.mark.parametrize("multi", [False, True])
def test_a_model_with_the_default_svm_fits_one_c_and_saves_as_plain_arrays(tmp_path, multi):
    rng = np.random.default_rng(1)
    words = {"economy": ["سوق", "نفط", "سهم"], "sports": ["مباراة", "هدف", "فريق"]}
    texts, labels = [], []
    for i in range(60):
        name = sorted(words)[i % 2]
        texts.append(" ".join(rng.choice(words[name], 4)))
        labels.append([name, "economy"] if multi and i % 6 == 1 else [name])
    clf = TextClassifier(FakeEmbedder(dim=16), build_head("svm"))
    clf.fit(texts, labels, texts[:20], labels[:20])
    estimators = clf.head_.estimators_ if multi else [clf.head_]
    assert all(isinstance(e.C, float) and e.C in (0.3, 1.0) for e in estimators)
    loaded = load_bundle(save_bundle(clf, tmp_path / "b"))
    assert (tmp_path / "b" / "head.npz").is_file()
    assert loaded.predict(texts) == clf.predict(texts)
