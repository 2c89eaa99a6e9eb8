"""The fast inference path of a loaded TF-IDF model gives the reference path's labels.

The reference is the plain string path: every n-gram built as a string and looked up in the
vocabulary dict, then weighted by scikit-learn's ``TfidfTransformer`` (itself checked equal to
``TfidfVectorizer`` in ``tests/unit/embed``). The fast path splits a batch once, keeps per-word
results across batches and looks n-grams up as integer keys.
"""

from __future__ import annotations

import numpy as np
import pytest

from arnews_ml.classify import TextClassifier
from arnews_ml.classify.heads import svm
from arnews_ml.data.sample import load_sample
from arnews_ml.embed import ngram_keys
from arnews_ml.embed.tfidf import TfidfEmbedder
from arnews_ml.persist import load_bundle, save_bundle


@pytest.fixture(scope="module")
def split():
    frame = load_sample().frame.sample(frac=1.0, random_state=3)
    return frame.iloc[:500], frame.iloc[500:]


@pytest.fixture(scope="module")
def bundle(split, tmp_path_factory):
    train, _ = split
    model = TextClassifier(TfidfEmbedder(), svm(), task="multilabel")
    model.fit(train["text"].tolist(), train["labels"].tolist())
    folder = tmp_path_factory.mktemp("fast") / "model"
    save_bundle(model, folder)
    return folder


def test_fast_path_labels_and_scores_equal_the_string_path(bundle, split, monkeypatch) -> None:
    texts = split[1]["text"].tolist()
    fast = load_bundle(bundle)
    fast.predict(texts[:5])  # a warm table: later batches mix seen and new words
    fast_scores = np.vstack(
        [fast.predict_scores(texts[i : i + 97]) for i in range(0, len(texts), 97)]
    )
    fast_labels = fast.predict(texts)

    for coded in (ngram_keys.CodedVocabulary, ngram_keys.CodedWords):
        monkeypatch.setattr(coded, "of", classmethod(lambda cls, part: None))
    reference = load_bundle(bundle)
    assert reference.predict(texts) == fast_labels
    np.testing.assert_allclose(fast_scores, reference.predict_scores(texts), rtol=1e-12, atol=1e-15)
