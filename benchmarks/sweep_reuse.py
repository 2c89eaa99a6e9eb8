"""Sweep-reuse benchmark: features are fitted once per sweep and reused by an identical run.

Runs the command a researcher types, twice, on one new feature cache and one MLflow store:

    arnews-train -m classifier=svm,logreg,sgd [data overrides]

and prints, per head, ``embed_seconds`` of the first sweep and of the second (identical) sweep,
the ratio of the second to the first sweep's fitting job next to the <= 10% target, how many
jobs of the first sweep fitted the TF-IDF (target: 1) and the ``cache_hits`` each job reports.

    .venv/bin/python benchmarks/sweep_reuse.py                 # the bundled sample corpus
    .venv/bin/python benchmarks/sweep_reuse.py --ant           # and ANT multi-source train/test
    .venv/bin/python benchmarks/sweep_reuse.py --ant --ant-limit 5000   # a smaller ANT run
    .venv/bin/python benchmarks/sweep_reuse.py --heads svm,logreg       # other heads
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import require_dataset

TARGET_RATIO = 0.10
EXPERIMENT = "sweep-reuse"


def _arnews_train() -> list[str]:
    """The arnews-train console script next to this Python (the command a user types)."""
    script = Path(sys.executable).with_name("arnews-train")
    fallback = [sys.executable, "-c", "from arnews_ml.cli import train_main; train_main()"]
    return [str(script)] if script.exists() else fallback


def run_sweep(workdir: Path, heads: str, data: list[str], tag: str) -> tuple[float, pd.DataFrame]:
    """One multirun in ``workdir``; returns its wall seconds and its job runs (newest last)."""
    command = [
        *_arnews_train(),
        "-m",
        f"classifier={heads}",
        *data,
        f"tracking.tracking_uri=sqlite:///{workdir}/mlflow.db",
        f"tracking.experiment={EXPERIMENT}",
        "tracking.register=never",
        f"paths.cache_dir={workdir}/cache",
        f"hydra.sweep.dir={workdir}/multirun-{tag}",
    ]
    env = {**os.environ, "ARNEWS_CACHE_DIR": str(workdir / "cache")}
    t0 = time.perf_counter()
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        raise SystemExit(f"the sweep failed (exit {done.returncode}): {' '.join(command)}")
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{workdir}/mlflow.db")
    runs = mlflow.search_runs(experiment_names=[EXPERIMENT], order_by=["attributes.start_time"])
    jobs = runs[runs["metrics.embed_seconds"].notna()]
    return wall, jobs.tail(len(heads.split(",")))


def report(name: str, heads: str, data: list[str]) -> bool:
    """Run the two sweeps on ``data`` and print the figures; True when the target is met."""
    with tempfile.TemporaryDirectory(prefix="arnews-sweep-reuse-") as tmp:
        workdir = Path(tmp)
        wall1, first = run_sweep(workdir, heads, data, "first")
        wall2, second = run_sweep(workdir, heads, data, "second")
    first_embed = first["metrics.embed_seconds"].to_numpy()
    second_embed = second["metrics.embed_seconds"].to_numpy()
    fits = int((first["metrics.cache_misses"].fillna(0) > 0).sum())
    reference = float(first_embed[0])
    ratio = float(second_embed.max()) / reference if reference > 0 else float("nan")
    print(f"\n== {name}: arnews-train -m classifier={heads}, run twice ==")
    print(f"{'head':<10}{'embed_s 1st':>13}{'embed_s 2nd':>13}{'hits 1st':>10}{'hits 2nd':>10}")
    for head, (_, a), (_, b) in zip(
        heads.split(","), first.iterrows(), second.iterrows(), strict=True
    ):
        print(
            f"{head:<10}{a['metrics.embed_seconds']:>13.3f}{b['metrics.embed_seconds']:>13.3f}"
            f"{a['metrics.cache_hits']:>10.0f}{b['metrics.cache_hits']:>10.0f}"
        )
    print(f"sweep wall seconds          first {wall1:.1f}, second {wall2:.1f}")
    print(f"TF-IDF fits in first sweep  {fits}   (target 1)")
    met = ratio <= TARGET_RATIO and fits == 1
    print(
        f"embed_seconds 2nd / 1st     {ratio:.1%}   (target <= {TARGET_RATIO:.0%}; worst job of "
        f"the second sweep over the first sweep's fitting job)  {'MET' if met else 'MISSED'}"
    )
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", default="svm,logreg,sgd", help="classifier options to sweep")
    parser.add_argument("--ant", action="store_true", help="also on ANT multi-source train/test")
    parser.add_argument("--ant-limit", type=int, default=None, help="first N ANT train articles")
    parser.add_argument("--skip-sample", action="store_true", help="only the ANT run")
    args = parser.parse_args()
    print("Figures measured on this machine now; other load on it inflates them.")
    results = []
    if not args.skip_sample:
        results.append(report("sample corpus (1,000 articles)", args.heads, []))
    if args.ant:
        folder = require_dataset("ant_multisource")
        with tempfile.TemporaryDirectory(prefix="arnews-ant-") as tmp:
            train = folder / "train.jsonl.gz"
            if args.ant_limit:
                train = Path(tmp) / "train.jsonl"
                frame = pd.read_json(folder / "train.jsonl.gz", lines=True).head(args.ant_limit)
                frame.to_json(train, orient="records", lines=True, force_ascii=False)
            data = [
                "data=file",
                f"data.train_path={train}",
                f"data.test_path={folder / 'test.jsonl.gz'}",
            ]
            label = (
                f"ANT multi-source train{f' (first {args.ant_limit})' if args.ant_limit else ''}"
            )
            results.append(report(label, args.heads, data))
    raise SystemExit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
