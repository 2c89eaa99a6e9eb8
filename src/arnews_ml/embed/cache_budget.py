"""Size cap of the embedding and feature cache: least-recently-used entries are removed first."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from arnews_ml.exceptions import ConfigError

__all__ = [
    "CACHE_MAX_BYTES_ENV",
    "DEFAULT_CACHE_MAX_BYTES",
    "FEATURES_DIR",
    "CacheUnit",
    "cache_units",
    "enforce_cap",
    "max_cache_bytes",
    "parse_size",
    "touch",
]

logger = logging.getLogger(__name__)

#: Environment variable overriding the cap (``500M``, ``8G``, ``1073741824``; ``0``: no cap).
CACHE_MAX_BYTES_ENV = "ARNEWS_CACHE_MAX_BYTES"
#: Default cap of the embedding + feature cache: 8 GiB.
DEFAULT_CACHE_MAX_BYTES = 8 * 1024**3
#: Sub-folder of the cache root holding fitted features (TF-IDF vectorizers and matrices).
FEATURES_DIR = "features"
_SPEC_DIR = re.compile(r"[0-9a-f]{16}")
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)


def parse_size(text: str | int, name: str = CACHE_MAX_BYTES_ENV) -> int:
    """Bytes from ``1073741824``, ``500M``, ``8G`` or ``1.5GiB`` (powers of 1024).

    Raises:
        ConfigError: Not a size (the message names ``name`` and the accepted forms).
    """
    if isinstance(text, int):
        return text
    match = _SIZE.fullmatch(str(text))
    if match is None:
        raise ConfigError(
            f"{name}={text!r} is not a size. Give bytes or a number with K, M, G or T "
            "(e.g. 500M, 8G); 0 turns the cap off."
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def max_cache_bytes() -> int:
    """The cap: ``$ARNEWS_CACHE_MAX_BYTES`` when set, else 8 GiB; ``0`` means no cap."""
    raw = os.environ.get(CACHE_MAX_BYTES_ENV, "").strip()
    return DEFAULT_CACHE_MAX_BYTES if not raw else parse_size(raw)


def touch(path: Path) -> None:
    """Mark ``path`` as just used (its mtime orders the eviction); errors are ignored.

    Stamped with the clock's nanoseconds: a plain ``os.utime(path)`` takes the kernel's coarse
    tick (a few ms), so two uses in quick succession could tie and the older be kept."""
    now = time.time_ns()
    with contextlib.suppress(OSError):
        os.utime(path, ns=(now, now))


@dataclass
class CacheUnit:
    """One thing eviction removes whole: an embedding chunk file or a feature entry."""

    path: Path
    size: int
    last_used: float


def _folder_size(folder: Path) -> tuple[int, float]:
    size, newest = 0, 0.0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                stat = os.stat(os.path.join(dirpath, name))
                size += stat.st_size
                newest = max(newest, stat.st_mtime)
    return size, newest


def cache_units(root: Path) -> list[CacheUnit]:
    """The evictable units under ``root``: chunk files (and chunks set aside as corrupt) of
    embedding spec folders (16 hex characters) and the entries of ``root/features``. Nothing else (e.g. a model cache in the
    same root) is ever listed."""
    units: list[CacheUnit] = []
    if not root.is_dir():
        return units
    for folder in root.iterdir():
        if not (_SPEC_DIR.fullmatch(folder.name) and folder.is_dir()):
            continue
        for path in (*folder.glob("*.npz"), *folder.glob("*.corrupt")):
            with contextlib.suppress(OSError):
                stat = path.stat()
                units.append(CacheUnit(path, stat.st_size, stat.st_mtime))
    features = root / FEATURES_DIR
    if features.is_dir():
        for path in features.iterdir():
            if path.name.startswith("."):
                continue  # temporary folders and files being written
            if path.is_dir():
                size, newest = _folder_size(path)
                units.append(CacheUnit(path, size, newest))
            else:
                with contextlib.suppress(OSError):
                    stat = path.stat()
                    units.append(CacheUnit(path, stat.st_size, stat.st_mtime))
    return units


def enforce_cap(root: Path, max_bytes: int, keep: tuple[Path, ...] = ()) -> int:
    """Remove least-recently-used units under ``root`` until they fit in ``max_bytes``.

    Args:
        root: The embedding cache root.
        max_bytes: The cap; ``<= 0`` means no cap.
        keep: Units never removed now (the one just written).

    Returns:
        Bytes removed. Removal errors are ignored (another process may remove the same entry).
    """
    if max_bytes <= 0:
        return 0
    units = cache_units(root)
    total = sum(u.size for u in units)
    if total <= max_bytes:
        return 0
    kept = {Path(p) for p in keep}
    removed = 0
    for unit in sorted(units, key=lambda u: u.last_used):
        if total - removed <= max_bytes:
            break
        if unit.path in kept:
            continue
        if unit.path.is_dir():
            shutil.rmtree(unit.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                unit.path.unlink()
        removed += unit.size
    logger.info(
        "embedding cache: removed %.1f MB of least recently used entries (cap %.1f MB, set %s)",
        removed / 2**20,
        max_bytes / 2**20,
        CACHE_MAX_BYTES_ENV,
    )
    return removed
