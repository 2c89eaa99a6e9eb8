"""One text pipeline per model: a bundle reloaded from disk gives its own training articles
exactly the topics / labels it gave at fit time, whatever the `text` options.

Before the pipeline was one object saved with the model, a topic bundle cleaned new articles
with a light cleaner instead of what it was fitted with: with `ta_marbuta=true` a reloaded LDA
model agreed with its own fit on 96.8% of its training articles.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from arnews_ml.config import compose
from arnews_ml.data import load_sample
from arnews_ml.persist import load_bundle
from arnews_ml.topics.analysis import DOCUMENT_TOPICS_FILE

TEXT_OPTIONS = {
    "default": [],
    "none": ["text=none"],
    "ta_marbuta": ["text.normalize.ta_marbuta=true", "text.normalize.hamza_carriers=true"],
}


TOPIC_OPTIONS = {
    "lda": ["topic_model=lda"],
    "nmf": ["topic_model=nmf"],
    "bertopic_kmeans": ["topic_model=bertopic_kmeans"],
    "bertopic_svd_kmeans": ["topic_model=bertopic_kmeans", "topic_model/reducer=svd"],
}


@pytest.mark.parametrize("text", sorted(TEXT_OPTIONS))
@pytest.mark.parametrize(
    "option",
    [
        "lda",
        "nmf",
        pytest.param("bertopic_kmeans", marks=pytest.mark.slow),
        pytest.param("bertopic_svd_kmeans", marks=pytest.mark.slow),
    ],
)
def test_a_reloaded_topic_bundle_gives_its_training_articles_their_fit_topics(
    tmp_path: Path, option: str, text: str
):
    from arnews_ml.tasks.fit_topics import fit_topics

    cfg = compose(
        "topics",
        [
            *TOPIC_OPTIONS[option],
            "tracking=none",
            "analysis.html=false",
            f"paths.output_dir={tmp_path}",
            f"paths.cache_dir={tmp_path / 'cache'}",
            *TEXT_OPTIONS[text],
        ],
    )
    result = fit_topics(cfg)
    fitted = pd.read_parquet(result.output_dir / DOCUMENT_TOPICS_FILE).set_index("id")
    model = load_bundle(result.bundle_dir)
    assert model.transform_mode == "parity"
    frame = load_sample().frame
    predicted = model.predict_frame(frame["text"].tolist())
    expected = fitted.loc[frame["id"], "topic"].to_numpy()
    assert (predicted["topic"].to_numpy() == expected).all()
    if text == "ta_marbuta":
        words = {w for ws in model.top_words(25).values() for w in ws}
        assert not any(w.endswith("ة") for w in words)  # the analyzer used the pipeline's steps


@pytest.mark.parametrize("text", sorted(TEXT_OPTIONS))
def test_a_reloaded_classifier_bundle_gives_the_labels_it_gave_at_fit_time(
    tmp_path: Path, text: str
):
    from arnews_ml.classify.report import LABEL_JOIN
    from arnews_ml.tasks.train_classifier import ERRORS_CSV, train_classifier

    cfg = compose(
        "train",
        [
            "tracking=none",
            "n_jobs=1",
            "report.worst_errors=100000",  # every test article's fit-time prediction
            f"paths.output_dir={tmp_path}",
            *TEXT_OPTIONS[text],
        ],
    )
    result = train_classifier(cfg)
    fitted = pd.read_csv(result.output_dir / ERRORS_CSV, keep_default_na=False)
    assert len(fitted) == result.counts["n_test"]
    texts = load_sample().frame.set_index("id").loc[fitted["id"], "text"].tolist()
    predicted = load_bundle(result.bundle_dir).predict(texts)
    assert [LABEL_JOIN.join(sorted(p)) for p in predicted] == [
        LABEL_JOIN.join(sorted(p.split(LABEL_JOIN))) if p else "" for p in fitted["predicted"]
    ]
