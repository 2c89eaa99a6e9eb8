"""Side work in a forked worker: it runs beside the caller, and its result or error comes back."""

from __future__ import annotations

import os

import pytest

from arnews_ml import parallel
from arnews_ml.parallel import in_background


def _pid_and(value: int) -> tuple[int, int]:
    return os.getpid(), value * 2


def _fail(message: str) -> None:
    raise ValueError(message)


def test_in_background_runs_in_another_process_and_returns_its_result() -> None:
    with in_background(_pid_and, 21) as result:
        pid, doubled = result()
    assert pid != os.getpid() and doubled == 42


def test_in_background_raises_the_worker_error_where_the_result_is_asked_for() -> None:
    with in_background(_fail, "no plot") as result, pytest.raises(ValueError, match="no plot"):
        result()


def test_in_background_without_fork_runs_here(monkeypatch) -> None:
    monkeypatch.setattr(parallel, "can_fork", lambda: False)
    with in_background(_pid_and, 1) as result:
        assert result() == (os.getpid(), 2)


def test_map_in_forks_here_runs_the_first_item_in_this_process() -> None:
    results = parallel.map_in_forks(_pid_and, [1, 2, 3], 2, here=True)
    assert [doubled for _, doubled in results] == [2, 4, 6]
    pids = [pid for pid, _ in results]
    assert pids[0] == os.getpid() and os.getpid() not in pids[1:]
