"""Feature cache: a fitted TF-IDF and its matrices reused byte for byte; damage is a miss; the cap."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from arnews_ml.embed import CachedEmbedder, EmbeddingCache, TfidfEmbedder
from arnews_ml.embed.cache_budget import (
    CACHE_MAX_BYTES_ENV,
    DEFAULT_CACHE_MAX_BYTES,
    FEATURES_DIR,
    cache_units,
    enforce_cap,
    max_cache_bytes,
    parse_size,
)
from arnews_ml.embed.feature_cache import CachedCleaner, CachedFeatures, FeatureCache
from arnews_ml.exceptions import ArnewsError, ArtifactError, ConfigError
from arnews_ml.testing import FakeEmbedder

WORDS = [
    "النفط",
    "الدولار",
    "البرلمان",
    "الحكومة",
    "الدوري",
    "الفريق",
    "المباراة",
    "الانتخابات",
    "المستشفى",
    "اللقاح",
]


def corpus(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=12)) + f" رقم {i}" for i in range(n)]


TRAIN, VAL = corpus(120), corpus(40, seed=1)


def tfidf() -> TfidfEmbedder:
    return TfidfEmbedder(analyzer="word+char", min_df=1, max_df=1.0)


def same_csr(a: sp.spmatrix, b: sp.spmatrix) -> bool:
    a, b = sp.csr_matrix(a), sp.csr_matrix(b)
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and a.data.tobytes() == b.data.tobytes()
    )


def entries(root: Path) -> list[Path]:
    folder = root / FEATURES_DIR
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.exists() else []


def test_second_fit_reads_byte_identical_features(tmp_path: Path) -> None:
    first = CachedFeatures(tfidf(), FeatureCache(tmp_path))
    x1, v1 = first.fit_encode(TRAIN), first.encode(VAL)
    assert first.stats() == {"cache_hits": 0, "cache_misses": len(TRAIN) + len(VAL)}
    second = CachedFeatures(tfidf(), FeatureCache(tmp_path))
    x2, v2 = second.fit_encode(TRAIN), second.encode(VAL)
    assert second.stats() == {"cache_hits": len(TRAIN) + len(VAL), "cache_misses": 0}
    assert same_csr(x1, x2) and same_csr(v1, v2)
    assert same_csr(x1, tfidf().fit_encode(TRAIN))  # the cache changes nothing
    # the fitted embedder is restored (lazily) and encodes what a fresh fit encodes
    assert not second.embedder.vectorizers_
    assert same_csr(second.encode(["النفط الدولار"]), first.encode(["النفط الدولار"]))
    assert second.dim == first.dim
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first.save(tmp_path / "a"), second.save(tmp_path / "b")
    for name in os.listdir(tmp_path / "a"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_a_hit_maps_the_entry_copy_on_write(tmp_path: Path) -> None:
    """A hit maps the stored arrays instead of reading them: they are writable, and what the
    run writes into them never reaches the cache (the next hit reads the stored values)."""
    expected = CachedFeatures(tfidf(), FeatureCache(tmp_path)).fit_encode(TRAIN)
    (entry,) = entries(tmp_path)
    stored = (entry / "train.csr").read_bytes()
    hit = CachedFeatures(tfidf(), FeatureCache(tmp_path)).fit_encode(TRAIN)
    assert same_csr(hit, expected)
    assert isinstance(hit.data.base, np.memmap) or isinstance(hit.data.base.base, np.memmap)
    hit.data *= 2.0  # in place, as a caller may
    hit.indices[:] = 0
    assert (entry / "train.csr").read_bytes() == stored
    again = CachedFeatures(tfidf(), FeatureCache(tmp_path)).fit_encode(TRAIN)
    assert same_csr(again, expected)


def test_other_texts_or_options_are_other_entries(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path)
    CachedFeatures(tfidf(), cache).fit_encode(TRAIN)
    CachedFeatures(tfidf(), cache).fit_encode(TRAIN[:-1])
    other = TfidfEmbedder(analyzer="word", min_df=1, max_df=1.0)
    wrapped = CachedFeatures(other, cache)
    wrapped.fit_encode(TRAIN)
    assert wrapped.stats()["cache_misses"] == len(TRAIN)
    assert len(entries(tmp_path)) == 3


@pytest.mark.parametrize("damage", ["delete", "truncate", "meta"])
def test_damaged_or_deleted_entry_is_a_miss(tmp_path: Path, damage: str) -> None:
    expected = CachedFeatures(tfidf(), FeatureCache(tmp_path)).fit_encode(TRAIN)
    (entry,) = entries(tmp_path)
    if damage == "delete":
        for path in sorted(entry.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        entry.rmdir()
    elif damage == "truncate":
        matrix = entry / "train.csr"
        matrix.write_bytes(matrix.read_bytes()[:100])
    else:
        (entry / "meta.json").write_text("{not json", encoding="utf-8")
    again = CachedFeatures(tfidf(), FeatureCache(tmp_path))
    assert same_csr(again.fit_encode(TRAIN), expected)
    assert again.stats() == {"cache_hits": 0, "cache_misses": len(TRAIN)}
    assert CachedFeatures(tfidf(), FeatureCache(tmp_path)).fit_encode(TRAIN) is not None
    assert len(entries(tmp_path)) == 1  # rewritten, usable again


def test_entry_vanishing_after_a_hit_refits(tmp_path: Path, caplog) -> None:
    CachedFeatures(tfidf(), FeatureCache(tmp_path)).fit_encode(TRAIN)
    wrapped = CachedFeatures(tfidf(), FeatureCache(tmp_path))
    wrapped.fit_encode(TRAIN)
    import shutil

    shutil.rmtree(entries(tmp_path)[0])
    with caplog.at_level(logging.WARNING, logger="arnews_ml.embed.feature_cache"):
        out = wrapped.encode(["النفط الدولار"])
    assert "fitting again" in caplog.text
    assert same_csr(out, tfidf().fit(TRAIN).encode(["النفط الدولار"]))


def test_damaged_encoded_matrix_is_a_miss(tmp_path: Path) -> None:
    wrapped = CachedFeatures(tfidf(), FeatureCache(tmp_path))
    wrapped.fit_encode(TRAIN)
    expected = wrapped.encode(VAL)
    (matrix,) = (entries(tmp_path)[0] / "encoded").iterdir()
    matrix.write_bytes(b"garbage")
    again = CachedFeatures(tfidf(), FeatureCache(tmp_path))
    again.fit_encode(TRAIN)
    assert same_csr(again.encode(VAL), expected)
    assert again.stats() == {"cache_hits": len(TRAIN), "cache_misses": len(VAL)}


def test_unwritable_cache_runs_without_caching(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    wrapped = CachedFeatures(tfidf(), FeatureCache(blocker))  # the root is a file
    assert same_csr(wrapped.fit_encode(TRAIN), tfidf().fit_encode(TRAIN))
    assert wrapped.encode(VAL).shape[0] == len(VAL)


class Upper:
    """A cleaner with state: upper-cases, counts calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, texts):
        self.calls += 1
        return [t.upper() for t in texts]

    def to_dict(self):
        return {"upper": True}


