"""Promotion: point a registry alias (``models:/<name>@champion``) at a run's model or a version.

Used by ``arnews-runs --promote``. A run's model is registered first when no version of that
run's logged model exists under the name yet, so promoting the same run twice makes one
version, not two.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from arnews_ml.exceptions import ConfigError
from arnews_ml.tracking.base import TAG_MODEL_ID, TAG_REGISTERED_MODEL
from arnews_ml.tracking.registry import register_run_model
from arnews_ml.tracking.runs_table import TAG_TASK

__all__ = [
    "DEFAULT_REGISTERED_NAMES",
    "TAG_REGISTERED_MODEL",
    "Promotion",
    "promote",
]


#: Registry name by the run's task tag, when neither --name nor the run's tag says.
DEFAULT_REGISTERED_NAMES = {"classification": "arnews-classifier", "topics": "arnews-topics"}
DEFAULT_NAME = "arnews-classifier"

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_RUN_PREFIX = re.compile(r"^[0-9a-f]{8,31}$")
_VERSION = re.compile(r"^[0-9]{1,7}$")


@dataclass(frozen=True)
class Promotion:
    """What a promotion did.

    Attributes:
        name: The registered model.
        alias: The alias set.
        version: The version the alias now points at.
        run_id: The run that produced that version (None when the version has none).
        registered: True when this promotion created the version.
    """

    name: str
    alias: str
    version: str
    run_id: str | None
    registered: bool = False

    @property
    def uri(self) -> str:
        return f"models:/{self.name}@{self.alias}"

    def describe(self) -> str:
        """``models:/<name>@<alias> -> version <v> (run <id>)``."""
        return f"{self.uri} -> version {self.version} (run {self.run_id or '-'})"


def promote(
    client: MlflowClient,
    target: str,
    alias: str,
    *,
    name: str | None = None,
    experiment_ids: list[str] | None = None,
) -> Promotion:
    """Set ``alias`` on a run's model (registered when needed) or on a registered version.

    Args:
        client: A client bound to the store (tracking and registry).
        target: A run id (32 hex chars, or a unique prefix of 8+ among the runs of
            ``experiment_ids``), ``NAME/VERSION``, ``models:/NAME/VERSION`` or a bare version
            number (of ``name``, default ``arnews-classifier``).
        alias: The alias, e.g. ``champion``.
        name: The registered model name; for a run, default its ``arnews_ml.registered_model``
            tag, else ``arnews-classifier`` / ``arnews-topics`` by its task.
        experiment_ids: Where to look up a run id prefix.

    Returns:
        The promotion.

    Raises:
        ConfigError: The target matches no run or version, or the run has no logged model;
            the message says what to pass instead.
    """
    text = target.strip()
    if text.startswith("models:/"):
        text = text[len("models:/") :]
    if _VERSION.match(text):
        return _promote_version(client, name or DEFAULT_NAME, text, alias)
    if "/" in text:
        model_name, _, version = text.rpartition("/")
        if not _VERSION.match(version) or not model_name:
            raise ConfigError(
                f"--promote {target!r}: expected NAME/VERSION such as arnews-classifier/3."
            )
        return _promote_version(client, model_name, version, alias)
    run = _find_run(client, text.lower(), experiment_ids or [])
    return _promote_run(client, run, alias, name)


def _promote_version(client: MlflowClient, name: str, version: str, alias: str) -> Promotion:
    try:
        model_version = client.get_model_version(name, version)
    except MlflowException as err:
        raise ConfigError(
            f"There is no version {version} of the registered model {name!r}: {err.message} "
            "List versions with `mlflow models` or the MLflow UI; pass --name for another model."
        ) from err
    client.set_registered_model_alias(name, alias, str(model_version.version))
    return Promotion(name, alias, str(model_version.version), model_version.run_id)


def _find_run(client: MlflowClient, text: str, experiment_ids: list[str]) -> Any:
    if _RUN_ID.match(text):
        try:
            return client.get_run(text)
        except MlflowException as err:
            raise ConfigError(f"No run with id {text} in this store: {err.message}") from err
    if not _RUN_PREFIX.match(text):
        raise ConfigError(
            f"--promote {text!r} is neither a run id (32 hex characters, or a unique prefix of "
            "8 or more), nor NAME/VERSION, nor a version number."
        )
    if not experiment_ids:
        raise ConfigError(
            f"Cannot look up the run id prefix {text!r}: none of the default experiments exist. "
            "Pass the full 32-character run id or --experiment NAME."
        )
    matches = [run for run in _all_runs(client, experiment_ids) if run.info.run_id.startswith(text)]
    if not matches:
        raise ConfigError(f"No run id starts with {text!r} in the searched experiments.")
    if len(matches) > 1:
        ids = ", ".join(run.info.run_id for run in matches[:5])
        raise ConfigError(f"The run id prefix {text!r} is ambiguous ({ids}); give more of it.")
    return matches[0]


def _all_runs(client: MlflowClient, experiment_ids: list[str]) -> list[Any]:
    runs: list[Any] = []
    token = None
    while True:
        page = client.search_runs(experiment_ids, max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _model_id(client: MlflowClient, run: Any) -> str:
    model_id = run.data.tags.get(TAG_MODEL_ID)
    if model_id:
        return str(model_id)
    models = list(
        client.search_logged_models(
            experiment_ids=[run.info.experiment_id],
            filter_string=f"source_run_id='{run.info.run_id}'",
        )
    )
    if not models:
        raise ConfigError(
            f"Run {run.info.run_id} ({run.info.run_name}) has no logged model: it was trained "
            "with tracking.log_model=false or failed before logging it. Promote another run."
        )
    # several models on one run: the newest
    return max(models, key=lambda m: m.creation_timestamp or 0).model_id


def _registered_name(run: Any, name: str | None) -> str:
    if name:
        return name
    tagged = run.data.tags.get(TAG_REGISTERED_MODEL)
    if tagged:
        return str(tagged)
    return DEFAULT_REGISTERED_NAMES.get(str(run.data.tags.get(TAG_TASK)), DEFAULT_NAME)


def _existing_version(client: MlflowClient, name: str, run_id: str, model_id: str) -> Any:
    try:
        versions = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
    except MlflowException:
        return None
    source = f"models:/{model_id}"
    mine = [v for v in versions if getattr(v, "model_id", None) == model_id or v.source == source]
    return max(mine, key=lambda v: int(v.version)) if mine else None


def _promote_run(client: MlflowClient, run: Any, alias: str, name: str | None) -> Promotion:
    run_id = run.info.run_id
    if run.info.status != "FINISHED":
        raise ConfigError(
            f"Run {run_id} ({run.info.run_name}) is {run.info.status}, not FINISHED; only a "
            "finished run's model can be promoted."
        )
    model_id = _model_id(client, run)
    model_name = _registered_name(run, name)
    version = _existing_version(client, model_name, run_id, model_id)
    registered = version is None
    if version is None:
        number = register_run_model(client, client.tracking_uri, run_id, model_name, model_id)
    else:
        number = int(version.version)
    client.set_registered_model_alias(model_name, alias, str(number))
    return Promotion(model_name, alias, str(number), run_id, registered)
