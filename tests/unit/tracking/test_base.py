"""Tracker protocol helpers: flatten_config, NullTracker, git_commit, find_bundle_dir."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from arnews_ml.exceptions import ConfigError
from arnews_ml.persist import MANIFEST_FILE, save_bundle
from arnews_ml.tracking import (
    NullTracker,
    Tracker,
    find_bundle_dir,
    flatten_config,
    git_commit,
    package_version,
)
from arnews_ml.tracking._testing import EchoModel
from arnews_ml.tracking.base import MAX_PARAM_VALUE_LENGTH, TAG_PARAMS_TRUNCATED, truncate_params

CONFIG = {
    "data": {"path": "data/عربي.jsonl", "label_delimiter": "|", "val_size": 0.1},
    "embedder": {"kind": "tfidf", "options": {"ngram_range": [1, 2], "min_df": 2}},
    "classifier": {"head": {"_target_": "sklearn.linear_model.LogisticRegression", "C": 1.0}},
    "labels": ["سياسة", "رياضة"],
    "seed": 7,
    "chain": False,
    "revision": None,
    "extra": {},
    "span": (1, 3),
}


def test_flatten_config_dotted_keys_and_string_values() -> None:
    flat = flatten_config(CONFIG)

    assert flat == {
        "data.path": "data/عربي.jsonl",
        "data.label_delimiter": "|",
        "data.val_size": "0.1",
        "embedder.kind": "tfidf",
        "embedder.options.ngram_range": "[1, 2]",
        "embedder.options.min_df": "2",
        "classifier.head._target_": "sklearn.linear_model.LogisticRegression",
        "classifier.head.C": "1.0",
        "labels": '["سياسة", "رياضة"]',
        "seed": "7",
        "chain": "False",
        "revision": "None",
        "extra": "{}",
        "span": "[1, 3]",
    }
    assert flat.truncated == frozenset()


def test_flatten_config_lists_of_dicts_stay_json() -> None:
    flat = flatten_config({"callbacks": [{"name": "a", "k": 1}, {"name": "b"}]}, sep="/")
    assert json.loads(flat["callbacks"]) == [{"name": "a", "k": 1}, {"name": "b"}]
    assert flatten_config({"a": {"b": 1}}, sep="/") == {"a/b": "1"}


def test_flatten_config_truncates_long_values() -> None:
    flat = flatten_config({"model": {"vocabulary": "ك" * 7000}, "short": "x"})

    assert len(flat["model.vocabulary"]) == MAX_PARAM_VALUE_LENGTH == 6000
    assert flat["model.vocabulary"].endswith("…")
    assert flat.truncated == frozenset({"model.vocabulary"})
    assert flat["short"] == "x"


def test_flatten_config_key_collision_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"'a\.b'"):
        flatten_config({"a.b": 1, "a": {"b": 2}})


def test_flatten_config_needs_a_mapping() -> None:
    with pytest.raises(ConfigError, match="expects a mapping"):
        flatten_config([1, 2])  # type: ignore[arg-type]


def test_flatten_config_accepts_omegaconf() -> None:
    omegaconf = pytest.importorskip("omegaconf")
    cfg = omegaconf.OmegaConf.create({"a": {"b": [1, {"c": 2}]}, "d": "${a.b}"})
    flat = flatten_config(cfg)
    assert json.loads(flat["a.b"]) == [1, {"c": 2}]
    assert json.loads(flat["d"]) == [1, {"c": 2}]  # interpolations resolved on access


def test_truncate_params_keeps_earlier_truncations() -> None:
    flat = flatten_config({"long": "x" * 7000})
    _, truncated = truncate_params({**flat, "other": "y" * 6001})
    assert truncated == frozenset({"other"})  # a plain dict loses the attribute...
    _, truncated = truncate_params(flat)
    assert truncated == frozenset({"long"})  # ...a FlatConfig keeps it


def test_null_tracker_records_everything(tmp_path: Path) -> None:
    tracker = NullTracker()
    assert isinstance(tracker, Tracker)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "a.md").write_text("# a", encoding="utf-8")

    with tracker.run("train", tags={"data_fingerprint": "abc"}) as run_id:
        tracker.log_params(flatten_config({"x": {"y": 1}, "long": "z" * 7000}))
        tracker.log_metrics({"f1": 0.5}, step=1)
        tracker.log_metrics({"f1": 0.75}, step=2)
        tracker.set_tags({"stage": "test"})
        tracker.log_text("hello", "notes.txt")
        tracker.log_dict({"a": 1}, "config.yaml")
        tracker.log_artifact(tmp_path / "reports" / "a.md", "docs")
        tracker.log_artifacts(tmp_path, "all")
        result = tracker.log_model(tmp_path, registered_model_name="news")

    assert tracker.params["x.y"] == "1" and len(tracker.params["long"]) == 6000
    assert tracker.tags == {
        "data_fingerprint": "abc",
        "stage": "test",
        TAG_PARAMS_TRUNCATED: "long",
    }
    assert tracker.metrics == {"f1": 0.75}
    assert tracker.metric_history["f1"] == [(1, 0.5), (2, 0.75)]
    assert tracker.artifacts["notes.txt"] == "hello"
    assert tracker.artifacts["config.yaml"] == {"a": 1}
    assert tracker.artifacts["docs/a.md"] == tmp_path / "reports" / "a.md"
    assert tracker.artifacts["all/reports/a.md"] == tmp_path / "reports" / "a.md"
    assert result.model_uri == str(tmp_path) and result.run_id == run_id
    assert tracker.models == [result]
    assert tracker.status == "FINISHED"


def test_null_tracker_run_marks_failed_and_reraises() -> None:
    tracker = NullTracker()
    with pytest.raises(ValueError, match="boom"), tracker.run("bad"):
        raise ValueError("boom")
    assert tracker.status == "FAILED"
    assert tracker.active_run_id is None


def test_null_tracker_run_marks_killed_on_keyboard_interrupt() -> None:
    tracker = NullTracker()
    with pytest.raises(KeyboardInterrupt), tracker.run("ctrl-c"):
        raise KeyboardInterrupt
    assert tracker.status == "KILLED"


def test_null_tracker_nested_runs() -> None:
    tracker = NullTracker()
    with tracker.run("parent") as parent, tracker.run("child") as child:
        assert tracker.active_run_id == child
    assert [r["parent_run_id"] for r in tracker.runs] == [None, parent]
    assert [r["status"] for r in tracker.runs] == ["FINISHED", "FINISHED"]


def test_logging_outside_a_run_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="start_run"):
        NullTracker().log_params({"a": 1})


def test_bad_status_and_bad_metric_are_errors() -> None:
    tracker = NullTracker()
    tracker.start_run()
    with pytest.raises(TypeError, match="'f1' must be a number"):
        tracker.log_metrics({"f1": "high"})
    with pytest.raises(ConfigError, match="FINISHED, FAILED, KILLED"):
        tracker.end_run("DONE")  # type: ignore[arg-type]


def test_git_commit_outside_a_repository_is_none(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None
    assert git_commit(tmp_path / "missing") is None


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_in_a_repository(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    assert git_commit(tmp_path) is None  # no commit yet
    (tmp_path / "f.txt").write_text("x", encoding="utf-8")
    git("add", "f.txt")
    git("-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-q", "-m", "init")
    commit = git_commit(tmp_path)
    assert commit is not None and len(commit) == 40


def test_package_version_is_reexported() -> None:
    assert package_version()[0].isdigit()


def test_find_bundle_dir(tmp_path: Path) -> None:
    bundle = save_bundle(EchoModel(), tmp_path / "plain")
    assert find_bundle_dir(bundle) == bundle

    model_dir = tmp_path / "mlflow_model"
    (model_dir / "artifacts").mkdir(parents=True)
    (model_dir / "MLmodel").write_text("flavors: {}\n", encoding="utf-8")
    assert find_bundle_dir(model_dir) is None
    shutil.copytree(bundle, model_dir / "artifacts" / "classifier")
    assert find_bundle_dir(model_dir) == model_dir / "artifacts" / "classifier"

    assert find_bundle_dir(tmp_path) is None
    assert (bundle / MANIFEST_FILE).is_file()


def test_importing_tracking_does_not_import_mlflow() -> None:
    code = (
        "import sys, arnews_ml.tracking as t, arnews_ml.inference, arnews_ml.persist\n"
        "assert 'mlflow' not in sys.modules, 'mlflow imported'\n"
        "assert 'MlflowTracker' in dir(t)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
