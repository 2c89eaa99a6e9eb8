"""Sweep info travels to jobs by environment or sweep folder; job run names from swept values."""

from __future__ import annotations

from pathlib import Path

import pytest

from arnews_ml.tracking.sweep_context import (
    SWEEP_ENV_VAR,
    SWEEP_FILE,
    SweepInfo,
    clear_sweep_info,
    publish_sweep_info,
    read_sweep_info,
    sweep_run_name,
)


@pytest.mark.parametrize(
    ("overrides", "swept", "name"),
    [
        (
            ["classifier=logreg", "classifier.C=0.5"],
            ("classifier", "classifier.C"),
            "C=0.5,classifier=logreg",
        ),
        (
            ["classifier=svm", "n_jobs=1", "embedder=tfidf"],
            ("classifier", "embedder"),
            "classifier=svm,embedder=tfidf",
        ),
        (["+extra.key=3", "seed=1"], ("extra.key",), "key=3"),
        (["seed=1"], ("classifier",), "seed=1"),
        ([], ("classifier",), ""),
        (["classifier.C=0.7556591402284708"], ("classifier.C",), "C=0.7557"),
        (["data.path=/a/b.c/long_name.csv"], ("data.path",), "path=/a/b.c/long_name.csv"),
    ],
)
def test_sweep_run_name(overrides: list[str], swept: tuple[str, ...], name: str):
    assert sweep_run_name(overrides, swept) == name


def test_sweep_info_reaches_jobs_through_the_environment_or_the_sweep_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv(SWEEP_ENV_VAR, raising=False)
    info = SweepInfo("sid", "parent", ("classifier",), "val_f1_macro", "maximize", "auto")
    assert read_sweep_info(tmp_path) is None
    publish_sweep_info(info, tmp_path / "sweep")
    assert read_sweep_info() == info
    assert (tmp_path / "sweep" / SWEEP_FILE).is_file()
    clear_sweep_info()
    assert read_sweep_info() is None
    # a job on another machine sees the shared sweep folder only
    assert read_sweep_info(tmp_path / "sweep") == info
    (tmp_path / "sweep" / SWEEP_FILE).write_text("{not json", encoding="utf-8")
    assert read_sweep_info(tmp_path / "sweep") is None
