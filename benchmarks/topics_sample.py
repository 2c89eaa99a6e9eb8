"""Topic models on large corpora: fit on a sample and assign the rest, against fitting on all.

The corpus is the two shared corpora concatenated: every `*.jsonl.gz` of
../shared/data/ant_multisource (30k labelled articles) and ../shared/data/saudinewsnet (30.7k),
about 60k articles. Per model, two variants run, each in its own process so that its peak memory
(`ru_maxrss`) is its own:

- `all`: `topic_model.fit_sample=null`, the model is fitted on every article;
- `sample`: `topic_model.fit_sample=N` (20,000 by default), fitted on a seeded sample of N
  articles, then every other article is assigned by the fitted model's `transform` in chunks of
  `topic_model.assign_chunk_size` (as `arnews-topics` does, see `arnews_ml.topics.assign`).

Both write the document-topic Parquet file chunk by chunk and are scored on the whole corpus by
the same metrics module: npmi (gensim's c_npmi, 10-token windows), npmi_doc (whole documents),
c_v, topic diversity, topics, outlier share, label NMI (ANT articles). Reported: fit seconds,
assign seconds, topic wall seconds (fit + assign), process wall, the process's peak RSS
(`ru_maxrss`, the loaded 60k-article corpus included) and the peak RSS of fitting and assigning
above what the process held before (`topic_peak_mb`, sampled every 50 ms).

    .venv/bin/python benchmarks/topics_sample.py [--limit N] [--fit-sample N]
        [--models bertopic nmf lda] [--chunk-size N] [extra topics overrides]

`--limit N` keeps a seeded random sample of N articles of the concatenated corpus (the run is
then smaller: e.g. `--limit 6000 --fit-sample 2000`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import measure, require_dataset

CORPORA = ("ant_multisource", "saudinewsnet")
MODELS = ("bertopic", "bertopic_kmeans", "nmf", "lda")
# What the sample variant should show: less time and memory, quality close to the full fit.
MAX_NPMI_LOSS = 0.02
MIN_DIVERSITY = 0.8


def load(limit: int | None, seed: int) -> pd.DataFrame:
    """The concatenated corpora as the package loads them (validated), optionally sampled."""
    from arnews_ml.data import load_corpus

    frames = []
    quarantine = Path(tempfile.mkdtemp(prefix="arnews-bench-"))
    for name in CORPORA:
        for path in sorted(require_dataset(name).glob("*.jsonl.gz")):
            q = quarantine / f"{name}-{path.stem}.jsonl"
            frames.append(load_corpus(path, quarantine_path=q).frame)
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.drop_duplicates(subset="id").reset_index(drop=True)
    if limit and limit < len(frame):
        frame = frame.sample(n=limit, random_state=seed).sort_index().reset_index(drop=True)
    return frame


def run_variant(args: argparse.Namespace, overrides: list[str]) -> dict[str, float]:
    """One variant in this process: fit (all or a sample), assign in chunks, score."""
    from arnews_ml.config import compose, instantiate
    from arnews_ml.tasks.fit_topics import build_topic_model, prepare_topic_texts
    from arnews_ml.topics.analysis import document_topics_frame
    from arnews_ml.topics.assign import DocumentTopicsWriter, assign_topics, sample_indices
    from arnews_ml.topics.metrics import score_topic_model

    started = time.perf_counter()
    frame = load(args.limit, args.seed)
    fit_sample = args.fit_sample if args.variant == "sample" else None
    cfg = compose(
        "topics",
        [
            f"topic_model={args.model}",
            "tracking=none",
            f"topic_model.fit_sample={'null' if fit_sample is None else fit_sample}",
            f"topic_model.assign_chunk_size={args.chunk_size}",
            *overrides,
        ],
    )
    topic_texts, embed_texts, cleaner = prepare_topic_texts(
        cfg, frame["text"].tolist(), frame["source"].tolist()
    )
    embedder = instantiate(cfg.embedder, name="embedder")
    model = build_topic_model(cfg, embedder, int(cfg.topic_model.get("seed", cfg.seed)), cleaner)
    fitted = sample_indices(len(frame), fit_sample, int(cfg.seed))
    with measure() as fit_used:
        model.fit([topic_texts[i] for i in fitted], [embed_texts[i] for i in fitted])

    out = Path(tempfile.mkdtemp(prefix="arnews-bench-assign-")) / "document_topics.parquet"
    with measure() as assign_used, DocumentTopicsWriter(out) as writer:

        def write(start, stop, topics, scores):
            rows = frame.iloc[start:stop]
            table = document_topics_frame(
                rows["id"].tolist(), rows["date"], rows["source"].tolist(),
                rows["labels"].tolist(), topics, scores, topic_labels=model.topic_labels_,
            )  # fmt: skip
            writer.write(table)

        topics, _ = assign_topics(
            model, topic_texts, embed_texts, fitted=fitted, chunk_size=args.chunk_size,
            on_chunk=write,
        )  # fmt: skip
    metrics = score_topic_model(model, topic_texts, frame["labels"].tolist(), doc_topics=topics)
    return {
        "n_docs": len(frame),
        "n_fit_docs": len(fitted),
        "n_assigned_docs": len(frame) - len(fitted),
        "fit_s": fit_used.seconds,
        "assign_s": assign_used.seconds,
        "topic_wall_s": fit_used.seconds + assign_used.seconds,
        "process_wall_s": time.perf_counter() - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # above the resident memory before the fit (the loaded corpus and cleaned texts)
        "topic_peak_mb": max(fit_used.peak_increase_mb, assign_used.peak_increase_mb),
        "npmi": metrics["npmi"],
        "npmi_doc": metrics["npmi_doc"],
        "c_v": metrics["c_v"],
        "diversity": metrics["topic_diversity"],
        "n_topics": metrics["n_topics"],
        "outliers": metrics["outlier_ratio"],
        "label_nmi": metrics.get("label_nmi", float("nan")),
    }


def spawn(
    model: str, variant: str, args: argparse.Namespace, overrides: list[str], **sizes: int
) -> dict:
    """Run one variant in a fresh process and read back its figures (``sizes``: ``limit`` and
    ``fit_sample`` instead of the command line's)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result_path = Path(handle.name)
    command = [
        sys.executable, __file__, "--variant", variant, "--model", model,
        "--fit-sample", str(sizes.get("fit_sample", args.fit_sample)),
        "--chunk-size", str(args.chunk_size),
        "--seed", str(args.seed), "--result", str(result_path),
    ]  # fmt: skip
    limit = sizes.get("limit", args.limit)
    if limit:
        command += ["--limit", str(limit)]
    subprocess.run([*command, *overrides], check=True)
    row = json.loads(result_path.read_text())
    result_path.unlink()
    return row


def verdicts(model: str, table: pd.DataFrame) -> None:
    full, sample = table.loc["all"], table.loc["sample"]
    print(f"\nverdicts ({model}):")
    checks = [
        (
            f"topic wall: sample {sample['topic_wall_s']:.0f} s < all {full['topic_wall_s']:.0f} s",
            sample["topic_wall_s"] < full["topic_wall_s"],
        ),
        (
            f"topic peak memory (above the loaded corpus): sample {sample['topic_peak_mb']:,.0f} MB"
            f" < all {full['topic_peak_mb']:,.0f} MB",
            sample["topic_peak_mb"] < full["topic_peak_mb"],
        ),
        (
            f"npmi: sample {sample['npmi']:.3f} >= all {full['npmi']:.3f} - {MAX_NPMI_LOSS}",
            sample["npmi"] >= full["npmi"] - MAX_NPMI_LOSS,
        ),
        (
            f"diversity: sample {sample['diversity']:.3f} >= {MIN_DIVERSITY}",
            sample["diversity"] >= MIN_DIVERSITY,
        ),
    ]
    for text, ok in checks:
        print(f"  {text}: {'PASS' if ok else 'FAIL'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=None, help="Random sample of N articles.")
    parser.add_argument("--fit-sample", type=int, default=20_000, help="Articles to fit on.")
    parser.add_argument("--chunk-size", type=int, default=10_000, help="Articles per chunk.")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=["bertopic"])
    parser.add_argument("--seed", type=int, default=13, help="Seed of the --limit sample.")
    parser.add_argument("--variant", choices=("all", "sample"), help=argparse.SUPPRESS)
    parser.add_argument("--model", choices=MODELS, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args, overrides = parser.parse_known_args()
    os.environ.setdefault(
        "NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".cache" / "numba")
    )
    logging.basicConfig(level=logging.WARNING)
    for name in CORPORA:
        require_dataset(name)
    if args.variant:  # a child process
        args.result.write_text(json.dumps(run_variant(args, overrides)))
        return
    print(
        f"cores {os.cpu_count()}, corpus {' + '.join(CORPORA)}"
        f"{f' (sample of {args.limit:,})' if args.limit else ''}, fit sample "
        f"{args.fit_sample:,}, chunks of {args.chunk_size:,}, "
        f"overrides: {' '.join(overrides) or 'defaults'}",
        flush=True,
    )
    for model in args.models:
        # numba compiles UMAP/HDBSCAN on first use and caches it on disk: a tiny warm-up run
        # keeps that cost out of whichever variant would come first
        spawn(model, "sample", args, overrides, limit=400, fit_sample=200)
        rows = {}
        for variant in ("sample", "all"):
            rows[variant] = spawn(model, variant, args, overrides)
            r = rows[variant]
            print(
                f"  {model} {variant}: fit {r['fit_s']:.0f} s on {r['n_fit_docs']:,}, assign "
                f"{r['assign_s']:.0f} s for {r['n_assigned_docs']:,}, peak {r['peak_rss_mb']:,.0f}"
                f" MB (+{r['topic_peak_mb']:,.0f} MB fitting/assigning), npmi {r['npmi']:.3f}",
                flush=True,
            )
        table = pd.DataFrame(rows).T
        print(f"\n{model} on {int(table['n_docs'].iloc[0]):,} articles")
        print(table.to_string(float_format=lambda v: f"{v:.3f}"))
        verdicts(model, table)


if __name__ == "__main__":
    main()
