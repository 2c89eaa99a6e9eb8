"""Faults around a shared SQLite store (issue 10): processes starting together, and processes
killed with SIGKILL in the middle of a run.

MLflow creates and migrates a new SQLite store on first use; processes racing in that
migration failed with `duplicate column name: step` (3 of 4 here before the store lock). A run
whose process was killed stayed RUNNING forever; the next run on the host marks it KILLED.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = """
import sys
from arnews_ml.tracking.mlflow_tracker import MlflowTracker
tracker = MlflowTracker(sys.argv[1], experiment="parallel")
with tracker.run(run_name=sys.argv[2]):
    tracker.log_metrics({"x": float(sys.argv[2])})
"""


@pytest.mark.parametrize("existing", [False, True])
def test_four_processes_on_one_store_all_finish(tmp_path: Path, existing: bool):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    if existing:
        subprocess.run([sys.executable, "-c", SCRIPT, uri, "0"], check=True, timeout=300)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, uri, str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(1, 5)
    ]
    outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], [err[-800:] for _, err in outcomes]
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("parallel").experiment_id])
    expected = {1.0, 2.0, 3.0, 4.0} | ({0.0} if existing else set())
    assert {r.data.metrics["x"] for r in runs} == expected
    assert {r.info.status for r in runs} == {"FINISHED"}


KILLED_SCRIPT = """
import sys, time
from arnews_ml.tracking.mlflow_tracker import MlflowTracker
tracker = MlflowTracker(sys.argv[1], experiment="faults")
tracker.start_run(run_name=sys.argv[2])
if sys.argv[2] in ("metrics", "artifact"):
    tracker.log_metrics({"x": 1.0})
if sys.argv[2] == "artifact":
    tracker.log_text("half", "partial.txt")
print("ready", flush=True)
time.sleep(300)
"""


@pytest.mark.parametrize("point", ["open", "metrics", "artifact"])
def test_a_run_whose_process_was_killed_is_marked_killed_by_the_next_run(
    tmp_path: Path, point: str
):
    from mlflow.tracking import MlflowClient

    from arnews_ml.tracking.mlflow_tracker import MlflowTracker

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_SCRIPT, uri, point], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("faults")
    (dead,) = client.search_runs([exp.experiment_id])
    assert dead.info.status == "RUNNING"  # nothing closed it

    tracker = MlflowTracker(uri, experiment="faults")
    with tracker.run(run_name="next"):
        pass
    dead = client.get_run(dead.info.run_id)
    assert dead.info.status == "KILLED"
    assert f"process {proc.pid}" in dead.data.tags["arnews_ml.error"]
    statuses = {r.info.run_name: r.info.status for r in client.search_runs([exp.experiment_id])}
    assert statuses == {point: "KILLED", "next": "FINISHED"}
