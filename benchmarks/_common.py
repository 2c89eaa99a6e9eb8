"""Helpers shared by the benchmarks: locating ../shared/data, timing and peak memory."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SHARED_DATA = Path(
    os.environ.get(
        "ARNEWS_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    )
).resolve()


def require_dataset(name: str) -> Path:
    """The folder of a shared dataset, or exit with a clear message when it is absent."""
    folder = SHARED_DATA / name
    if not folder.is_dir():
        print(
            f"benchmark skipped: {folder} is absent. The benchmarks read the shared corpora from "
            "../shared/data next to the repository (or set ARNEWS_SHARED_DATA).",
            file=sys.stderr,
        )
        raise SystemExit(3)
    return folder


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measure:
    """Wall seconds and peak resident memory (absolute, and above the start) of a block."""

    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    peak_increase_mb: float = 0.0


@contextmanager
def measure(interval: float = 0.05) -> Iterator[Measure]:
    """Time a block and sample the process's resident memory in a background thread."""
    result = Measure()
    start_rss = _rss_bytes()
    peak = [start_rss]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            stop.wait(interval)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - t0
        stop.set()
        thread.join()
        peak[0] = max(peak[0], _rss_bytes())
        result.peak_rss_mb = peak[0] / 2**20
        result.peak_increase_mb = (peak[0] - start_rss) / 2**20
