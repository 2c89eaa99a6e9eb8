"""A locked SQLite store is retried with backoff; other errors pass straight through."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest
from mlflow.exceptions import MlflowException

from arnews_ml.exceptions import TrackingError
from arnews_ml.tracking import lock_retry
from arnews_ml.tracking.lock_retry import LockRetryingClient, is_locked_error, retry_when_locked
from arnews_ml.tracking.mlflow_tracker import MlflowTracker


def _wrapped_locked_error() -> Exception:
    try:
        try:
            raise sqlite3.OperationalError("database is locked")
        except sqlite3.OperationalError as inner:
            raise MlflowException("(sqlite3.OperationalError) database is locked") from inner
    except MlflowException as outer:
        return outer


@pytest.mark.parametrize(
    ("error", "locked"),
    [
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.OperationalError("database table is locked"), True),
        (_wrapped_locked_error(), True),
        (sqlite3.OperationalError("no such table: runs"), False),
        (ValueError("bad value"), False),
    ],
)
def test_locked_errors_are_recognised_through_their_causes(error, locked):
    assert is_locked_error(error) is locked


class Flaky:
    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self, value: int) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return value * 2


def test_a_locked_call_is_retried_until_it_succeeds(monkeypatch, caplog):
    monkeypatch.setattr(lock_retry.time, "sleep", lambda s: None)
    flaky = Flaky(3, sqlite3.OperationalError("database is locked"))
    with caplog.at_level("WARNING", logger="arnews_ml.tracking.lock_retry"):
        assert retry_when_locked(flaky, 21) == 42
    assert flaky.calls == 4
    assert caplog.text.count("tracking store locked") == 3


def test_other_errors_are_not_retried():
    flaky = Flaky(1, sqlite3.OperationalError("no such table: runs"))
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_when_locked(flaky, 1)
    assert flaky.calls == 1


def test_a_store_locked_past_the_deadline_gives_one_clear_error(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(lock_retry.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(lock_retry.time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    flaky = Flaky(10**6, sqlite3.OperationalError("database is locked"))
    with pytest.raises(TrackingError, match=r"stayed locked for 30 s .*tracking server"):
        retry_when_locked(flaky, 1, deadline_seconds=30)
    assert 5 < flaky.calls < 40  # backoff grows: not thousands of attempts


def test_the_client_proxy_retries_methods_and_passes_attributes():
    class Client:
        tracking_uri = "sqlite:///x.db"

        def __init__(self) -> None:
            self.flaky = Flaky(1, sqlite3.OperationalError("database is locked"))

        def log(self, value: int) -> int:
            return self.flaky(value)

    proxy = LockRetryingClient(Client())
    assert proxy.tracking_uri == "sqlite:///x.db"
    assert proxy.log(5) == 10


@pytest.mark.slow
def test_a_run_logs_through_a_store_another_process_holds_locked(tmp_path):
    """Another process holds the SQLite file for longer than the 20 s busy timeout MLflow sets
    on its SQLite connections; the run's calls wait it out instead of failing."""
    db = tmp_path / "mlflow.db"
    tracker = MlflowTracker(f"sqlite:///{db}", experiment="locked")
    run_id = tracker.start_run("first")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(db)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        tracker.log_metrics({"f1": 0.5})
        waited = time.monotonic() - started
        tracker.end_run()
        assert holder.wait(timeout=30) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
    assert waited > 20, "the metric was logged while the store was locked?"
    run = tracker.client.get_run(run_id)
    assert run.data.metrics["f1"] == 0.5
    assert run.info.status == "FINISHED"


_HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(23)
db.execute("COMMIT")
"""
