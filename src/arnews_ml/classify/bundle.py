"""Saving and loading the pieces of a classifier bundle that are not estimators (the cleaner)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arnews_ml.exceptions import ArtifactError
from arnews_ml.persist import resolve_class

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
    cls = resolve_class(entry.get("class"), directory, what="cleaner class")
    if not hasattr(cls, "from_dict"):
        raise ArtifactError(
            f"The bundle {directory} names cleaner class {entry.get('class')!r}, which has no "
            "from_dict(); re-export the model with this version of arnews_ml."
        )
    return cls.from_dict(entry.get("state") or {})
