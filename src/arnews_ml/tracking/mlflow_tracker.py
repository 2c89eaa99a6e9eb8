"""MlflowTracker: runs, params, metrics, artifacts and pyfunc models in an MLflow store.

The store comes from :func:`~arnews_ml.tracking.store.resolve_tracking_uri` (the argument, else
``MLFLOW_TRACKING_URI``, else ``sqlite:///<cwd>/mlflow.db`` with artifacts in
``<cwd>/mlartifacts``); what a logged model holds is built in
:mod:`arnews_ml.tracking.model_logging`. The run lifecycle goes through MLflow's fluent API (so
``mlflow.pyfunc.log_model`` attaches the model to our run and experiment), with the global
tracking URI set only for the duration of each fluent call; everything else goes through an
``MlflowClient`` with an explicit run id.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from arnews_ml.exceptions import ArtifactError, ConfigError
from arnews_ml.jsonable import to_jsonable
from arnews_ml.tracking.base import (
    TAG_GIT_COMMIT,
    TAG_MODEL_ID,
    TAG_PACKAGE_VERSION,
    TAG_PARAMS_TRUNCATED,
    TAG_PARENT_RUN_ID,
    DatasetRecord,
    ModelLogResult,
    RunStatus,
    Tracker,
    _check_status,
    _metric_value,
    git_commit,
    package_version,
    truncate_params,
)
from arnews_ml.tracking.lock_retry import LockRetryingClient, retry_when_locked
from arnews_ml.tracking.model_logging import (
    DEFAULT_INPUT_EXAMPLE,
    PYFUNC_MODEL_FILE,
    _example_texts,
    _requirements_checked_alone,
    _staged_bundle,
    download_model_bundle,
    infer_bundle_signature,
)
from arnews_ml.tracking.stale_runs import TAG_HOST, TAG_PID, mark_dead_runs
from arnews_ml.tracking.store import (
    DEFAULT_ARTIFACT_DIR,
    DEFAULT_DB_FILE,
    _quiet_progress,
    _scoped_tracking_uri,
    check_local_store,
    default_artifact_location,
    resolve_tracking_uri,
    store_lock,
)

__all__ = [
    "DEFAULT_ARTIFACT_DIR",
    "DEFAULT_DB_FILE",
    "DEFAULT_EXPERIMENT",
    "DEFAULT_INPUT_EXAMPLE",
    "PYFUNC_MODEL_FILE",
    "MlflowTracker",
    "default_artifact_location",
    "download_model_bundle",
    "infer_bundle_signature",
    "resolve_tracking_uri",
]

log = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "arnews"

_PARAMS_PER_BATCH = 100  # mlflow.utils.validation.MAX_PARAMS_TAGS_PER_BATCH
_METRICS_PER_BATCH = 1000  # mlflow.utils.validation.MAX_METRICS_PER_BATCH
_TAG_VALUE_LIMIT = 8000  # mlflow.utils.validation.MAX_TAG_VAL_LENGTH


class MlflowTracker(Tracker):
    """A :class:`~arnews_ml.tracking.base.Tracker` that logs to MLflow.

    Args:
        tracking_uri: The store; see :func:`resolve_tracking_uri`.
        experiment: The experiment name (created when missing).
        artifact_root: Artifact location of a newly created experiment (path or URI); default:
            ``mlartifacts/`` beside a SQLite store.

    Tags set on every run: the git commit of the working directory (when it is a repository)
    and the arnews_ml version; the caller adds the data fingerprint and embedder spec.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str = DEFAULT_EXPERIMENT,
        artifact_root: str | Path | None = None,
    ) -> None:
        if not experiment:
            raise ConfigError("tracking.experiment must be a non-empty experiment name.")
        self.tracking_uri = resolve_tracking_uri(tracking_uri)
        check_local_store(self.tracking_uri)
        self.experiment = experiment
        if artifact_root is None:
            self.artifact_root = default_artifact_location(self.tracking_uri)
        elif "://" in str(artifact_root):
            self.artifact_root = str(artifact_root)
        else:
            self.artifact_root = Path(artifact_root).expanduser().absolute().as_uri()
        self._client: LockRetryingClient | None = None
        self._experiment_id: str | None = None
        self._stack: list[str] = []
        self._truncated: dict[str, set[str]] = {}
        self._reaped = False  # runs of dead processes closed once, at the first start_run

    def __repr__(self) -> str:
        return f"MlflowTracker(tracking_uri={self.tracking_uri!r}, experiment={self.experiment!r})"

    @property
    def client(self) -> MlflowClient:
        """An MlflowClient bound to this tracker's store (tracking and registry)."""
        if self._client is None:
            with store_lock(self.tracking_uri):
                client = MlflowClient(
                    tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
                )
                # first use creates (or migrates) the store: one process at a time
                retry_when_locked(client.search_experiments, max_results=1)
                retry_when_locked(client.search_registered_models, max_results=1)
            self._client = LockRetryingClient(client)
        return self._client  # type: ignore[return-value]

    @property
    def active_run_id(self) -> str | None:
        """The innermost run this tracker started and has not ended, or None."""
        return self._stack[-1] if self._stack else None

    @property
    def experiment_id(self) -> str:
        """The experiment's id; the experiment is created on first use."""
        if self._experiment_id is None:
            self._experiment_id = self._get_or_create_experiment()
        return self._experiment_id

    def start_run(
        self,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
    ) -> str:
        if not self._reaped:
            mark_dead_runs(self.client, self.experiment_id)
            self._reaped = True
        all_tags = default_run_tags()
        all_tags.update({str(k): _tag_string(v) for k, v in (tags or {}).items()})
        if parent_run_id:
            # a parent opened elsewhere (a sweep's, maybe in another process): nest by tag,
            # as MLflow itself records nesting
            all_tags[TAG_PARENT_RUN_ID] = parent_run_id
        with _scoped_tracking_uri(self.tracking_uri):
            run = retry_when_locked(
                mlflow.start_run,
                run_name=run_name,
                experiment_id=self.experiment_id,
                tags=all_tags,
                nested=mlflow.active_run() is not None and not parent_run_id,
            )
        run_id = run.info.run_id
        self._stack.append(run_id)
        log.info(
            "mlflow run started run_id=%s run_name=%s experiment=%s tracking_uri=%s",
            run_id,
            run.info.run_name,
            self.experiment,
            self.tracking_uri,
        )
        return run_id

    def end_run(self, status: RunStatus = "FINISHED") -> None:
        _check_status(status)
        if not self._stack:
            return
        run_id = self._stack.pop()
        self._truncated.pop(run_id, None)
        active = mlflow.active_run()
        if active is not None and active.info.run_id == run_id:
            with _scoped_tracking_uri(self.tracking_uri):
                retry_when_locked(mlflow.end_run, status=status)
        else:  # the fluent stack was changed behind our back: end ours explicitly
            self.client.set_terminated(run_id, status=status)
        log.info("mlflow run ended run_id=%s status=%s", run_id, status)

    def log_params(self, params: Mapping[str, Any]) -> None:
        run_id = self._require_run("log_params")
        values, truncated = truncate_params(params)
        items = [Param(key, value) for key, value in values.items()]
        for start in range(0, len(items), _PARAMS_PER_BATCH):
            self.client.log_batch(run_id, params=items[start : start + _PARAMS_PER_BATCH])
        if truncated:
            keys = self._truncated.setdefault(run_id, set())
            keys.update(truncated)
            self.set_tags({TAG_PARAMS_TRUNCATED: ",".join(sorted(keys))})

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        run_id = self._require_run("log_metrics")
        now = int(time.time() * 1000)
        items = [
            Metric(str(key), _metric_value(str(key), value), now, step or 0)
            for key, value in metrics.items()
        ]
        for start in range(0, len(items), _METRICS_PER_BATCH):
            self.client.log_batch(run_id, metrics=items[start : start + _METRICS_PER_BATCH])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        run_id = self._require_run("set_tags")
        items = [RunTag(str(key), _tag_string(value)) for key, value in tags.items()]
        for start in range(0, len(items), _PARAMS_PER_BATCH):
            self.client.log_batch(run_id, tags=items[start : start + _PARAMS_PER_BATCH])

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        run_id = self._require_run("log_artifact")
        source = Path(path)
        if not source.is_file():
            raise ArtifactError(f"Cannot log artifact {source}: no such file.")
        with _quiet_progress():
            self.client.log_artifact(run_id, str(source), artifact_path)

    def log_artifacts(self, directory: str | Path, artifact_path: str | None = None) -> None:
        run_id = self._require_run("log_artifacts")
        source = Path(directory)
        if not source.is_dir():
            raise ArtifactError(f"Cannot log artifacts from {source}: no such directory.")
        with _quiet_progress():
            self.client.log_artifacts(run_id, str(source), artifact_path)

    def log_text(self, text: str, artifact_file: str) -> None:
        run_id = self._require_run("log_text")
        self.client.log_text(run_id, text, artifact_file)

    def log_dict(self, obj: Any, artifact_file: str) -> None:
        run_id = self._require_run("log_dict")
        self.client.log_dict(run_id, to_jsonable(obj), artifact_file)

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        run_id = self._require_run("log_figure")
        self.client.log_figure(run_id, figure, artifact_file)

    def log_input(self, dataset: DatasetRecord) -> None:
        from mlflow.entities import Dataset, DatasetInput, InputTag
        from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

        run_id = self._require_run("log_input")
        entity = Dataset(
            name=dataset.name,
            digest=dataset.digest,
            source_type="local" if "://" not in dataset.source else dataset.source.split(":")[0],
            source=json.dumps({"uri": dataset.source}),
            profile=json.dumps({"num_rows": int(dataset.n_rows)}),
        )
        self.client.log_inputs(
            run_id,
            datasets=[
                DatasetInput(entity, tags=[InputTag(MLFLOW_DATASET_CONTEXT, dataset.context)])
            ],
        )

    def register_model(self, model: ModelLogResult, name: str) -> int | None:
        """Register the model logged in this run as a new version of ``name``, described from
        the run's params, metrics and tags (log those first)."""
        from arnews_ml.tracking.registry import register_run_model

        run_id = model.run_id or self._require_run("register_model")
        return register_run_model(self.client, self.tracking_uri, run_id, name)

    def log_model(
        self,
        bundle_dir: str | Path,
        *,
        name: str = "model",
        registered_model_name: str | None = None,
        input_example: Sequence[str] | Any | None = None,
        output_example: Any | None = None,
    ) -> ModelLogResult:
        """Log a bundle as an MLflow pyfunc model (from code), optionally registering it.

        The signature is inferred from the bundle's own ``predict_frame`` on the input example:
        input one string column ``text``; output whatever the bundle returns (``labels`` as an
        array of strings, ``score_*`` doubles, ``topic``/``topic_label``/``topic_score``).

        Args:
            bundle_dir: A folder written by ``save_bundle``.
            name: The logged model's name.
            registered_model_name: Register the model under this name (a new version).
            input_example: Example texts (list of str, or a DataFrame with a ``text`` column);
                default: one Arabic headline.
            output_example: The model's ``predict_frame`` on those texts (what the signature
                is inferred from); default: the bundle is loaded to compute it.

        Returns:
            The model URI (``models:/<model_id>``), model id, run id and registered version.
        """
        import pandas as pd

        from arnews_ml.persist import load_bundle, read_manifest

        run_id = self._require_run("log_model")
        bundle = Path(bundle_dir).absolute()
        manifest = read_manifest(bundle)
        texts = _example_texts(input_example)
        example = pd.DataFrame({"text": texts})
        output = (
            output_example
            if output_example is not None
            else load_bundle(bundle).predict_frame(texts)
        )
        signature = infer_bundle_signature(example, output)

        active = mlflow.active_run()
        if active is None or active.info.run_id != run_id:
            raise RuntimeError(
                f"MlflowTracker.log_model: MLflow's active run is not this tracker's run {run_id}; "
                "do not start or end MLflow runs directly while a tracker run is active."
            )
        requirements = [f"arnews-ml=={package_version()}"]  # MLflow adds its own pin
        with (
            _requirements_checked_alone(requirements),
            _staged_bundle(bundle) as staged,
            _scoped_tracking_uri(self.tracking_uri),
            _quiet_progress(),
            warnings.catch_warnings(),
        ):
            # MLflow 3.17's input-example code trips a pandas 3 deprecation on every call
            warnings.filterwarnings("ignore", message="Operation with range is deprecated")
            info = mlflow.pyfunc.log_model(
                name=name,
                python_model=str(PYFUNC_MODEL_FILE),
                artifacts={"bundle": str(staged)},
                signature=signature,
                input_example=example,
                # explicit: inference would spend seconds and list torch & co.
                pip_requirements=requirements,
                registered_model_name=registered_model_name,
                metadata={
                    "arnews_ml": {
                        "kind": manifest.get("kind"),
                        "class": manifest.get("class"),
                        "bundle_format_version": manifest.get("format_version"),
                        "bundle_package_version": manifest.get("package_version"),
                    }
                },
                tags={"arnews_ml.kind": str(manifest.get("kind"))},
            )
        self.set_tags({TAG_MODEL_ID: info.model_id})
        version = info.registered_model_version
        result = ModelLogResult(
            model_uri=info.model_uri,
            model_id=info.model_id,
            run_id=run_id,
            registered_model_name=registered_model_name,
            registered_model_version=int(version) if version is not None else None,
        )
        log.info(
            "mlflow model logged model_uri=%s registered=%s",
            result.model_uri,
            result.registered_model_uri,
        )
        return result

    def set_registered_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point the alias ``models:/<name>@<alias>`` at ``version`` of a registered model."""
        self.client.set_registered_model_alias(name, alias, str(version))

    def _require_run(self, call: str) -> str:
        if not self._stack:
            raise RuntimeError(
                f"MlflowTracker.{call} needs an active run: call start_run() first or use "
                "`with tracker.run(...):`."
            )
        return self._stack[-1]

    def _get_or_create_experiment(self) -> str:
        client = self.client
        experiment = client.get_experiment_by_name(self.experiment)
        if experiment is None:
            try:
                return client.create_experiment(
                    self.experiment, artifact_location=self.artifact_root
                )
            except MlflowException:
                # created meanwhile by a parallel job (Hydra multirun): use that one
                experiment = client.get_experiment_by_name(self.experiment)
                if experiment is None:
                    raise
        if experiment.lifecycle_stage == "deleted":
            raise ConfigError(
                f"The MLflow experiment {self.experiment!r} in {self.tracking_uri} is deleted. "
                f"Restore it (mlflow experiments restore --experiment-id "
                f"{experiment.experiment_id}) or set tracking.experiment to another name."
            )
        return experiment.experiment_id


def default_run_tags() -> dict[str, str]:
    """Tags every run of ours carries: the package version, the process id and host (so a run
    whose process dies can be closed later) and, in a repository, the commit."""
    tags = {
        TAG_PACKAGE_VERSION: package_version(),
        TAG_PID: str(os.getpid()),
        TAG_HOST: socket.gethostname(),
    }
    commit = git_commit(Path.cwd())
    if commit:
        tags[TAG_GIT_COMMIT] = commit
    return tags


def _tag_string(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _TAG_VALUE_LIMIT else text[: _TAG_VALUE_LIMIT - 1] + "…"
