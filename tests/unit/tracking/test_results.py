"""Results tables come from the MLflow store, sorted best first, and fill a README block."""

from __future__ import annotations

from pathlib import Path

import pytest

from arnews_ml.exceptions import ConfigError
from arnews_ml.tracking.results import results_table, update_readme


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    import mlflow

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("study", artifact_location=(tmp_path / "art").as_uri())
    for head, f1, status in [
        ("logreg", 0.81, "FINISHED"),
        ("sgd", 0.86, "FINISHED"),
        ("knn", 0.99, "FAILED"),
    ]:
        run = client.create_run(exp)
        client.log_param(run.info.run_id, "classifier._target_", f"arnews_ml.classify.heads.{head}")
        client.log_param(run.info.run_id, "embedder.analyzer", "word")
        client.log_metric(run.info.run_id, "test_f1_macro", f1)
        client.log_metric(run.info.run_id, "fit_seconds", 12.5)
        client.set_terminated(run.info.run_id, status)
    parent = client.create_run(exp, tags={"arnews_ml.sweep_parent": "true"})
    client.log_metric(parent.info.run_id, "best_test_f1_macro", 0.86)
    client.set_terminated(parent.info.run_id, "FINISHED")
    return uri


def test_results_table_lists_finished_runs_best_first(store: str):
    table = results_table("study", store)
    # the FAILED run and the sweep's parent (a summary, no run of its own) are left out
    assert list(table["classifier"]) == ["sgd", "logreg"]
    assert list(table["test macro-F1"]) == [0.86, 0.81]
    assert table["features"].tolist() == ["word", "word"]


def test_reading_a_store_leaves_the_callers_mlflow_uri_alone(store: str, monkeypatch):
    import os

    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    before = mlflow.get_tracking_uri()
    results_table("study", store)
    with pytest.raises(ConfigError):
        results_table("nope", store)
    # (once it did not: later tests and trackers in the process read the wrong store)
    assert mlflow.get_tracking_uri() == before
    assert "MLFLOW_TRACKING_URI" not in os.environ


def test_unknown_experiment_is_a_clear_error(store: str):
    with pytest.raises(ConfigError, match="No MLflow experiment named 'nope'"):
        results_table("nope", store)


def test_update_readme_replaces_only_the_marked_block(store: str, tmp_path: Path):
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Study\n\n<!-- results:begin -->\nold\n<!-- results:end -->\n\nafter\n", encoding="utf-8"
    )
    update_readme(readme, results_table("study", store))
    text = readme.read_text(encoding="utf-8")
    assert "old" not in text and text.endswith("after\n")
    assert "| sgd | word |" in text and "0.8600" in text
    with pytest.raises(ConfigError, match="has no"):
        update_readme(_no_markers(tmp_path), results_table("study", store))


def _no_markers(tmp_path: Path) -> Path:
    path = tmp_path / "plain.md"
    path.write_text("# nothing to fill\n", encoding="utf-8")
    return path
