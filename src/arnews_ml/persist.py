"""Versioned model bundles: one directory per trained model, with a checksummed manifest.json.

A bundle is written by :func:`save_bundle` and read back by :func:`load_bundle`. Every bundle-able
model provides three things:

- ``bundle_kind``: a short string ("classifier", "topics", "combined", ...) stored as ``kind``;
- ``_write_bundle_parts(directory) -> dict``: writes its parts into ``directory`` and returns the
  metadata to merge into the manifest (labels, thresholds, embedder spec, ...);
- ``_read_bundle_parts(directory, manifest) -> model`` (a classmethod): the inverse.

sklearn-like parts go through :func:`dump_skops` / :func:`load_skops`, which refuse to load any
type outside a small allow-list; no part is ever stored as an opaque Python object stream.
The manifest itself is checksummed (``manifest_sha256``), every part path must stay inside the
bundle folder and a part that is not what its loader expects is refused: see
:mod:`arnews_ml.persist_integrity`. Nothing here imports MLflow.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from arnews_ml.exceptions import ArtifactError
from arnews_ml.persist_integrity import (
    MANIFEST_SHA256_KEY,
    check_bundle_paths,
    check_part_location,
    check_skops_file,
    loading_bundle,
    seal_manifest,
    sha256_file,
    verify_files,
    verify_manifest,
)

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "SUPPORTED_FORMAT_VERSIONS",
    "TRUSTED_CLASS_PREFIXES",
    "TRUSTED_TYPE_ROOTS",
    "dump_skops",
    "load_bundle",
    "load_skops",
    "package_version",
    "read_manifest",
    "resolve_class",
    "save_bundle",
]

FORMAT_VERSION = 1
"""The bundle layout this package writes. Bump it when the layout changes incompatibly."""

SUPPORTED_FORMAT_VERSIONS: tuple[int, ...] = (1,)
"""The bundle layouts this package can read."""

MANIFEST_FILE = "manifest.json"

TRUSTED_CLASS_PREFIXES: tuple[str, ...] = ("arnews_ml.",)
"""A bundle's ``class`` must live under one of these module prefixes to be imported."""

TRUSTED_TYPE_ROOTS: tuple[str, ...] = (
    "sklearn",
    "numpy",
    "scipy",
    "arnews_ml",
    "builtins",
    "collections",
)
"""Top-level packages whose types :func:`load_skops` trusts inside a .skops file."""

# Builtins that run code or touch the file system when called: a skops file that stores them
# (e.g. as a FunctionTransformer's func) is refused even though "builtins" is trusted.
_UNSAFE_BUILTINS = frozenset(
    f"builtins.{name}"
    for name in (
        "__import__",
        "breakpoint",
        "compile",
        "delattr",
        "eval",
        "exec",
        "getattr",
        "globals",
        "input",
        "locals",
        "open",
        "setattr",
        "vars",
    )
)

_RESERVED_MANIFEST_KEYS = frozenset(
    {
        "format_version",
        "kind",
        "class",
        "package_version",
        "created_utc",
        "files",
        MANIFEST_SHA256_KEY,
    }
)
_PACKAGE_NAME = "arnews-ml"


def package_version() -> str:
    """The installed version of arnews_ml.

    Returns:
        The distribution version ("0.1.0"), else ``arnews_ml.__version__`` when the package runs
        from a source tree without being installed, else ``"0+unknown"``.
    """
    try:
        return importlib_metadata.version(_PACKAGE_NAME)
    except importlib_metadata.PackageNotFoundError:
        import arnews_ml

        return str(getattr(arnews_ml, "__version__", "0+unknown"))


