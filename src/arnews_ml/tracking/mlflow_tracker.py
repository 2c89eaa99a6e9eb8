"""MlflowTracker: runs, params, metrics, artifacts and pyfunc models in an MLflow store.

Tracking URI: the ``tracking_uri`` argument, else ``MLFLOW_TRACKING_URI``, else a SQLite store
``sqlite:///<cwd>/mlflow.db`` with artifacts in ``<cwd>/mlartifacts`` (current MLflow refuses a
plain ``./mlruns`` folder). The run lifecycle goes through MLflow's fluent API (so
``mlflow.pyfunc.log_model`` attaches the model to our run and experiment), with the global
tracking URI set only for the duration of each fluent call; everything else goes through an
``MlflowClient`` with an explicit run id.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from arnews_ml.exceptions import ArtifactError, ConfigError
from arnews_ml.tracking.base import (
    TAG_GIT_COMMIT,
    TAG_PACKAGE_VERSION,
    TAG_PARAMS_TRUNCATED,
    ModelLogResult,
    RunStatus,
    Tracker,
    _check_status,
    _metric_value,
    _plain,
    find_bundle_dir,
    git_commit,
    package_version,
    truncate_params,
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

DEFAULT_DB_FILE = "mlflow.db"
DEFAULT_ARTIFACT_DIR = "mlartifacts"
DEFAULT_EXPERIMENT = "arnews"
PYFUNC_MODEL_FILE = Path(__file__).with_name("pyfunc_model.py")
"""The models-from-code file logged with every model (nothing of ours is cloudpickled)."""

DEFAULT_INPUT_EXAMPLE = ("ارتفعت أسعار النفط في الأسواق العالمية اليوم",)
"""The input example logged when the caller gives none (also used to infer the signature)."""

_PARAMS_PER_BATCH = 100  # mlflow.utils.validation.MAX_PARAMS_TAGS_PER_BATCH
_METRICS_PER_BATCH = 1000  # mlflow.utils.validation.MAX_METRICS_PER_BATCH
_TAG_VALUE_LIMIT = 8000  # mlflow.utils.validation.MAX_TAG_VAL_LENGTH
_URI_PREFIXES = ("models:/", "runs:/")


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    """The tracking URI to use: the argument, else ``MLFLOW_TRACKING_URI``, else the default.

    The default is an absolute ``sqlite:///<cwd>/mlflow.db``; a relative SQLite URI is made
    absolute. A plain path is turned into a SQLite URI when it ends in ``.db``, else it is
    refused (MLflow no longer accepts a folder store).

    Raises:
        ConfigError: A bare folder path was given.
    """
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or None
    if uri is None:
        return f"sqlite:///{(Path.cwd() / DEFAULT_DB_FILE).as_posix()}"
    db = _sqlite_path(uri)
    if db is not None:
        # absolute, so a later chdir (hydra.job.chdir) cannot point it at another file
        query = urlparse(uri).query
        return f"sqlite:///{db.as_posix()}" + (f"?{query}" if query else "")
    if "://" in uri or uri.startswith(("databricks", "sqlite:")):
        return uri
    path = Path(uri).expanduser().absolute()
    if path.suffix == ".db":
        return f"sqlite:///{path.as_posix()}"
    raise ConfigError(
        f"The tracking URI {uri!r} is a folder path; MLflow 3 no longer accepts a file store. "
        f"Use a SQLite store such as 'sqlite:///{(path / DEFAULT_DB_FILE).as_posix()}' or a "
        "server URL (http://host:5000)."
    )


def default_artifact_location(tracking_uri: str) -> str | None:
    """Where a new experiment stores artifacts: ``mlartifacts/`` beside a local SQLite file.

    Returns:
        A ``file://`` URI, or None for other stores (the server decides).
    """
    db = _sqlite_path(tracking_uri)
    if db is None:
        return None
    return (db.parent / DEFAULT_ARTIFACT_DIR).as_uri()


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
        self.experiment = experiment
        if artifact_root is None:
            self.artifact_root = default_artifact_location(self.tracking_uri)
        elif "://" in str(artifact_root):
            self.artifact_root = str(artifact_root)
        else:
            self.artifact_root = Path(artifact_root).expanduser().absolute().as_uri()
        self._client: MlflowClient | None = None
        self._experiment_id: str | None = None
        self._stack: list[str] = []
        self._truncated: dict[str, set[str]] = {}

    def __repr__(self) -> str:
        return f"MlflowTracker(tracking_uri={self.tracking_uri!r}, experiment={self.experiment!r})"

    @property
    def client(self) -> MlflowClient:
        """An MlflowClient bound to this tracker's store (tracking and registry)."""
        if self._client is None:
            self._client = MlflowClient(
                tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
            )
        return self._client

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

    def start_run(self, run_name: str | None = None, tags: Mapping[str, Any] | None = None) -> str:
        all_tags = {TAG_PACKAGE_VERSION: package_version()}
        commit = git_commit(Path.cwd())
        if commit:
            all_tags[TAG_GIT_COMMIT] = commit
        all_tags.update({str(k): _tag_string(v) for k, v in (tags or {}).items()})
        with _scoped_tracking_uri(self.tracking_uri):
            run = mlflow.start_run(
                run_name=run_name,
                experiment_id=self.experiment_id,
                tags=all_tags,
                nested=mlflow.active_run() is not None,
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
                mlflow.end_run(status=status)
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
        self.client.log_dict(run_id, _plain(obj), artifact_file)

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        run_id = self._require_run("log_figure")
        self.client.log_figure(run_id, figure, artifact_file)

    def log_model(
        self,
        bundle_dir: str | Path,
        *,
        name: str = "model",
        registered_model_name: str | None = None,
        input_example: Sequence[str] | Any | None = None,
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
        output = load_bundle(bundle).predict_frame(texts)
        signature = infer_bundle_signature(example, output)

        active = mlflow.active_run()
        if active is None or active.info.run_id != run_id:
            raise RuntimeError(
                f"MlflowTracker.log_model: MLflow's active run is not this tracker's run {run_id}; "
                "do not start or end MLflow runs directly while a tracker run is active."
            )
        with (
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
                pip_requirements=[f"arnews-ml=={package_version()}"],
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


def download_model_bundle(uri: str, dst: str | Path, *, tracking_uri: str | None = None) -> Path:
    """Download an MLflow model (or any artifact URI) and return the arnews_ml bundle inside.

    Args:
        uri: ``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``models:/<model_id>``,
            ``runs:/<run_id>/<path>`` or a storage URI of a model or bundle folder.
        dst: The local folder to download into (created when missing).
        tracking_uri: The store that resolves ``models:/`` and ``runs:/``; see
            :func:`resolve_tracking_uri`.

    Returns:
        The bundle folder (holding manifest.json) inside ``dst``.

    Raises:
        ArtifactError: No store to resolve the URI, the model does not exist, or it holds no
            arnews_ml bundle.
    """
    store = resolve_tracking_uri(tracking_uri)
    if uri.startswith(_URI_PREFIXES):
        db = _sqlite_path(store)
        if db is not None and not db.is_file():
            raise ArtifactError(
                f"Cannot resolve {uri}: no MLflow tracking store at {store} (the file {db} does "
                "not exist). Set MLFLOW_TRACKING_URI to the store the model was logged to, e.g. "
                "MLFLOW_TRACKING_URI=sqlite:////path/to/mlflow.db or http://host:5000."
            )
    target = Path(dst)
    target.mkdir(parents=True, exist_ok=True)
    registry = os.environ.get("MLFLOW_REGISTRY_URI") or store
    try:
        # MLflow 3.17 resolves models:/ through the *global* tracking/registry URI whatever
        # tracking_uri= says, so point the global one at the store for this call.
        with _scoped_tracking_uri(store), _quiet_progress():
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=uri, dst_path=str(target), tracking_uri=store, registry_uri=registry
            )
    except MlflowException as err:
        raise ArtifactError(
            f"Cannot download {uri} from the MLflow store {store}: {err.message} "
            "Check the name/version/alias, or set MLFLOW_TRACKING_URI to the right store."
        ) from err
    except OSError as err:  # includes requests' connection errors
        raise ArtifactError(
            f"Cannot reach the MLflow store {store} to download {uri}: {err}. Start the tracking "
            "server or set MLFLOW_TRACKING_URI to a reachable store."
        ) from err
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


def _sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:"):
        return None
    parsed = urlparse(uri)
    path = unquote(parsed.path)
    if not path or path == "/:memory:" or ":memory:" in path:
        return None
    # sqlite:///relative.db has path "/relative.db"; sqlite:////abs.db has "//abs.db"
    return Path(path[1:]).absolute()


def _tag_string(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _TAG_VALUE_LIMIT else text[: _TAG_VALUE_LIMIT - 1] + "…"


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    """No tqdm bars for the handful of files we up/download (unless the user asked for them)."""
    key = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    if key in os.environ:
        yield
        return
    os.environ[key] = "false"
    try:
        yield
    finally:
        os.environ.pop(key, None)


@contextlib.contextmanager
def _scoped_tracking_uri(uri: str) -> Iterator[None]:
    """Point MLflow's global tracking URI at ``uri`` for one fluent call, then restore it.

    ``mlflow.set_tracking_uri`` also exports MLFLOW_TRACKING_URI to the environment; restoring
    both keeps one tracker (or one test) from redirecting the next one.
    """
    from mlflow.tracking._tracking_service import utils as tracking_utils

    previous = getattr(tracking_utils, "_tracking_uri", None)
    env = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)
        if env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = env
