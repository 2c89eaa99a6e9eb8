"""The package's exception hierarchy: every error we raise on purpose is an ArnewsError."""

from __future__ import annotations

__all__ = [
    "ArnewsError",
    "ArtifactError",
    "ConfigError",
    "DataError",
    "DependencyError",
    "TrackingError",
]


class ArnewsError(Exception):
    """Base class of every error arnews_ml raises on purpose."""


class DataError(ArnewsError, ValueError):
    """Input data is missing, malformed or inconsistent (names the file, row or field)."""


class ConfigError(ArnewsError, ValueError):
    """A configuration value is invalid (names the key, the allowed values and the fix)."""


class ArtifactError(ArnewsError, RuntimeError):
    """A saved model bundle or run artifact cannot be written or read back."""


class DependencyError(ArnewsError, ImportError):
    """An optional dependency or a model's weights are not available (says how to get them)."""


class TrackingError(ArnewsError, RuntimeError):
    """The tracking store cannot take a run's records (locked, unreachable); says what to do."""
