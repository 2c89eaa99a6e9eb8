"""Model load benchmark: a TF-IDF classifier loaded from its folder and from a `models:/` URI.

Trains the default classifier (TF-IDF + linear head) on the bundled sample corpus, or on
../shared/data/ant_multisource with --corpus ant, logs and registers it in a temporary SQLite
store (or logs a bundle folder you give with --bundle), then times, each in a fresh Python
process as `arnews-predict` or a cron job would:

  - the load from the bundle folder;
  - the first load from `models:/<name>/<version>` (cold model cache: resolve and download);
  - the second load from `models:/<name>/<version>` (warm model cache: resolve, no download);

and prints the `load_model` seconds (imports it needs included, e.g. mlflow for a URI) next to
the targets (<= 2 s from a folder, <= 4 s from `models:/`), with the whole process wall
(interpreter start and `import arnews_ml` included) beside them.

    .venv/bin/python benchmarks/model_load.py [--corpus sample|ant] [--train-limit N]
                                              [--bundle DIR] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import require_dataset

REGISTERED = "arnews-benchmark-load"
TARGETS = {"folder": 2.0, "cold": 4.0, "warm": 4.0}
LABELS = {
    "folder": "from the bundle folder",
    "cold": "models:/ first load (cold cache)",
    "warm": "models:/ second load (warm cache)",
}

# One load in a fresh interpreter: seconds to import arnews_ml, seconds of load_model, and the
# labels of two articles (so every path is checked to give the same answer).
_CHILD = """
import json, sys, time
t0 = time.perf_counter()
from arnews_ml.inference import load_model
t1 = time.perf_counter()
model = load_model(sys.argv[1])
t2 = time.perf_counter()
labels = model.predict(["ارتفعت أسعار النفط في الأسواق العالمية", "فاز الفريق في الدوري"])
t3 = time.perf_counter()
load_model(sys.argv[1])  # again in the same process: a service reloading its model
again = time.perf_counter() - t3
print(json.dumps({"import_seconds": t1 - t0, "load_seconds": t2 - t1, "again_seconds": again,
                  "labels": labels}))
"""


def _train(workdir: Path, corpus: str, train_limit: int | None, store: str) -> Path:
    """The default arnews-train pipeline; returns the bundle folder (registered as v1)."""
    from arnews_ml.config import compose
    from arnews_ml.tasks.train_classifier import train_classifier

    overrides = [
        f"tracking.tracking_uri={store}",
        f"tracking.registered_model={REGISTERED}",
        f"paths.output_dir={workdir}/run",
        f"paths.cache_dir={workdir}/cache",
    ]
    if corpus == "ant":
        import pandas as pd

        folder = require_dataset("ant_multisource")
        train_path = folder / "train.jsonl.gz"
        if train_limit:
            frame = pd.read_json(train_path, lines=True).head(train_limit)
            train_path = workdir / "train.jsonl"
            frame.to_json(train_path, orient="records", lines=True, force_ascii=False)
        test_path = folder / "test.jsonl.gz"
        overrides += ["data=file", f"data.train_path={train_path}", f"data.test_path={test_path}"]
    result = train_classifier(compose("train", overrides))
    if result.registered_version != 1:
        raise SystemExit(f"expected version 1 of {REGISTERED}, got {result.registered_version}")
    return Path(result.bundle_dir)


def _log_bundle(bundle: Path, store: str) -> None:
    """Log and register a given bundle folder as version 1."""
    from arnews_ml.tracking import MlflowTracker

    tracker = MlflowTracker(tracking_uri=store, experiment="benchmark-load")
    with tracker.run("load-benchmark"):
        tracker.log_model(bundle, registered_model_name=REGISTERED)


def _load_in_child(target: str, env: dict[str, str]) -> dict[str, object]:
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, target], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"loading {target} failed:\n{done.stderr[-3000:]}")
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row["wall_seconds"] = wall
    return row


def _folder_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", choices=("sample", "ant"), default="sample")
    parser.add_argument("--train-limit", type=int, default=None, help="ANT: first N rows only.")
    parser.add_argument("--bundle", type=Path, default=None, help="Time this bundle instead.")
    parser.add_argument("--repeats", type=int, default=3, help="Fresh processes per figure.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="arnews-bench-load-") as tmp:
        workdir = Path(tmp)
        store = f"sqlite:///{workdir}/mlflow.db"
        t0 = time.perf_counter()
        if args.bundle is not None:
            bundle = args.bundle.resolve()
            _log_bundle(bundle, store)
            what = f"the bundle {bundle}"
        else:
            bundle = _train(workdir, args.corpus, args.train_limit, store)
            what = f"the default classifier trained on the {args.corpus} corpus"
        print(
            f"{what}: {_folder_mib(bundle):.1f} MiB, logged and registered in "
            f"{time.perf_counter() - t0:.1f} s"
        )

        cache_dir = workdir / "model-cache"
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": store,
            "ARNEWS_MODEL_CACHE_DIR": str(cache_dir),
        }
        uri = f"models:/{REGISTERED}/1"
        rows: dict[str, list[dict[str, object]]] = {"folder": [], "cold": [], "warm": []}
        for _ in range(max(1, args.repeats)):
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from arnews_ml.tracking.model_cache import "
                    "clear_model_cache; clear_model_cache()",
                ],
                env=env,
                check=True,
            )
            rows["folder"].append(_load_in_child(str(bundle), env))
            rows["cold"].append(_load_in_child(uri, env))
            rows["warm"].append(_load_in_child(uri, env))
        copies = [p for p in cache_dir.iterdir() if not p.name.startswith(".")]

    labels = {json.dumps(r["labels"], ensure_ascii=False) for rs in rows.values() for r in rs}
    print(
        f"\nmedian of {len(rows['folder'])} fresh processes each (2 articles labelled after "
        "each load; same labels on every path: " + ("yes" if len(labels) == 1 else "NO") + ")"
    )
    print(f"{'':36} {'load_model s':>12} {'target':>8} {'':>6} {'process wall s':>15}")
    for key, runs in rows.items():
        load = statistics.median(float(r["load_seconds"]) for r in runs)
        wall = statistics.median(float(r["wall_seconds"]) for r in runs)
        verdict = "met" if load <= TARGETS[key] else "MISSED"
        print(
            f"{LABELS[key]:36} {load:12.2f} {'<= ' + str(TARGETS[key]):>8} {verdict:>6} "
            f"{wall:15.2f}"
        )
    again = {k: statistics.median(float(r["again_seconds"]) for r in rs) for k, rs in rows.items()}
    print(
        f"\nthe same load again in the same process (a service reloading its model): folder "
        f"{again['folder']:.2f} s, models:/ {again['warm']:.2f} s (warm cache, mlflow imported)"
    )
    imports = statistics.median(float(r["import_seconds"]) for rs in rows.values() for r in rs)
    print(
        f"`from arnews_ml.inference import load_model` alone: {imports:.2f} s (in the wall, "
        "not in load_model s); copies in the model cache after all loads: "
        f"{len(copies)} (expected 1)"
    )


if __name__ == "__main__":
    main()
