"""Several processes starting together on one new SQLite store all log their run (issue 10).

MLflow creates and migrates a new SQLite store on first use; processes racing in that
migration failed with `duplicate column name: step` (3 of 4 here before the store lock).
"""

from __future__ import annotations

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
