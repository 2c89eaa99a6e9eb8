"""Load a trained model from a bundle folder or an MLflow model URI."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from arnews_ml.exceptions import ArtifactError
from arnews_ml.persist import MANIFEST_FILE, load_bundle
from arnews_ml.tracking.store import MODEL_URI_PREFIXES

__all__ = ["is_model_uri", "load_model"]

_ACCEPTED_FORMS = (
    "a bundle folder (outputs/.../model), models:/<name>/<version>, models:/<name>@<alias>, "
    "models:/<model_id>, runs:/<run_id>/model, or an MLflow model folder"
)


def is_model_uri(value: str | Path) -> bool:
    """True for ``models:/...``, ``runs:/...`` and any ``scheme://...`` URI."""
    text = str(value)
    return text.startswith(MODEL_URI_PREFIXES) or "://" in text


def load_model(
    uri_or_folder: str | Path,
    *,
    download_dir: str | Path | None = None,
    tracking_uri: str | None = None,
) -> Any:
    """Load a trained arnews_ml model.

    A local folder (a bundle, or an MLflow model folder holding one) is loaded without importing
    MLflow. Anything else that looks like a URI is downloaded through MLflow first.

    Args:
        uri_or_folder: A bundle folder, or an MLflow model URI: ``models:/<name>/<version>``,
            ``models:/<name>@<alias>``, ``models:/<model_id>``, ``runs:/<run_id>/model``.
        download_dir: Where a URI's model is downloaded; default: a new temporary folder that
            is kept (the model may read its files after loading).
        tracking_uri: The MLflow store that resolves ``models:/`` and ``runs:/``; default:
            ``MLFLOW_TRACKING_URI``, else ``./mlflow.db``.

    Returns:
        The model saved in the bundle (``predict(texts) -> list[list[str]]``,
        ``predict_scores(texts) -> DataFrame``, ``predict_frame(texts) -> DataFrame``).

    Raises:
        ArtifactError: The path does not exist or is not a bundle, the URI cannot be resolved
            (the message says to set MLFLOW_TRACKING_URI), or the bundle fails its checks.
    """
    text = str(uri_or_folder)
    path = Path(text).expanduser()
    if not is_model_uri(text) and path.exists():
        from arnews_ml.tracking.base import find_bundle_dir

        bundle = find_bundle_dir(path)
        if bundle is None:
            raise ArtifactError(
                f"{path} is not an arnews_ml bundle (no {MANIFEST_FILE} in {path}, and not an "
                f"MLflow model folder holding one). Pass {_ACCEPTED_FORMS}."
            )
        return load_bundle(bundle)
    if is_model_uri(text):
        from arnews_ml.tracking.mlflow_tracker import download_model_bundle

        if download_dir is not None:
            return load_bundle(download_model_bundle(text, download_dir, tracking_uri=tracking_uri))
        target = Path(tempfile.mkdtemp(prefix="arnews-model-"))
        try:
            return load_bundle(download_model_bundle(text, target, tracking_uri=tracking_uri))
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
    raise ArtifactError(
        f"Cannot load {text!r}: no such file or folder, and not an MLflow model URI. "
        f"Pass {_ACCEPTED_FORMS}."
    )
