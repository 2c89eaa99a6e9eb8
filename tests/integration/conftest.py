"""Integration fixtures: a temporary SQLite MLflow store and a runner for the package's commands."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite tracking URI in tmp_path, set as MLFLOW_TRACKING_URI; the test runs in tmp_path."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess]:
    """Run one of the venv's commands (`arnews-train`, ...) against a tracking URI, captured."""

    def run(
        args: list[str], cwd: Path, uri: str, timeout: int = 900
    ) -> subprocess.CompletedProcess:
        env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": f"{BIN}:{os.environ['PATH']}"}
        command = [str(BIN / args[0]), *args[1:]]
        return subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )

    return run
