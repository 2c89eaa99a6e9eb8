"""Sweeps end to end: real Hydra multiruns in subprocesses against a real SQLite MLflow store.

Each sweep is one parent run with a child run per job (basic launcher, joblib's worker
processes, the Optuna sweeper), failing jobs do not stop the others, registration follows
``tracking.register``, and a run re-runs from its logged config with identical metrics.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

FAST = ["n_jobs=1", "report.worst_errors=5"]


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _sweep(uri: str, experiment: str = "arnews-classifier"):
    """The newest sweep parent of an experiment and its children."""
    client = _client(uri)
    exp = client.get_experiment_by_name(experiment)
    parents = client.search_runs(
        [exp.experiment_id],
        filter_string="tags.`arnews_ml.sweep_parent` = 'true'",
        order_by=["attributes.start_time DESC"],
    )
    parent = parents[0]
    children = client.search_runs(
        [exp.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
    )
    return parent, children


def _versions(uri: str, name: str = "arnews-classifier") -> list:
    return _client(uri).search_model_versions(f"name = '{name}'")


def _summary_rows(uri: str, run_id: str) -> list[dict[str, str]]:
    path = _client(uri).download_artifacts(run_id, "sweep_summary.csv")
    return list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))


def test_a_six_job_sweep_is_one_parent_with_six_children_and_one_registered_version(
    store: str, tmp_path: Path, run_cli, tiny_st_model: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ARNEWS_SENTENCE_MODEL", str(tiny_st_model))
    result = run_cli(
        [
            "arnews-train",
            "-m",
            "classifier=svm,logreg,sgd",
            "embedder=tfidf,sentence_transformer",
            *FAST,
            f"paths.cache_dir={tmp_path / 'cache'}",
        ],
        tmp_path,
        store,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    parent, children = _sweep(store)
    assert parent.info.status == "FINISHED"
    assert len(children) == 6
    sweep_id = parent.data.tags["arnews_ml.sweep_id"]
    assert {c.data.tags["arnews_ml.sweep_id"] for c in children} == {sweep_id}
    assert {c.info.run_name for c in children} == {
        f"classifier={h},embedder={e}"
        for h in ("svm", "logreg", "sgd")
        for e in ("tfidf", "sentence_transformer")
    }
    for child in children:
        assert child.data.params["classifier"] in {"svm", "logreg", "sgd"}
        assert child.data.params["embedder"] in {"tfidf", "sentence_transformer"}
        assert "n_train" in child.data.params and "n_train" not in child.data.metrics
        contexts = {d.tags[0].value for d in child.inputs.dataset_inputs}
        assert contexts == {"training", "validation", "test"}

    # the parent: sweep settings, summary sorted by the objective, the best child
    assert parent.data.params["sweep.swept_keys"] == "classifier,embedder"
    assert parent.data.params["n_children"] == "6"
    assert parent.data.params["n_failed_children"] == "0"
    rows = _summary_rows(store, parent.info.run_id)
    values = [float(r["val_f1_macro"]) for r in rows]
    assert values == sorted(values, reverse=True) and len(rows) == 6
    best = max(children, key=lambda c: c.data.metrics["val_f1_macro"])
    assert parent.data.params["best_run_id"] == rows[0]["run_id"]
    assert parent.data.metrics["best_val_f1_macro"] == best.data.metrics["val_f1_macro"]
    assert parent.data.metrics["best_test_f1_macro"] == pytest.approx(
        next(c for c in children if c.info.run_id == rows[0]["run_id"]).data.metrics[
            "test_f1_macro"
        ]
    )

    # arnews-runs ranks the sweep's jobs (not its parent) by the validation objective
    listed = run_cli(["arnews-runs", "--sweep", sweep_id, "--format", "json"], tmp_path, store)
    assert listed.returncode == 0, listed.stderr
    ranked = json.loads(listed.stdout)
    assert {r["run_id"] for r in ranked} == {r["run_id"] for r in rows}
    assert [r["val_f1_macro"] for r in ranked] == pytest.approx(values)  # ties in any order

    # registration: only the best child, with a description and tags
    versions = _versions(store)
    assert len(versions) == 1
    assert versions[0].run_id == parent.data.params["best_run_id"]
    assert "head" in versions[0].description and "test_f1_macro" in versions[0].description
    assert versions[0].tags["sweep_id"] == sweep_id


def test_a_failing_job_does_not_stop_the_others_and_the_parent_says_why(
    store: str, tmp_path: Path, run_cli
):
    result = run_cli(
        ["arnews-train", "-m", "classifier=svm,logreg", "classifier.C=1.0,-1", *FAST],
        tmp_path,
        store,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    parent, children = _sweep(store)
    assert parent.info.status == "FINISHED"
    failed = [c for c in children if c.info.status == "FAILED"]
    assert len(children) == 4 and len(failed) == 2
    for child in failed:
        assert "'classifier.C'" in child.data.tags["arnews_ml.error"]
    assert parent.data.params["n_failed_children"] == "2"
    note = parent.data.tags["mlflow.note.content"]
    assert "2 failed" in note and "classifier.C" in note

    # every job failing fails the parent and the command
    result = run_cli(
        ["arnews-train", "-m", "classifier=svm,logreg", "classifier.C=-1", *FAST], tmp_path, store
    )
    assert result.returncode == 1
    assert "every job of the sweep failed" in result.stderr
    parent, children = _sweep(store)
    assert parent.info.status == "FAILED" and len(children) == 2


def test_optuna_preset_runs_ten_trials_as_children_and_the_parent_holds_the_best(
    store: str, tmp_path: Path, run_cli
):
    # two trials at a time in joblib's worker processes
    result = run_cli(
        [
            "arnews-train",
            "-m",
            "hparams_search=svm_optuna",
            "hydra/launcher=joblib",
            "hydra.sweeper.n_jobs=2",
            *FAST,
        ],
        tmp_path,
        store,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    parent, children = _sweep(store)
    assert len(children) == 10
    assert parent.data.params["sweeper"] == "OptunaSweeper"
    assert parent.data.params["launcher"] == "JoblibLauncher"
    assert parent.data.params["objective"] == "val_f1_macro"
    best = max(children, key=lambda c: c.data.metrics["val_f1_macro"])
    assert parent.data.metrics["best_val_f1_macro"] == best.data.metrics["val_f1_macro"]
    best_child = next(c for c in children if c.info.run_id == parent.data.params["best_run_id"])
    assert best_child.data.metrics["val_f1_macro"] == best.data.metrics["val_f1_macro"]
    assert float(parent.data.params["best.classifier.C"]) == pytest.approx(
        float(best_child.data.params["classifier.C"])
    )
    assert best_child.info.run_name.startswith("C=")  # the swept values, not hparams_search=
    assert len(_versions(store)) == 1
    artifacts = {a.path for a in _client(store).list_artifacts(parent.info.run_id)}
    assert {"sweep_summary.csv", "sweep_summary.md", "optimization_results.yaml"} <= artifacts


def test_joblib_launcher_jobs_in_other_processes_nest_under_one_parent(
    store: str, tmp_path: Path, run_cli
):
    import os
    import sys

    command = [
        str(Path(sys.executable).parent / "arnews-train"),
        "-m",
        "classifier=svm,logreg",
        "hydra/launcher=joblib",
        "tracking.register=never",
        *FAST,
    ]
    env = {**os.environ, "MLFLOW_TRACKING_URI": store}
    proc = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr[-3000:]
    parent, children = _sweep(store)
    assert parent.data.params["launcher"] == "JoblibLauncher"
    assert len(children) == 2
    assert all(c.data.tags["arnews_ml.pid"] != str(proc.pid) for c in children)
    assert _versions(store) == []  # tracking.register=never


def test_registration_always_registers_every_job_and_a_topic_sweep_nests_too(
    store: str, tmp_path: Path, run_cli
):
    result = run_cli(
        ["arnews-train", "-m", "classifier=svm,logreg", "tracking.register=always", *FAST],
        tmp_path,
        store,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(_versions(store)) == 2

    result = run_cli(
        ["arnews-topics", "-m", "topic_model=lda,nmf", "analysis.html=false"], tmp_path, store
    )
    assert result.returncode == 0, result.stderr[-3000:]
    parent, children = _sweep(store, "arnews-topics")
    assert {c.info.run_name for c in children} == {"topic_model=lda", "topic_model=nmf"}
    assert parent.data.params["objective"] == "npmi"
    assert "best_npmi" in parent.data.metrics
    assert len(_versions(store, "arnews-topics")) == 1


def test_a_run_reruns_from_its_logged_config_with_identical_metrics(
    store: str, tmp_path: Path, run_cli
):
    result = run_cli(
        ["arnews-train", "classifier=logreg", "seed=5", *FAST, "hydra.run.dir=first"],
        tmp_path,
        store,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    client = _client(store)
    exp = client.get_experiment_by_name("arnews-classifier")
    (first,) = client.search_runs([exp.experiment_id])
    assert first.info.run_name == "logreg-tfidf"
    downloaded = Path(client.download_artifacts(first.info.run_id, "config.yaml", str(tmp_path)))

    result = run_cli(
        [
            "arnews-train",
            "--config-dir",
            str(downloaded.parent),
            "--config-name",
            "config",
            "hydra.run.dir=second",
        ],
        tmp_path,
        store,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"])
    second = runs[0]
    assert second.info.run_id != first.info.run_id
    assert second.info.run_name == "logreg-tfidf"
    assert second.data.params["classifier"] == "logreg"
    quality = {
        k: v
        for k, v in first.data.metrics.items()
        if not k.endswith("_seconds") and not k.startswith("cache_")  # the rerun hits the cache
    }
    assert quality and {k: second.data.metrics[k] for k in quality} == quality


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("task=bogus", "task"),
        ("data.split.method=bogus", "data.split.method"),
        ("seed=abc", "seed"),
    ],
)
def test_bad_config_values_are_one_line_and_open_no_run(
    store: str, tmp_path: Path, run_cli, override: str, key: str
):
    result = run_cli(["arnews-train", override], tmp_path, store)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and f"'{key}'" in lines[0]
    assert "Traceback" not in result.stderr
    client = _client(store)
    exp = client.get_experiment_by_name("arnews-classifier")
    assert exp is None or client.search_runs([exp.experiment_id]) == []


def test_an_unwritable_output_folder_or_a_store_under_a_file_is_one_line_and_no_run(
    store: str, tmp_path: Path, run_cli
):
    blocker = tmp_path / "a_file"
    blocker.write_text("x", encoding="utf-8")
    result = run_cli(["arnews-train", f"paths.output_dir={blocker}/run"], tmp_path, store)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert "paths.output_dir" in line
    result = run_cli(
        ["arnews-train", f"tracking.tracking_uri=sqlite:///{blocker}/sub/mlflow.db"],
        tmp_path,
        store,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert "tracking.tracking_uri" in line and "is a file" in line
    client = _client(store)
    exp = client.get_experiment_by_name("arnews-classifier")
    assert exp is None or client.search_runs([exp.experiment_id]) == []
