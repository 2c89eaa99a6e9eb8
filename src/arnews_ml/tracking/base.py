"""The Tracker protocol, an in-memory NullTracker, and helpers shared by every tracker."""

from __future__ import annotations

import contextlib
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from arnews_ml.exceptions import ConfigError
from arnews_ml.persist import package_version
from arnews_ml.tracking.params import (
    MAX_PARAM_VALUE_LENGTH,
    FlatConfig,
    flatten_config,
    truncate_params,
)

__all__ = [
    "MAX_PARAM_VALUE_LENGTH",
    "TAG_DATA_FINGERPRINT",
    "TAG_ERROR",
    "TAG_GIT_COMMIT",
    "TAG_MODEL_ID",
    "TAG_NOTE",
    "TAG_PACKAGE_VERSION",
    "TAG_PARAMS_TRUNCATED",
    "TAG_PARENT_RUN_ID",
    "TAG_REGISTERED_MODEL",
    "TAG_SWEEP_ID",
    "TAG_SWEEP_PARENT",
    "TAG_TASK",
    "DatasetRecord",
    "FlatConfig",
    "ModelLogResult",
    "NullTracker",
    "RunStatus",
    "Tracker",
    "build_tracker",
    "check_tracking_server",
    "find_bundle_dir",
    "flatten_config",
    "git_commit",
    "package_version",
    "truncate_params",
]

#: Keys of the `tracking` config that say what a run does with its model; the rest (with
#: `_target_`) builds the tracker.
TRACKING_POLICY_KEYS = ("registered_model", "register", "log_model")

#: Keys of the `tracking` config that say how to reach a tracking server (``tracking=server``);
#: read by :func:`build_tracker`, not passed to the tracker.
SERVER_KEYS = ("server_wait_s", "require_server")

#: Seconds a run waits for an ``http(s)://`` tracking server to answer before it gives up.
DEFAULT_SERVER_WAIT_S = 10.0

RunStatus = Literal["FINISHED", "FAILED", "KILLED"]


TAG_GIT_COMMIT = "mlflow.source.git.commit"
TAG_PACKAGE_VERSION = "arnews_ml.version"
TAG_DATA_FINGERPRINT = "arnews_ml.data_fingerprint"
TAG_PARAMS_TRUNCATED = "params_truncated"
TAG_PARENT_RUN_ID = "mlflow.parentRunId"
TAG_NOTE = "mlflow.note.content"
TAG_ERROR = "arnews_ml.error"
TAG_MODEL_ID = "arnews_ml.model_id"
TAG_SWEEP_ID = "arnews_ml.sweep_id"
TAG_SWEEP_PARENT = "arnews_ml.sweep_parent"
TAG_TASK = "arnews_ml.task"
TAG_REGISTERED_MODEL = "arnews_ml.registered_model"

MLMODEL_FILE = "MLmodel"


@dataclass(frozen=True)
class ModelLogResult:
    """What :meth:`Tracker.log_model` returns (a small, tracker-neutral ModelInfo).

    Attributes:
        model_uri: Loadable with ``arnews_ml.inference.load_model`` (``models:/<model_id>`` for
            MLflow, the bundle folder for NullTracker).
        model_id: The MLflow LoggedModel id, or None.
        run_id: The run the model was logged in, or None.
        registered_model_name: The registry name, when registered.
        registered_model_version: The new registry version, when registered.
    """

    model_uri: str
    model_id: str | None = None
    run_id: str | None = None
    registered_model_name: str | None = None
    registered_model_version: int | None = None

    @property
    def registered_model_uri(self) -> str | None:
        """``models:/<name>/<version>`` when the model was registered, else None."""
        if self.registered_model_name is None or self.registered_model_version is None:
            return None
        return f"models:/{self.registered_model_name}/{self.registered_model_version}"


