"""The run skeleton: names, choices as params, a config.yaml that re-runs, failures, datasets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from arnews_ml.config import compose
from arnews_ml.exceptions import ConfigError, DataError
from arnews_ml.tasks.common import should_register
from arnews_ml.tasks.context import RunContext
from arnews_ml.tasks.tracked_run import (
    CONFIG_FILE,
    log_corpus_inputs,
    rerunnable_config_yaml,
    tracked_run,
)
from arnews_ml.tracking.base import TAG_ERROR, NullTracker
from arnews_ml.tracking.sweep_context import SweepInfo


def _cfg(tmp_path: Path, *overrides: str):
    return compose("train", [f"paths.output_dir={tmp_path / 'run'}", *overrides])


def test_a_run_is_named_after_its_options_and_logs_each_choice_as_a_param(tmp_path: Path):
    cfg = _cfg(tmp_path, "classifier=logreg")
    context = RunContext().with_choices_from(cfg)
    tracker = NullTracker()
    with tracked_run(cfg, tracker, context, task="classification", default_name="logreg-tfidf"):
        pass
    run = tracker.runs[0]
    assert run["run_name"] == "logreg-tfidf" and run["status"] == "FINISHED"
    assert tracker.params["classifier"] == "logreg"
    assert tracker.params["embedder"] == "tfidf"
    assert tracker.params["classifier.C"] == "10.0"
    assert not any(key.startswith("choices") for key in tracker.params)
    assert tracker.tags["arnews_ml.task"] == "classification"


def test_a_sweep_job_is_a_child_named_after_its_swept_values(tmp_path: Path):
    cfg = _cfg(tmp_path, "classifier=logreg", "classifier.C=0.5")
    sweep = SweepInfo("s1", parent_run_id="parent123", swept_keys=("classifier", "classifier.C"))
    context = RunContext(
        choices={"classifier": "logreg"},
        overrides=("classifier=logreg", "classifier.C=0.5", "n_jobs=1"),
        sweep=sweep,
    )
    tracker = NullTracker()
    with tracked_run(cfg, tracker, context, task="classification", default_name="x"):
        pass
    run = tracker.runs[0]
    assert run["run_name"] == "C=0.5,classifier=logreg"
    assert run["parent_run_id"] == "parent123"
    assert tracker.tags["arnews_ml.sweep_id"] == "s1"
    assert tracker.tags["arnews_ml.overrides"] == "classifier=logreg classifier.C=0.5 n_jobs=1"


def test_a_failing_body_leaves_its_reason_and_log_file_and_ends_failed(tmp_path: Path):
    log_file = tmp_path / "arnews.log"
    log_file.write_text("a log line\n", encoding="utf-8")
    tracker = NullTracker()
    with (
        pytest.raises(DataError),
        tracked_run(
            _cfg(tmp_path),
            tracker,
            RunContext(log_file=log_file),
            task="classification",
            default_name="svm-tfidf",
        ),
    ):
        raise DataError("The file x.csv has no 'text' column.\nsecond line")
    assert tracker.status == "FAILED"
    assert tracker.tags[TAG_ERROR] == "DataError: The file x.csv has no 'text' column."
    assert "x.csv" in tracker.tags["mlflow.note.content"]
    assert tracker.artifacts["arnews.log"] == log_file


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("task=bogus", "'task'"),
        ("data.split.method=bogus", "'data.split.method'"),
        ("seed=abc", "'seed'"),
        ("classifier.C=-1", "'classifier.C'"),
        ("classifier.C=abc", "'classifier.C'"),
        ("classifier.C_grid=[1.0,-0.3]", "'classifier.C_grid'"),
        ("classifier.C_grid=[]", "'classifier.C_grid'"),
        ("tracking.register=sometimes", "'tracking.register'"),
        ("data.split.test_size=1.5", "'data.split.test_size'"),
    ],
)
def test_bad_values_are_refused_before_a_run_is_opened(tmp_path: Path, override: str, key: str):
    tracker = NullTracker()
    with (
        pytest.raises(ConfigError, match=key) as err,
        tracked_run(
            _cfg(tmp_path, override), tracker, RunContext(), task="classification", default_name="x"
        ),
    ):
        pass
    assert "\n" not in str(err.value)
    assert tracker.runs == []


def test_in_a_sweep_a_bad_value_fails_the_child_run_with_its_reason(tmp_path: Path):
    tracker = NullTracker()
    context = RunContext(sweep=SweepInfo("s", parent_run_id="p"), overrides=("seed=abc",))
    with (
        pytest.raises(ConfigError),
        tracked_run(
            _cfg(tmp_path, "seed=abc"), tracker, context, task="classification", default_name="x"
        ),
    ):
        pass
    assert tracker.status == "FAILED"
    assert "'seed'" in tracker.tags[TAG_ERROR]


def test_the_logged_config_is_plain_yaml_that_hydra_composes_again(tmp_path: Path):
    cfg = _cfg(tmp_path, "classifier=logreg", "seed=7")
    context = RunContext().with_choices_from(cfg)
    tracker = NullTracker()
    with tracked_run(cfg, tracker, context, task="classification", default_name="x") as run:
        text = (run.out / CONFIG_FILE).read_text(encoding="utf-8")
    assert "!!python" not in text
    plain = yaml.safe_load(text)
    assert plain["choices"]["classifier"] == "logreg"
    assert plain["paths"]["output_dir"] is None
    assert plain["embedder"]["word_ngram_range"] == "${tuple:1,2}"

    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from arnews_ml.config import CONFIG_DIR, to_container

    folder = tmp_path / "downloaded"
    folder.mkdir()
    (folder / "config.yaml").write_text(text, encoding="utf-8")
    GlobalHydra.instance().clear()
    # the logged config's defaults name the package's hydra settings: search both folders
    (folder / "hydra").symlink_to(CONFIG_DIR / "hydra")
    with initialize_config_dir(config_dir=str(folder), version_base="1.3"):
        again = hydra_compose(config_name="config")
    original = to_container(cfg)
    reloaded = to_container(again)
    for key in ("seed", "classifier", "embedder", "data", "text", "multilabel", "task"):
        assert reloaded[key] == original[key], key
    assert rerunnable_config_yaml(again, RunContext().with_choices_from(again)) == text


def test_each_part_of_the_corpus_is_logged_as_a_dataset_input(tmp_path: Path):
    from arnews_ml.data import load_sample

    corpus = load_sample()
    frame = corpus.frame
    parts = {"training": frame.iloc[:600], "validation": frame.iloc[:0], "test": frame.iloc[600:]}
    tracker = NullTracker()
    with tracker.run():
        log_corpus_inputs(tracker, corpus, parts, RunContext(choices={"data": "sample"}))
    assert [(d.context, d.n_rows) for d in tracker.inputs] == [("training", 600), ("test", 400)]
    assert tracker.inputs[0].name == corpus.paths[0].name
    assert tracker.inputs[0].digest != tracker.inputs[1].digest
    empty = type(corpus)(pd.DataFrame(frame.iloc[:5]), corpus.label_set, corpus.report)
    other = NullTracker()
    with other.run():
        log_corpus_inputs(other, empty, {"training": empty.frame}, RunContext({"data": "file"}))
    assert other.inputs[0].name == "file"


@pytest.mark.parametrize(
    ("policy", "in_sweep", "expected"),
    [
        ("auto", False, True),
        ("auto", True, False),
        ("always", True, True),
        ("never", False, False),
    ],
)
def test_registration_policy(tmp_path: Path, policy: str, in_sweep: bool, expected: bool):
    cfg = _cfg(tmp_path, f"tracking.register={policy}")
    assert should_register(cfg, in_sweep) is expected
    unnamed = _cfg(tmp_path, "tracking.register=always", "tracking.registered_model=null")
    assert should_register(unnamed, in_sweep) is False
