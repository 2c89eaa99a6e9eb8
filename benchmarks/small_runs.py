"""Wall time of small runs on the bundled sample corpus, as a user types them (issue 12).

Each command runs `--repeats` times as its own process (interpreter start and imports
included) in one working folder, so the SQLite store exists after the first run (its one-off
creation is reported apart); the median is printed next to the target:

  - `arnews-train` logging to ./mlflow.db                     (<= 8 s)
  - `arnews-train tracking=none`                              (<= 4 s)
  - `arnews-topics topic_model=nmf` logging to ./mlflow.db    (<= 10 s)

The embedding cache is off (`cache.enabled=false`), so every run computes its features.

    .venv/bin/python benchmarks/small_runs.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COMMANDS = [
    ("arnews-train (MLflow, SQLite)", ["arnews-train"], 8.0),
    ("arnews-train tracking=none", ["arnews-train", "tracking=none"], 4.0),
    ("arnews-topics topic_model=nmf (MLflow)", ["arnews-topics", "topic_model=nmf"], 10.0),
]


def _run(command: list[str], folder: Path) -> float:
    argv = [str(BIN / command[0]), *command[1:], "cache.enabled=false"]
    start = time.perf_counter()
    subprocess.run(argv, cwd=folder, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arnews-small-runs-") as tmp:
        folder = Path(tmp)
        first = _run(["arnews-train", "tracking=none"], folder)  # warm the file cache
        store = _run(["arnews-train"], folder)  # creates ./mlflow.db
        print(f"first run (cold file cache) {first:.1f} s; run creating the store {store:.1f} s")
        rows = []
        for name, command, target in COMMANDS:
            walls = [_run(command, folder) for _ in range(args.repeats)]
            rows.append((name, walls, target))
    print(f"\nsmall runs on the sample corpus (median of {args.repeats}, 2 cores)")
    for name, walls, target in rows:
        median = statistics.median(walls)
        verdict = "met" if median <= target else f"missed by {median - target:.1f} s"
        runs = ", ".join(f"{w:.1f}" for w in walls)
        print(f"  {name:<40} {median:5.1f} s  target <= {target:.0f} s  {verdict}  ({runs})")


if __name__ == "__main__":
    main()