@runtime_checkable
class Tracker(Protocol):
    """Where a task sends its params, metrics, tags, artifacts and models.

    Implementations: :class:`NullTracker` (in memory) and
    :class:`arnews_ml.tracking.MlflowTracker`. Runs nest: ``start_run`` inside an active run
    starts a child run, and the logging calls go to the innermost active run.
    """

    def start_run(
        self,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
    ) -> str:
        """Start a run (a child of ``parent_run_id``, or of the active run) and return its id."""
        ...

    def end_run(self, status: RunStatus = "FINISHED") -> None:
        """End the innermost active run with ``status``."""
        ...

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log params (values become strings; over-long ones are truncated and tagged)."""
        ...

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log numeric metrics, optionally at a step."""
        ...

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags on the active run (values become strings)."""
        ...

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        """Copy one local file into the run's artifacts (under ``artifact_path``)."""
        ...

    def log_artifacts(self, directory: str | Path, artifact_path: str | None = None) -> None:
        """Copy a local directory's contents into the run's artifacts."""
        ...

    def log_text(self, text: str, artifact_file: str) -> None:
        """Write ``text`` as the artifact ``artifact_file`` (e.g. "reports/summary.md")."""
        ...

    def log_dict(self, obj: Any, artifact_file: str) -> None:
        """Write ``obj`` as JSON or YAML (by the file's extension) as an artifact."""
        ...

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        """Save a matplotlib figure as the artifact ``artifact_file`` (e.g. "plots/pr.png")."""
        ...

    def log_input(self, dataset: DatasetRecord) -> None:
        """Record a dataset the run used (shown in MLflow's Dataset column and run page)."""
        ...

    def log_model(
        self,
        bundle_dir: str | Path,
        *,
        name: str = "model",
        registered_model_name: str | None = None,
        input_example: Sequence[str] | Any | None = None,
        output_example: Any | None = None,
    ) -> ModelLogResult:
        """Log a saved bundle as a model (and register it under ``registered_model_name``)."""
        ...

    def register_model(self, model: ModelLogResult, name: str) -> int | None:
        """Register a logged model as a new version of ``name`` (with a description of the run).

        Returns:
            The new version number, or None when this tracker has no registry.
        """
        ...

    @contextlib.contextmanager
    def run(
        self,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
    ) -> Iterator[str]:
        """Context manager around start_run/end_run; yields the run id.

        The run ends FINISHED on success, FAILED when the block raises (the error propagates)
        and KILLED on KeyboardInterrupt.
        """
        run_id = self.start_run(run_name=run_name, tags=tags, parent_run_id=parent_run_id)
        try:
            yield run_id
        except KeyboardInterrupt:
            self.end_run("KILLED")
            raise
        except BaseException:
            self.end_run("FAILED")
            raise
        self.end_run("FINISHED")


@dataclass(frozen=True)
class DatasetRecord:
    """A dataset a run used, as MLflow's dataset inputs show it.

    Attributes:
        name: A short name (the file name, or ``arnews-sample``).
        digest: A content fingerprint (changes whenever a row changes).
        source: Where it was read from (a path or URI), or a description.
        n_rows: Its number of rows.
        context: ``training``, ``validation``, ``test``, ``topics`` or ``evaluation``.
    """

    name: str
    digest: str
    source: str
    n_rows: int
    context: str


def build_tracker(tracking_cfg: Any) -> Tracker:
    """The tracker of a `tracking` config: its `_target_` with the other keys but the run's
    model policy (:data:`TRACKING_POLICY_KEYS`) and :data:`SERVER_KEYS`, built like every other
    part; a tracking server (``http(s)://``) must answer first (:func:`check_tracking_server`).

    Raises:
        ConfigError: A bad tracking config, a server that does not answer within
            ``tracking.server_wait_s``, or no server under ``tracking.require_server``.
    """
    from arnews_ml.config import instantiate, to_container

    plain = to_container(tracking_cfg)
    skipped = (*TRACKING_POLICY_KEYS, *SERVER_KEYS)
    node = {k: v for k, v in plain.items() if k not in skipped}
    tracker = instantiate(node, expected_type=Tracker, name="tracking")
    uri = str(getattr(tracker, "tracking_uri", "") or "")
    wait = plain.get("server_wait_s")
    check_tracking_server(uri, DEFAULT_SERVER_WAIT_S if wait is None else float(wait))
    if plain.get("require_server") and not _is_server_uri(uri):
        raise ConfigError(
            f"tracking=server needs a tracking server URI (http://host:port), but the store is "
            f"{uri or 'none'}: set MLFLOW_TRACKING_URI (or tracking.tracking_uri) to the "
            "server's address, or use tracking=mlflow for a local SQLite store."
        )
    return tracker


