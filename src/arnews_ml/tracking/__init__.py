"""Experiment tracking: the Tracker protocol, NullTracker, and (lazily) MlflowTracker.

Only this subpackage imports mlflow, and only when MlflowTracker (or the pyfunc wrapper) is
used: ``import arnews_ml.tracking`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arnews_ml.tracking.base import (
    ModelLogResult,
    NullTracker,
    Tracker,
    find_bundle_dir,
    flatten_config,
    git_commit,
    package_version,
)

if TYPE_CHECKING:
    from arnews_ml.tracking.mlflow_tracker import MlflowTracker, download_model_bundle

__all__ = [
    "MlflowTracker",
    "ModelLogResult",
    "NullTracker",
    "Tracker",
    "download_model_bundle",
    "find_bundle_dir",
    "flatten_config",
    "git_commit",
    "package_version",
]

_LAZY = {"MlflowTracker", "download_model_bundle"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from arnews_ml.tracking import mlflow_tracker

        return getattr(mlflow_tracker, name)
    raise AttributeError(f"module 'arnews_ml.tracking' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)
