"""Load a trained model from a bundle folder or an MLflow model URI (through the model cache)."""

from __future__ import annotations

import atexit
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
    cache: bool = True,
) -> Any:
    """Load a trained arnews_ml model.

    A local folder (a bundle, or an MLflow model folder holding one) is loaded without importing
    MLflow. Anything else that looks like a URI is downloaded through MLflow first.

    A ``models:/`` or ``runs:/`` URI goes through the local model cache
    (:mod:`arnews_ml.tracking.model_cache`): the store is asked on every load which model the
    URI names now (an alias that moved loads its new version), and that model's verified local
    copy is loaded, downloaded only the first time or when its checksums no longer match. The
    cache lives in ``$ARNEWS_MODEL_CACHE_DIR`` (default ``$ARNEWS_CACHE_DIR/models``, else
    ``~/.cache/arnews_ml/models``) and holds at most ``$ARNEWS_MODEL_CACHE_MAX_BYTES`` (default
    2 GiB), least recently used copies removed first; ``arnews-runs --clear-cache`` empties it.

    Args:
        uri_or_folder: A bundle folder, or an MLflow model URI: ``models:/<name>/<version>``,
            ``models:/<name>@<alias>``, ``models:/<model_id>``, ``runs:/<run_id>/model``.
        download_dir: Download a URI's model into this folder (kept, no cache) instead.
        tracking_uri: The MLflow store that resolves ``models:/`` and ``runs:/``; default:
            ``MLFLOW_TRACKING_URI``, else ``./mlflow.db``.
        cache: False downloads a URI's model into a new temporary folder, removed when the
            process exits, bypassing the cache (other URIs, ``s3://...``, are always loaded so).

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
        if cache and text.startswith(MODEL_URI_PREFIXES):
            from arnews_ml.tracking.model_cache import ModelCache

            return ModelCache().load(text, tracking_uri=tracking_uri)
        # the model may read its files after loading (a sentence-transformers folder): keep
        # them for the life of the process, not after
        target = Path(tempfile.mkdtemp(prefix="arnews-model-"))
        try:
            model = load_bundle(download_model_bundle(text, target, tracking_uri=tracking_uri))
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        atexit.register(shutil.rmtree, target, ignore_errors=True)
        return model
    raise ArtifactError(
        f"Cannot load {text!r}: no such file or folder, and not an MLflow model URI. "
        f"Pass {_ACCEPTED_FORMS}."
    )
