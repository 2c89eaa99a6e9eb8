"""Retry a SQLite store's "database is locked" with backoff instead of failing the run.

SQLite lets one writer in at a time and makes the others wait for its busy timeout (MLflow
sets 20 s). Several jobs logging to one ``mlflow.db`` at once (a joblib sweep, four
terminals, a cron job beside an experiment) can wait longer than that, and MLflow then raises
``OperationalError: database is locked``. The transaction that hit it was rolled back, so the
call can safely run again: :func:`retry_when_locked` does so with exponential backoff and
jitter, for up to :data:`LOCK_RETRY_SECONDS`, then raises the last error with what to do.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from arnews_ml.exceptions import TrackingError

__all__ = ["LOCK_RETRY_SECONDS", "LockRetryingClient", "is_locked_error", "retry_when_locked"]

log = logging.getLogger(__name__)

T = TypeVar("T")

LOCK_RETRY_SECONDS = 120.0
"""How long a call keeps retrying a locked store (on top of SQLite's own 5 s waits)."""

_FIRST_DELAY = 0.05
_MAX_DELAY = 5.0


def is_locked_error(error: BaseException) -> bool:
    """Whether ``error`` (or an error it wraps) is SQLite's "database is locked"/"busy"."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current).lower()
        if "database is locked" in text or "database table is locked" in text:
            return True
        current = current.__cause__ or current.__context__
    return False


def retry_when_locked(
    call: Callable[..., T],
    *args: Any,
    deadline_seconds: float = LOCK_RETRY_SECONDS,
    **kwargs: Any,
) -> T:
    """``call(*args, **kwargs)``, run again with backoff while the store is locked.

    Raises:
        TrackingError: The store stayed locked for ``deadline_seconds``.
        Exception: Any other error of ``call``, unchanged, at once.
    """
    deadline = time.monotonic() + deadline_seconds
    delay = _FIRST_DELAY
    attempt = 1
    while True:
        try:
            return call(*args, **kwargs)
        except Exception as error:
            if not is_locked_error(error):
                raise
            name = getattr(call, "__name__", repr(call))
            if time.monotonic() + delay > deadline:
                raise TrackingError(
                    f"The tracking store stayed locked for {deadline_seconds:.0f} s ({name}, "
                    f"{attempt} attempts): too many jobs write to one SQLite file at once. Run "
                    "fewer jobs at a time, or give the team a tracking server (see the README, "
                    "'Scaling out')."
                ) from error
            log.warning(
                "tracking store locked call=%s attempt=%d retry_in=%.2fs", name, attempt, delay
            )
            time.sleep(delay * (0.5 + random.random()))  # jitter: writers do not retry in step
            delay = min(delay * 2, _MAX_DELAY)
            attempt += 1


class LockRetryingClient:
    """An ``MlflowClient`` whose every method call goes through :func:`retry_when_locked`."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def call(*args: Any, **kwargs: Any) -> Any:
            return retry_when_locked(attribute, *args, **kwargs)

        return call

    def __repr__(self) -> str:
        return f"LockRetryingClient({self._client!r})"
