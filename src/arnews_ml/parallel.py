"""Worker processes that pay for themselves and die with their parent.

Two rules for every process pool the package opens:

- **Size-aware.** Starting workers costs more than a millisecond fit, so :func:`worker_count`
  asks for workers only when the work is large enough and there are tasks to share.
- **Forked, and bound to the parent.** Workers are forked (no re-import, no pickled copy of the
  training matrix: they read the parent's memory), and each one asks the kernel to kill it when
  its parent dies (Linux ``PR_SET_PDEATHSIG``). A ``kill -9`` of ``arnews-train`` leaves no
  orphaned worker behind.

Where the platform cannot fork, :func:`forked_pool` returns None and callers run the work in
their own process, which gives the same result.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = [
    "bind_to_parent",
    "can_fork",
    "forked_pool",
    "in_background",
    "map_in_forks",
    "shared",
    "worker_count",
]

logger = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

T = TypeVar("T")
R = TypeVar("R")

#: What the workers of :func:`map_in_forks` read: set just before the pool forks, cleared after.
_SHARED: dict[str, Any] = {}


def can_fork() -> bool:
    """Whether this platform can fork worker processes."""
    return "fork" in multiprocessing.get_all_start_methods()


def worker_count(n_jobs: int | None, n_tasks: int, work: float, min_work: float) -> int:
    """How many worker processes a job should use.

    Args:
        n_jobs: What the user asked for: None or 1 (no workers), -1 (all cores), k > 1, or
            -k (all cores but k - 1, as joblib reads it).
        n_tasks: Independent tasks to share out (e.g. one fit per label).
        work: A size measure of the whole job (e.g. non-zero entries times tasks).
        min_work: Below this the job runs in this process: starting workers would cost more
            than they save.

    Returns:
        1 (run here) or the number of workers, at most ``n_tasks`` and the cores.
    """
    if n_jobs is None or n_jobs in (0, 1) or n_tasks < 2 or work < min_work or not can_fork():
        return 1
    cores = os.cpu_count() or 1
    wanted = cores + 1 + n_jobs if n_jobs < 0 else n_jobs
    return max(1, min(wanted, cores, n_tasks))


def bind_to_parent(parent_pid: int) -> None:
    """Worker initializer: have the kernel SIGKILL this process when its parent dies.

    Linux only (``prctl``); elsewhere a no-op. If the parent already died between the fork and
    this call, the worker exits at once.
    """
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl on this platform
        return
    if os.getppid() != parent_pid:
        os._exit(1)


def forked_pool(workers: int) -> ProcessPoolExecutor | None:
    """A pool of ``workers`` forked processes bound to this one (see :func:`bind_to_parent`).

    Returns None when the platform cannot fork. Use it as a context manager; work submitted to
    it may read module-level state set before the pool was created (the workers are forks).
    """
    if not can_fork():
        return None
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=bind_to_parent,
        initargs=(os.getpid(),),
    )


def shared() -> dict[str, Any]:
    """In a function run by :func:`map_in_forks`: the objects its caller shared."""
    return _SHARED


def map_in_forks(
    function: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    *,
    here: bool = False,
    **objects: Any,
) -> list[R]:
    """``[function(item) for item in items]`` in ``workers`` forked workers bound to this process.

    ``objects`` are readable through :func:`shared` in the workers, straight from the parent's
    memory (never pickled); only the items and results cross. With ``here``, this process is
    one of the workers: it runs the first item itself while ``workers - 1`` forks run the rest
    (one fork fewer, and this process's warm caches do part of the work). Where the platform
    cannot fork, the items are run here, with the same result.
    """
    items = list(items)
    _SHARED.update(objects)
    try:
        forks = workers - 1 if here else workers
        pool = forked_pool(forks) if forks > 0 and items[here:] else None
        if pool is None:
            return [function(item) for item in items]
        with pool:
            rest = pool.map(function, items[1:] if here else items)
            first = [function(items[0])] if here else []
            return first + list(rest)
    finally:
        _SHARED.clear()


@contextmanager
def in_background(function: Callable[..., R], *args: Any) -> Iterator[Callable[[], R]]:
    """Run ``function(*args)`` in one forked worker bound to this process while the caller goes
    on; yield a function that waits for its result (and raises its error).

    For side work that is CPU-bound in Python (the GIL rules out a thread), such as drawing
    plots while a model is saved. The arguments and the result are pickled; leaving the block
    waits for the worker. Where the platform cannot fork, ``function`` runs at once, here.
    """
    pool = forked_pool(1)
    if pool is None:
        result = function(*args)
        yield lambda: result
        return
    with pool:
        yield pool.submit(function, *args).result