def test_cleaned_texts_are_reused(tmp_path: Path) -> None:
    texts = [f"text {i}" for i in range(40)]
    cleaner = Upper()
    first = CachedCleaner(cleaner, FeatureCache(tmp_path))(texts)
    second = CachedCleaner(cleaner, FeatureCache(tmp_path))(texts)
    assert first == second == [t.upper() for t in texts]
    assert cleaner.calls == 1
    CachedCleaner(cleaner, FeatureCache(tmp_path))(texts[:3])  # few texts: not cached
    assert cleaner.calls == 2
    (path,) = (tmp_path / FEATURES_DIR).glob("clean-*.json")
    path.write_text('["short"]', encoding="utf-8")  # wrong length: a miss
    assert CachedCleaner(cleaner, FeatureCache(tmp_path))(texts) == first
    assert cleaner.calls == 3


def test_parse_size_and_env(monkeypatch) -> None:
    assert parse_size("500M") == 500 * 2**20
    assert parse_size("1.5GiB") == int(1.5 * 2**30)
    assert parse_size("123") == 123
    with pytest.raises(ConfigError, match=CACHE_MAX_BYTES_ENV):
        parse_size("lots")
    monkeypatch.delenv(CACHE_MAX_BYTES_ENV, raising=False)
    assert max_cache_bytes() == DEFAULT_CACHE_MAX_BYTES
    monkeypatch.setenv(CACHE_MAX_BYTES_ENV, "2G")
    assert max_cache_bytes() == 2 * 2**30
    assert EmbeddingCache(Path("x")).max_bytes == 2 * 2**30