def save_bundle(model: Any, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``model`` as a bundle directory at ``path``, atomically.

    The parts are written into a temporary sibling directory, checksummed, described in
    ``manifest.json`` and then renamed into place, so a reader never sees half a bundle. On any
    error the temporary directory is removed and ``path`` is left as it was.

    Args:
        model: A bundle-able model (``bundle_kind``, ``_write_bundle_parts``,
            ``_read_bundle_parts``).
        path: The bundle directory to create. Its parent folders are created when missing. An
            existing empty directory is filled.
        overwrite: Replace an existing bundle at ``path``. A non-empty directory that is not a
            bundle is never replaced.

    Returns:
        The bundle directory, as an absolute path.

    Raises:
        ArtifactError: ``path`` exists (without ``overwrite=True``), the model is not bundle-able,
            or its parts cannot be written.
    """
    target = Path(path).expanduser().absolute()
    _check_bundleable(model)
    _check_target(target, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)

    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        extra = model._write_bundle_parts(tmp)
        if extra is None:
            extra = {}
        if not isinstance(extra, Mapping):
            raise ArtifactError(
                f"{type(model).__qualname__}._write_bundle_parts must return a dict of manifest "
                f"metadata, got {type(extra).__name__}."
            )
        clash = sorted(_RESERVED_MANIFEST_KEYS.intersection(extra))
        if clash:
            raise ArtifactError(
                f"{type(model).__qualname__}._write_bundle_parts returned reserved manifest "
                f"key(s) {clash}; the manifest sets these itself. Rename them."
            )
        if (tmp / MANIFEST_FILE).exists():
            raise ArtifactError(
                f"{type(model).__qualname__}._write_bundle_parts wrote its own {MANIFEST_FILE}; "
                "that name is reserved for the bundle manifest."
            )
        cls = type(model)
        manifest: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "kind": str(model.bundle_kind),
            "class": f"{cls.__module__}:{cls.__qualname__}",
            "package_version": package_version(),
            "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "files": _checksums(tmp),
            **extra,
        }
        try:
            plain = json.loads(json.dumps(manifest, ensure_ascii=False, default=_json_default))
        except (TypeError, ValueError) as err:
            raise ArtifactError(
                f"The manifest metadata of {cls.__qualname__} is not JSON-serialisable: {err}. "
                "Return plain str/int/float/bool/list/dict values from _write_bundle_parts."
            ) from err
        text = json.dumps(seal_manifest(plain), indent=2, ensure_ascii=False)
        (tmp / MANIFEST_FILE).write_text(text + "\n", encoding="utf-8")
        _move_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read a bundle's ``manifest.json`` without loading the model or checking anything.

    Args:
        path: The bundle directory (or its manifest.json).

    Returns:
        The manifest as a dict.

    Raises:
        ArtifactError: ``path`` does not exist, is not a bundle, or the manifest is not valid JSON.
    """
    directory = _bundle_dir(path)
    manifest_path = directory / MANIFEST_FILE
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ArtifactError(
            f"Cannot read {manifest_path}: {err}. The bundle is damaged; re-export it."
        ) from err
    if not isinstance(manifest, dict):
        raise ArtifactError(
            f"{manifest_path} holds a {type(manifest).__name__}, not a JSON object. "
            "The bundle is damaged; re-export it."
        )
    return manifest


def load_bundle(path: str | Path, *, verify: bool = True) -> Any:
    """Load the model saved in a bundle directory.

    Args:
        path: The bundle directory (or its manifest.json).
        verify: Check the manifest's own sha256 (``manifest_sha256``; a bundle written before it
            existed loads with a logged warning) and the sha256 of every file it lists. With
            ``verify=False`` (at your own risk) those checksums are skipped; the path checks and
            the skops format check always run.

    Returns:
        The model, as rebuilt by its class's ``_read_bundle_parts(directory, manifest)``.

    Raises:
        ArtifactError: Not a bundle, a format_version this package cannot read, an edited
            manifest, a path leading outside the bundle folder, a missing or modified file, a
            part that is not what its loader expects, or a class outside arnews_ml.
    """
    directory = _bundle_dir(path)
    manifest = read_manifest(directory)
    _check_format_version(manifest, directory)
    if verify:
        verify_manifest(manifest, directory)
    check_bundle_paths(manifest, directory)
    cls = _resolve_class(manifest, directory)
    if verify:
        verify_files(manifest, directory)
    reader = getattr(cls, "_read_bundle_parts", None)
    if reader is None:
        raise ArtifactError(
            f"The bundle {directory} names class {manifest['class']!r}, which has no "
            "_read_bundle_parts; it cannot be loaded by this version of arnews_ml."
        )
    with loading_bundle(directory):
        return reader(directory, manifest)


def dump_skops(obj: Any, path: str | Path) -> Path:
    """Save a scikit-learn-like object with skops (a safe, inspectable format).

    Args:
        obj: The object (estimators, numpy arrays, plain containers, arnews_ml classes).
        path: The .skops file to write; parent folders are created.

    Returns:
        The written path.

    Raises:
        ArtifactError: skops cannot serialise the object.
    """
    import skops.io

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        skops.io.dump(obj, target)
    except (TypeError, ValueError, AttributeError, NotImplementedError) as err:
        raise ArtifactError(
            f"skops cannot save {type(obj).__qualname__} to {target}: {err}"
        ) from err
    return target


def load_skops(path: str | Path) -> Any:
    """Load a .skops file, trusting only types from sklearn, numpy, scipy, arnews_ml and the
    standard containers.

    Args:
        path: The .skops file.

    Returns:
        The loaded object.

    Raises:
        ArtifactError: The file is missing, unreadable, not a skops file (another format in its
            place, a truncated copy), outside the bundle being loaded, or it holds a type outside
            the allow-list (listed in the message; the file is not loaded).
    """
    import skops.io

    source = Path(path)
    if not source.is_file():
        raise ArtifactError(f"The skops file {source} does not exist.")
    check_part_location(source)
    check_skops_file(source)
    try:
        untrusted = list(skops.io.get_untrusted_types(file=source))
    except (OSError, ValueError, KeyError) as err:
        raise ArtifactError(f"Cannot read the skops file {source}: {err}") from err
    refused = sorted(name for name in untrusted if not _is_trusted_type(name))
    if refused:
        raise ArtifactError(
            f"The skops file {source} contains types arnews_ml does not trust: "
            f"{', '.join(refused)}. Only types from {', '.join(TRUSTED_TYPE_ROOTS)} are loaded; "
            "re-export the model with arnews_ml, or inspect the file with "
            "skops.io.get_untrusted_types and load it yourself if you trust its source."
        )
    try:
        return skops.io.load(source, trusted=untrusted)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ArtifactError(f"Cannot load the skops file {source}: {err}") from err


def _is_trusted_type(name: str) -> bool:
    if name in _UNSAFE_BUILTINS:
        return False
    return name.split(".", 1)[0] in TRUSTED_TYPE_ROOTS


def _check_bundleable(model: Any) -> None:
    missing = [
        attr
        for attr in ("bundle_kind", "_write_bundle_parts", "_read_bundle_parts")
        if not hasattr(model, attr)
    ]
    if missing:
        raise ArtifactError(
            f"{type(model).__qualname__} cannot be saved as a bundle: it lacks "
            f"{', '.join(missing)}. Save a fitted arnews_ml model (TextClassifier, TopicModel)."
        )


def _check_target(target: Path, *, overwrite: bool) -> None:
    if not target.exists() and not target.is_symlink():
        return
    if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
        return  # an empty directory (e.g. made by mkdir or a fixture) is simply filled
    if not overwrite:
        raise ArtifactError(
            f"{target} already exists. Choose another path, or pass overwrite=True to replace "
            "the bundle there."
        )
    if target.is_dir() and not (target / MANIFEST_FILE).is_file():
        raise ArtifactError(
            f"{target} exists and is not an arnews_ml bundle (no {MANIFEST_FILE}); refusing to "
            "replace it even with overwrite=True. Choose another path."
        )


def _move_into_place(tmp: Path, target: Path) -> None:
    if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
        target.rmdir()
    if not target.exists() and not target.is_symlink():
        os.replace(tmp, target)
        return
    # overwrite: park the old bundle beside, swap, then delete the old one
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    old.rmdir()
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except OSError:
        os.replace(old, target)
        raise
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()


def _checksums(directory: Path) -> dict[str, str]:
    manifest = directory / MANIFEST_FILE
    return {
        file.relative_to(directory).as_posix(): sha256_file(file)
        for file in sorted(directory.rglob("*"))
        if file.is_file() and file != manifest
    }


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__qualname__} value {value!r} is not JSON-serialisable")


