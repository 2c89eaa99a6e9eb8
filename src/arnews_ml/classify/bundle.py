"""Saving and loading the pieces of a classifier bundle that are not estimators (the cleaner)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arnews_ml.exceptions import ArtifactError

__all__ = ["cleaner_entry", "load_cleaner"]

_TRUSTED_PREFIX = "arnews_ml."


def cleaner_entry(cleaner: Any) -> dict[str, Any] | None:
    """``{"class": "module:Class", "state": cleaner.to_dict()}`` for the manifest, or None."""
    if cleaner is None:
        return None
    cls = type(cleaner)
    path = f"{cls.__module__}:{cls.__qualname__}"
    if not (hasattr(cleaner, "to_dict") and hasattr(cls, "from_dict")):
        raise ArtifactError(
            f"The cleaner {path} cannot be saved in a bundle: it needs to_dict() and a "
            "from_dict() classmethod (arnews_ml.text.cleaner.TextCleaner has both)."
        )
    if not cls.__module__.startswith(_TRUSTED_PREFIX):
        raise ArtifactError(
            f"The cleaner {path} is not an arnews_ml class, so a bundle could not load it "
            "back; use arnews_ml.text.cleaner.TextCleaner or save without a cleaner."
        )
    return {"class": path, "state": cleaner.to_dict()}


def load_cleaner(entry: Mapping[str, Any] | None, directory: Path) -> Any:
    """Rebuild a cleaner from :func:`cleaner_entry` output (only ``arnews_ml.`` classes)."""
    if entry is None:
        return None
    path = str(entry.get("class", ""))
    module_name, _, qualname = path.partition(":")
    if not module_name.startswith(_TRUSTED_PREFIX) or not qualname:
        raise ArtifactError(
            f"The bundle {directory} names cleaner class {path!r}; only arnews_ml classes "
            "('module:Class') are loaded. Re-export the model with arnews_ml."
        )
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise ArtifactError(
            f"The bundle {directory} names cleaner class {path!r}, which this version of "
            f"arnews_ml does not have ({err}). Install the version that wrote the bundle."
        ) from err
    return obj.from_dict(entry.get("state") or {})
