"""Streaming `arnews-predict` on a corpus larger than memory: docs/s and peak RSS at two sizes.

Generates short Arabic articles (sentences of the bundled sample generator recombined with a
seeded random source, so the same sizes give the same files), trains a TF-IDF classifier bundle
on the bundled sample (`arnews-train tracking=none`, or takes --bundle), runs `arnews-predict`
as a subprocess on each size and reports its wall time, docs/s and peak RSS (the subprocess's
own ``ru_maxrss``). Memory is flat when the peak RSS of the largest size is within 1.2x of the
smallest's.

    .venv/bin/python benchmarks/predict_stream.py                      # 100k and 1M rows
    .venv/bin/python benchmarks/predict_stream.py --rows 100000        # one size only
    .venv/bin/python benchmarks/predict_stream.py --rows 20000 --rows 200000 --bundle BUNDLE

The generated input and the output go to a temporary folder (or --workdir) and are removed at
the end unless --keep. Needs no shared data.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
RSS_RATIO_TARGET = 1.2
"""Peak RSS at the largest size over the smallest: at most this (memory does not grow)."""


def sentence_pool(seed: int = 7, n_articles: int = 2_000) -> list[str]:
    """Sentences of the bundled sample generator (headers and footers left out)."""
    from arnews_ml.data.sample.generate import generate_sample

    pool: set[str] = set()
    for record in generate_sample(n=n_articles, seed=seed):
        for sentence in re.split(r"(?<=[.!؟])\s+|\n+", record["text"]):
            sentence = sentence.strip()
            if len(sentence.split()) >= 6:
                pool.add(sentence)
    return sorted(pool)


def write_articles(path: Path, n_rows: int, pool: list[str], seed: int = 11) -> None:
    """``n_rows`` JSONL articles of 2-4 sentences each (about 40-80 words), one in 1,000 empty."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n_rows):
            text = "" if i % 1000 == 999 else " ".join(rng.sample(pool, rng.randint(2, 4)))
            handle.write(json.dumps({"id": f"doc-{i}", "text": text}, ensure_ascii=False) + "\n")


def train_bundle(workdir: Path, overrides: list[str]) -> Path:
    """Train the default TF-IDF classifier on the bundled sample; return its bundle folder."""
    run_dir = workdir / "train"
    cmd = [str(BIN / "arnews-train"), "tracking=none", f"hydra.run.dir={run_dir}", *overrides]
    print("training the bundle:", " ".join(cmd[1:]), file=sys.stderr)
    subprocess.run(cmd, cwd=workdir, check=True, stdout=subprocess.DEVNULL)
    manifests = sorted(run_dir.rglob("manifest.json"))
    if not manifests:
        raise SystemExit(f"arnews-train left no bundle (manifest.json) under {run_dir}")
    return manifests[0].parent


def run_predict(bundle: Path, source: Path, output: Path, extra: list[str]) -> dict[str, float]:
    """Run arnews-predict in its own process; wall seconds and its peak RSS (MB)."""
    cmd = [
        str(BIN / "arnews-predict"),
        "--model",
        str(bundle),
        "--input",
        str(source),
        "--output",
        str(output),
        *extra,
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"arnews-predict failed with status {proc.returncode}: {' '.join(cmd)}")
    return {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024}  # ru_maxrss is in KiB


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        type=int,
        action="append",
        help="Input size in rows; repeat for several (default: 100000 and 1000000).",
    )
    parser.add_argument("--bundle", type=Path, help="A classifier bundle folder (else trained).")
    parser.add_argument("--workdir", type=Path, help="Where the files go (default: a temp dir).")
    parser.add_argument("--keep", action="store_true", help="Keep the generated files.")
    parser.add_argument(
        "--predict-arg",
        action="append",
        default=[],
        help="An extra arnews-predict argument, e.g. --predict-arg=--chunk-size=5000.",
    )
    parser.add_argument(
        "--train-override",
        action="append",
        default=[],
        help="An arnews-train override for the bundle, e.g. embedder.analyzer=word.",
    )
    args = parser.parse_args(argv)
    sizes = sorted(args.rows or [100_000, 1_000_000])

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="arnews-bench-stream-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        bundle = args.bundle or train_bundle(workdir, args.train_override)
        pool = sentence_pool()
        print(f"bundle {bundle}; {len(pool)} distinct sentences to draw from", file=sys.stderr)
        results = []
        for n in sizes:
            source = workdir / f"articles-{n}.jsonl"
            t0 = time.perf_counter()
            write_articles(source, n, pool)
            size_mb = source.stat().st_size / 2**20
            print(
                f"generated {n:,} articles ({size_mb:,.0f} MB) in {time.perf_counter() - t0:.0f}s",
                file=sys.stderr,
            )
            output = workdir / f"predictions-{n}.jsonl"
            figures = run_predict(bundle, source, output, args.predict_arg)
            n_out = count_lines(output)
            if n_out != n:
                raise SystemExit(f"{output} has {n_out:,} rows for {n:,} input rows")
            figures.update(rows=n, input_mb=size_mb, docs_per_s=n / figures["wall_s"])
            results.append(figures)
            source.unlink()
            output.unlink()
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print("| rows | input MB | wall s | docs/s | peak RSS MB |")
    print("|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['rows']:,} | {r['input_mb']:,.0f} | {r['wall_s']:,.1f} | "
            f"{r['docs_per_s']:,.0f} | {r['peak_rss_mb']:,.0f} |"
        )
    if len(results) > 1:
        ratio = results[-1]["peak_rss_mb"] / results[0]["peak_rss_mb"]
        growth = results[-1]["rows"] / results[0]["rows"]
        verdict = "ok" if ratio <= RSS_RATIO_TARGET else "MISSED"
        print(
            f"\npeak RSS {results[-1]['rows']:,} rows / {results[0]['rows']:,} rows "
            f"({growth:.0f}x the input): {ratio:.2f}x (target <= {RSS_RATIO_TARGET}x) {verdict}"
        )
        return 0 if ratio <= RSS_RATIO_TARGET else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