def test_cap_evicts_least_recently_used_and_nothing_else(tmp_path: Path) -> None:
    other = tmp_path / "models" / "abc"  # another cache sharing the root
    other.mkdir(parents=True)
    (other / "weights.bin").write_bytes(b"\0" * 50_000)
    cache = FeatureCache(tmp_path, max_bytes=0)
    folders = []
    for i in range(3):
        wrapped = CachedFeatures(tfidf(), cache)
        wrapped.fit_encode(TRAIN[i:])
        folders.append(cache.entry_dir(wrapped._fit_key))
    embeddings = CachedEmbedder(FakeEmbedder(dim=64), EmbeddingCache(tmp_path, max_bytes=0))
    embeddings.encode(TRAIN)
    now = time.time()
    for age, entry in zip((300, 200, 100), folders, strict=True):
        for path in entry.rglob("*"):
            os.utime(path, (now - age, now - age))
    CachedFeatures(tfidf(), cache).fit_encode(TRAIN)  # a hit: the oldest becomes the newest
    old, middle, new = folders
    sizes = {u.path: u.size for u in cache_units(tmp_path)}
    assert len(sizes) == 4  # three entries and one embedding chunk; models/ is not listed
    limit = sum(sizes.values()) - sizes[middle] // 2
    removed = enforce_cap(tmp_path, limit)
    assert removed == sizes[middle]
    assert not middle.exists() and old.exists() and new.exists()
    assert (other / "weights.bin").exists()
    assert enforce_cap(tmp_path, 1, keep=(old,)) > 0
    assert old.exists() and not new.exists() and (other / "weights.bin").exists()


def test_embedding_store_enforces_the_cap(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, max_bytes=1)
    wrapped = CachedEmbedder(FakeEmbedder(dim=8), cache, shard_size=10)
    wrapped.encode(TRAIN[:30])
    assert len(list(cache.spec_dir(wrapped.spec).glob("*.npz"))) == 1  # only the newest stays


def test_shards_are_stored_as_they_go_and_a_failed_job_resumes(tmp_path: Path, caplog) -> None:
    class Failing(FakeEmbedder):
        def __init__(self, fail_at: int | None) -> None:
            super().__init__(dim=8)
            self.calls, self.fail_at = 0, fail_at

        def encode(self, texts):
            self.calls += 1
            if self.calls == self.fail_at:
                raise RuntimeError("killed")
            return super().encode(texts)

    texts = corpus(95)
    with pytest.raises(RuntimeError):
        CachedEmbedder(Failing(3), EmbeddingCache(tmp_path), shard_size=20).encode(texts)
    resumed = CachedEmbedder(Failing(None), EmbeddingCache(tmp_path), shard_size=20)
    with caplog.at_level(logging.INFO, logger="arnews_ml.embed.cache"):
        vectors = resumed.encode(texts)
    assert resumed.stats() == {"cache_hits": 40, "cache_misses": 55}
    assert "docs_per_s=" in caplog.text and "eta_s=" in caplog.text
    np.testing.assert_array_equal(vectors, FakeEmbedder(dim=8).encode(texts))
    with pytest.raises(ArnewsError, match="shard_size"):
        CachedEmbedder(FakeEmbedder(), shard_size=0)


def test_an_embedder_that_cannot_save_runs_uncached(tmp_path: Path) -> None:
    class NoSave(TfidfEmbedder):
        def save(self, directory):
            raise ArtifactError("cannot save")

    wrapped = CachedFeatures(NoSave(min_df=1, max_df=1.0), FeatureCache(tmp_path))
    assert same_csr(wrapped.fit_encode(TRAIN), tfidf().fit_encode(TRAIN))
    assert entries(tmp_path) == []
    assert not [p for p in (tmp_path / FEATURES_DIR).iterdir()]  # no temporary folder left


def test_an_entry_written_as_npz_by_an_earlier_version_is_still_read(tmp_path: Path) -> None:
    expected = CachedFeatures(tfidf(), FeatureCache(tmp_path)).fit_encode(TRAIN)
    (entry,) = entries(tmp_path)
    (entry / "train.csr").unlink()
    sp.save_npz(entry / "train.npz", expected, compressed=False)
    again = CachedFeatures(tfidf(), FeatureCache(tmp_path))
    assert same_csr(again.fit_encode(TRAIN), expected)
    assert again.stats() == {"cache_hits": len(TRAIN), "cache_misses": 0}
