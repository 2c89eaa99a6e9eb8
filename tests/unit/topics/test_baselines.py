"""LDA and NMF baselines: same surface as BERTopic, themes recovered, exact save -> load."""

from __future__ import annotations

import numpy as np
import pytest

from arnews_ml.config import compose
from arnews_ml.exceptions import ConfigError
from arnews_ml.persist import load_bundle, read_manifest, save_bundle
from arnews_ml.tasks.fit_topics import build_topic_model
from arnews_ml.testing import themed_corpus as make_corpus
from arnews_ml.testing import topic_purity as purity
from arnews_ml.text.stopwords import arabic_stopwords
from arnews_ml.topics.baselines import (
    LdaBackend,
    LdaOptions,
    NmfBackend,
    NmfOptions,
    assign_topics,
    topic_words,
)
from arnews_ml.topics.model import TopicModel

DOCS, LABELS = make_corpus()


@pytest.fixture(scope="module", params=["lda", "nmf"])
def fitted(request) -> TopicModel:
    overrides = [f"topic_model={request.param}", "topic_model.n_topics=4", "topic_model.min_df=2"]
    return build_topic_model(compose("topics", overrides), None, 42).fit(DOCS)


def test_baseline_recovers_the_themes(fitted):
    assert fitted.topics_.dtype == np.int64 and fitted.topics_.shape == (len(DOCS),)
    assert set(fitted.topic_words_) == {0, 1, 2, 3}
    # LDA on 10-word documents is seed-sensitive (other seeds merge two themes: 0.75)
    assert purity(fitted.topics_, LABELS) >= (0.75 if fitted.backend.name == "lda" else 0.9)
    assert fitted.outlier_ratio_ == 0.0
    assert np.all((fitted.scores_ > 0) & (fitted.scores_ <= 1))
    assert sum(fitted.topic_sizes_.values()) == len(DOCS)
    assert fitted.backend_.model_.random_state == 42


def test_baseline_topic_words_are_clean_arabic(fitted):
    stops = arabic_stopwords()
    for words in fitted.top_words(10).values():
        assert len(words) == 10
        for word in words:
            assert word not in stops
            assert not any(c.isdigit() or "a" <= c.lower() <= "z" for c in word)


def test_baseline_same_surface(fitted):
    topics, scores = fitted.transform(DOCS[:8])
    assert topics.tolist() == fitted.topics_[:8].tolist()
    assert np.allclose(scores, fitted.scores_[:8])
    frame = fitted.predict_frame(DOCS[:5])
    assert list(frame.columns) == ["topic", "topic_label", "topic_score"]
    assert [str(t) for t in frame.dtypes] == ["int64", "object", "float64"]
    assert frame["topic_label"].iloc[0] == fitted.topic_labels_[int(frame["topic"].iloc[0])]
    table = fitted.get_topic_table(n_docs=2)
    assert list(table.columns) == [
        "topic", "label", "size", "top_words", "top_words_weights", "representative_docs",
    ]  # fmt: skip
    assert table["size"].sum() == len(DOCS)
    assert fitted.embed_seconds_ == 0.0 and fitted.fit_seconds_ > 0


def test_document_without_vocabulary_words_is_an_outlier(fitted):
    topics, scores = fitted.transform(["", "Only English words 2024"])
    assert topics.tolist() == [-1, -1]
    assert scores.tolist() == [0.0, 0.0]
    only_latin = fitted.predict_frame(["Only English words 2024"])
    assert only_latin["topic_label"].iloc[0] == "-1_outliers"
    assert fitted.predict_frame([""])["error"].iloc[0] == "text is empty"  # no text, no topic


def test_save_load_gives_identical_topics(fitted, tmp_path):
    new_docs = ["انفجار عبوة ناسفة قرب مركز الشرطة", "ارتفاع أسعار النفط والدولار اليوم"]
    path = save_bundle(fitted, tmp_path / "nested" / "bundle")
    manifest = read_manifest(path)
    assert manifest["kind"] == "topics"
    assert manifest["transform_mode"] == "parity"
    assert manifest["backend"] == fitted.backend.name
    assert manifest["params"]["backend"]["n_topics"] == 4
    assert not [f for f in manifest["files"] if f.endswith((".pkl", ".pickle", ".joblib"))]
    loaded = load_bundle(path)
    for docs in (DOCS, new_docs):
        expected, got = fitted.transform(docs), loaded.transform(docs)
        assert got[0].tolist() == expected[0].tolist()
        assert np.allclose(got[1], expected[1])
    assert loaded.topic_labels_ == fitted.topic_labels_
    assert loaded.topic_words_ == fitted.topic_words_  # JSON keeps floats exactly
    assert loaded.predict_frame(new_docs).equals(fitted.predict_frame(new_docs))


def test_fit_baseline_caps_topics_and_validates():
    from sklearn.feature_extraction.text import CountVectorizer

    docs = ["aa bb cc", "bb cc dd", "cc dd ee"]
    vectorizer = CountVectorizer(vocabulary=["aa", "bb", "cc", "dd", "ee"])
    backend = NmfOptions(n_topics=10, max_iter=400).build()
    fit = backend.fit(docs, docs, vectorizer=vectorizer, embedder=None, top_n_words=2, seed=0)
    assert backend.model_.n_components == 3 and backend.weighting_ is not None
    assert fit.topics.shape == fit.scores.shape == (3,)
    assert all(len(w) <= 2 for w in backend.topic_words().values())
    topics, _ = assign_topics(backend.model_, vectorizer.transform(docs), backend.weighting_)
    assert topics.tolist() == fit.topics.tolist()
    words = topic_words(backend.model_, ["aa", "bb", "cc", "dd", "ee"], top_n=1)
    assert all(len(w) == 1 for w in words.values())
    with pytest.raises(ConfigError, match="n_topics"):
        LdaOptions(n_topics=0, max_iter=20)


def test_configs_build_baselines():
    lda = build_topic_model(compose("topics", ["topic_model=lda"]), None, 3)
    assert isinstance(lda.backend, LdaBackend) and lda.backend.options.max_iter == 20
    nmf = build_topic_model(
        compose("topics", ["topic_model=nmf", "topic_model.n_topics=7"]), None, 3
    )
    assert isinstance(nmf.backend, NmfBackend)
    assert (nmf.backend.options.n_topics, nmf.transform_mode, nmf.seed) == (7, "parity", 3)
    assert isinstance(nmf, TopicModel) and nmf.backend.embedder is None