def _is_server_uri(uri: str) -> bool:
    return uri.lower().startswith(("http://", "https://"))


def check_tracking_server(uri: str, wait_s: float = DEFAULT_SERVER_WAIT_S) -> None:
    """Wait up to ``wait_s`` seconds for the tracking server at ``uri`` to answer (a no-op for
    a store that is no ``http(s)://`` server).

    Any HTTP answer counts (a server behind a proxy or a login answers with its own status);
    only a failure to connect within the wait is an error. MLflow's own client would retry a
    refused connection for minutes before failing with a long traceback.

    Raises:
        ConfigError: The server did not answer within ``wait_s`` (names the URI and how to
            start a server).
    """
    if not _is_server_uri(uri):
        return
    health = uri.rstrip("/") + "/health"
    deadline = time.monotonic() + max(wait_s, 0.0)
    while True:
        remaining = deadline - time.monotonic()
        try:
            with urllib.request.urlopen(health, timeout=max(min(remaining, 5.0), 0.5)):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except urllib.error.URLError as err:
            if isinstance(err.reason, ssl.SSLError):
                return  # it answered; MLflow's client reports certificate problems itself
            reason = err.reason
        except (OSError, ValueError) as err:
            reason = err
        if time.monotonic() + 0.5 >= deadline:
            break
        time.sleep(0.5)
    raise ConfigError(
        f"The MLflow tracking server {uri} does not answer ({reason}; waited {wait_s:g} s): "
        "start it with `make server` (scripts/team_server.sh) or point MLFLOW_TRACKING_URI "
        "(or tracking.tracking_uri) at a running server."
    )


def git_commit(path: str | Path = ".") -> str | None:
    """The commit checked out at ``path``, or None (not a repository, no commits, no git).

    Never raises.
    """
    try:
        result = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--verify", "--quiet", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None


def find_bundle_dir(path: str | Path) -> Path | None:
    """The arnews_ml bundle in ``path``: ``path`` itself, or the ``bundle`` artifact of an MLflow
    model folder (``<model>/artifacts/bundle``, or whatever its MLmodel file names). Never
    imports MLflow.

    Returns:
        The folder holding the bundle's manifest.json, or None when there is none.
    """
    from arnews_ml.persist import MANIFEST_FILE

    root = Path(path)
    if (root / MANIFEST_FILE).is_file():
        return root
    if not (root / MLMODEL_FILE).is_file():
        return None
    if (root / "artifacts" / "bundle" / MANIFEST_FILE).is_file():
        return root / "artifacts" / "bundle"
    candidates = sorted(p.parent for p in (root / "artifacts").glob(f"*/{MANIFEST_FILE}"))
    return candidates[0] if len(candidates) == 1 else None


