"""EmbeddingCache / CachedEmbedder: reuse across runs, atomic writes, corrupt chunks skipped."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from arnews_ml.embed import (
    CachedEmbedder,
    EmbeddingCache,
    SentenceTransformerEmbedder,
    TfidfEmbedder,
)
from arnews_ml.embed import cache as cache_module
from arnews_ml.embed.cache import CORRUPT_SUFFIX, hash_text
from arnews_ml.testing import FakeEmbedder

TEXTS = ["كَتَبَ الولدُ درسَه", "ارتفعت أسعار النفط", "فاز فريق الزوراء", "news 2024"]


def chunks(cache: EmbeddingCache, embedder) -> list[Path]:
    folder = cache.spec_dir(embedder.spec)
    return sorted(folder.glob("*.npz")) if folder.exists() else []


def leftovers(cache: EmbeddingCache, embedder) -> list[str]:
    folder = cache.spec_dir(embedder.spec)
    return (
        sorted(p.name for p in folder.iterdir() if p.name != "spec.json") if folder.exists() else []
    )


def test_second_run_embeds_nothing(tmp_path: Path) -> None:
    first = CachedEmbedder(FakeEmbedder(dim=8), EmbeddingCache(tmp_path))
    vectors = first.encode(TEXTS)
    assert first.stats() == {"cache_hits": 0, "cache_misses": 4}
    assert len(chunks(first.cache, first)) == 1
    # A new run: new cache object, new embedder, same folder.
    inner = FakeEmbedder(dim=8)
    second = CachedEmbedder(inner, EmbeddingCache(tmp_path))
    again = second.encode(TEXTS[::-1])
    assert second.stats() == {"cache_hits": 4, "cache_misses": 0}
    assert inner.n_encoded == 0
    assert np.array_equal(again, vectors[::-1])
    assert again.dtype == np.float32
    assert second.dim == 8


def test_only_missing_texts_are_embedded(tmp_path: Path) -> None:
    inner = FakeEmbedder()
    cached = CachedEmbedder(inner, EmbeddingCache(tmp_path))
    cached.encode(TEXTS[:2])
    out = cached.encode(TEXTS)
    assert inner.n_encoded == 4
    assert (cached.hits, cached.misses) == (2, 4)
    assert np.array_equal(out, FakeEmbedder().encode(TEXTS))
    assert cached.cache.count(inner.spec) == 4


def test_duplicates_in_a_batch_are_embedded_once(tmp_path: Path) -> None:
    inner = FakeEmbedder()
    cached = CachedEmbedder(inner, EmbeddingCache(tmp_path))
    out = cached.encode(["a b", "c", "a b", "a b"])
    assert inner.n_encoded == 2
    assert cached.stats() == {"cache_hits": 2, "cache_misses": 2}
    assert np.array_equal(out[0], out[2]) and np.array_equal(out[0], out[3])
    assert out.shape == (4, 8)


def test_spec_change_means_new_entries(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    CachedEmbedder(FakeEmbedder(seed=0), cache).encode(TEXTS)
    other = CachedEmbedder(FakeEmbedder(seed=1), cache)
    other.encode(TEXTS)
    assert other.misses == 4
    assert len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_interrupted_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    def broken_savez(handle, **arrays):
        handle.write(b"PK\x03\x04 half a zip file")
        raise error

    monkeypatch.setattr(cache_module.np, "savez", broken_savez)
    cached = CachedEmbedder(FakeEmbedder(), EmbeddingCache(tmp_path))
    if isinstance(error, OSError):
        out = cached.encode(TEXTS)  # the cache is an optimisation: vectors still come back
        assert np.array_equal(out, FakeEmbedder().encode(TEXTS))
    else:
        with pytest.raises(KeyboardInterrupt):
            cached.encode(TEXTS)
    assert leftovers(cached.cache, cached) == []  # no chunk, no temporary file
    monkeypatch.undo()
    inner = FakeEmbedder()
    rerun = CachedEmbedder(inner, EmbeddingCache(tmp_path))
    rerun.encode(TEXTS)
    assert rerun.misses == 4 and inner.n_encoded == 4


def test_corrupt_chunk_is_skipped_and_recomputed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cached = CachedEmbedder(FakeEmbedder(), EmbeddingCache(tmp_path))
    expected = cached.encode(TEXTS)
    (chunk,) = chunks(cached.cache, cached)
    chunk.write_bytes(chunk.read_bytes()[:50])  # truncated
    inner = FakeEmbedder()
    rerun = CachedEmbedder(inner, EmbeddingCache(tmp_path))
    with caplog.at_level(logging.WARNING, logger="arnews_ml.embed.cache"):
        out = rerun.encode(TEXTS)
    assert "skipping unreadable chunk" in caplog.text
    assert rerun.misses == 4 and inner.n_encoded == 4
    assert np.array_equal(out, expected)
    assert chunk.with_name(chunk.name + CORRUPT_SUFFIX).exists()
    assert len(chunks(rerun.cache, rerun)) == 1  # the fresh chunk


def test_chunk_with_wrong_shape_is_never_used(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    fake = FakeEmbedder(dim=8)
    folder = cache.spec_dir(fake.spec)
    folder.mkdir(parents=True)
    hashes = np.frombuffer(hash_text(TEXTS[0]), dtype=np.uint8).reshape(1, 32)
    np.savez(folder / "bad.npz", hashes=hashes, vectors=np.ones((2, 8), dtype=np.float32))
    np.savez(folder / "nan.npz", hashes=hashes, vectors=np.full((1, 8), np.nan, dtype=np.float32))
    np.savez(folder / "f64.npz", hashes=hashes, vectors=np.ones((1, 8)))
    cached = CachedEmbedder(fake, cache)
    out = cached.encode(TEXTS[:1])
    assert cached.misses == 1
    assert np.array_equal(out, FakeEmbedder(dim=8).encode(TEXTS[:1]))


def test_two_writers_same_spec(tmp_path: Path) -> None:
    a = CachedEmbedder(FakeEmbedder(), EmbeddingCache(tmp_path))
    b = CachedEmbedder(FakeEmbedder(), EmbeddingCache(tmp_path))
    a.encode(TEXTS[:3])
    b.encode(TEXTS[1:])  # b read a's chunk on its first lookup
    assert b.misses == 1
    a.encode(TEXTS)  # a picks up b's chunk written after a's first lookup
    assert a.misses == 3 and a.hits == 4
    assert len(chunks(a.cache, a)) == 2


def test_sparse_fitted_embedders_pass_through(tmp_path: Path) -> None:
    tfidf = TfidfEmbedder(min_df=1, max_df=1.0)
    cached = CachedEmbedder(tfidf, EmbeddingCache(tmp_path))
    assert cached.fit(TEXTS) is cached
    matrix = cached.encode(TEXTS)
    assert matrix.shape == (4, tfidf.dim)
    assert cached.stats() == {"cache_hits": 0, "cache_misses": 0}
    assert list(tmp_path.iterdir()) == []
    assert cached.spec == tfidf.spec


def test_default_root_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARNEWS_CACHE_DIR", str(tmp_path / "cache"))
    assert EmbeddingCache().root == tmp_path / "cache"
    monkeypatch.delenv("ARNEWS_CACHE_DIR")
    assert EmbeddingCache().root == Path.home() / ".cache" / "arnews_ml" / "embeddings"


def test_sentence_transformer_second_run_does_not_load_the_model(
    tiny_st_model: Path, tmp_path: Path
) -> None:
    def make() -> SentenceTransformerEmbedder:
        return SentenceTransformerEmbedder(
            str(tiny_st_model), device="cpu", show_progress_bar=False
        )

    first = CachedEmbedder(make(), EmbeddingCache(tmp_path))
    vectors = first.encode(TEXTS)
    inner = make()
    second = CachedEmbedder(inner, EmbeddingCache(tmp_path))
    assert np.array_equal(second.encode(TEXTS), vectors)
    assert second.dim == 32
    assert second.misses == 0
    assert inner._model is None  # everything came from the cache


def test_cached_embedder_pickles(tmp_path: Path) -> None:
    import pickle

    cached = CachedEmbedder(FakeEmbedder(), EmbeddingCache(tmp_path))
    vectors = cached.encode(TEXTS)
    clone = pickle.loads(pickle.dumps(cached))
    assert np.array_equal(clone.encode(TEXTS), vectors)
    assert clone.embedder.n_encoded == 4  # counted before pickling; nothing new embedded
