"""A local cache of models loaded from an MLflow store: one verified copy per model, bounded.

A ``models:/`` or ``runs:/`` URI is resolved through the store on every load (a moved alias
such as ``@champion`` loads its new version) to a logged model id (``m-...``; a registered
version without one is keyed by name and version, a run artifact by run id and path), and one
copy per id is kept in the cache folder (``$ARNEWS_MODEL_CACHE_DIR``, else
``$ARNEWS_CACHE_DIR/models`` beside the embedding cache, else ``~/.cache/arnews_ml/models``)::

    <key>/entry.json          uri, bundle path, manifest sha256 at download, bytes; mtime = last use
    <key>/model/...           the downloaded MLflow model (its bundle in artifacts/bundle)
    .locks/<key>              shared while a copy is checked and loaded, exclusive to write/remove it
    .locks/<key>.pin          shared while a model loaded from the copy lives (it may read files)
    .lock                     held briefly to clean up and evict
    .tmp-<host>-<pid>-<id>/   a download in progress, renamed to <key>/ once verified

A download is verified (manifest and file checksums, :mod:`arnews_ml.persist_integrity`) before
the rename, so a copy is complete and verified or absent; every load checks it again and
downloads it again when it no longer matches. At most ``$ARNEWS_MODEL_CACHE_MAX_BYTES``
(default 2 GiB) is kept, least recently used copies removed first, never one being loaded nor
one a live model was loaded from. The next load removes the temporary folders of a killed
download (its process is gone, or older than a day). ``arnews-runs --clear-cache`` or
:func:`clear_model_cache` empties the cache.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import time
import uuid
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from arnews_ml import persist_integrity as integrity
from arnews_ml.exceptions import ArtifactError, ConfigError
from arnews_ml.persist import load_bundle, read_manifest

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MODEL_CACHE_DIR_ENV",
    "MODEL_CACHE_MAX_BYTES_ENV",
    "CacheEntry",
    "ClearResult",
    "ModelCache",
    "clear_model_cache",
    "default_model_cache_dir",
]

log = logging.getLogger(__name__)

#: The model cache folder itself (overrides ``$ARNEWS_CACHE_DIR/models``).
MODEL_CACHE_DIR_ENV = "ARNEWS_MODEL_CACHE_DIR"
#: The package's cache root, shared with the embedding cache (``arnews_ml.embed.cache``).
CACHE_DIR_ENV = "ARNEWS_CACHE_DIR"
#: The size cap in bytes (a number, optionally with K, M or G: powers of 1024; 0: no cap).
MODEL_CACHE_MAX_BYTES_ENV = "ARNEWS_MODEL_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 2 * 1024**3
"""The default size cap: 2 GiB."""

ENTRY_FILE = "entry.json"
_MODEL_DIR = "model"
_TMP_PREFIX = ".tmp-"
_TRASH_PREFIX = ".trash-"
_LOCKS_DIR = ".locks"
_CACHE_LOCK = ".lock"
#: A temporary folder older than this is removed even when its process cannot be checked.
STALE_TMP_SECONDS = 24 * 3600
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def default_model_cache_dir() -> Path:
    """``$ARNEWS_MODEL_CACHE_DIR``, else ``$ARNEWS_CACHE_DIR/models``, else
    ``~/.cache/arnews_ml/models`` (beside the embedding cache's ``embeddings/``)."""
    own = os.environ.get(MODEL_CACHE_DIR_ENV)
    if own:
        return Path(own).expanduser()
    root = os.environ.get(CACHE_DIR_ENV)
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "arnews_ml"
    return base / "models"


def max_bytes_from_env() -> int:
    """``$ARNEWS_MODEL_CACHE_MAX_BYTES`` (``500M``, ``2G``, ``1073741824``), else 2 GiB; a
    :class:`ConfigError` when it is not a size."""
    raw = os.environ.get(MODEL_CACHE_MAX_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", raw.lower())
    if match is None:
        raise ConfigError(
            f"{MODEL_CACHE_MAX_BYTES_ENV}={raw!r} is not a size. Give bytes or a number with "
            f"K, M or G, e.g. {MODEL_CACHE_MAX_BYTES_ENV}=2G (the default) or 500M; 0: no cap."
        )
    return int(float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class CacheEntry:
    """One cached copy: its key, folder, size, last use (epoch seconds) and source URI."""

    key: str
    path: Path
    n_bytes: int
    last_used: float
    uri: str = ""


@dataclass(frozen=True)
class ClearResult:
    """What :meth:`ModelCache.clear` removed, and what it kept because another process reads it."""

    root: Path
    n_copies: int
    n_unfinished: int
    n_bytes: int
    n_kept: int = 0

    def describe(self) -> str:
        """One line for people."""
        text = (
            f"Cleared the model cache {self.root}: {self.n_copies} cached model(s) and "
            f"{self.n_unfinished} unfinished download(s) removed, "
            f"{self.n_bytes / 2**20:.1f} MiB ({self.n_bytes:,} bytes) freed."
        )
        if self.n_kept:
            text += f" Kept {self.n_kept} model(s) in use by a running process."
        return text


class _Source(NamedTuple):
    key: str  # the cached copy's folder name
    download_uri: str  # downloads exactly that model, even if an alias moves meanwhile


class ModelCache:
    """The local model cache (see the module docstring for the layout and guarantees).

    Args:
        root: The cache folder; default :func:`default_model_cache_dir`.
        max_bytes: The size cap (0: none); default ``$ARNEWS_MODEL_CACHE_MAX_BYTES``, else 2 GiB.
            A copy larger than the cap is still kept while it is the one being loaded.
    """

    def __init__(self, root: str | Path | None = None, max_bytes: int | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_model_cache_dir()
        self.max_bytes = max_bytes if max_bytes is not None else max_bytes_from_env()

    def load(self, uri: str, *, tracking_uri: str | None = None) -> Any:
        """Load the model a ``models:/`` or ``runs:/`` URI names now, from its verified copy.

        Args:
            uri: ``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``models:/<model_id>``,
                ``models:/<name>/latest`` or ``runs:/<run_id>/<path>``.
            tracking_uri: The store; see :func:`~arnews_ml.tracking.store.resolve_tracking_uri`.

        Raises:
            ArtifactError: The URI cannot be resolved or downloaded, the folder cannot be
                written, or the download fails its checks.
        """
        from arnews_ml.tracking.store import resolve_tracking_uri

        store = resolve_tracking_uri(tracking_uri)
        source = _resolve(uri, store)
        try:
            (self.root / _LOCKS_DIR).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ArtifactError(
                f"The model cache folder {self.root} cannot be written ({err}). Set "
                f"{MODEL_CACHE_DIR_ENV} to a folder you can write, or load with cache=False."
            ) from err
        self._tidy()
        try:
            with self._key_lock(source.key, fcntl.LOCK_SH):
                bundle = self._trusted_bundle(source.key)
                if bundle is not None:
                    log.info("model cache hit uri=%s key=%s", uri, source.key)
                    return self._load(source.key, bundle)
            with self._key_lock(source.key, fcntl.LOCK_EX):
                bundle = self._trusted_bundle(source.key)  # another process may have just made it
                if bundle is None:
                    bundle = self._download(source, uri, store)
                else:
                    log.info(
                        "model cache hit uri=%s key=%s (another process downloaded it)",
                        uri,
                        source.key,
                    )
                return self._load(source.key, bundle)
        finally:
            self.evict(keep=source.key)

    def _load(self, key: str, bundle: Path) -> Any:
        # (imported here: the package arnews_ml.embed is heavy, and loading a bundle needs it)
        from arnews_ml.embed.cache_budget import touch

        touch(self.root / key / ENTRY_FILE)  # last use, for least-recently-used eviction
        model = load_bundle(bundle, verify=False)  # verified just now, under the key's lock
        # pinned while the model lives: it may read its files later (sentence-transformers)
        pin = open(self.root / _LOCKS_DIR / f"{key}.pin", "a", encoding="utf-8")  # noqa: SIM115
        fcntl.flock(pin, fcntl.LOCK_SH)
        weakref.finalize(model, pin.close)
        return model

    def _trusted_bundle(self, key: str) -> Path | None:
        """The bundle of the cached copy of ``key`` when it passes every check, else None."""
        folder = self.root / key
        if not folder.is_dir():
            return None
        try:
            entry = _read_entry(folder)
            bundle = integrity.inside_bundle(folder, entry["bundle"], what="the cached bundle")
            manifest = _verified_manifest(bundle)
            if integrity.manifest_sha256(manifest) != entry["manifest_sha256"]:
                raise ArtifactError(f"{bundle}: the manifest differs from the one downloaded")
        except (ArtifactError, KeyError, TypeError, OSError) as err:
            log.warning("model cache: %s failed its checks (%s); downloading it again", folder, err)
            return None
        return bundle

    def _download(self, source: _Source, uri: str, store: str) -> Path:
        """Download into a temporary folder, verify, and rename it to ``<root>/<key>``."""
        from arnews_ml.tracking.model_logging import download_model_bundle

        tmp = self.root / f"{_TMP_PREFIX}{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            started = time.perf_counter()
            bundle = download_model_bundle(
                source.download_uri, tmp / _MODEL_DIR, tracking_uri=store
            )
            manifest = _verified_manifest(bundle)
            entry = {
                "uri": uri,
                "download_uri": source.download_uri,
                "bundle": bundle.relative_to(tmp).as_posix(),
                "manifest_sha256": integrity.manifest_sha256(manifest),
                "n_bytes": _folder_bytes(tmp),
                "downloaded_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            (tmp / ENTRY_FILE).write_text(json.dumps(entry, indent=2), encoding="utf-8")
            target = self.root / source.key
            if target.exists():
                self._remove(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        seconds = time.perf_counter() - started
        log.info("model cache: downloaded uri=%s key=%s seconds=%.2f", uri, source.key, seconds)
        return target / entry["bundle"]

    # ------------------------------------------------------------------------- housekeeping

    def entries(self) -> list[CacheEntry]:
        """The cached copies, least recently used first."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in self.root.iterdir():
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            try:
                entry = _read_entry(folder)
                n_bytes, uri = int(entry["n_bytes"]), str(entry.get("uri", ""))
                last_used = (folder / ENTRY_FILE).stat().st_mtime
            except (ArtifactError, KeyError, TypeError, ValueError, OSError):
                n_bytes, uri, last_used = _folder_bytes(folder), "", 0.0  # broken: evicted first
            found.append(CacheEntry(folder.name, folder, n_bytes, last_used, uri))
        return sorted(found, key=lambda e: (e.last_used, e.key))

    def evict(self, keep: str | None = None) -> list[str]:
        """Remove least recently used copies until the cache fits ``max_bytes`` (0: no cap), never
        ``keep`` (the copy being loaded) nor one another process holds; returns the keys removed."""
        removed: list[str] = []
        if self.max_bytes <= 0 or not self.root.is_dir():
            return removed
        with self._cache_lock():
            entries = self.entries()
            total = sum(entry.n_bytes for entry in entries)
            for entry in entries:
                if total <= self.max_bytes:
                    break
                if entry.key == keep or not self._drop(entry):
                    continue
                total -= entry.n_bytes
                removed.append(entry.key)
                log.info("model cache: evicted key=%s bytes=%d", entry.key, entry.n_bytes)
        if total > self.max_bytes:
            cap = f"{MODEL_CACHE_MAX_BYTES_ENV}={self.max_bytes}"
            log.warning("model cache: %s holds %d bytes, over its cap %s", self.root, total, cap)
        return removed

    def clear(self) -> ClearResult:
        """Remove every cached copy and unfinished download (copies being read are kept)."""
        if not self.root.is_dir():
            return ClearResult(self.root, 0, 0, 0)
        n_copies = n_unfinished = n_bytes = n_kept = 0
        with self._cache_lock():
            for entry in self.entries():
                if not self._drop(entry):
                    n_kept += 1
                    continue
                n_copies += 1
                n_bytes += entry.n_bytes
            for folder in self._leftovers():
                n_bytes += _folder_bytes(folder)
                n_unfinished += folder.name.startswith(_TMP_PREFIX)
                shutil.rmtree(folder, ignore_errors=True)
        return ClearResult(self.root, n_copies, n_unfinished, n_bytes, n_kept)

    def _tidy(self) -> None:
        """Remove what killed processes left: their temporary and half-removed folders."""
        with self._cache_lock():
            for folder in self._leftovers():
                log.info("model cache: removing the leftover %s", folder)
                shutil.rmtree(folder, ignore_errors=True)

    def _leftovers(self) -> Iterator[Path]:
        """Half-removed copies, and temporary folders whose download is over: its process (on
        this host) is gone, or it is older than :data:`STALE_TMP_SECONDS`."""
        for folder in list(self.root.iterdir()):
            if folder.name.startswith(_TRASH_PREFIX):
                yield folder
            elif folder.name.startswith(_TMP_PREFIX):
                match = re.fullmatch(r"\.tmp-([A-Za-z0-9]*)-(\d+)-[0-9a-f]+", folder.name)
                with contextlib.suppress(OSError):
                    if time.time() - folder.stat().st_mtime > STALE_TMP_SECONDS or (
                        match and match.group(1) == _host() and not _pid_alive(int(match[2]))
                    ):
                        yield folder

    def _remove(self, folder: Path) -> None:
        """Rename away first (a reader never sees half a copy under its key), then delete."""
        trash = self.root / f"{_TRASH_PREFIX}{uuid.uuid4().hex[:12]}"
        os.replace(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def _cache_lock(self) -> contextlib.AbstractContextManager[bool]:
        return _flock(self.root / _CACHE_LOCK, fcntl.LOCK_EX)

    def _drop(self, entry: CacheEntry) -> bool:
        """Remove a copy unless a process is loading it or holds a model loaded from it."""
        nb, pin = fcntl.LOCK_EX | fcntl.LOCK_NB, self.root / _LOCKS_DIR / f"{entry.key}.pin"
        with self._key_lock(entry.key, nb) as unlocked, _flock(pin, nb) as unpinned:
            if unlocked and unpinned:
                self._remove(entry.path)
            return unlocked and unpinned

    def _key_lock(self, key: str, operation: int) -> contextlib.AbstractContextManager[bool]:
        """LOCK_SH to check and load a copy, LOCK_EX to write it (LOCK_NB too, to remove it)."""
        (self.root / _LOCKS_DIR).mkdir(exist_ok=True)
        return _flock(self.root / _LOCKS_DIR / key, operation)


def clear_model_cache(root: str | Path | None = None) -> ClearResult:
    """Empty the model cache in ``root`` (default :func:`default_model_cache_dir`), as
    ``arnews-runs --clear-cache`` does; :meth:`ClearResult.describe` says what that freed."""
    return ModelCache(root, max_bytes=0).clear()


@contextlib.contextmanager
def _flock(path: Path, operation: int) -> Iterator[bool]:
    """Hold an fcntl lock on ``path``; yields False when LOCK_NB could not get it. The kernel
    releases a lock when its process dies: a killed load blocks nobody."""
    with open(path, "a", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, operation)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _verified_manifest(bundle: Path) -> dict[str, Any]:
    """The checks of ``load_bundle(verify=True)``: manifest sha256, paths, every file's sha256."""
    manifest = read_manifest(bundle)
    integrity.verify_manifest(manifest, bundle)
    integrity.check_bundle_paths(manifest, bundle)
    integrity.verify_files(manifest, bundle)
    return manifest


def _read_entry(folder: Path) -> dict[str, Any]:
    try:
        entry = json.loads((folder / ENTRY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:  # ValueError: not UTF-8, not JSON
        raise ArtifactError(f"{folder / ENTRY_FILE} cannot be read ({err})") from err
    if not isinstance(entry, dict) or not isinstance(entry.get("bundle"), str):
        raise ArtifactError(f"{folder / ENTRY_FILE} is not a cache entry")
    return entry


def _folder_bytes(folder: Path) -> int:
    total = 0
    for base, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(base, name)).st_size
    return total


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        pass
    return True


# ----------------------------------------------------------------------------- resolution


def _resolve(uri: str, store: str) -> _Source:
    """Ask the store what ``uri`` names now (an alias moves; a model id does not)."""
    from mlflow.tracking import MlflowClient

    from arnews_ml.tracking.store import registry_uri, require_store_for, store_errors

    require_store_for(uri, store)
    registry = registry_uri(store)
    client = MlflowClient(tracking_uri=store, registry_uri=registry)
    with store_errors(uri, store, "resolve", "in"):
        if uri.startswith("models:/"):
            return _resolve_models_uri(client, uri, registry)
        if uri.startswith("runs:/"):
            return _resolve_runs_uri(client, uri)
    raise ArtifactError(f"The model cache takes models:/ and runs:/ URIs; got {uri!r}.")


def _resolve_models_uri(client: Any, uri: str, registry: str) -> _Source:
    # MLflow's own reading of models:/ URIs (version, alias, 'latest', stage, model id)
    from mlflow.store.artifact.utils.models import get_model_name_and_version

    resolved = get_model_name_and_version(client, uri)
    if len(resolved) == 1:
        model = client.get_logged_model(resolved[0])
        return _Source(_safe_key(model.model_id), f"models:/{model.model_id}")
    name, number = resolved
    version = client.get_model_version(name, number)
    model_id = getattr(version, "model_id", None)  # None on SQLite stores: read the source
    found = re.fullmatch(r"models:/(m-[0-9a-f]+)", str(version.source or ""))
    model_id = model_id or (found and found.group(1))
    if model_id:
        return _Source(_safe_key(model_id), f"models:/{model_id}")
    # a name and version mean another model in another store: the key says which store
    key = _safe_key(f"v-{name}-{number}", f"{registry}\0{name}")
    return _Source(key, f"models:/{name}/{number}")


def _resolve_runs_uri(client: Any, uri: str) -> _Source:
    run_id, _, path = uri[len("runs:/") :].strip("/").partition("/")
    run = client.get_run(run_id)
    name, _, rest = path.partition("/")
    if name and not rest:
        # MLflow 3 resolves runs:/<run>/<name> to the run's logged model of that name
        quoted = name.replace("'", "\\'")
        models = client.search_logged_models(
            experiment_ids=[run.info.experiment_id], filter_string=f"name = '{quoted}'"
        )
        for model in models:
            if model.source_run_id == run_id:
                return _Source(_safe_key(model.model_id), f"models:/{model.model_id}")
    return _Source(_safe_key(f"run-{run_id}", path), uri)


def _safe_key(text: str, salt: str = "") -> str:
    """A folder name: ``text`` when it is already safe and unsalted, else a slug plus a hash."""
    if not salt and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", text):
        return text
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:60] or "model"
    digest = hashlib.sha256(f"{text}\0{salt}".encode()).hexdigest()[:12]
    return f"{slug}-{digest}"