class NullTracker(Tracker):
    """A tracker that keeps everything in memory and writes nothing (tests, ``tracking=none``).

    Attributes:
        params: Every logged param of every run, flattened (last value wins).
        metrics: The latest value of each metric.
        metric_history: metric -> list of (step, value).
        tags: Every tag set (start_run tags included).
        artifacts: artifact path -> what was logged (the text, the dict, the figure, or the
            local source path for files).
        models: The :class:`ModelLogResult` of each log_model call.
        inputs: The :class:`DatasetRecord` of each log_input call.
        registered: ``(name, version)`` of each register_model call.
        runs: One dict per started run: id, name, parent, tags, status (None while active).
    """

    def __init__(self) -> None:
        self.params: dict[str, str] = {}
        self.metrics: dict[str, float] = {}
        self.metric_history: dict[str, list[tuple[int | None, float]]] = {}
        self.tags: dict[str, str] = {}
        self.artifacts: dict[str, Any] = {}
        self.models: list[ModelLogResult] = []
        self.inputs: list[DatasetRecord] = []
        self.registered: list[tuple[str, int]] = []
        self.runs: list[dict[str, Any]] = []
        self._stack: list[dict[str, Any]] = []

    @property
    def active_run_id(self) -> str | None:
        """The innermost active run's id, or None."""
        return self._stack[-1]["run_id"] if self._stack else None

    @property
    def status(self) -> str | None:
        """The status of the last run started (None while it is active)."""
        return self.runs[-1]["status"] if self.runs else None

    def start_run(
        self,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
    ) -> str:
        record = {
            "run_id": uuid.uuid4().hex,
            "run_name": run_name,
            "parent_run_id": parent_run_id or self.active_run_id,
            "tags": {str(k): str(v) for k, v in (tags or {}).items()},
            "status": None,
        }
        self.runs.append(record)
        self._stack.append(record)
        self.tags.update(record["tags"])
        return record["run_id"]

    def end_run(self, status: RunStatus = "FINISHED") -> None:
        _check_status(status)
        if self._stack:
            self._stack.pop()["status"] = status

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._require_run("log_params")
        values, truncated = truncate_params(params)
        self.params.update(values)
        if truncated:
            self.tags[TAG_PARAMS_TRUNCATED] = ",".join(sorted(truncated))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        self._require_run("log_metrics")
        for key, value in metrics.items():
            number = _metric_value(key, value)
            self.metrics[key] = number
            self.metric_history.setdefault(key, []).append((step, number))

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._require_run("set_tags")
        self.tags.update({str(k): str(v) for k, v in tags.items()})

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        self._require_run("log_artifact")
        source = Path(path)
        self.artifacts[_join(artifact_path, source.name)] = source

    def log_artifacts(self, directory: str | Path, artifact_path: str | None = None) -> None:
        self._require_run("log_artifacts")
        root = Path(directory)
        for file in sorted(root.rglob("*")):
            if file.is_file():
                self.artifacts[_join(artifact_path, file.relative_to(root).as_posix())] = file

    def log_text(self, text: str, artifact_file: str) -> None:
        self._require_run("log_text")
        self.artifacts[artifact_file] = text

    def log_dict(self, obj: Any, artifact_file: str) -> None:
        self._require_run("log_dict")
        self.artifacts[artifact_file] = obj

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        self._require_run("log_figure")
        self.artifacts[artifact_file] = figure

    def log_model(
        self,
        bundle_dir: str | Path,
        *,
        name: str = "model",
        registered_model_name: str | None = None,
        input_example: Sequence[str] | Any | None = None,
        output_example: Any | None = None,
    ) -> ModelLogResult:
        self._require_run("log_model")
        result = ModelLogResult(
            model_uri=str(Path(bundle_dir)),
            run_id=self.active_run_id,
            registered_model_name=registered_model_name,
        )
        self.models.append(result)
        return result

    def log_input(self, dataset: DatasetRecord) -> None:
        self._require_run("log_input")
        self.inputs.append(dataset)

    def register_model(self, model: ModelLogResult, name: str) -> int | None:
        version = 1 + sum(1 for registered, _ in self.registered if registered == name)
        self.registered.append((name, version))
        return version

    def _require_run(self, call: str) -> None:
        if not self._stack:
            raise RuntimeError(
                f"NullTracker.{call} needs an active run: call start_run() first or use "
                "`with tracker.run(...):`."
            )


def _check_status(status: str) -> None:
    if status not in ("FINISHED", "FAILED", "KILLED"):
        raise ConfigError(f"Run status must be one of FINISHED, FAILED, KILLED; got {status!r}.")


def _metric_value(key: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"Metric '{key}' must be a number, got {type(value).__name__} {value!r}."
        ) from err


def _join(prefix: str | None, name: str) -> str:
    return f"{prefix.rstrip('/')}/{name}" if prefix else name
