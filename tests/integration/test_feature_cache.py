"""Features once per sweep, and a killed embedding job that resumes from its finished shards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from arnews_ml.config import compose
from arnews_ml.tasks.train_classifier import train_classifier

TIMINGS = {"fit_seconds", "embed_seconds", "predict_seconds", "cache_hits", "cache_misses"}


@pytest.mark.slow
def test_a_sweep_fits_the_features_once_and_a_rerun_gives_identical_results(tmp_path: Path):
    common = ["tracking=none", f"paths.cache_dir={tmp_path / 'cache'}"]

    def run(head: str, name: str):
        overrides = [*common, f"classifier={head}", f"paths.output_dir={tmp_path / name}"]
        return train_classifier(compose("train", overrides))

    first, other_head, again = run("svm", "a"), run("logreg", "b"), run("svm", "c")
    n_texts = sum(first.counts[k] for k in ("n_train", "n_val", "n_test"))
    assert first.metrics["cache_misses"] == n_texts and first.metrics["cache_hits"] == 0
    # the other head and the rerun fit no TF-IDF and encode nothing: every text is a hit
    for result in (other_head, again):
        assert result.metrics["cache_misses"] == 0
        assert result.metrics["cache_hits"] == n_texts
    quality = {k: v for k, v in first.metrics.items() if k not in TIMINGS}
    assert quality == {k: v for k, v in again.metrics.items() if k not in TIMINGS}
    assert again.metrics["embed_seconds"] < first.metrics["embed_seconds"]
    # the bundle made from cached features is the bundle made from fitted ones
    files = sorted(p.relative_to(first.bundle_dir) for p in first.bundle_dir.rglob("*.*"))
    for rel in files:
        if rel.name != "manifest.json":
            assert (first.bundle_dir / rel).read_bytes() == (again.bundle_dir / rel).read_bytes()
    manifest = json.loads((again.bundle_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["cleaner"]["class"].endswith(":TextCleaner")
    # deleting the cache is safe: the next run is a miss, with the same results
    import shutil

    shutil.rmtree(tmp_path / "cache")
    fresh = run("svm", "d")
    assert fresh.metrics["cache_misses"] == n_texts
    assert quality == {k: v for k, v in fresh.metrics.items() if k not in TIMINGS}


# Embeds N_TEXTS texts through the per-text cache in shards of SHARD, slowly enough (a pause per
# shard) for the test to kill it mid-way; prints the counters and saves the vectors at the end.
JOB = textwrap.dedent(
    """
    import json, logging, sys, time
    import numpy as np
    from arnews_ml.embed import CachedEmbedder, EmbeddingCache, SentenceTransformerEmbedder

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    model, cache_dir, out, pause = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    texts = [f"خبر رقم {i} عن النفط والدوري والبرلمان {i % 7}" for i in range({n})]

    class Slow:
        def __init__(self, inner):
            self.inner = inner
            self.spec, self.cacheable = inner.spec, inner.cacheable

        @property
        def dim(self):
            return self.inner.dim

        def encode(self, batch):
            time.sleep(pause)
            return self.inner.encode(batch)

    inner = SentenceTransformerEmbedder(model, show_progress_bar=False, device="cpu")
    cached = CachedEmbedder(Slow(inner), EmbeddingCache(cache_dir), shard_size={shard})
    vectors = cached.encode(texts)
    np.save(out, vectors)
    print(json.dumps(cached.stats()))
    """
)
N_TEXTS, SHARD = 600, 50


def _job(tmp_path: Path, model: Path, cache: Path, out: Path, pause: float) -> list[str]:
    script = tmp_path / "job.py"
    script.write_text(JOB.replace("{n}", str(N_TEXTS)).replace("{shard}", str(SHARD)), "utf-8")
    return [sys.executable, str(script), str(model), str(cache), str(out), str(pause)]


def _chunks(cache: Path) -> list[Path]:
    return list(cache.glob("*/*.npz"))


@pytest.mark.slow
def test_a_killed_embedding_job_resumes_from_its_finished_shards(
    tmp_path: Path, tiny_st_model: Path
):
    cache = tmp_path / "cache"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    job = subprocess.Popen(
        _job(tmp_path, tiny_st_model, cache, tmp_path / "killed.npy", 1.0),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while len(_chunks(cache)) < 2 and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(job.pid, signal.SIGKILL)
    job.communicate(timeout=30)
    finished = len(_chunks(cache))
    assert 2 <= finished < N_TEXTS // SHARD, "the job was not killed mid-way"
    assert not (tmp_path / "killed.npy").exists()

    rerun = subprocess.run(
        _job(tmp_path, tiny_st_model, cache, tmp_path / "resumed.npy", 0.0),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    stats = json.loads(rerun.stdout.strip().splitlines()[-1])
    # every finished shard is reused; a shard being written when killed left no partial chunk
    assert stats["cache_hits"] == finished * SHARD
    assert stats["cache_misses"] == N_TEXTS - finished * SHARD
    assert "docs_per_s=" in rerun.stderr and "eta_s=" in rerun.stderr

    whole = subprocess.run(
        _job(tmp_path, tiny_st_model, tmp_path / "other", tmp_path / "whole.npy", 0.0),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert whole.returncode == 0, whole.stderr[-2000:]
    resumed, reference = np.load(tmp_path / "resumed.npy"), np.load(tmp_path / "whole.npy")
    assert resumed.shape == reference.shape == (N_TEXTS, 32)
    # the resumed job's shards are the uninterrupted job's (the same slices of the same texts)
    np.testing.assert_array_equal(resumed, reference)
