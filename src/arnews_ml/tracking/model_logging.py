"""Bundles as MLflow models: what ``MlflowTracker.log_model`` logs, and getting a bundle back.

A bundle is logged as a pyfunc model from code (``pyfunc_model.py``; nothing of ours is
cloudpickled) that always holds the bundle under ``artifacts/bundle``, with a signature inferred
from the bundle's own ``predict_frame``. :func:`download_model_bundle` resolves a model URI
against a store and returns the bundle folder inside the download.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
from packaging.requirements import Requirement

from arnews_ml.exceptions import ArtifactError, ConfigError
from arnews_ml.tracking.base import find_bundle_dir
from arnews_ml.tracking.store import (
    MODEL_URI_PREFIXES,
    _quiet_progress,
    _scoped_tracking_uri,
    registry_uri,
    require_store_for,
    resolve_tracking_uri,
    store_errors,
)

__all__ = [
    "DEFAULT_INPUT_EXAMPLE",
    "PYFUNC_MODEL_FILE",
    "download_model_bundle",
    "infer_bundle_signature",
]

PYFUNC_MODEL_FILE = Path(__file__).with_name("pyfunc_model.py")
"""The models-from-code file logged with every model (nothing of ours is cloudpickled)."""

DEFAULT_INPUT_EXAMPLE = ("ارتفعت أسعار النفط في الأسواق العالمية اليوم",)
"""The input example logged when the caller gives none (also used to infer the signature)."""


def download_model_bundle(uri: str, dst: str | Path, *, tracking_uri: str | None = None) -> Path:
    """Download an MLflow model (or any artifact URI) and return the arnews_ml bundle inside.

    Args:
        uri: ``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``models:/<model_id>``,
            ``runs:/<run_id>/<path>`` or a storage URI of a model or bundle folder.
        dst: The local folder to download into (created when missing).
        tracking_uri: The store that resolves ``models:/`` and ``runs:/``; see
            :func:`~arnews_ml.tracking.store.resolve_tracking_uri`.

    Returns:
        The bundle folder (holding manifest.json) inside ``dst``.

    Raises:
        ArtifactError: No store to resolve the URI, the model does not exist, or it holds no
            arnews_ml bundle.
    """
    store = resolve_tracking_uri(tracking_uri)
    if uri.startswith(MODEL_URI_PREFIXES):
        require_store_for(uri, store)
    target = Path(dst)
    target.mkdir(parents=True, exist_ok=True)
    registry = registry_uri(store)
    # MLflow 3.17 resolves models:/ through the *global* tracking/registry URI whatever
    # tracking_uri= says, so point the global one at the store for this call.
    with (
        store_errors(uri, store, "download", "from"),
        _scoped_tracking_uri(store),
        _quiet_progress(),
    ):
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=uri, dst_path=str(target), tracking_uri=store, registry_uri=registry
        )
    bundle = find_bundle_dir(Path(local))
    if bundle is None:
        raise ArtifactError(
            f"{uri} was downloaded to {local} but holds no arnews_ml bundle (no manifest.json, "
            "nor an MLflow model with a 'bundle' artifact). Log models with "
            "MlflowTracker.log_model."
        )
    return bundle


def infer_bundle_signature(example: Any, output: Any) -> Any:
    """The pyfunc signature: input one string column ``text``, output the predict_frame columns.

    ``mlflow.models.infer_signature`` does the work; list columns whose example rows are all
    empty (a multi-label model that predicted nothing) come out as ``Any`` and are set to an
    array of strings, and its hint about integer columns (``topic``) is not shown.

    Args:
        example: DataFrame with the ``text`` column.
        output: The bundle's ``predict_frame`` on those texts.

    Returns:
        An ``mlflow.models.ModelSignature``.
    """
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import DataType
    from mlflow.types.schema import Array, ColSpec, Schema

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        signature = infer_signature(example, output)
    specs = []
    for spec in signature.outputs.inputs:
        column = output.get(spec.name)
        if (
            column is not None
            and not isinstance(spec.type, Array)
            and len(column)
            and all(isinstance(v, list | tuple) and not v for v in column)
        ):
            spec = ColSpec(Array(DataType.string), spec.name, required=spec.required)
        specs.append(spec)
    return ModelSignature(inputs=signature.inputs, outputs=Schema(specs))


def _example_texts(input_example: Any) -> list[str]:
    if input_example is None:
        return list(DEFAULT_INPUT_EXAMPLE)
    if isinstance(input_example, str):
        texts: list[Any] = [input_example]
    elif hasattr(input_example, "columns"):  # a DataFrame
        if "text" not in input_example.columns:
            raise ConfigError(
                "log_model: the input_example DataFrame has no 'text' column; columns are: "
                f"{', '.join(map(str, input_example.columns))}."
            )
        texts = list(input_example["text"])
    else:
        texts = list(input_example)
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ConfigError(
            "log_model: input_example must be a non-empty list of strings (or a DataFrame with "
            f"a 'text' column of strings); got {input_example!r:.200}."
        )
    return texts


@contextlib.contextmanager
def _requirements_checked_alone(requirements: list[str]) -> Iterator[None]:
    """Let MLflow check only ``requirements`` against this environment while a model is logged.

    ``log_model`` warns when a pip requirement is not met here; to find each requirement's
    module it first maps every installed distribution to its modules
    (``importlib.metadata.packages_distributions()``), about a second in a full environment,
    for the two requirements we pass. This hands it the map of those alone for the call (the
    same check, the same warning) and puts MLflow's own state back after. If MLflow's internals
    move, nothing is changed and MLflow builds its map as before.
    """
    try:
        from mlflow.utils import requirements_utils as utils
    except ImportError:  # pragma: no cover - MLflow reorganised
        yield
        return
    names = ("_MODULES_TO_PACKAGES", "_PACKAGES_TO_MODULES")
    if not all(hasattr(utils, name) for name in names) or utils._MODULES_TO_PACKAGES is not None:
        yield
        return
    saved = {name: getattr(utils, name) for name in names}
    packages = [Requirement(r).name for r in requirements] + ["mlflow"]
    utils._MODULES_TO_PACKAGES = {name.replace("-", "_"): [name] for name in packages}
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(utils, name, value)


@contextlib.contextmanager
def _staged_bundle(bundle: Path) -> Iterator[Path]:
    """The bundle as a folder named ``bundle``, so every logged model holds ``artifacts/bundle``.

    MLflow refuses symlinks that leave the folder, so a differently named bundle is hard-linked
    (same file system: a sibling temp folder) or else copied into a temporary ``bundle`` folder.
    """
    if bundle.name == "bundle":
        yield bundle
        return
    try:
        staging = Path(tempfile.mkdtemp(prefix=".arnews-log-model-", dir=bundle.parent))
    except OSError:  # read-only parent: copy via the system temp folder
        staging = Path(tempfile.mkdtemp(prefix="arnews-log-model-"))
    try:
        staged = staging / "bundle"
        try:
            shutil.copytree(bundle, staged, copy_function=os.link)
        except OSError:
            shutil.rmtree(staged, ignore_errors=True)
            shutil.copytree(bundle, staged)
        yield staged
    finally:
        shutil.rmtree(staging, ignore_errors=True)
