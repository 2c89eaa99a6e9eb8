"""Inference speed of the default TF-IDF classifier on ANT's test articles (issue 12).

Trains the default `arnews-train` model on ../shared/data/ant_multisource (or takes a bundle
folder with --bundle), loads it back in a fresh process, and prints next to the targets:

  - the load from the folder (<= 2 s; `benchmarks/model_load.py` adds the models:/ loads);
  - batch throughput on all test articles with every core (>= 5,000 articles/s) and with one;
  - single articles, one call each, in process (p50 <= 5 ms);

and checks that the labels of the batch and of the single calls agree.

    .venv/bin/python benchmarks/inference.py [--bundle DIR] [--train-limit N] [--singles 300]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import require_dataset

_MEASURE = r"""
import gzip, json, sys, time
start = time.perf_counter()
from arnews_ml.inference import load_model
model = load_model(sys.argv[1])
load = time.perf_counter() - start
texts = [json.loads(line)["text"] for line in gzip.open(sys.argv[2], "rt", encoding="utf-8")]
model.predict(texts[:20])  # first call: builds the n-gram lookups once
out = {"load_s": load, "n": len(texts)}
for jobs in (-1, 1):
    model.predict_n_jobs = jobs
    t = time.perf_counter()
    labels = model.predict(texts)
    out[f"batch_{jobs}"] = len(texts) / (time.perf_counter() - t)
singles, same = [], 0
for text, batch_labels in list(zip(texts, labels))[: int(sys.argv[3])]:
    t = time.perf_counter()
    one = model.predict([text])[0]
    singles.append(time.perf_counter() - t)
    same += one == batch_labels
out["singles_ms"] = [s * 1000 for s in singles]
out["same"] = same
print(json.dumps(out))
"""


def _train(train: Path, test: Path, folder: Path, limit: int | None) -> Path:
    if limit:
        rows = []
        with gzip.open(train, "rt", encoding="utf-8") as handle:
            for line in handle:
                rows.append(line)
                if len(rows) == limit:
                    break
        train = folder / "train.jsonl"
        train.write_text("".join(rows), encoding="utf-8")
    command = [sys.executable, "-m", "arnews_ml.train", "data=file", f"data.train_path={train}"]
    command += [f"data.test_path={test}", "tracking=none", f"hydra.run.dir={folder}/run"]
    command += [f"paths.cache_dir={folder}/cache"]
    print("training the default classifier on ANT (a few minutes) ...", flush=True)
    subprocess.run(command, check=True, cwd=folder, capture_output=True)
    (bundle,) = folder.glob("**/model/manifest.json")
    return bundle.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=None)
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--singles", type=int, default=300)
    args = parser.parse_args()
    ant = require_dataset("ant_multisource")
    with tempfile.TemporaryDirectory(prefix="arnews-inference-") as tmp:
        bundle = args.bundle or _train(
            ant / "train.jsonl.gz", ant / "test.jsonl.gz", Path(tmp), args.train_limit
        )
        measured = subprocess.run(
            [
                sys.executable,
                "-c",
                _MEASURE,
                str(bundle),
                str(ant / "test.jsonl.gz"),
                str(args.singles),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    result = json.loads(measured.stdout.strip().splitlines()[-1])
    singles = np.asarray(result["singles_ms"])
    p50, p95 = np.percentile(singles, [50, 95])
    print(f"\ninference, default TF-IDF bundle, ANT test ({result['n']:,} articles)")
    print(f"  load from the folder       {result['load_s']:8.2f} s        target <= 2 s")
    print(f"  batch, every core          {result['batch_-1']:8.0f} docs/s   target >= 5,000")
    print(f"  batch, one core            {result['batch_1']:8.0f} docs/s")
    print(f"  single article p50         {p50:8.2f} ms       target <= 5 ms (p95 {p95:.2f} ms)")
    print(f"  single == batch labels     {result['same']:8d} / {len(singles)}")


if __name__ == "__main__":
    main()
