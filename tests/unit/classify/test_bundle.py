"""Save -> load round trips of TextClassifier bundles: identical scores, no pickle anywhere."""

from __future__ import annotations

import json

import numpy as np
import pytest

from arnews_ml.classify import TextClassifier, heads
from arnews_ml.exceptions import ArtifactError
from arnews_ml.persist import load_bundle, save_bundle
from arnews_ml.testing import FakeEmbedder, build_head

TOPICS = {
    "politics": ["البرلمـــان", "الحكومةُ", "الوزير", "الانتخابات", "النواب", "الدستور"],
    "sports": ["الدوري", "الفريق", "المباراة", "الهدف", "اللاعب", "الملعب"],
    "economy": ["النفط", "الأسعار", "الدولار", "الموازنة", "السوق", "البنك"],
}
NEW_DOCS = ["فاز الفريق في المباراة", "ارتفعت أسعار النفط والدولار", "صوّت البرلمـــان", ""]


def make_corpus(n_per: int = 10, *, multi: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    names = sorted(TOPICS)
    texts, labels = [], []
    for t, name in enumerate(names):
        for i in range(n_per):
            words = [*rng.choice(TOPICS[name], 4), "اليوم", "2024"]
            row = [name]
            if multi and i % 3 == 0:
                other = names[(t + 1) % len(names)]
                words += list(rng.choice(TOPICS[other], 3))
                row.append(other)
            texts.append(" ".join(words))
            labels.append(row)
    return texts, labels


def _round_trip(clf: TextClassifier, path) -> TextClassifier:
    bundle = save_bundle(clf, path)
    names = [p.name for p in bundle.rglob("*") if p.is_file()]
    assert not [n for n in names if n.endswith((".pkl", ".pickle", ".joblib"))], names
    loaded = load_bundle(bundle)
    assert isinstance(loaded, TextClassifier)
    texts = NEW_DOCS
    assert np.array_equal(
        loaded.predict_scores(texts).to_numpy(), clf.predict_scores(texts).to_numpy()
    )
    assert loaded.predict(texts) == clf.predict(texts)
    assert loaded.labels_ == clf.labels_ and loaded.multilabel_ == clf.multilabel_
    assert np.array_equal(loaded.thresholds_, clf.thresholds_)
    assert loaded.min_labels == clf.min_labels
    return loaded


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", ["logreg", "linear_svc", "sgd", "knn", "mlp"])
@pytest.mark.parametrize("multi", [False, True])
def test_round_trip_every_head_with_fake_embedder(tmp_path, name, multi):
    texts, labels = make_corpus(multi=multi)
    val = make_corpus(3, multi=multi, seed=1)
    params = {"knn": {"n_neighbors": 5}, "mlp": {"hidden_layer_sizes": [8], "max_iter": 50}}
    clf = TextClassifier(FakeEmbedder(dim=16), build_head(name, **params.get(name, {})))
    clf.fit(texts, labels, *val)
    _round_trip(clf, tmp_path / "bundle")


def test_round_trip_chain_and_manifest_contents(tmp_path):
    texts, labels = make_corpus(multi=True)
    val = make_corpus(3, multi=True, seed=1)
    clf = TextClassifier(FakeEmbedder(dim=16), heads.logreg(), chain=True, min_labels=0)
    clf.fit(texts, labels, *val)
    loaded = _round_trip(clf, tmp_path / "m")
    assert loaded.chain is True and loaded.min_labels == 0
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "classifier"
    assert manifest["class"] == "arnews_ml.classify.model:TextClassifier"
    assert manifest["labels"] == ["economy", "politics", "sports"]
    assert manifest["task"] == "multilabel"
    assert set(manifest["thresholds"]) == set(manifest["labels"])
    assert manifest["thresholds_tuned"] is True
    assert manifest["embedder"]["kind"] == "fake"
    assert manifest["head"]["class"] == "sklearn.linear_model._logistic:LogisticRegression"
    assert "head.skops" in manifest["files"]


def test_round_trip_with_tfidf_embedder_and_text_cleaner(tmp_path):
    from arnews_ml.embed.tfidf import TfidfEmbedder
    from arnews_ml.text.cleaner import TextCleaner
    from arnews_ml.text.normalize import Normalizer

    texts, labels = make_corpus(multi=True)
    cleaner = TextCleaner(normalizer=Normalizer()).fit(texts)
    clf = TextClassifier(
        TfidfEmbedder(analyzer="word", min_df=1, max_df=1.0), heads.logreg(), cleaner=cleaner
    )
    clf.fit(texts, labels)
    loaded = _round_trip(clf, tmp_path / "tfidf")
    assert isinstance(loaded.cleaner, TextCleaner)
    assert loaded.cleaner.to_dict() == cleaner.to_dict()
    manifest = json.loads((tmp_path / "tfidf" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["cleaner"]["class"] == "arnews_ml.text.cleaner:TextCleaner"


def test_cleaner_that_cannot_be_saved_is_refused(tmp_path):
    texts, labels = make_corpus()
    # a plain function cleans fine but has no to_dict, so it cannot travel in a bundle
    clf = TextClassifier(FakeEmbedder(dim=16), heads.logreg(), cleaner=lambda batch: batch)
    clf.fit(texts, labels)
    with pytest.raises(ArtifactError, match="needs to_dict"):
        save_bundle(clf, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_unfitted_model_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        save_bundle(TextClassifier(FakeEmbedder(), heads.logreg()), tmp_path / "y")


def test_tampered_cleaner_class_is_refused(tmp_path):
    from arnews_ml.text.cleaner import load_cleaner

    with pytest.raises(ArtifactError, match=r"only classes under arnews_ml\. are loaded"):
        load_cleaner({"class": "os:system", "state": {}}, tmp_path)
