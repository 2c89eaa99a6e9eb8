"""Integration fixtures: a temporary SQLite MLflow store and a runner for the package's commands."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="session")
def train_sample() -> Callable[..., Any]:
    """Train the default classifier on the sample corpus, outputs and caches under ``root``.

    ``train(root, name, *overrides)``: the run folder is ``root/name``; call it inside
    :func:`sqlite_store` so the run goes to that store.
    """

    def train(root: Path, name: str = "run", *overrides: str) -> Any:
        from arnews_ml.config import compose
        from arnews_ml.tasks.train_classifier import train_classifier

        base = [f"paths.output_dir={root / name}", f"paths.cache_dir={root / 'cache'}"]
        return train_classifier(compose("train", [*base, *overrides]))

    return train


@contextmanager
def sqlite_store(root: Path) -> Iterator[str]:
    """``root/mlflow.db`` as MLFLOW_TRACKING_URI with ``root`` as the working folder, for a
    module-scoped fixture (which cannot use ``monkeypatch``)."""
    uri = f"sqlite:///{root}/mlflow.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        yield uri


@pytest.fixture(scope="session")
def store_in() -> Callable[[Path], Any]:
    """:func:`sqlite_store`, for test modules (a conftest is not imported by name)."""
    return sqlite_store
