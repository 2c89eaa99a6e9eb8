"""MlflowTracker against a SQLite store in tmp: runs, params, metrics, artifacts, models, URIs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from matplotlib.figure import Figure
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.types import DataType
from mlflow.types.schema import Array

from arnews_ml.exceptions import ArtifactError, ConfigError
from arnews_ml.inference import load_model
from arnews_ml.persist import save_bundle
from arnews_ml.tracking import MlflowTracker, flatten_config
from arnews_ml.tracking._testing import EchoModel
from arnews_ml.tracking.base import TAG_PACKAGE_VERSION, TAG_PARAMS_TRUNCATED

TEXTS = ["ارتفعت أسعار النفط إلى 85 دولاراً", "فاز فريق الزوراء على الشرطة", "النفط والغاز"]
REGISTERED = "echo-news"


@dataclass
class Logged:
    uri: str
    bundle: Path
    run_id: str
    model_uri: str
    version: int | None


@pytest.fixture(autouse=True)
def _clean_mlflow_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    # MLflow falls back to ./mlflow.db: never let a test create one in the repository
    monkeypatch.chdir(tmp_path)
    yield
    while mlflow.active_run() is not None:  # a failed test must not leak its run
        mlflow.end_run("KILLED")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{root.as_posix()}/mlflow.db"


@pytest.fixture
def tracker(store: str, request: pytest.FixtureRequest) -> MlflowTracker:
    return MlflowTracker(tracking_uri=store, experiment=request.node.name)


@pytest.fixture(scope="module")
def logged(store: str, tmp_path_factory: pytest.TempPathFactory) -> Logged:
    """One echo model, logged and registered once for the module (logging costs ~1-2 s)."""
    bundle = save_bundle(EchoModel(), tmp_path_factory.mktemp("bundles") / "echo_v1")
    tracker = MlflowTracker(tracking_uri=store, experiment="models")
    with tracker.run("log-model") as run_id:
        result = tracker.log_model(
            bundle, registered_model_name=REGISTERED, input_example=TEXTS[:2]
        )
    tracker.set_registered_alias(REGISTERED, "champion", result.registered_model_version)
    return Logged(store, bundle, run_id, result.model_uri, result.registered_model_version)


def test_params_metrics_tags_and_artifacts_land(tracker: MlflowTracker, tmp_path: Path) -> None:
    config = {"grid": {f"p{i:03d}": i for i in range(250)}, "vocab": "ك" * 7000}
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "metrics.json").write_text("{}", encoding="utf-8")
    figure = Figure()
    figure.add_subplot().plot([0, 1], [1, 0])

    with tracker.run("train", tags={"arnews_ml.data_fingerprint": "abc123"}) as run_id:
        tracker.log_params(flatten_config(config))
        tracker.log_metrics({"f1_micro": 0.5, "loss": 1.25}, step=1)
        tracker.log_metrics({"f1_micro": 0.75}, step=2)
        tracker.set_tags({"stage": "unit"})
        tracker.log_text("# تقرير", "reports/summary.md")
        tracker.log_dict({"labels": ("سياسة", "رياضة")}, "config/resolved.yaml")
        tracker.log_artifact(tmp_path / "reports" / "metrics.json", "eval")
        tracker.log_artifacts(tmp_path / "reports", "copies")
        tracker.log_figure(figure, "plots/curve.png")

    client = MlflowClient(tracker.tracking_uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "train"
    assert len(run.data.params) == 251  # > 100: logged in chunks
    assert run.data.params["grid.p007"] == "7"
    assert len(run.data.params["vocab"]) == 6000
    assert run.data.tags[TAG_PARAMS_TRUNCATED] == "vocab"
    assert run.data.tags["arnews_ml.data_fingerprint"] == "abc123"
    assert run.data.tags["stage"] == "unit"
    assert run.data.tags[TAG_PACKAGE_VERSION]
    assert run.data.metrics == {"f1_micro": 0.75, "loss": 1.25}
    history = client.get_metric_history(run_id, "f1_micro")
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.75)]

    def files(path: str | None = None) -> set[str]:
        out: set[str] = set()
        for info in client.list_artifacts(run_id, path):
            out |= files(info.path) if info.is_dir else {info.path}
        return out

    assert files() == {
        "reports/summary.md",
        "config/resolved.yaml",
        "eval/metrics.json",
        "copies/metrics.json",
        "plots/curve.png",
    }
    local = mlflow.artifacts.download_artifacts(
        run_id=run_id,
        artifact_path="reports/summary.md",
        dst_path=str(tmp_path / "dl"),
        tracking_uri=tracker.tracking_uri,
    )
    assert Path(local).read_text(encoding="utf-8") == "# تقرير"


def test_experiment_is_created_with_artifacts_beside_the_store(tracker: MlflowTracker) -> None:
    db = Path(tracker.tracking_uri.removeprefix("sqlite:///"))
    experiment = MlflowClient(tracker.tracking_uri).get_experiment(tracker.experiment_id)
    assert experiment.name == tracker.experiment
    assert experiment.artifact_location == (db.parent / "mlartifacts").as_uri()


def test_explicit_artifact_root(store: str, tmp_path: Path) -> None:
    tracker = MlflowTracker(store, experiment="explicit-root", artifact_root=tmp_path / "art")
    experiment = MlflowClient(store).get_experiment(tracker.experiment_id)
    assert experiment.artifact_location == (tmp_path / "art").as_uri()


def test_failed_run_is_marked_failed(tracker: MlflowTracker) -> None:
    with pytest.raises(ZeroDivisionError), tracker.run("bad") as run_id:
        tracker.log_metrics({"loss": 1.0})
        _ = 1 / 0
    assert MlflowClient(tracker.tracking_uri).get_run(run_id).info.status == "FAILED"
    assert mlflow.active_run() is None


def test_interrupted_run_is_marked_killed(tracker: MlflowTracker) -> None:
    with pytest.raises(KeyboardInterrupt), tracker.run("ctrl-c") as run_id:
        raise KeyboardInterrupt
    assert MlflowClient(tracker.tracking_uri).get_run(run_id).info.status == "KILLED"


def test_nested_runs_record_their_parent(tracker: MlflowTracker) -> None:
    with tracker.run("sweep") as parent, tracker.run("trial-0") as child:
        tracker.log_metrics({"f1": 0.1})
    client = MlflowClient(tracker.tracking_uri)
    assert client.get_run(child).data.tags["mlflow.parentRunId"] == parent
    assert client.get_run(child).data.metrics == {"f1": 0.1}
    assert client.get_run(parent).data.metrics == {}
    assert client.get_run(parent).info.status == "FINISHED"


def test_logging_without_a_run_is_an_error(tracker: MlflowTracker) -> None:
    with pytest.raises(RuntimeError, match="start_run"):
        tracker.log_params({"a": 1})


def test_global_tracking_uri_is_not_leaked(tracker: MlflowTracker) -> None:
    with tracker.run("scoped"):
        pass
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert mlflow.get_tracking_uri() != tracker.tracking_uri


def test_deleted_experiment_is_reported(store: str) -> None:
    client = MlflowClient(store)
    client.delete_experiment(client.create_experiment("gone"))
    with pytest.raises(ConfigError, match="is deleted"):
        MlflowTracker(store, experiment="gone").start_run()


def test_default_uri_is_sqlite_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tracker = MlflowTracker()
    assert tracker.tracking_uri == f"sqlite:///{tmp_path.as_posix()}/mlflow.db"
    assert tracker.artifact_root == (tmp_path / "mlartifacts").as_uri()
    assert tracker.experiment == "arnews"
    assert not (tmp_path / "mlflow.db").exists()  # nothing is created before the first run


def test_env_var_beats_default_and_argument_beats_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////srv/mlflow/store.db")
    assert MlflowTracker().tracking_uri == "sqlite:////srv/mlflow/store.db"
    assert MlflowTracker().artifact_root == "file:///srv/mlflow/mlartifacts"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert MlflowTracker().artifact_root is None  # the server decides
    assert MlflowTracker("sqlite:///x.db").tracking_uri == f"sqlite:///{tmp_path.as_posix()}/x.db"
    assert MlflowTracker("sqlite:////abs/x.db?timeout=5").tracking_uri == (
        "sqlite:////abs/x.db?timeout=5"
    )


def test_paths_are_turned_into_sqlite_uris_or_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert MlflowTracker("runs/store.db").tracking_uri == (
        f"sqlite:///{tmp_path.as_posix()}/runs/store.db"
    )
    with pytest.raises(ConfigError, match="no longer accepts a file store"):
        MlflowTracker("./mlruns")


def test_log_model_signature_and_layout(
    logged: Logged, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert logged.model_uri.startswith("models:/m-")
    assert logged.version == 1

    # MLflow resolves models:/ with the global URI only (tracking_uri= is not enough)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", logged.uri)
    local = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=logged.model_uri, dst_path=str(tmp_path))
    )
    # the bundle folder was called echo_v1; the logged model always holds artifacts/bundle
    assert (local / "artifacts" / "bundle" / "manifest.json").is_file()
    assert (local / "pyfunc_model.py").is_file()  # models from code: nothing cloudpickled
    assert not list(local.rglob("*.pkl"))
    requirements = (local / "requirements.txt").read_text(encoding="utf-8").split()
    assert any(r.startswith("arnews-ml==") for r in requirements)
    assert not any(r.startswith("torch") for r in requirements)

    signature = mlflow.models.Model.load(str(local)).signature
    assert signature.inputs.input_names() == ["text"]
    assert signature.inputs.inputs[0].type == DataType.string
    outputs = {spec.name: spec.type for spec in signature.outputs.inputs}
    assert outputs["labels"] == Array(DataType.string)
    assert outputs["score_a"] == DataType.double
    # no staging folder left beside the bundle
    assert sorted(p.name for p in logged.bundle.parent.iterdir()) == ["echo_v1"]


@pytest.mark.parametrize(
    "uri",
    [
        f"models:/{REGISTERED}/1",
        f"models:/{REGISTERED}@champion",
        "runs:/{run_id}/model",
        "{model_uri}",
    ],
    ids=["version", "alias", "runs", "model-id"],
)
def test_load_model_from_uris_matches_the_bundle(logged: Logged, uri: str, tmp_path: Path) -> None:
    uri = uri.format(run_id=logged.run_id, model_uri=logged.model_uri)
    model = load_model(uri, tracking_uri=logged.uri, download_dir=tmp_path / "dl")
    expected = EchoModel().predict_frame(TEXTS)
    pd.testing.assert_frame_equal(model.predict_frame(TEXTS), expected)
    assert model.predict(TEXTS) == [["a"], ["b"], ["a"]]


def test_load_model_uses_the_env_var(
    logged: Logged, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", logged.uri)
    model = load_model(f"models:/{REGISTERED}/1", download_dir=tmp_path / "dl")
    assert model.predict(["النفط"]) == [["a"]]
    assert (tmp_path / "dl" / "artifacts" / "bundle" / "manifest.json").is_file()
    # the downloaded MLflow model folder loads again without MLflow
    assert load_model(tmp_path / "dl").predict(["النفط"]) == [["a"]]


def test_load_model_without_a_store_says_set_the_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ArtifactError, match="Set MLFLOW_TRACKING_URI"):
        load_model("models:/anything/1", download_dir=tmp_path / "dl")
    assert not (tmp_path / "mlflow.db").exists()


def test_load_model_unknown_name_is_an_artifact_error(logged: Logged, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="models:/no-such-model/3"):
        load_model("models:/no-such-model/3", tracking_uri=logged.uri, download_dir=tmp_path)


def test_pyfunc_load_and_predict(logged: Logged, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", logged.uri)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{REGISTERED}@champion")
    expected = EchoModel().predict_frame(TEXTS)
    pd.testing.assert_frame_equal(pyfunc.predict(pd.DataFrame({"text": TEXTS})), expected)
    # MLflow's schema enforcement makes a dict {"text": [...]} one row holding the list, the
    # same frame as one HTTP record whose text is a list: one bad row, never several texts
    as_dict = pyfunc.predict({"text": TEXTS})
    assert as_dict["error"].tolist() == ["text must be a string, got list"]

    with pytest.raises(MlflowException) as err:
        pyfunc.predict(pd.DataFrame({"body": TEXTS}))
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "text" in err.value.message
    # a row that is no text gets an error, the others their prediction
    out = pyfunc.predict(pd.DataFrame({"text": ["ok", None]}))
    assert out["error"].tolist() == [None, "text is missing"]


def test_log_model_refuses_a_folder_that_is_not_a_bundle(
    tracker: MlflowTracker, tmp_path: Path
) -> None:
    with tracker.run("no-bundle"), pytest.raises(ArtifactError, match="not an arnews_ml bundle"):
        tracker.log_model(tmp_path)


def test_log_model_refuses_bad_input_examples(tracker: MlflowTracker, tmp_path: Path) -> None:
    bundle = save_bundle(EchoModel(), tmp_path / "bundle")
    with tracker.run("bad-example"), pytest.raises(ConfigError, match="list of strings"):
        tracker.log_model(bundle, input_example=[1, 2])


def test_signature_for_topics_and_empty_label_lists() -> None:
    import numpy as np

    from arnews_ml.tracking.mlflow_tracker import infer_bundle_signature

    example = pd.DataFrame({"text": ["نص", "آخر"]})
    output = pd.DataFrame(
        {
            "labels": [[], []],  # a multi-label model that predicted nothing for the example
            "topic": np.array([3, -1], dtype=np.int64),
            "topic_label": ["3_نفط_أسعار", "-1_outliers"],
            "topic_score": [0.8, 0.1],
        }
    )
    outputs = {s.name: s.type for s in infer_bundle_signature(example, output).outputs.inputs}
    assert outputs == {
        "labels": Array(DataType.string),
        "topic": DataType.long,
        "topic_label": DataType.string,
        "topic_score": DataType.double,
    }


def test_failed_download_leaves_no_temp_folder(
    logged: Logged, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(ArtifactError):
        load_model("models:/no-such-model/1", tracking_uri=logged.uri)
    assert not list(tmp_path.glob("arnews-model-*"))
