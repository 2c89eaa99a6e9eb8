"""Integrity checks behind :func:`arnews_ml.persist.load_bundle`.

- **The manifest is checksummed.** :func:`seal_manifest` records ``manifest_sha256``, the sha256
  of the manifest's canonical JSON form (sorted keys, no whitespace, UTF-8, without that field);
  :func:`verify_manifest` refuses a manifest whose content no longer matches it (an edited
  threshold, a renamed label, a changed ``package_version``: every field is covered). Reformatting
  the file (indentation, key order) changes nothing. Bundles written before the field existed
  still load, with a logged warning. This detects edits and damage; it is not a signature (whoever
  can write the folder can recompute it), so only load bundles from a source you trust.
- **Every path stays inside the bundle folder.** :func:`check_bundle_paths` refuses a ``files``
  entry, or a part path in the manifest (:data:`PART_PATH_KEYS`), that is absolute or has a ``..`` component, and any symbolic link in the folder that
  leads outside it. While a bundle loads (:func:`loading_bundle`), :func:`check_part_location`
  refuses a part file outside it.
- **A part must be what its loader expects.** :func:`check_skops_file` refuses a ``.skops`` file
  that is not an intact zip archive (another format put in its place, a truncated copy) before
  skops reads it.

Each refusal is one :class:`~arnews_ml.exceptions.ArtifactError` saying what was wrong, that the
bundle is not trusted, and how to re-export it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from arnews_ml.exceptions import ArtifactError

__all__ = [
    "MANIFEST_SHA256_KEY",
    "NOT_TRUSTED",
    "PART_PATH_KEYS",
    "check_bundle_paths",
    "check_part_location",
    "check_skops_file",
    "inside_bundle",
    "loading_bundle",
    "manifest_sha256",
    "seal_manifest",
    "sha256_file",
    "verify_files",
    "verify_manifest",
]

log = logging.getLogger(__name__)

MANIFEST_SHA256_KEY = "manifest_sha256"
"""The manifest field holding the sha256 of the rest of the manifest."""

NOT_TRUSTED = (
    "The bundle is not trusted and was not loaded. Re-export it: re-save the model with "
    "arnews_ml.persist.save_bundle, or re-run training (arnews-train)."
)

_MANIFEST_NAME = "manifest.json"
#: Manifest keys (at any depth) whose string values are part paths, relative to a bundle folder.
PART_PATH_KEYS = frozenset({"file", "files", "embedder_dir", "model_dir"})
_ACTIVE_BUNDLE: ContextVar[Path | None] = ContextVar("arnews_ml_active_bundle", default=None)


# ----------------------------------------------------------------------------- manifest checksum


def manifest_sha256(manifest: Mapping[str, Any]) -> str:
    """The sha256 of ``manifest``'s canonical JSON form, ignoring its ``manifest_sha256`` field."""
    body = {key: value for key, value in manifest.items() if key != MANIFEST_SHA256_KEY}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seal_manifest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a JSON-ready ``manifest`` (plain JSON values only) with ``manifest_sha256`` set."""
    sealed = {key: value for key, value in manifest.items() if key != MANIFEST_SHA256_KEY}
    sealed[MANIFEST_SHA256_KEY] = manifest_sha256(sealed)
    return sealed


def verify_manifest(manifest: Mapping[str, Any], directory: Path) -> None:
    """Refuse a manifest edited after export; warn about a bundle written before the checksum.

    Raises:
        ArtifactError: ``manifest_sha256`` is malformed or does not match the manifest.
    """
    recorded = manifest.get(MANIFEST_SHA256_KEY)
    if recorded is None:
        log.warning(
            "The bundle %s was written before manifests were checksummed (no %s in %s): edits to "
            "its manifest cannot be detected. Re-save it with arnews_ml.persist.save_bundle.",
            directory,
            MANIFEST_SHA256_KEY,
            _MANIFEST_NAME,
        )
        return
    if recorded != manifest_sha256(manifest):
        raise ArtifactError(
            f"The manifest {Path(directory) / _MANIFEST_NAME} was edited after export: its "
            f"content no longer matches the {MANIFEST_SHA256_KEY} save_bundle recorded (a "
            f"threshold, a label or another field was changed). {NOT_TRUSTED}"
        )


# ----------------------------------------------------------------------------- file checksums


def sha256_file(file: Path) -> str:
    """The sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_files(manifest: Mapping[str, Any], directory: Path) -> None:
    """Check every file the manifest lists exists inside ``directory`` with its sha256.

    Raises:
        ArtifactError: No ``files`` table, a path outside the bundle, a missing or changed file.
    """
    files = _files_table(manifest, directory)
    for relpath, expected in files.items():
        file = inside_bundle(directory, relpath, what="the file")
        if not file.is_file():
            raise ArtifactError(
                f"The bundle {directory} is missing {relpath}; it is incomplete or was modified. "
                f"{NOT_TRUSTED}"
            )
        if sha256_file(file) != expected:
            raise ArtifactError(
                f"The file {relpath} in bundle {directory} does not match its checksum in "
                f"{_MANIFEST_NAME}: the bundle is corrupt or was modified after export. "
                f"{NOT_TRUSTED} (load_bundle(..., verify=False) skips this check, at your own "
                "risk.)"
            )


