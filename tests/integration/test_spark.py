"""Batch scoring on Spark: a registered model through mlflow.pyfunc.spark_udf on a local Spark
(``local[2]``, loopback only) gives exactly the labels of ``load_model(...).predict``.

Needs Java and pyspark (the ``[spark]`` extra): without them this test fails under CI
(``CI=true``) and is skipped elsewhere, with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import arnews_ml
from arnews_ml.classify.heads import logreg
from arnews_ml.classify.model import TextClassifier
from arnews_ml.config import compose
from arnews_ml.data import load_sample
from arnews_ml.data.sample.generate import generate_sample
from arnews_ml.embed import TfidfEmbedder
from arnews_ml.persist import save_bundle
from arnews_ml.tasks.fit_topics import build_topic_model
from arnews_ml.testing import themed_corpus
from arnews_ml.tracking import MlflowTracker

pytestmark = [
    pytest.mark.slow,
    # pyspark 4.3 warns about pandas 3 on every UDF; the results are checked below
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

N_ARTICLES = 1_000
MODEL = "arnews-spark-test"
TOPICS = "arnews-spark-topics"


def _missing() -> str | None:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (apt-get install default-jre-headless)"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[spark]')"
    return None


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    reason = _missing()
    if reason:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI needs Java and pyspark for the Spark scoring test: {reason}")
        pytest.skip(reason)
    from arnews_ml.tracking.spark import local_spark_session

    session = local_spark_session("local[2]", memory="1g", app_name="arnews-spark-test")
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str], list[str]]:
    """A word TF-IDF classifier trained on the sample corpus, registered in a SQLite store;
    returns the store URI and 1,000 other articles (with ids) to score."""
    train = load_sample().frame
    model = TextClassifier(TfidfEmbedder(analyzer="word"), logreg(C=10.0))
    model.fit(train["text"].tolist(), train["labels"].tolist())
    score = pd.DataFrame(generate_sample(n=N_ARTICLES, seed=2026))  # other articles, same style
    root = tmp_path_factory.mktemp("spark")
    bundle = save_bundle(model, root / "classifier")
    store = f"sqlite:///{root.as_posix()}/mlflow.db"
    tracker = MlflowTracker(tracking_uri=store, experiment="spark")
    docs, _ = themed_corpus()
    overrides = ["topic_model=nmf", "topic_model.n_topics=4", "topic_model.min_df=2"]
    topics = build_topic_model(compose("topics", overrides), None, 42).fit(docs)
    topics_bundle = save_bundle(topics, root / "topics")
    with tracker.run("spark-test"):
        result = tracker.log_model(bundle, registered_model_name=MODEL)
        topics_result = tracker.log_model(topics_bundle, registered_model_name=TOPICS)
    assert result.registered_model_version == 1 == topics_result.registered_model_version
    return store, score["id"].astype(str).tolist(), score["text"].tolist()


def test_spark_udf_gives_the_labels_of_load_model(spark, registered, monkeypatch):
    from arnews_ml.tracking.spark import score_dataframe

    store, ids, texts = registered
    uri, topics_uri = f"models:/{MODEL}/1", f"models:/{TOPICS}/1"
    rows = [*zip(ids, texts, strict=True), ("blank", "   "), ("missing", None)]
    frame = spark.createDataFrame(rows, "id string, body string").repartition(3)
    scored = score_dataframe(
        spark, frame, [uri, topics_uri], text_column="body", tracking_uri=store
    )
    got = scored.toPandas().set_index("id")

    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    expected = arnews_ml.load_model(uri).predict(texts)
    assert len(got) == N_ARTICLES + 2
    assert [list(got.loc[i, "labels"]) for i in ids] == [list(x) for x in expected]
    expected_topics = arnews_ml.load_model(topics_uri).predict_frame(texts)
    assert got.loc[ids, "topic"].astype(int).tolist() == expected_topics["topic"].tolist()
    assert got.loc[ids, "topic_label"].tolist() == expected_topics["topic_label"].tolist()
    assert pd.isna(got.loc["blank", "topic"])
    assert got.loc[ids, "error"].isna().all()
    assert got.loc["blank", "error"] == "text is empty" and got.loc["blank", "labels"] is None
    assert got.loc["missing", "error"] == "text is missing"
    assert any(c.startswith("score_") for c in got.columns)


def test_predict_command_scores_parquet_on_spark(spark, registered, tmp_path: Path, monkeypatch):
    from arnews_ml.cli import predict_main

    store, ids, texts = registered
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    source = tmp_path / "articles.parquet"
    pd.DataFrame({"id": ids[:50], "text": texts[:50]}).to_parquet(source, index=False)
    out = tmp_path / "scored"
    argv = ["--spark", "--model", f"models:/{MODEL}/1", "--input", str(source)]
    assert predict_main([*argv, "--output", str(out)]) == 0
    got = pd.read_parquet(out).set_index("id")
    expected = arnews_ml.load_model(f"models:/{MODEL}/1").predict(texts[:50])
    assert [list(got.loc[i, "labels"]) for i in ids[:50]] == [list(x) for x in expected]
    # the output folder exists now: a second run refuses to overwrite it
    assert predict_main([*argv, "--output", str(out)]) == 2
