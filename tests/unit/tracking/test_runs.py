"""arnews-runs on a small SQLite store built with MlflowClient (no training, no network)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path

import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from arnews_ml.tracking.runs import main
from arnews_ml.tracking.runs_table import is_ascending, varying_params

SWEEP = "20250101-120000-ab12"
T0 = 1_700_000_000_000


def _run(
    client: MlflowClient,
    experiment_id: str,
    name: str,
    *,
    tags: dict[str, str],
    params: dict[str, str],
    metrics: dict[str, float],
    status: str = "FINISHED",
    seconds: float = 10.0,
) -> str:
    run = client.create_run(experiment_id, start_time=T0, tags=tags, run_name=name)
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, T0, 0) for k, v in metrics.items()],
        params=[Param(k, v) for k, v in params.items()],
        tags=[RunTag(k, v) for k, v in tags.items()],
    )
    client.set_terminated(run_id, status=status, end_time=T0 + int(seconds * 1000))
    return run_id


def _classifier_params(head: str, c: str, out: str) -> dict[str, str]:
    return {
        "classifier": head,
        "embedder": "tfidf",
        "data": "sample",
        "text": "default",
        "classifier._target_": f"arnews_ml.classify.heads.{head}",
        "classifier.C": c,
        "embedder.analyzer": "word",
        "paths.output_dir": out,
        "data.quarantine_path": f"{out}/quarantine.jsonl",
        "seed": "13",
        "n_train": "700",
    }


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A store with a sweep (parent + 3 jobs, one FAILED), a single run, topic runs, another
    experiment; returns the URI and the run ids by name."""
    root = tmp_path_factory.mktemp("runs-store")
    uri = f"sqlite:///{root}/mlflow.db"
    client = MlflowClient(tracking_uri=uri)
    cls = client.create_experiment("arnews-classifier", artifact_location=(root / "a").as_uri())
    top = client.create_experiment("arnews-topics", artifact_location=(root / "b").as_uri())
    other = client.create_experiment("elsewhere", artifact_location=(root / "c").as_uri())
    ids = {"uri": uri}
    task = {"arnews_ml.task": "classification"}
    sweep = {**task, "arnews_ml.sweep_id": SWEEP}
    parent = _run(
        client,
        cls,
        "sweep-parent",
        tags={**sweep, "arnews_ml.sweep_parent": "true"},
        params={"n_jobs": "3"},
        metrics={"val_f1_macro": 0.99},  # best of the sweep: must still not be listed
    )
    ids["parent"] = parent
    child = {**sweep, "mlflow.parentRunId": parent}
    for name, head, c, val, test, status in [
        ("C=0.5,classifier=logreg", "logreg", "0.5", 0.80, 0.70, "FINISHED"),
        ("C=2,classifier=svm", "svm", "2", 0.90, 0.60, "FINISHED"),
        ("C=9,classifier=svm", "svm", "9", 0.95, 0.95, "FAILED"),
    ]:
        tags = dict(child)
        if status == "FAILED":
            tags["arnews_ml.error"] = "DataError: the test split is empty"
        ids[name] = _run(
            client,
            cls,
            name,
            tags=tags,
            params=_classifier_params(head, c, f"/out/{name}"),
            metrics={
                "val_f1_macro": val,
                "test_f1_macro": test,
                "test_f1_micro": test + 0.05,
                "test_accuracy": test - 0.1,
                "test_hamming_loss": 0.05,
                "fit_seconds": 1.5,
                "embed_seconds": 0.5,
            },
            status=status,
        )
    ids["single"] = _run(
        client,
        cls,
        "sgd-tfidf",
        tags=task,
        params=_classifier_params("sgd", "1", "/out/single"),
        metrics={"val_f1_macro": 0.85, "test_f1_macro": 0.88, "fit_seconds": 0.5},
    )
    for name, model, npmi, outliers in [
        ("bertopic", "bertopic", 0.30, 0.20),
        ("lda", "lda", 0.40, 0.0),
        ("nmf", "nmf", 0.35, 0.0),
    ]:
        ids[name] = _run(
            client,
            top,
            name,
            tags={"arnews_ml.task": "topics"},
            params={"topic_model": model, "embedder": "tfidf_topics", "n_docs": "1000"},
            metrics={"npmi": npmi, "c_v": 0.5, "n_topics": 12.0, "outlier_ratio": outliers},
        )
    ids["elsewhere"] = _run(
        client,
        other,
        "elsewhere-run",
        tags=task,
        params=_classifier_params("knn", "1", "/out/else"),
        metrics={"val_f1_macro": 0.5},
    )
    return ids


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> list[dict]:
    assert main([*argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_default_lists_both_tasks_ranked_on_validation_without_the_sweep_parent(store, capsys):
    rows = _json(capsys, ["--tracking-uri", store["uri"]])
    classification = [r for r in rows if r["task"] == "classification"]
    topics = [r for r in rows if r["task"] == "topics"]
    assert [r["name"] for r in classification] == [
        "C=2,classifier=svm",  # val 0.90 (test 0.60): ranked on validation, not on test
        "sgd-tfidf",
        "C=0.5,classifier=logreg",
    ]
    assert {r["ranked_by"] for r in classification} == {"val_f1_macro"}
    assert store["parent"] not in {r["run_id"] for r in rows}
    assert store["elsewhere"] not in {r["run_id"] for r in rows}  # not a default experiment
    assert [r["name"] for r in topics] == ["lda", "nmf", "bertopic"]  # npmi, descending
    assert "npmi" not in classification[0] and "val_f1_macro" not in topics[0]
    assert classification[0]["run"] == store["C=2,classifier=svm"][:8]
    assert classification[0]["duration_s"] == pytest.approx(10.0)


def test_varying_params_choice_first_and_noise_left_out(store, capsys):
    rows = _json(capsys, ["--tracking-uri", store["uri"], "--experiment", "arnews-classifier"])
    keys = list(rows[0])
    assert "classifier" in keys and "classifier.C" in keys
    assert keys.index("classifier") < keys.index("classifier.C")
    for constant in ("embedder", "embedder.analyzer", "seed", "data", "n_train"):
        assert constant not in keys
    for noise in ("paths.output_dir", "data.quarantine_path", "classifier._target_"):
        assert noise not in keys
    assert rows[0]["classifier"] == "svm" and rows[0]["classifier.C"] == "2"


def test_varying_params_unit() -> None:
    class R:
        def __init__(self, params):
            self.data = type("D", (), {"params": params})()

    runs = [
        R({"b": "1", "classifier": "svm", "text": "x", "paths.output_dir": "1", "z": "same"}),
        R({"b": "2", "classifier": "lr", "text": "y", "paths.output_dir": "2", "z": "same"}),
        R({"b": "2", "classifier": "lr", "text": "y", "extra": "1", "z": "same"}),
    ]
    assert varying_params(runs) == ["classifier", "text", "b", "extra"]
    assert varying_params(runs[:1]) == []


def test_metric_override_and_ascending_for_losses(store, capsys):
    rows = _json(capsys, ["--tracking-uri", store["uri"], "--metric", "test_f1_macro"])
    names = [r["name"] for r in rows if r["task"] == "classification"]
    assert names == ["sgd-tfidf", "C=0.5,classifier=logreg", "C=2,classifier=svm"]
    rows = _json(capsys, ["--tracking-uri", store["uri"], "--metric", "outlier_ratio"])
    assert [r["name"] for r in rows if r["task"] == "topics"][-1] == "bertopic"
    assert is_ascending("test_hamming_loss") and is_ascending("fit_seconds")
    assert not is_ascending("npmi")


def test_sweep_lists_its_finished_jobs_only(store, capsys):
    rows = _json(capsys, ["--tracking-uri", store["uri"], "--sweep", SWEEP])
    assert [r["name"] for r in rows] == ["C=2,classifier=svm", "C=0.5,classifier=logreg"]
    assert "error" not in rows[0]


def test_all_statuses_shows_the_failed_job_with_its_error(store, capsys):
    rows = _json(capsys, ["--tracking-uri", store["uri"], "--sweep", SWEEP, "--all-statuses"])
    failed = [r for r in rows if r["status"] == "FAILED"]
    assert len(rows) == 3 and len(failed) == 1
    assert failed[0]["error"] == "DataError: the test split is empty"
    assert rows[0] == failed[0]  # val 0.95: still ranked by its metric


def test_top_and_filter(store, capsys):
    rows = _json(
        capsys,
        [
            "--tracking-uri",
            store["uri"],
            "--experiment",
            "arnews-classifier",
            "--filter",
            "params.classifier = 'logreg'",
        ],
    )
    assert [r["name"] for r in rows] == ["C=0.5,classifier=logreg"]
    rows = _json(capsys, ["--tracking-uri", store["uri"], "--top", "1"])
    assert [r["name"] for r in rows] == ["C=2,classifier=svm", "lda"]


def test_csv_parses_back_one_block_per_task(store, capsys):
    assert main(["--tracking-uri", store["uri"], "--format", "csv"]) == 0
    blocks = capsys.readouterr().out.strip().split("\n\n")
    assert len(blocks) == 2
    classification = list(csv.DictReader(io.StringIO(blocks[0])))
    topics = list(csv.DictReader(io.StringIO(blocks[1])))
    assert classification[0]["task"] == "classification"
    assert float(classification[0]["val_f1_macro"]) == pytest.approx(0.90)
    assert classification[0]["run_id"] == store["C=2,classifier=svm"]
    assert [r["name"] for r in topics] == ["lda", "nmf", "bertopic"]


def test_table_and_markdown(store, capsys):
    assert main(["--tracking-uri", store["uri"]]) == 0
    out = capsys.readouterr().out
    assert "classification runs (3), ranked by val_f1_macro (descending)" in out
    assert "topics runs (3), ranked by npmi (descending)" in out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("run "))
    assert "classifier.C" in header and "paths.output_dir" not in header
    assert store["C=2,classifier=svm"][:8] in out and "0.9000" in out
    assert main(["--tracking-uri", store["uri"], "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "### classification runs (3)" in md and "|---|" in md
    assert "| " + store["C=2,classifier=svm"][:8] + " |" in md


def test_errors_are_one_line_with_exit_2(store, capsys, tmp_path: Path):
    uri = store["uri"]
    for argv, expected in [
        (["--filter", "params.classifier === 'x'"], "Invalid --filter"),
        (["--sweep", "no-such-sweep"], "no-such-sweep"),
        (["--experiment", "nope"], "No experiment named 'nope'"),
    ]:
        assert main(["--tracking-uri", uri, *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and expected in err and "\n" not in err
    missing = tmp_path / "missing.db"
    assert main(["--tracking-uri", f"sqlite:///{missing}"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not missing.exists()


def test_no_runs_says_so(store, capsys):
    argv = ["--tracking-uri", store["uri"], "--filter", "params.classifier = 'none'"]
    assert main(argv) == 0
    assert "No finished runs" in capsys.readouterr().out


def test_default_store_is_the_cwd(store, capsys, monkeypatch, tmp_path: Path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main([]) == 2
    assert str(tmp_path / "mlflow.db") in capsys.readouterr().err
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store["uri"])
    assert main(["--experiment", "elsewhere", "--format", "json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["elsewhere-run"]


def test_promote_errors(store, capsys):
    uri = store["uri"]
    cases = [
        (["--promote", store["single"]], None),  # --alias missing: argparse, exit 2
        (["--promote", store["single"], "--alias", "champion"], "no logged model"),
        (["--promote", "arnews-classifier/7", "--alias", "champion"], "no version 7"),
        (["--promote", "zz-not-a-run", "--alias", "champion"], "neither a run id"),
        (["--promote", store["C=9,classifier=svm"][:10], "--alias", "c"], "FAILED"),
    ]
    for argv, expected in cases:
        with pytest.raises(SystemExit) if expected is None else contextlib.nullcontext():
            assert main(["--tracking-uri", uri, *argv]) == 2
        err = capsys.readouterr().err
        if expected:
            assert expected in err and err.startswith("error: ")