def _files_table(manifest: Mapping[str, Any], directory: Path) -> Mapping[str, Any]:
    files = manifest.get("files")
    if not isinstance(files, Mapping):
        raise ArtifactError(
            f"The manifest of {directory} has no 'files' table; the bundle is damaged. Re-export it."
        )
    return files


# ----------------------------------------------------------------------------- paths


def inside_bundle(directory: Path, relpath: Any, *, what: str = "a part") -> Path:
    """Resolve ``relpath`` under the bundle ``directory``, refusing anything that leaves it.

    Args:
        directory: The bundle folder.
        relpath: A path from the manifest, relative to ``directory``.
        what: What the path is for, in messages.

    Returns:
        The resolved path (symbolic links followed), inside ``directory``.

    Raises:
        ArtifactError: ``relpath`` is not a string, is absolute, has a ``..`` component, or
            leads (through a link) outside ``directory``.
    """
    _check_relative(directory, relpath, what)
    root = Path(directory).resolve()
    target = (root / relpath).resolve()
    if not target.is_relative_to(root):
        raise ArtifactError(_outside(directory, what, relpath, "a link that leads outside it"))
    return target


def check_bundle_paths(manifest: Mapping[str, Any], directory: Path) -> None:
    """Refuse manifest paths and symbolic links that leave the bundle folder.

    Checks the ``files`` table (resolved under ``directory``), every part path elsewhere in the
    manifest (relative, no ``..``; keys in :data:`PART_PATH_KEYS`), and every symbolic link inside the folder.

    Raises:
        ArtifactError: The first path found outside the bundle.
    """
    for relpath in _files_table(manifest, directory):
        inside_bundle(directory, relpath, what="the file")
    for key, value in _part_paths(manifest):
        _check_relative(directory, value, f"{key!r}")
    root = Path(directory).resolve()
    for folder, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            entry = Path(folder) / name
            if entry.is_symlink() and not entry.resolve().is_relative_to(root):
                relpath = entry.relative_to(root).as_posix()
                raise ArtifactError(
                    _outside(directory, "the part", relpath, "a link that leads outside it")
                )


def _part_paths(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for name, item in value.items():
            if key == "" and name == "files":
                continue  # the checksum table, resolved separately
            yield from _part_paths(item, str(name))
    elif key in PART_PATH_KEYS:
        if isinstance(value, str):
            yield key, value
        elif isinstance(value, list):
            yield from ((key, item) for item in value if isinstance(item, str))
    elif isinstance(value, list):
        for item in value:
            yield from _part_paths(item, "")


def _check_relative(directory: Path, relpath: Any, what: str) -> None:
    if not isinstance(relpath, str) or not relpath:
        raise ArtifactError(_outside(directory, what, relpath, "not a relative path"))
    posix, windows = PurePosixPath(relpath), PureWindowsPath(relpath)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or windows.root:
        raise ArtifactError(_outside(directory, what, relpath, "an absolute path"))
    if ".." in posix.parts or ".." in windows.parts:
        raise ArtifactError(_outside(directory, what, relpath, "a path with '..'"))


def _outside(directory: Path, what: str, relpath: Any, reason: str) -> str:
    return (
        f"The bundle {directory} points {what} at {relpath!r}, {reason}: only files inside the "
        f"bundle folder are loaded, and this one would be outside the bundle. {NOT_TRUSTED}"
    )


@contextlib.contextmanager
def loading_bundle(directory: Path) -> Iterator[None]:
    """While the block runs, :func:`check_part_location` refuses parts outside ``directory``."""
    token = _ACTIVE_BUNDLE.set(Path(directory).resolve())
    try:
        yield
    finally:
        _ACTIVE_BUNDLE.reset(token)


def check_part_location(path: Path) -> None:
    """Inside :func:`loading_bundle`, refuse a part file that resolves outside the bundle."""
    root = _ACTIVE_BUNDLE.get()
    if root is not None and not Path(path).resolve().is_relative_to(root):
        raise ArtifactError(_outside(root, "a part", str(path), "outside the bundle folder"))


# ----------------------------------------------------------------------------- part formats


def check_skops_file(path: Path) -> None:
    """Refuse a .skops file that is not an intact zip archive, before skops parses it.

    Raises:
        ArtifactError: The file is another format (e.g. a Python object stream), truncated or
            corrupt.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
        if not zipfile.is_zipfile(path):
            kind = "a pickle" if head[:1] == b"\x80" else "not a zip archive"
            raise _not_skops(path, f"it is {kind}")
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
        if broken is not None:
            raise _not_skops(path, f"its member {broken!r} is corrupt")
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, ValueError) as err:
        if isinstance(err, ArtifactError):
            raise
        raise _not_skops(path, f"it cannot be read as a zip archive ({err})") from err


def _not_skops(path: Path, detail: str) -> ArtifactError:
    return ArtifactError(
        f"The file {path} is not a valid skops file: {detail}. Another file may have been put "
        f"in its place, or it is a truncated copy. {NOT_TRUSTED}"
    )
