"""End to end: arnews-train on the sample corpus against a temporary SQLite MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from arnews_ml.config import compose
from arnews_ml.inference import load_model
from arnews_ml.persist import load_bundle
from arnews_ml.tasks.train_classifier import train_classifier

NEW_ARTICLES = [
    "نفذت القوات الأمنية عملية واسعة ضد خلايا داعش بإسناد جوي من طيران التحالف الدولي",
    "فاز نادي الزوراء على نادي الشرطة بهدفين في الدوري الممتاز",
    "صوّت مجلس النواب على قانون الموازنة العامة بعد نقاش طويل",
]


def _mlflow_run(uri: str, run_id: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri).get_run(run_id)


def test_train_logs_metrics_artifacts_and_a_loadable_registered_model(store: str, tmp_path: Path):
    cfg = compose(
        "train", [f"paths.output_dir={tmp_path / 'run'}", f"paths.cache_dir={tmp_path / 'cache'}"]
    )
    result = train_classifier(cfg)

    assert result.multilabel and len(result.labels) == 7
    for name in [
        "test_f1_macro",
        "test_f1_micro",
        "test_accuracy",
        "test_hamming_loss",
        "val_f1_macro",
        "val_f1_micro",
        "val_accuracy",
        "val_hamming_loss",
        "fit_seconds",
        "embed_seconds",
        *(f"test_f1_{lab}" for lab in result.labels),
        *(f"val_f1_{lab}" for lab in result.labels),
    ]:
        assert name in result.metrics, name
    assert result.metrics["test_f1_micro"] > 0.8  # the sample corpus is learnable
    # counts are params, so the run page and the compare view lead with quality metrics
    assert result.counts == {
        "n_train": 704,
        "n_val": 98,
        "n_test": 198,
        "n_test_seen_in_train": 0,
        "n_labels": 7,
    }
    assert not set(result.counts) & set(result.metrics)

    run = _mlflow_run(store, result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["test_f1_macro"] == pytest.approx(result.metrics["test_f1_macro"])
    assert run.data.params["classifier._target_"] == "arnews_ml.classify.heads.svm"
    assert run.data.params["classifier"] == "svm" and run.data.params["embedder"] == "tfidf"
    assert run.data.params["n_train"] == "704"
    assert run.info.run_name == "svm-tfidf"
    inputs = {d.tags[0].value: d.dataset for d in run.inputs.dataset_inputs}
    assert set(inputs) == {"training", "validation", "test"}
    assert json.loads(inputs["test"].profile) == {"num_rows": 198}
    assert inputs["training"].name == "news.jsonl.gz"
    assert run.data.tags["arnews_ml.data_fingerprint"]
    from mlflow.tracking import MlflowClient

    artifacts = {a.path for a in MlflowClient(tracking_uri=store).list_artifacts(result.run_id)}
    assert {
        "config.yaml",
        "classification_report.csv",
        "classification_report.json",
        "label_confusion.png",
        "precision_recall.png",
        "test_predictions_worst_first.csv",
        "corpus_report.json",
        "boilerplate_lines.csv",
        "thresholds.json",
    } <= artifacts

    assert result.registered_version is not None
    client = MlflowClient(tracking_uri=store)
    version = client.get_model_version("arnews-classifier", str(result.registered_version))
    assert "head svm" in version.description and "test_f1_macro" in version.description
    assert version.tags["classifier"] == "svm" and version.tags["run_id"] == result.run_id
    model_id = client.get_run(result.run_id).data.tags["arnews_ml.model_id"]
    assert version.source == f"models:/{model_id}"
    assert client.get_logged_model(model_id).name == "classifier-svm-tfidf"
    bundle = load_bundle(result.bundle_dir)
    registered = load_model(f"models:/arnews-classifier/{result.registered_version}")
    expected = bundle.predict_scores(NEW_ARTICLES)
    pd.testing.assert_frame_equal(registered.predict_scores(NEW_ARTICLES), expected)
    assert registered.predict(NEW_ARTICLES) == bundle.predict(NEW_ARTICLES)

    import mlflow.pyfunc

    pyfunc = mlflow.pyfunc.load_model(f"models:/arnews-classifier/{result.registered_version}")
    served = pyfunc.predict(pd.DataFrame({"text": NEW_ARTICLES}))
    assert list(served["labels"]) == bundle.predict(NEW_ARTICLES)
    np.testing.assert_allclose(served[expected.columns].to_numpy(), expected.to_numpy())


def test_failed_run_is_marked_failed_and_leaves_no_bundle(store: str, tmp_path: Path):
    cfg = compose(
        "train",
        [
            f"paths.output_dir={tmp_path / 'run'}",
            "data=file",
            f"data.path={tmp_path / 'missing.jsonl'}",
        ],
    )
    from arnews_ml.exceptions import DataError

    with pytest.raises(DataError, match=r"missing\.jsonl"):
        train_classifier(cfg)
    import mlflow

    runs = mlflow.search_runs(experiment_names=["arnews-classifier"])
    assert list(runs["status"]) == ["FAILED"]
    assert "missing.jsonl" in runs["tags.arnews_ml.error"].iloc[0]
    assert not (tmp_path / "run" / "model").exists()


def test_sentence_transformer_path_with_the_embedding_cache(
    store: str, tmp_path: Path, tiny_st_model: Path
):
    overrides = [
        "embedder=sentence_transformer",
        f"embedder.model={tiny_st_model}",
        "embedder.show_progress_bar=false",
        "classifier=logreg",
        "tracking.registered_model=arnews-st",
        f"paths.cache_dir={tmp_path / 'cache'}",
    ]
    first = train_classifier(compose("train", [*overrides, f"paths.output_dir={tmp_path / 'r1'}"]))
    second = train_classifier(compose("train", [*overrides, f"paths.output_dir={tmp_path / 'r2'}"]))
    assert first.metrics["cache_misses"] > 0
    assert second.metrics["cache_misses"] == 0
    assert (
        second.metrics["cache_hits"] == first.metrics["cache_misses"] + first.metrics["cache_hits"]
    )
    assert first.metrics["test_f1_micro"] == pytest.approx(second.metrics["test_f1_micro"])
    # The model's files travel inside the bundle: it loads with the original folder gone.
    manifest = json.loads((first.bundle_dir / "manifest.json").read_text())
    assert any(f.startswith("embedder/sentence_transformer/") for f in manifest["files"])
    model = load_model(first.bundle_dir)
    assert len(model.predict(NEW_ARTICLES)) == 3


def test_split_files_through_data_file(store: str, tmp_path: Path):
    from arnews_ml.data import load_sample

    frame = load_sample().frame
    frame = frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d"))
    frame.iloc[:700].to_json(
        tmp_path / "train.jsonl", orient="records", lines=True, force_ascii=False
    )
    frame.iloc[700:].to_json(
        tmp_path / "test.jsonl", orient="records", lines=True, force_ascii=False
    )
    cfg = compose(
        "train",
        [
            "data=file",
            f"data.train_path={tmp_path / 'train.jsonl'}",
            f"data.test_path={tmp_path / 'test.jsonl'}",
            "tracking=none",
            f"paths.output_dir={tmp_path / 'run'}",
        ],
    )
    result = train_classifier(cfg)
    assert result.counts["n_test"] == 300
    assert result.counts["n_train"] + result.counts["n_val"] == 700
    assert result.counts["n_test_seen_in_train"] == 0
    assert "test_unseen_f1_macro" not in result.metrics


def test_a_given_test_file_is_evaluated_as_given_and_its_overlap_reported(tmp_path: Path):
    from arnews_ml.data import load_sample

    frame = load_sample().frame
    frame = frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d"))
    train, test = frame.iloc[:700], frame.iloc[700:]
    # 40 training articles appear again in the official test file, under other ids
    leaked = train.iloc[:40].assign(id=lambda f: "t-" + f["id"])
    test = pd.concat([test, leaked])
    train.to_json(tmp_path / "train.jsonl", orient="records", lines=True, force_ascii=False)
    test.to_json(tmp_path / "test.jsonl", orient="records", lines=True, force_ascii=False)
    overrides = [
        "data=file",
        f"data.train_path={tmp_path / 'train.jsonl'}",
        f"data.test_path={tmp_path / 'test.jsonl'}",
        "tracking=none",
        "n_jobs=1",
    ]
    result = train_classifier(compose("train", [*overrides, f"paths.output_dir={tmp_path / 'a'}"]))
    assert result.counts["n_test"] == 340  # every row of the test file
    # the 40 leaked rows that stayed in training (some went to the validation split)
    assert 0 < result.counts["n_test_seen_in_train"] <= 40
    assert 0 < result.metrics["test_unseen_f1_macro"] <= 1
    deduped = train_classifier(
        compose(
            "train",
            [*overrides, "data.dedupe_across_splits=true", f"paths.output_dir={tmp_path / 'b'}"],
        )
    )
    assert deduped.counts["n_test"] == 300


def test_train_and_predict_commands(run_cli, store: str, tmp_path: Path):
    done = run_cli(
        ["arnews-train", "embedder.analyzer=word", f"hydra.run.dir={tmp_path / 'run'}"],
        tmp_path,
        store,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "test macro-F1" in done.stdout

    articles = tmp_path / "new.csv"
    pd.DataFrame(
        {"doc": ["x1", "x2", "x3"], "body": [NEW_ARTICLES[0], "  ", NEW_ARTICLES[1]]}
    ).to_csv(articles, index=False)
    out = tmp_path / "pred.jsonl"
    done = run_cli(
        [
            "arnews-predict",
            "--model",
            "models:/arnews-classifier/1",
            "--input",
            str(articles),
            "--output",
            str(out),
            "--text-column",
            "body",
            "--id-column",
            "doc",
        ],
        tmp_path,
        store,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["x1", "x2", "x3"]
    assert "security" in rows[0]["labels"] and rows[2]["labels"] == ["sports"]
    assert rows[1]["error"] == "text is empty" and "labels" not in rows[1]
    assert all(0.0 <= rows[0][f"score_{lab}"] <= 1.0 for lab in ["security", "politics"])
    assert "skipped 1 bad rows" in done.stderr


def test_predict_command_reports_a_missing_model_clearly(run_cli, tmp_path: Path):
    done = run_cli(
        ["arnews-predict", "--model", str(tmp_path / "nope"), "--input", "x.csv"],
        tmp_path,
        f"sqlite:///{tmp_path}/mlflow.db",
    )
    assert done.returncode == 2
    assert "nope" in done.stderr and "Traceback" not in done.stderr


def test_corpus_command_prints_the_summary(run_cli, tmp_path: Path):
    done = run_cli(
        ["arnews-corpus", f"hydra.run.dir={tmp_path / 'run'}"],
        tmp_path,
        f"sqlite:///{tmp_path}/mlflow.db",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for needle in [
        "documents        1,000",
        "multi-label share",
        "foreign_forces",
        "2023-01-01",
        "sources          6",
        "repeated lines learned",
    ]:
        assert needle in done.stdout, needle


@pytest.mark.slow
def test_multirun_over_classifier_heads(run_cli, store: str, tmp_path: Path):
    done = run_cli(
        [
            "arnews-train",
            "-m",
            "classifier=logreg,sgd",
            "embedder.analyzer=word",
            "tracking.registered_model=null",
            f"hydra.sweep.dir={tmp_path / 'multi'}",
        ],
        tmp_path,
        store,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    import mlflow

    runs = mlflow.search_runs(experiment_names=["arnews-classifier"])
    children = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert sorted(children["params.classifier"]) == ["logreg", "sgd"]
    assert sorted(children["tags.mlflow.runName"]) == ["classifier=logreg", "classifier=sgd"]
    assert set(runs["status"]) == {"FINISHED"}
    assert len(runs) == 3  # the sweep's parent and its two jobs
