"""arnews-evaluate: a trained classifier scored on a new labelled file, logged to MLflow."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

import arnews_ml
from arnews_ml.classify.evaluate import evaluate_classifier
from arnews_ml.classify.metrics import classification_metrics
from arnews_ml.persist import load_bundle
from arnews_ml.tracking import evaluation
from arnews_ml.tracking.evaluation import main

UNKNOWN = "weather"


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, store_in, train_sample
) -> Iterator[dict[str, Any]]:
    """A classifier trained into a fresh SQLite store, and a labelled JSONL of new articles."""
    root = tmp_path_factory.mktemp("evaluate")
    with store_in(root) as uri:
        result = train_sample(root, "run", "tracking.registered_model=null", "n_jobs=1")
        frame = arnews_ml.load_sample().frame.sample(80, random_state=3)
        rows = [
            {"id": r.id, "text": r.text, "labels": list(r.labels)}
            for r in frame.itertuples(index=False)
        ]
        rows[0] = {**rows[0], "labels": [*rows[0]["labels"], UNKNOWN]}  # a label it never saw
        rows.append({"id": "unlabelled-1", "text": rows[1]["text"] + " جديد", "labels": []})
        path = root / "labelled.jsonl"
        path.write_text(
            "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
        )
        yield {"uri": uri, "root": root, "result": result, "input": path, "rows": rows}


@pytest.fixture
def env(trained: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(trained["root"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
    return trained


def test_evaluate_logs_a_run_linked_to_the_model(env, capsys, tmp_path: Path):
    result = env["result"]
    model_id = result.model_uri.removeprefix("models:/")
    out = tmp_path / "eval"
    code = main(
        ["--model", result.model_uri, "--input", str(env["input"]), "--output-dir", str(out)]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "80 labelled articles (1 unlabelled left out)" in printed.out
    assert "unknown labels   1 not known to the model, in 1 article," in printed.out
    assert UNKNOWN in printed.out and "macro-F1" in printed.out

    # the metrics are classification_metrics of the same predictions
    bundle = load_bundle(result.bundle_dir)
    scored = [r for r in env["rows"] if r["labels"]]
    texts = [r["text"] for r in scored]
    y_true = bundle.binarize([r["labels"] for r in scored], unknown="ignore")
    y_pred = bundle.binarize(bundle.predict(texts))
    expected = classification_metrics(y_true, y_pred, bundle.labels_, multilabel=True)
    assert "test_hamming_loss" in expected and "test_f1_sports" in expected

    client = MlflowClient(tracking_uri=env["uri"])
    experiment = client.get_experiment_by_name("arnews-evaluations")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_id in printed.out and run.info.status == "FINISHED"
    assert run.data.metrics == pytest.approx(expected)
    tags = run.data.tags
    assert tags["arnews_ml.task"] == "evaluation"
    assert tags["arnews_ml.evaluated_model"] == result.model_uri
    assert tags["arnews_ml.evaluated_run_id"] == result.run_id
    assert tags["arnews_ml.evaluated_model_id"] == model_id
    params = run.data.params
    assert params["n_docs"] == "80" and params["n_unknown_labels"] == "1"
    assert params["unknown_labels"] == UNKNOWN and params["input"] == str(env["input"])

    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {
        "classification_report.csv",
        "label_confusion.png",
        "precision_recall.png",
        "predictions_worst_first.csv",
    } <= artifacts
    report = pd.read_csv(out / "classification_report.csv", index_col="label")
    assert report.loc["macro avg", "f1"] == pytest.approx(expected["test_f1_macro"])

    (dataset_input,) = run.inputs.dataset_inputs
    digest = hashlib.sha256(env["input"].read_bytes()).hexdigest()[:32]
    assert dataset_input.dataset.digest == digest
    assert dataset_input.dataset.name == "labelled.jsonl"
    assert {t.key: t.value for t in dataset_input.tags}["mlflow.data.context"] == "evaluation"
    model_inputs = client.get_run(run.info.run_id).inputs.model_inputs
    assert [m.model_id for m in model_inputs] == [model_id]

    # linked: the values show on the LoggedModel, from this evaluation run
    linked = [m for m in client.get_logged_model(model_id).metrics if m.run_id == run.info.run_id]
    assert {m.key: m.value for m in linked} == pytest.approx(expected)
    assert {m.dataset_digest for m in linked} == {digest}


def test_no_log_with_a_bundle_folder_prints_only(env, capsys, tmp_path: Path):
    client = MlflowClient(tracking_uri=env["uri"])
    experiment = client.get_experiment_by_name("arnews-evaluations")
    before = len(client.search_runs([experiment.experiment_id])) if experiment else 0
    argv = ["--model", str(env["result"].bundle_dir), "--input", str(env["input"]), "--no-log"]
    assert main([*argv, "--output-dir", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out and "mlflow run" not in out
    assert (tmp_path / "o" / "precision_recall.png").is_file()
    experiment = client.get_experiment_by_name("arnews-evaluations")
    after = len(client.search_runs([experiment.experiment_id])) if experiment else 0
    assert after == before


def test_evaluate_classifier_counts_unknown_labels(env):
    bundle = load_bundle(env["result"].bundle_dir)
    rows = [r for r in env["rows"] if r["labels"]]
    result = evaluate_classifier(bundle, [r["text"] for r in rows], [r["labels"] for r in rows])
    assert result.unknown_labels == {UNKNOWN: 1} and result.n_docs_with_unknown_labels == 1
    assert result.y_true.shape == (80, len(bundle.labels_))
    assert result.metrics["test_f1_micro"] > 0.8


def test_errors_are_one_line(env, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    model = str(env["result"].bundle_dir)
    unlabelled = tmp_path / "unlabelled.jsonl"
    unlabelled.write_text(json.dumps({"text": env["rows"][0]["text"]}) + "\n", encoding="utf-8")
    cases = [
        (["--input", str(tmp_path / "missing.jsonl")], "missing.jsonl does not exist"),
        (["--input", str(unlabelled)], "--labels-column"),
        (["--input", str(env["input"]), "--labels-column", "topics"], "topics"),
        (["--input", str(env["input"]), "--text-column", "body"], "Pass --text-column text"),
    ]
    for argv, expected in cases:
        code = main(["--model", model, "--no-log", "--output-dir", str(tmp_path / "o"), *argv])
        err = capsys.readouterr().err.strip()
        assert code == 2 and err.startswith("error: ") and expected in err, err
        assert "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # nothing written on an early error

    class TopicModel:  # what load_model gives for a topic bundle, as far as this command cares
        pass

    monkeypatch.setattr(evaluation, "load_model", lambda *a, **k: TopicModel())
    assert main(["--model", model, "--input", str(env["input"]), "--no-log"]) == 2
    assert "evaluates classifiers only" in capsys.readouterr().err
