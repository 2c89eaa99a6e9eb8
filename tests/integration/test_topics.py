"""End to end: arnews-topics on the sample corpus against a temporary SQLite MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from arnews_ml.config import compose
from arnews_ml.inference import load_model
from arnews_ml.tasks.fit_topics import fit_topics
from arnews_ml.text.stopwords import arabic_stopwords

NEW_ARTICLES = [
    "فاز نادي الزوراء على نادي الشرطة في مباراة الدوري الممتاز",
    "ارتفعت أسعار النفط في السوق وتراجع سعر صرف الدينار أمام الدولار",
]


def _assert_clean_topic_words(table: pd.DataFrame) -> None:
    stop = arabic_stopwords()
    for words in table["top_words"]:
        for word in str(words).split()[:10]:
            assert word not in stop, word
            assert not any(ch.isdigit() for ch in word), word
            assert not any("a" <= ch.lower() <= "z" for ch in word), word


def test_kmeans_topics_run_logs_metrics_artifacts_and_model(store: str, tmp_path: Path):
    cfg = compose(
        "topics",
        [
            "topic_model=bertopic_kmeans",
            "topic_model.clusterer.n_clusters=7",
            f"paths.output_dir={tmp_path / 'run'}",
        ],
    )
    result = fit_topics(cfg)

    m = result.metrics
    for name in [
        "npmi",
        "npmi_doc",
        "c_v",
        "topic_diversity",
        "n_topics",
        "outlier_ratio",
        "fit_seconds",
        "label_nmi",
        "label_ari",
    ]:
        assert name in m, name
    assert m["n_topics"] == 7 and m["outlier_ratio"] == 0.0
    assert m["label_nmi"] > 0.3  # the sample's themes are recoverable
    _assert_clean_topic_words(result.topic_table)
    assert {"topic", "label", "size", "top_words", "representative_docs"} <= set(
        result.topic_table.columns
    )

    out = result.output_dir
    for name in [
        "topics.csv",
        "document_topics.parquet",
        "topics_over_time.csv",
        "topics_over_time.png",
        "topics_over_time.html",
        "topics_per_source.csv",
        "topics_per_label.csv",
        "topic_label_table.csv",
    ]:
        assert (out / name).is_file(), name
    docs = pd.read_parquet(out / "document_topics.parquet")
    assert {"id", "date", "source", "labels", "topic", "probability"} <= set(docs.columns)
    assert len(docs) == 1000

    from mlflow.tracking import MlflowClient

    run = MlflowClient(tracking_uri=store).get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["npmi"] == pytest.approx(m["npmi"])

    bundle = load_model(result.bundle_dir)
    registered = load_model(f"models:/arnews-topics/{result.registered_version}")
    manifest = json.loads((result.bundle_dir / "manifest.json").read_text())
    assert manifest["transform_mode"] == "parity"
    expected = bundle.predict_frame(NEW_ARTICLES)
    pd.testing.assert_frame_equal(registered.predict_frame(NEW_ARTICLES), expected)
    assert list(expected.columns) == ["topic", "topic_label", "topic_score"]


@pytest.mark.parametrize("option", ["nmf", "bertopic_kmeans"])
def test_fit_on_a_sample_assigns_and_logs_every_document(store: str, tmp_path: Path, option):
    cfg = compose(
        "topics",
        [
            f"topic_model={option}",
            "topic_model.fit_sample=300",
            "topic_model.assign_chunk_size=256",
            "analysis.html=false",
            "tracking.registered_model=null",
            f"paths.output_dir={tmp_path / 'run'}",
        ],
    )
    result = fit_topics(cfg)
    m = result.metrics
    assert (m["n_fit_docs"], m["n_assigned_docs"]) == (300, 700)
    assert m["assign_seconds"] >= 0 and m["label_nmi"] > 0.2
    path = result.output_dir / "document_topics.parquet"
    docs = pd.read_parquet(path)
    assert len(docs) == 1000 and docs["id"].is_unique
    assert docs["topic"].isin(result.topic_table["topic"]).all()
    import pyarrow.parquet as pq

    assert pq.ParquetFile(path).metadata.num_row_groups == 4  # written in chunks of 256

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=store)
    run = client.get_run(result.run_id)
    assert run.data.metrics["n_fit_docs"] == 300
    assert run.data.metrics["n_assigned_docs"] == 700
    assert "document_topics.parquet" in [a.path for a in client.list_artifacts(result.run_id)]


def test_lda_and_nmf_baselines_are_scored_the_same_way(store: str, tmp_path: Path):
    for option in ["lda", "nmf"]:
        cfg = compose(
            "topics",
            [
                f"topic_model={option}",
                "topic_model.n_topics=7",
                "analysis.html=false",
                "tracking.registered_model=null",
                f"paths.output_dir={tmp_path / option}",
            ],
        )
        result = fit_topics(cfg)
        assert result.metrics["n_topics"] == 7
        assert -1.0 <= result.metrics["npmi"] <= 1.0
        _assert_clean_topic_words(result.topic_table)


def test_seeds_give_a_stability_score(store: str, tmp_path: Path):
    cfg = compose(
        "topics",
        [
            "topic_model=bertopic_kmeans",
            "topic_model.clusterer.n_clusters=7",
            "topic_model.seeds=[1,2]",
            "analysis.html=false",
            "tracking=none",
            f"paths.output_dir={tmp_path / 'run'}",
        ],
    )
    result = fit_topics(cfg)
    assert 0.0 <= result.metrics["stability_overlap"] <= 1.0
    assert result.metrics["stability_overlap"] > 0.3  # k-means on the same corpus agrees a lot


def test_predict_with_a_classifier_and_a_topic_model_in_one_pass(
    run_cli, store: str, tmp_path: Path
):
    done = run_cli(
        ["arnews-train", "embedder.analyzer=word", f"hydra.run.dir={tmp_path / 'clf'}"],
        tmp_path,
        store,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    done = run_cli(
        [
            "arnews-topics",
            "topic_model=bertopic_kmeans",
            "analysis.html=false",
            f"hydra.run.dir={tmp_path / 'top'}",
        ],
        tmp_path,
        store,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "npmi" in done.stdout

    articles = tmp_path / "new.jsonl"
    articles.write_text(
        "\n".join(
            json.dumps({"id": f"n{i}", "text": t}, ensure_ascii=False)
            for i, t in enumerate(NEW_ARTICLES)
        )
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "pred.jsonl"
    done = run_cli(
        [
            "arnews-predict",
            "--model",
            "models:/arnews-classifier/1",
            "--model",
            "models:/arnews-topics/1",
            "--input",
            str(articles),
            "--output",
            str(out),
        ],
        tmp_path,
        store,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["labels"] == ["sports"]
    assert {"topic", "topic_label", "topic_score", "score_sports"} <= set(rows[0])


@pytest.mark.slow
def test_default_bertopic_command(run_cli, store: str, tmp_path: Path):
    done = run_cli(
        [
            "arnews-topics",
            "topic_model.reduce_outliers=c-tf-idf",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        tmp_path,
        store,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "outlier_ratio" in done.stdout and "npmi" in done.stdout
