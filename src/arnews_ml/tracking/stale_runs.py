"""Runs whose process died (kill -9, a lost node) stay RUNNING in MLflow: find and close them.

Every run of ours is tagged with the process id and host that opened it
(``arnews_ml.pid``, ``arnews_ml.host``). When a tracker opens its next run in an experiment,
the RUNNING runs opened on this host by a process that no longer exists are marked KILLED,
with the reason as their ``arnews_ml.error`` tag.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from arnews_ml.tracking.base import TAG_ERROR

__all__ = ["TAG_HOST", "TAG_PID", "mark_dead_runs", "process_alive"]

log = logging.getLogger(__name__)

TAG_PID = "arnews_ml.pid"
TAG_HOST = "arnews_ml.host"


def process_alive(pid: int) -> bool:
    """True when a process with this id exists on this machine (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_dead_runs(client: Any, experiment_id: str) -> list[str]:
    """Mark KILLED the RUNNING runs of ``experiment_id`` whose process on this host is gone.

    Runs opened on other hosts are left alone (their processes cannot be checked from here).

    Returns:
        The ids of the runs marked KILLED.
    """
    host = socket.gethostname()
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.`{TAG_HOST}` = '{host}'",
        max_results=1000,
    )
    closed = []
    for run in runs:
        pid = run.data.tags.get(TAG_PID, "")
        if not pid.isdigit() or int(pid) == os.getpid() or process_alive(int(pid)):
            continue
        reason = (
            f"process {pid} on {host} ended without closing this run (killed); marked KILLED "
            "when the next run started"
        )
        client.set_tag(run.info.run_id, TAG_ERROR, reason)
        client.set_terminated(run.info.run_id, status="KILLED")
        closed.append(run.info.run_id)
    if closed:
        log.warning("marked %d run(s) KILLED whose process is gone: %s", len(closed), closed)
    return closed