def _bundle_dir(path: str | Path) -> Path:
    candidate = Path(path).expanduser()
    if candidate.name == MANIFEST_FILE and candidate.is_file():
        candidate = candidate.parent
    if not candidate.exists():
        raise ArtifactError(f"No bundle at {candidate}: the path does not exist.")
    if not (candidate / MANIFEST_FILE).is_file():
        raise ArtifactError(
            f"{candidate} is not an arnews_ml bundle (no {MANIFEST_FILE} in {candidate}). "
            "Pass the folder written by save_bundle / arnews-train."
        )
    return candidate


def _check_format_version(manifest: Mapping[str, Any], directory: Path) -> None:
    version = manifest.get("format_version")
    readable = ", ".join(str(v) for v in SUPPORTED_FORMAT_VERSIONS)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ArtifactError(
            f"The bundle {directory} has no valid format_version ({version!r}); this version of "
            f"arnews_ml ({package_version()}) reads format_version {readable}. Re-export it."
        )
    if version not in SUPPORTED_FORMAT_VERSIONS:
        newer = version > max(SUPPORTED_FORMAT_VERSIONS)
        hint = (
            "It was written by a newer arnews_ml: upgrade arnews_ml to load it."
            if newer
            else "Re-export it with this version, or install the arnews_ml that wrote it "
            f"({manifest.get('package_version', 'unknown')})."
        )
        raise ArtifactError(
            f"The bundle {directory} has format_version {version}; this version of arnews_ml "
            f"({package_version()}) reads format_version {readable}. {hint}"
        )


