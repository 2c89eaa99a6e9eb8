"""arnews-runs against a store holding a really trained classifier: listing and promotion."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from arnews_ml import load_model
from arnews_ml.persist import load_bundle
from arnews_ml.tracking.runs import main
from arnews_ml.tracking.store import _scoped_tracking_uri

NEW_ARTICLES = [
    "نفذت القوات الأمنية عملية واسعة ضد خلايا داعش بإسناد جوي من طيران التحالف الدولي",
    "فاز نادي الزوراء على نادي الشرطة بهدفين في الدوري الممتاز",
    "صوّت مجلس النواب على قانون الموازنة العامة بعد نقاش طويل",
]


#: Runs of this module are not registered unless a test asks for it.
UNREGISTERED = ("tracking.registered_model=null", "n_jobs=1")


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, store_in, train_sample
) -> Iterator[dict[str, Any]]:
    """One classifier trained (not registered) into a fresh SQLite store; cwd is the store's."""
    root = tmp_path_factory.mktemp("runs-cli")
    with store_in(root) as uri:
        result = train_sample(root, "run", *UNREGISTERED)
        yield {"uri": uri, "root": root, "result": result}


@pytest.fixture
def env(trained: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(trained["root"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
    return trained


def _promote(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["--promote", *argv]) == 0, capsys.readouterr().err
    return capsys.readouterr().out.strip()


def test_lists_the_trained_run(env: dict[str, Any], capsys: pytest.CaptureFixture[str]):
    assert main(["--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    mine = [r for r in rows if r["run_id"] == env["result"].run_id]
    assert len(mine) == 1
    assert mine[0]["task"] == "classification" and mine[0]["ranked_by"] == "val_f1_macro"
    assert mine[0]["val_f1_macro"] == pytest.approx(env["result"].metrics["val_f1_macro"])
    assert mine[0]["status"] == "FINISHED" and mine[0]["name"]


def test_promote_registers_once_loads_and_moves_the_alias(
    env: dict[str, Any], capsys: pytest.CaptureFixture[str]
):
    result = env["result"]
    run_id = result.run_id
    before = mlflow.get_tracking_uri()

    line = _promote(capsys, run_id, "--alias", "champion")
    assert line == f"models:/arnews-classifier@champion -> version 1 (run {run_id})"
    assert mlflow.get_tracking_uri() == before

    champion = load_model("models:/arnews-classifier@champion")
    expected = load_bundle(result.bundle_dir).predict_scores(NEW_ARTICLES)
    pd.testing.assert_frame_equal(champion.predict_scores(NEW_ARTICLES), expected)

    # again, by a unique 8-character prefix: the same version, no second one
    line = _promote(capsys, run_id[:8], "--alias", "champion")
    assert line == f"models:/arnews-classifier@champion -> version 1 (run {run_id})"
    client = MlflowClient(tracking_uri=env["uri"])
    assert len(client.search_model_versions("name = 'arnews-classifier'")) == 1

    # a second version of the same model (as a re-registration would make), then by number
    with _scoped_tracking_uri(env["uri"]):
        second = mlflow.register_model(result.model_uri, "arnews-classifier")
    assert str(second.version) == "2"
    assert _promote(capsys, "2", "--alias", "champion").endswith(
        "-> version 2 (run " + run_id + ")"
    )
    assert str(client.get_model_version_by_alias("arnews-classifier", "champion").version) == "2"
    line = _promote(capsys, "arnews-classifier/1", "--alias", "champion")
    assert line.startswith("models:/arnews-classifier@champion -> version 1")
    assert str(client.get_model_version_by_alias("arnews-classifier", "champion").version) == "1"

    # another name: registered there, the first name untouched
    line = _promote(capsys, run_id, "--alias", "staging", "--name", "arnews-other")
    assert line == f"models:/arnews-other@staging -> version 1 (run {run_id})"


def test_promote_reuses_the_version_log_model_registered(
    env: dict[str, Any], capsys: pytest.CaptureFixture[str], train_sample
):
    registered = (*UNREGISTERED, "tracking.registered_model=arnews-registered")
    result = train_sample(env["root"], "registered", *registered)
    assert result.registered_version is not None
    line = _promote(capsys, result.run_id, "--alias", "champion", "--name", "arnews-registered")
    assert line == (
        f"models:/arnews-registered@champion -> version {result.registered_version} "
        f"(run {result.run_id})"
    )
    client = MlflowClient(tracking_uri=env["uri"])
    assert len(client.search_model_versions("name = 'arnews-registered'")) == 1
