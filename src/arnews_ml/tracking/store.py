"""The MLflow tracking store: which one to use, where its artifacts go, and scoping MLflow to it.

Tracking URI: the ``tracking_uri`` argument, else ``MLFLOW_TRACKING_URI``, else a SQLite store
``sqlite:///<cwd>/mlflow.db`` with artifacts in ``<cwd>/mlartifacts`` (current MLflow refuses a
plain ``./mlruns`` folder). MLflow's fluent API and ``models:/`` resolution read process-global
state, so calls that need it point that state at the store for their duration only.

Resolving a URI needs no mlflow import; only the scoping helpers touch mlflow.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

from arnews_ml.exceptions import ArtifactError, ConfigError

__all__ = [
    "DEFAULT_ARTIFACT_DIR",
    "DEFAULT_DB_FILE",
    "MODEL_URI_PREFIXES",
    "check_local_store",
    "default_artifact_location",
    "registry_uri",
    "require_store_for",
    "resolve_tracking_uri",
    "store_errors",
    "store_lock",
]

DEFAULT_DB_FILE = "mlflow.db"
DEFAULT_ARTIFACT_DIR = "mlartifacts"

#: URIs that only a tracking store resolves (``models:/<name>/<version>``, ``runs:/<id>/...``).
MODEL_URI_PREFIXES = ("models:/", "runs:/")


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


def check_local_store(tracking_uri: str) -> None:
    """Refuse a SQLite store that cannot be created where it points, before any run opens.

    Raises:
        ConfigError: The database path is a folder, or a part of its folder path is a file.
    """
    db = _sqlite_path(tracking_uri)
    if db is None:
        return
    problem = None
    if db.is_dir():
        problem = f"{db} is a folder, not a database file"
    else:
        for parent in db.parents:
            if parent.exists():
                if not parent.is_dir():
                    problem = f"{parent} is a file, so the folder {db.parent} cannot exist"
                break
    if problem:
        raise ConfigError(
            f"The MLflow tracking store {tracking_uri} cannot be used: {problem}. Set "
            "tracking.tracking_uri (or MLFLOW_TRACKING_URI) to sqlite:///<folder>/mlflow.db in "
            "a folder you can write."
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


def _sqlite_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:"):
        return None
    parsed = urlparse(uri)
    path = unquote(parsed.path)
    if not path or path == "/:memory:" or ":memory:" in path:
        return None
    # sqlite:///relative.db has path "/relative.db"; sqlite:////abs.db has "//abs.db"
    return Path(path[1:]).absolute()


def require_store_for(uri: str, store: str) -> None:
    """Refuse to resolve ``uri`` against a SQLite store file that does not exist (MLflow would
    create an empty store and report the model as missing).

    Raises:
        ArtifactError: Naming the URI, the store and how to point at the right one.
    """
    db = _sqlite_path(store)
    if db is not None and not db.is_file():
        raise ArtifactError(
            f"Cannot resolve {uri}: no MLflow tracking store at {store} (the file {db} does "
            "not exist). Set MLFLOW_TRACKING_URI to the store the model was logged to, e.g. "
            "MLFLOW_TRACKING_URI=sqlite:////path/to/mlflow.db or http://host:5000."
        )


def registry_uri(store: str) -> str:
    """The model registry that goes with ``store``: ``MLFLOW_REGISTRY_URI``, else the store."""
    return os.environ.get("MLFLOW_REGISTRY_URI") or store


@contextlib.contextmanager
def store_errors(uri: str, store: str, action: str, preposition: str) -> Iterator[None]:
    """Turn MLflow's errors while asking ``store`` about ``uri`` into one ArtifactError line:
    "Cannot <action> <uri> <preposition> the MLflow store <store>: ..." for an answer, "Cannot
    reach the MLflow store <store> to <action> <uri>" for a store that cannot be reached."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as err:
        raise ArtifactError(
            f"Cannot {action} {uri} {preposition} the MLflow store {store}: {err.message} "
            "Check the name/version/alias, or set MLFLOW_TRACKING_URI to the right store."
        ) from err
    except OSError as err:  # includes requests' connection errors
        raise ArtifactError(
            f"Cannot reach the MLflow store {store} to {action} {uri}: {err}. Start the tracking "
            "server or set MLFLOW_TRACKING_URI to a reachable store."
        ) from err


@contextlib.contextmanager
def store_lock(tracking_uri: str) -> Iterator[None]:
    """Hold an exclusive lock on a local SQLite store (a ``<db>.lock`` file beside it).

    MLflow creates and migrates a new SQLite store's schema on first use; several processes
    starting together on a new store (a multirun, a few jobs launched at once) race in that
    migration (``duplicate column name``). Opening a store under this lock lets one process
    create it and the others find it ready. Other stores need no lock (no-op).
    """
    import fcntl

    db = _sqlite_path(tracking_uri)
    if db is None:
        yield
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
    import mlflow
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
