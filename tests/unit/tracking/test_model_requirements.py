"""Logging a model checks its own pip requirements without mapping every installed package."""

from __future__ import annotations

import logging

import pytest
from mlflow.utils import requirements_utils
from mlflow.utils.environment import _process_pip_requirements

from arnews_ml.tracking.model_logging import _requirements_checked_alone


@pytest.fixture
def fresh_maps(monkeypatch):
    monkeypatch.setattr(requirements_utils, "_MODULES_TO_PACKAGES", None)
    monkeypatch.setattr(requirements_utils, "_PACKAGES_TO_MODULES", None)


def test_a_requirement_this_environment_misses_is_still_reported(fresh_maps, caplog) -> None:
    wanted = ["arnews-ml==0.0.0.dev0"]
    with caplog.at_level(logging.WARNING), _requirements_checked_alone(wanted):
        _process_pip_requirements([], pip_requirements=wanted)
    assert "arnews-ml (current: " in caplog.text and "required: arnews-ml==0.0.0" in caplog.text
    # MLflow's own state is back: the next model it logs maps the environment as before
    assert requirements_utils._MODULES_TO_PACKAGES is None
    assert requirements_utils._PACKAGES_TO_MODULES is None


def test_a_met_requirement_is_quiet_and_never_maps_the_environment(
    fresh_maps, monkeypatch, caplog
) -> None:
    from importlib.metadata import version

    mapped = []  # (MLflow swallows errors of its check: record the call instead of raising)
    monkeypatch.setattr(
        requirements_utils.importlib_metadata,
        "packages_distributions",
        lambda: mapped.append(True) or {},
    )
    wanted = [f"arnews-ml=={version('arnews-ml')}"]
    with caplog.at_level(logging.WARNING), _requirements_checked_alone(wanted):
        _process_pip_requirements([], pip_requirements=wanted)
    assert not mapped
    assert "mismatches" not in caplog.text
    _process_pip_requirements([], pip_requirements=wanted)  # without it, MLflow maps them all
    assert mapped


def test_a_map_mlflow_already_built_is_left_alone(monkeypatch) -> None:
    built = {"numpy": ["numpy"]}
    monkeypatch.setattr(requirements_utils, "_MODULES_TO_PACKAGES", built)
    with _requirements_checked_alone(["arnews-ml==1"]):
        assert requirements_utils._MODULES_TO_PACKAGES is built
    assert requirements_utils._MODULES_TO_PACKAGES is built