def _resolve_class(manifest: Mapping[str, Any], directory: Path) -> type:
    return resolve_class(
        manifest.get("class"), directory, written_by=str(manifest.get("package_version", "unknown"))
    )


def resolve_class(
    spec: Any, directory: Path, *, what: str = "class", written_by: str = "unknown"
) -> type:
    """Import the class a bundle names as ``"module:QualName"``, only under the trusted prefixes.

    Args:
        spec: The ``"module:QualName"`` string from a manifest.
        directory: The bundle (for messages).
        what: What the class is for, in messages ("class", "cleaner class", ...).
        written_by: The arnews_ml version that wrote the bundle, if known (for messages).

    Raises:
        ArtifactError: A malformed spec, an untrusted module, or a class this version lacks.
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise ArtifactError(
            f"The bundle {directory} has no valid {what} entry ({spec!r}, expected "
            "'module:QualName'). Re-export it."
        )
    module_name, qualname = spec.split(":", 1)
    if not module_name.startswith(TRUSTED_CLASS_PREFIXES):
        raise ArtifactError(
            f"The bundle {directory} names {what} {spec!r}; only classes under "
            f"{', '.join(TRUSTED_CLASS_PREFIXES)} are loaded. Re-export the model with arnews_ml."
        )
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise ArtifactError(
            f"The bundle {directory} names {what} {spec!r}, which this version of arnews_ml "
            f"({package_version()}) does not have: {err}. Install the arnews_ml version that "
            f"wrote it ({written_by})."
        ) from err
    if not isinstance(obj, type):
        raise ArtifactError(f"The bundle {directory} names {spec!r}, which is not a class.")
    return obj
