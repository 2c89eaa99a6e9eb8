"""Inference speed of the default TF-IDF classifier on ANT's test articles (issue 12).

Trains the default `arnews-train` model on ../shared/data/ant_multisource (or takes a bundle
folder with --bundle), loads it back in a fresh process, and prints next to the targets:

  - the load from the folder (<= 2 s; `benchmarks/model_load.py` adds the models:/ loads);
  - batch throughput on all test articles with every core (>= 5,000 articles/s) and with one,
    each in a fresh process: on a first pass (the model has labelled 20 articles), and after it
    has labelled the dev split (3,003 other articles: the words it keeps per batch are warm, as
    in a served model or an archive labelled in chunks), and then the median over 5 more
    batches of as many training articles (new articles, the process warm: its first large batch
    pays for faulting in fresh memory);
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
bundle, test_file, dev_file, train_file, jobs, warm, singles_n = sys.argv[1:8]
start = time.perf_counter()
from arnews_ml.inference import load_model
model = load_model(bundle)
load = time.perf_counter() - start
read = lambda f: [json.loads(line)["text"] for line in gzip.open(f, "rt", encoding="utf-8")]
texts = read(test_file)
model.predict(read(dev_file) if warm == "warm" else texts[:20])  # first call: lookups built
model.predict_n_jobs = int(jobs)
t = time.perf_counter()
labels = model.predict(texts)
out = {"load_s": load, "n": len(texts), "docs_s": len(texts) / (time.perf_counter() - t)}
if warm == "warm":  # 5 more batches of other articles, as an archive labelled in chunks
    more, rates = read(train_file), []
    for chunk in range(5):
        batch = more[chunk * len(texts) : (chunk + 1) * len(texts)]
        t = time.perf_counter()
        model.predict(batch)
        rates.append(len(batch) / (time.perf_counter() - t))
    out["steady_docs_s"] = sorted(rates)[2]
singles, same = [], 0
for text, batch_labels in list(zip(texts, labels))[: int(singles_n)]:
    t = time.perf_counter()
    one = model.predict([text])[0]
    singles.append(time.perf_counter() - t)
    same += one == batch_labels
out["singles_ms"] = [s * 1000 for s in singles]
out["same"] = same
print(json.dumps(out))
"""


def _measure(bundle: Path, ant: Path, jobs: int, warm: bool, singles: int) -> dict:
    """One fresh process: load the bundle, warm it up, time the test batch (and singles)."""
    measured = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEASURE,
            str(bundle),
            str(ant / "test.jsonl.gz"),
            str(ant / "dev.jsonl.gz"),
            str(ant / "train.jsonl.gz"),
            str(jobs),
            "warm" if warm else "cold",
            str(singles),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(measured.stdout.strip().splitlines()[-1])


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
        runs = {
            (jobs, warm): _measure(bundle, ant, jobs, warm, args.singles if jobs == 1 else 0)
            for jobs in (-1, 1)
            for warm in (False, True)
        }
    result = runs[(1, False)]
    singles = np.asarray(result["singles_ms"])
    p50, p95 = np.percentile(singles, [50, 95])
    print(f"\ninference, default TF-IDF bundle, ANT test ({result['n']:,} articles)")
    print(f"  load from the folder       {result['load_s']:8.2f} s        target <= 2 s")
    figures = [
        ("first pass", runs[(-1, False)]["docs_s"], runs[(1, False)]["docs_s"]),
        ("after the dev split", runs[(-1, True)]["docs_s"], runs[(1, True)]["docs_s"]),
        (
            "5 batches more, median",
            runs[(-1, True)]["steady_docs_s"],
            runs[(1, True)]["steady_docs_s"],
        ),
    ]
    for when, every, one in figures:
        print(
            f"  batch, {when:<22} {every:5.0f} docs/s every core, {one:,.0f} one core"
            f"   target >= 5,000 {'met' if every >= 5000 else 'MISSED'}"
        )
    print(f"  single article p50         {p50:8.2f} ms       target <= 5 ms (p95 {p95:.2f} ms)")
    print(f"  single == batch labels     {result['same']:8d} / {len(singles)}")


if __name__ == "__main__":
    main()
