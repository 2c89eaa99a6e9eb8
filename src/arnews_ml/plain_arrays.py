"""Fitted scikit-learn estimators as JSON plus plain arrays: no pickle, no skops scan.

A fitted estimator of a known class is its constructor parameters plus its fitted attributes
(names ending in ``_``). When those are plain (JSON keeps them exactly, or numeric/string
arrays), they rebuild the exact estimator: the JSON goes to a manifest, the arrays to a ``.npz``
file read back with ``allow_pickle=False``. Classes are rebuilt only from a caller's allowlist,
by name, never from a module path read from a file. Used for linear heads
(:mod:`arnews_ml.classify.linear_io`) and the NMF topic baseline
(:mod:`arnews_ml.topics.baselines`).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from arnews_ml.exceptions import ArtifactError

__all__ = [
    "class_params",
    "is_plain",
    "object_state",
    "read_arrays",
    "rebuild",
    "restore",
    "write_arrays",
]

_SCALARS = (bool, int, float, str, type(None))
_ARRAY_KINDS = "biufU"


def is_plain(value: Any) -> bool:
    """Whether JSON keeps ``value`` exactly (so a rebuilt estimator has the same parameters)."""
    try:
        return json.loads(json.dumps(value)) == value
    except (TypeError, ValueError):
        return False


def class_params(obj: Any, classes: Mapping[str, type]) -> dict[str, Any] | None:
    """``{"class", "params"}`` of an (unfitted) estimator of an allowed class, or None."""
    name = type(obj).__name__
    if classes.get(name) is not type(obj):
        return None
    params = obj.get_params(deep=False)
    return {"class": name, "params": params} if is_plain(params) else None


def object_state(
    obj: Any, classes: Mapping[str, type], prefix: str, arrays: dict[str, np.ndarray]
) -> dict[str, Any] | None:
    """Params and fitted scalars of ``obj`` (its arrays go to ``arrays`` under ``prefix``), or
    None when its class is not allowed or anything about it is not plain."""
    spec = class_params(obj, classes)
    if spec is None:
        return None
    scalars: dict[str, Any] = {}
    array_names: list[str] = []
    for key, value in vars(obj).items():
        if key.startswith("_") or not key.endswith("_"):
            continue
        if isinstance(value, np.ndarray) and value.dtype.kind in _ARRAY_KINDS:
            arrays[f"{prefix}{key}"] = value
            array_names.append(key)
        elif isinstance(value, np.generic) and value.dtype.kind in "biuf":
            scalars[key] = value.item()
        elif isinstance(value, _SCALARS) and is_plain(value):
            scalars[key] = value
        else:
            return None
    return {**spec, "scalars": scalars, "arrays": array_names}


def rebuild(spec: Any, classes: Mapping[str, type], where: str, kind: str) -> Any:
    """A new estimator from ``{"class", "params"}``; ``kind`` names the format in errors."""
    if not isinstance(spec, dict) or not isinstance(spec.get("params"), dict):
        raise ArtifactError(f"{where} is not a saved {kind}; re-export the bundle.")
    cls = classes.get(spec.get("class"))  # type: ignore[arg-type]
    if cls is None:
        raise ArtifactError(
            f"{where} names the class {spec.get('class')!r}, which the {kind} format does "
            f"not rebuild (only {', '.join(sorted(classes))}); the bundle is not trusted. "
            "Re-export it."
        )
    try:
        return cls(**spec["params"])
    except TypeError as err:
        raise ArtifactError(f"{where}: {err}; the bundle is damaged. Re-export it.") from err


def restore(
    spec: Any,
    classes: Mapping[str, type],
    prefix: str,
    arrays: Mapping[str, np.ndarray],
    where: str,
    kind: str,
) -> Any:
    """The fitted estimator :func:`object_state` described."""
    obj = rebuild(spec, classes, where, kind)
    for key, value in (spec.get("scalars") or {}).items():
        setattr(obj, str(key), value)
    for key in spec.get("arrays") or []:
        name = f"{prefix}{key}"
        if name not in arrays:
            raise ArtifactError(f"{where} lacks the array {name!r}; the bundle is damaged.")
        setattr(obj, str(key), arrays[name])
    return obj


def write_arrays(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to a ``.npz`` file (parent folders created)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        np.savez(handle, **arrays)


def read_arrays(path: str | Path, where: str) -> dict[str, np.ndarray]:
    """Every array of a ``.npz`` file, read without pickle.

    Raises:
        ArtifactError: The file is missing or is not a plain-array ``.npz`` file.
    """
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except FileNotFoundError as err:
        raise ArtifactError(f"{where} does not exist; the bundle is damaged.") from err
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ArtifactError(
            f"{where} is not a plain-array .npz file ({err}); the bundle is not trusted. "
            "Re-export it."
        ) from err
