"""TextClassifier: task detection and forcing, scores, thresholds, min_labels, chain, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import ClassifierChain

from arnews_ml.classify import TextClassifier, heads
from arnews_ml.exceptions import ConfigError, DataError
from arnews_ml.testing import FakeEmbedder, build_head

# Topic words (with diacritics and tatweel on purpose); documents mix them with shared filler.
TOPICS = {
    "politics": ["البرلمـــان", "الحكومةُ", "الوزير", "الانتخابات", "النواب", "الدستور"],
    "sports": ["الدوري", "الفريق", "المباراة", "الهدف", "اللاعب", "الملعب"],
    "economy": ["النفط", "الأسعار", "الدولار", "الموازنة", "السوق", "البنك"],
}
FILLER = ["اليوم", "في", "بغداد", "2024", "news", "١٢"]


def make_corpus(n_per: int = 10, *, multi: bool = False, seed: int = 0):
    """Texts and label lists; with ``multi`` every third article also gets the next topic."""
    rng = np.random.default_rng(seed)
    names = sorted(TOPICS)
    texts, labels = [], []
    for t, name in enumerate(names):
        for i in range(n_per):
            words = list(rng.choice(TOPICS[name], 4)) + list(rng.choice(FILLER, 2))
            row = [name]
            if multi and i % 3 == 0:
                other = names[(t + 1) % len(names)]
                words += list(rng.choice(TOPICS[other], 4))
                row.append(other)
            texts.append(" ".join(words))
            labels.append(row)
    return texts, labels


def clf_for(**kwargs) -> TextClassifier:
    return TextClassifier(FakeEmbedder(dim=32), heads.logreg(C=10.0), **kwargs)


def test_single_label_data_is_multiclass():
    texts, labels = make_corpus()
    clf = clf_for().fit(texts, labels)
    assert clf.multilabel_ is False
    assert clf.labels_ == ["economy", "politics", "sports"]
    scores = clf.predict_scores(texts)
    assert list(scores.columns) == ["score_economy", "score_politics", "score_sports"]
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-6)
    pred = clf.predict(texts)
    assert all(len(p) == 1 for p in pred)
    assert np.mean([p == t for p, t in zip(pred, labels, strict=True)]) > 0.8
    np.testing.assert_array_equal(clf.thresholds_, [0.5, 0.5, 0.5])


def test_any_article_with_two_labels_means_multilabel():
    texts, labels = make_corpus(multi=True)
    clf = clf_for().fit(texts, labels)
    assert clf.multilabel_ is True
    assert isinstance(clf.head_, OneVsRestClassifier)
    scores = clf.predict_scores(texts).to_numpy()
    assert scores.shape == (len(texts), 3)
    assert np.all((scores >= 0) & (scores <= 1))
    Y = clf.binarize(labels)
    assert (clf.binarize(clf.predict(texts)) == Y).mean() > 0.8


def test_task_can_be_forced_to_multilabel():
    texts, labels = make_corpus()
    clf = clf_for(task="multilabel").fit(texts, labels)
    assert clf.multilabel_ is True and isinstance(clf.head_, OneVsRestClassifier)


def test_forcing_multiclass_on_multilabel_data_names_the_row_and_the_fix():
    texts, labels = make_corpus(multi=True)
    with pytest.raises(DataError, match=r"rows 0, .*task=multilabel"):
        clf_for(task="multiclass").fit(texts, labels)


def test_single_label_article_without_label_is_an_error():
    texts, labels = make_corpus()
    labels[4] = []
    with pytest.raises(
        DataError, match=r"Rows 4 of the training labels have no label.*task=multilabel"
    ):
        clf_for().fit(texts, labels)
    clf = clf_for(task="multilabel").fit(texts, labels)  # a legitimate all-negative row
    assert clf.multilabel_


def test_unknown_task_and_bad_min_labels_are_config_errors():
    texts, labels = make_corpus()
    with pytest.raises(ConfigError, match="'task' must be one of"):
        clf_for(task="binary").fit(texts, labels)
    with pytest.raises(ConfigError, match="min_labels"):
        clf_for(min_labels=-1).fit(texts, labels)
    with pytest.raises(ConfigError, match="min_labels'=5 exceeds"):
        clf_for(min_labels=5, task="multilabel").fit(texts, labels)


def test_label_without_training_examples_is_named():
    texts, labels = make_corpus()
    with pytest.raises(DataError, match="'health' has no positive training example"):
        clf_for().fit(texts, labels, label_set=["economy", "health", "politics", "sports"])
    with pytest.raises(DataError, match="Validation row 1 has label 'health'"):
        clf_for().fit(texts, labels, texts[:2], [["sports"], ["health"]])
    with pytest.raises(DataError, match="at least two labels"):
        clf_for().fit(texts[:3], [["sports"]] * 3)


def test_bad_inputs_name_the_row():
    texts, labels = make_corpus()
    with pytest.raises(DataError, match="has 29 rows but there are 30 texts"):
        clf_for().fit(texts, labels[:-1])
    bad = list(texts)
    bad[2] = None
    with pytest.raises(DataError, match="rows 2 are not strings"):
        clf_for().fit(bad, labels)
    with pytest.raises(DataError, match="Pass both val_texts and val_labels"):
        clf_for().fit(texts, labels, val_texts=texts)
    with pytest.raises(NotFittedError):
        clf_for().predict(["نص"])


def test_thresholds_are_tuned_on_validation_data_only_when_asked():
    texts, labels = make_corpus(multi=True)
    val_texts, val_labels = make_corpus(4, multi=True, seed=1)
    tuned = clf_for().fit(texts, labels, val_texts, val_labels)
    assert tuned.thresholds_tuned_
    assert tuned.thresholds_.shape == (3,)
    assert set(np.round(tuned.thresholds_, 6)) <= set(np.round(np.linspace(0.05, 0.95, 91), 6))
    plain = clf_for(tune_thresholds=False).fit(texts, labels, val_texts, val_labels)
    assert not plain.thresholds_tuned_
    np.testing.assert_array_equal(plain.thresholds_, [0.5, 0.5, 0.5])
    assert plain.fit_seconds_ >= 0 and plain.embed_seconds_ >= 0


def test_min_labels_fills_up_with_the_top_scores():
    texts, labels = make_corpus(multi=True)
    clf = clf_for().fit(texts, labels)
    scores = np.array([[0.2, 0.1, 0.3], [0.9, 0.6, 0.1], [0.1, 0.1, 0.1]])
    assert clf.predict_from_scores(scores) == [["sports"], ["economy", "politics"], ["economy"]]
    clf.min_labels = 0
    assert clf.predict_from_scores(scores) == [[], ["economy", "politics"], []]
    clf.min_labels = 2
    assert clf.predict_from_scores(scores)[0] == ["sports", "economy"]
    clf.thresholds_ = np.array([0.95, 0.5, 0.05])
    clf.min_labels = 1
    assert clf.predict_from_scores(scores)[1] == ["politics", "sports"]


def test_predict_from_scores_accepts_the_score_frame():
    texts, labels = make_corpus()
    clf = clf_for().fit(texts, labels)
    frame = clf.predict_scores(texts[:4])
    assert clf.predict_from_scores(frame) == clf.predict(texts[:4])


def test_predict_frame_is_the_pyfunc_output():
    texts, labels = make_corpus(multi=True)
    clf = clf_for().fit(texts, labels)
    frame = clf.predict_frame(texts[:5])
    assert list(frame.columns) == ["labels", "score_economy", "score_politics", "score_sports"]
    assert all(isinstance(x, list) and x for x in frame["labels"])
    empty = clf.predict_frame([])
    assert len(empty) == 0 and list(empty.columns) == list(frame.columns)


def test_chain_option():
    texts, labels = make_corpus(multi=True)
    clf = clf_for(chain=True).fit(texts, labels)
    assert isinstance(clf.head_, ClassifierChain)
    scores = clf.predict_scores(texts).to_numpy()
    assert scores.shape == (len(texts), 3) and np.all((scores >= 0) & (scores <= 1))
    assert (clf.binarize(clf.predict(texts)) == clf.binarize(labels)).mean() > 0.8


@pytest.mark.parametrize("multi", [False, True])
def test_heads_without_predict_proba_are_squashed_to_unit_interval(multi):
    texts, labels = make_corpus(multi=multi)
    clf = TextClassifier(FakeEmbedder(dim=32), heads.sgd(loss="hinge")).fit(texts, labels)
    assert not hasattr(clf.head_, "predict_proba")
    scores = clf.predict_scores(texts).to_numpy()
    assert np.all((scores >= 0) & (scores <= 1))
    if not multi:
        np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-6)  # softmax


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", ["linear_svc", "sgd", "knn", "mlp"])
def test_every_head_works_inside_the_classifier(name):
    texts, labels = make_corpus(multi=True)
    params = {
        "knn": {"n_neighbors": 5},
        "mlp": {"hidden_layer_sizes": [16], "early_stopping": False},
    }
    clf = TextClassifier(FakeEmbedder(dim=32), build_head(name, **params.get(name, {})))
    scores = clf.fit(texts, labels).predict_scores(texts).to_numpy()
    assert np.all((scores >= 0) & (scores <= 1))


def test_cleaner_runs_before_the_embedder():
    texts, labels = make_corpus()
    seen: list[list[str]] = []

    def cleaner(batch: list[str]) -> list[str]:
        seen.append(list(batch))
        return [t.replace("news", "") for t in batch]

    clf = clf_for(cleaner=cleaner).fit(texts, labels)
    assert seen and all("news" not in t for t in clf._clean(texts))
    clf.predict(["news البرلمـــان"])
    assert seen[-1] == ["news البرلمـــان"]


def test_binarize_rejects_unknown_labels_unless_told():
    texts, labels = make_corpus()
    clf = clf_for().fit(texts, labels)
    with pytest.raises(DataError, match="Row 1 of 'labels' has label 'arts'"):
        clf.binarize([["sports"], ["arts"]])
    np.testing.assert_array_equal(
        clf.binarize([["sports"], ["arts", "economy"]], unknown="ignore"), [[0, 0, 1], [1, 0, 0]]
    )


def test_init_stores_params_only_and_clone_works():
    from sklearn.base import clone

    head = heads.logreg()
    clf = clf_for(min_labels=2, chain=True)
    assert clf.get_params()["min_labels"] == 2
    assert not hasattr(clf, "labels_")
    texts, labels = make_corpus(multi=True)
    clf2 = TextClassifier(FakeEmbedder(dim=32), head).fit(texts, labels)
    assert not hasattr(head, "coef_")  # the head given is cloned, never fitted
    assert not hasattr(clone(clf2), "head_")
    assert isinstance(clf2.predict_scores(texts[:1]), pd.DataFrame)


def test_one_vs_rest_in_parallel_gives_the_same_model():
    texts, labels = make_corpus(multi=True)
    serial = TextClassifier(FakeEmbedder(dim=32), heads.svm()).fit(texts, labels, texts, labels)
    threaded = TextClassifier(FakeEmbedder(dim=32), heads.svm(), n_jobs=-1)
    threaded.fit(texts, labels, texts, labels)
    np.testing.assert_array_equal(
        threaded.predict_scores(texts).to_numpy(), serial.predict_scores(texts).to_numpy()
    )
    np.testing.assert_array_equal(threaded.thresholds_, serial.thresholds_)
    assert threaded.predict(texts) == serial.predict(texts)


def test_tuning_on_given_validation_scores_equals_tuning_inside_fit():
    texts, labels = make_corpus(multi=True)
    val_texts, val_labels = make_corpus(4, multi=True, seed=1)
    inside = clf_for().fit(texts, labels, val_texts, val_labels)
    outside = clf_for().fit(texts, labels)
    assert not outside.thresholds_tuned_
    outside.tune_thresholds_on(outside.predict_scores(val_texts), val_labels)
    assert outside.thresholds_tuned_
    np.testing.assert_array_equal(outside.thresholds_, inside.thresholds_)
    with pytest.raises(DataError, match="val_labels"):
        outside.tune_thresholds_on(outside.predict_scores(val_texts[:2]), [["nope"], []])


def test_auto_class_weight_resolves_per_task():
    texts, labels = make_corpus(multi=True)
    multi = TextClassifier(FakeEmbedder(dim=32), heads.svm(class_weight="auto"))
    multi.fit(texts, labels, texts, labels)
    assert multi.multilabel_ and multi.head.class_weight == "auto"
    assert all(est.class_weight is None for est in multi.head_.estimators_)
    single_texts, single_labels = make_corpus()
    single = TextClassifier(FakeEmbedder(dim=32), heads.svm(class_weight="auto"))
    assert single.fit(single_texts, single_labels).head_.class_weight == "balanced"
