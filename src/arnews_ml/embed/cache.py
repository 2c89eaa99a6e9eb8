"""Content-addressed embedding cache: vectors keyed by embedder spec and text hash, written atomically."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
import uuid
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from arnews_ml.embed.base import Embedder, EmbedderSpec
from arnews_ml.embed.cache_budget import enforce_cap, max_cache_bytes, touch
from arnews_ml.exceptions import ArnewsError

__all__ = [
    "CACHE_DIR_ENV",
    "CHUNK_SUFFIX",
    "DEFAULT_SHARD_SIZE",
    "SPEC_FILE",
    "CachedEmbedder",
    "EmbeddingCache",
    "default_cache_dir",
    "hash_text",
]

logger = logging.getLogger(__name__)

#: Environment variable that overrides the default cache folder.
CACHE_DIR_ENV = "ARNEWS_CACHE_DIR"
#: File in each spec folder describing the spec (for people; also guards key-prefix collisions).
SPEC_FILE = "spec.json"
#: Suffix of chunk files; each holds ``hashes`` (uint8, (n, 32)) and ``vectors`` (float32, (n, dim)).
CHUNK_SUFFIX = ".npz"
#: Suffix given to chunks that could not be read, so that they are not read again.
CORRUPT_SUFFIX = ".corrupt"
_TMP_PREFIX = ".tmp-"
#: Texts embedded and written as one chunk at a time by CachedEmbedder (a killed job resumes there).
DEFAULT_SHARD_SIZE = 1024
_KEY_CHARS = 16
_DIGEST_SIZE = 32
# What a damaged or foreign .npz file raises from np.load (truncated zip, bad CRC, missing array).
_READ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error)


def default_cache_dir() -> Path:
    """``$ARNEWS_CACHE_DIR`` when set, else ``~/.cache/arnews_ml/embeddings``."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "arnews_ml" / "embeddings"


def hash_text(text: str) -> bytes:
    """sha256 digest (32 bytes) of the UTF-8 text: the per-text half of the cache key."""
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).digest()


def _write_atomic(path: Path, write: Any) -> None:
    """Call ``write(file_object)`` on a temporary file beside ``path``, then rename it into place.

    A reader never sees a partial file: the rename is atomic on POSIX and Windows, and on any
    failure (including KeyboardInterrupt) the temporary file is removed and the error re-raised.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


class _SpecIndex:
    """In-memory view of one spec folder: text digest -> vector, filled chunk by chunk."""

    def __init__(self) -> None:
        self.rows: dict[bytes, tuple[int, int]] = {}
        self.blocks: list[np.ndarray] = []
        self.seen: set[str] = set()
        self.dim: int | None = None


class EmbeddingCache:
    """Embedding vectors shared across runs and tasks, content-addressed and written atomically.

    Layout: ``root/<spec key[:16]>/spec.json`` plus chunk files ``<uuid>.npz``. Each
    :meth:`store` writes one new chunk to a temporary file and renames it into place, so an
    interrupted run never leaves a corrupt entry, and two processes storing the same spec write
    different files (duplicate rows are harmless). A chunk that cannot be read, or whose arrays
    have the wrong shape, dtype or dimension, is skipped with a warning (renamed to
    ``*.corrupt``) and its texts are embedded again: the cache never returns wrong vectors.

    The cache is bounded: after a store, the least recently used chunks and feature entries
    (:mod:`arnews_ml.embed.feature_cache`) are removed until the whole fits in ``max_bytes``
    (a chunk counts as used when a process reads it). Deleting the folder, or any file in it,
    is safe: what is gone is embedded again.

    Args:
        root: Cache folder; default :func:`default_cache_dir`.
        max_bytes: Size cap; default :func:`~arnews_ml.embed.cache_budget.max_cache_bytes`
            (8 GiB, ``$ARNEWS_CACHE_MAX_BYTES``; ``0``: no cap).
    """

    def __init__(self, root: str | Path | None = None, max_bytes: int | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self.max_bytes = max_cache_bytes() if max_bytes is None else int(max_bytes)
        self._indexes: dict[str, _SpecIndex] = {}
        self._lock = threading.Lock()
        self._written = 0  # bytes stored since the last eviction pass
        self._checked = False  # whether this process has enforced the cap yet

    def __repr__(self) -> str:
        return f"EmbeddingCache(root={str(self.root)!r})"

    def __getstate__(self) -> dict[str, Any]:
        # Picklable (e.g. for worker processes): only the folder travels; the index is re-read.
        return {"root": self.root, "max_bytes": self.max_bytes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["root"], state.get("max_bytes"))  # type: ignore[misc]

    def spec_dir(self, spec: EmbedderSpec) -> Path:
        """Folder holding the chunks of ``spec``."""
        return self.root / spec.key()[:_KEY_CHARS]

    def _check_spec_file(self, spec: EmbedderSpec, folder: Path) -> bool:
        """True when ``folder`` belongs to ``spec`` (or is new); False on a key-prefix collision."""
        path = folder / SPEC_FILE
        if not path.exists():
            return True
        try:
            stored = json.loads(path.read_text(encoding="utf-8")).get("key")
        except (OSError, ValueError, AttributeError) as error:
            logger.warning("embedding cache: unreadable %s (%s); rewriting it", path, error)
            return True
        if stored != spec.key():
            logger.warning(
                "embedding cache: %s belongs to another spec (key %s, expected %s); "
                "cache disabled for this spec",
                folder,
                stored,
                spec.key(),
            )
            return False
        return True

    def _refresh(self, spec: EmbedderSpec) -> _SpecIndex | None:
        """Read chunks of ``spec`` not yet in memory (other runs may have added some)."""
        key = spec.key()
        index = self._indexes.setdefault(key, _SpecIndex())
        folder = self.spec_dir(spec)
        if not folder.is_dir():
            return index
        if not self._check_spec_file(spec, folder):
            return None
        for path in sorted(folder.glob(f"*{CHUNK_SUFFIX}")):
            if path.name in index.seen or path.name.startswith(_TMP_PREFIX):
                continue
            index.seen.add(path.name)
            self._read_chunk(path, index)
        return index

    def _read_chunk(self, path: Path, index: _SpecIndex) -> None:
        try:
            with np.load(path, allow_pickle=False) as data:
                hashes = np.asarray(data["hashes"])
                vectors = np.asarray(data["vectors"])
            problem = self._chunk_problem(hashes, vectors, index.dim)
        except _READ_ERRORS as error:
            problem = f"{type(error).__name__}: {error}"
        if problem is not None:
            logger.warning(
                "embedding cache: skipping unreadable chunk %s (%s); its texts will be embedded again",
                path,
                problem,
            )
            with contextlib.suppress(OSError):
                path.rename(path.with_name(path.name + CORRUPT_SUFFIX))
            return
        touch(path)  # used now: the last to be evicted
        if index.dim is None:
            index.dim = int(vectors.shape[1])
        block = len(index.blocks)
        index.blocks.append(vectors)
        for row, digest in enumerate(hashes):
            index.rows[digest.tobytes()] = (block, row)

    @staticmethod
    def _chunk_problem(hashes: np.ndarray, vectors: np.ndarray, dim: int | None) -> str | None:
        if hashes.dtype != np.uint8 or hashes.ndim != 2 or hashes.shape[1] != _DIGEST_SIZE:
            return f"hashes have dtype {hashes.dtype} and shape {hashes.shape}"
        if vectors.dtype != np.float32 or vectors.ndim != 2:
            return f"vectors have dtype {vectors.dtype} and shape {vectors.shape}"
        if vectors.shape[0] != hashes.shape[0]:
            return f"{vectors.shape[0]} vectors for {hashes.shape[0]} hashes"
        if dim is not None and vectors.shape[1] != dim:
            return f"vectors have dimension {vectors.shape[1]}, other chunks {dim}"
        if not np.isfinite(vectors).all():
            return "vectors contain NaN or infinity"
        return None

    def lookup(self, spec: EmbedderSpec, digests: Iterable[bytes]) -> dict[bytes, np.ndarray]:
        """Cached vectors for the given text digests (see :func:`hash_text`).

        Returns:
            ``{digest: float32 vector of shape (dim,)}`` for the digests found; others are absent.
        """
        with self._lock:
            index = self._refresh(spec)
            if index is None:
                return {}
            found: dict[bytes, np.ndarray] = {}
            for digest in digests:
                where = index.rows.get(digest)
                if where is not None:
                    found[digest] = index.blocks[where[0]][where[1]]
            return found

    def dim(self, spec: EmbedderSpec) -> int | None:
        """Dimension of the vectors cached for ``spec``, or ``None`` when nothing is cached."""
        with self._lock:
            index = self._refresh(spec)
            return None if index is None else index.dim

    def count(self, spec: EmbedderSpec) -> int:
        """Number of distinct texts cached for ``spec``."""
        with self._lock:
            index = self._refresh(spec)
            return 0 if index is None else len(index.rows)

    def store(
        self, spec: EmbedderSpec, digests: Sequence[bytes], vectors: np.ndarray
    ) -> Path | None:
        """Write one new chunk for ``spec`` atomically and add it to the in-memory index.

        Args:
            spec: The embedder spec the vectors belong to.
            digests: One 32-byte digest per row (see :func:`hash_text`).
            vectors: float32 array of shape (len(digests), dim).

        Returns:
            The chunk path, or ``None`` when there was nothing to store or the folder belongs to
            another spec.

        Raises:
            ArnewsError: ``vectors`` do not match ``digests`` or the cached dimension.
            OSError: The chunk could not be written (nothing is left behind).
        """
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(digests):
            raise ArnewsError(
                f"EmbeddingCache.store needs one vector row per digest; got vectors of shape "
                f"{vectors.shape} for {len(digests)} digests."
            )
        if len(digests) == 0:
            return None
        hashes = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(len(digests), -1)
        if hashes.shape[1] != _DIGEST_SIZE:
            raise ArnewsError(f"Text digests must be {_DIGEST_SIZE} bytes (use hash_text).")
        with self._lock:
            index = self._refresh(spec)
            if index is None:
                return None
            if index.dim is not None and vectors.shape[1] != index.dim:
                raise ArnewsError(
                    f"Vectors of dimension {vectors.shape[1]} cannot join the cache for spec "
                    f"{spec.key()[:_KEY_CHARS]} whose vectors have dimension {index.dim}."
                )
            folder = self.spec_dir(spec)
            folder.mkdir(parents=True, exist_ok=True)
            spec_path = folder / SPEC_FILE
            if not spec_path.exists():
                text = json.dumps(
                    {"key": spec.key(), "spec": spec.to_dict()}, ensure_ascii=False, indent=2
                )
                _write_atomic(spec_path, lambda handle: handle.write(text.encode("utf-8")))
            path = folder / f"{uuid.uuid4().hex}{CHUNK_SUFFIX}"
            _write_atomic(path, lambda handle: np.savez(handle, hashes=hashes, vectors=vectors))
            index.seen.add(path.name)
            if index.dim is None:
                index.dim = int(vectors.shape[1])
            block = len(index.blocks)
            index.blocks.append(vectors)
            for row, digest in enumerate(digests):
                index.rows[digest] = (block, row)
            self._after_write(path)
            return path

    def _after_write(self, path: Path) -> None:
        """Enforce the size cap once a twentieth of it has been written since the last pass."""
        with contextlib.suppress(OSError):
            self._written += path.stat().st_size
        if self.max_bytes <= 0 or (self._checked and self._written < self.max_bytes // 20):
            return
        self._checked, self._written = True, 0
        try:
            enforce_cap(self.root, self.max_bytes, keep=(path,))
        except OSError as error:  # pragma: no cover - a folder vanished mid-scan
            logger.warning("embedding cache: eviction failed (%s)", error)


class CachedEmbedder:
    """Wrap an embedder so that vectors already computed (in any run) are read from the cache.

    Only embedders with ``cacheable = True`` (pretrained, unfitted: sentence-transformers) are
    cached; for others (TF-IDF is fitted per run, so its vectors depend on the training texts)
    ``encode`` passes straight through and counts nothing.

    ``encode`` hashes each text, embeds only the distinct texts that are not cached (identical
    texts within a call are embedded once), stores them as one new chunk and returns rows in input
    order. ``misses`` counts texts sent to the wrapped embedder; ``hits`` counts the other input
    texts (served from the cache or from a duplicate in the same call). Both are cumulative.

    The texts to embed go to the wrapped embedder ``shard_size`` at a time, and each shard is
    written as its own chunk as soon as it is done, with progress logged (texts/s, ETA): a large
    job that is killed keeps every finished shard, and a rerun embeds only the rest.

    Args:
        embedder: Any object following the :class:`~arnews_ml.embed.base.Embedder` protocol.
        cache: The cache to use; default ``EmbeddingCache()`` (``$ARNEWS_CACHE_DIR``).
        shard_size: Texts per shard (embedded, then stored, at a time).
    """

    def __init__(
        self,
        embedder: Embedder,
        cache: EmbeddingCache | None = None,
        shard_size: int = DEFAULT_SHARD_SIZE,
    ) -> None:
        if int(shard_size) < 1:
            raise ArnewsError(f"CachedEmbedder shard_size must be >= 1; got {shard_size}.")
        self.embedder = embedder
        self.cache = cache if cache is not None else EmbeddingCache()
        self.shard_size = int(shard_size)
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.embedder!r}, {self.cache!r})"

    @property
    def spec(self) -> EmbedderSpec:
        """The wrapped embedder's spec (the cache does not change the vectors)."""
        return self.embedder.spec

    @property
    def cacheable(self) -> bool:
        """Whether the wrapped embedder's vectors are cached."""
        return bool(getattr(self.embedder, "cacheable", False))

    @property
    def dim(self) -> int:
        """The wrapped embedder's dimension (read from the cache when possible, to avoid loading)."""
        if self.cacheable:
            cached = self.cache.dim(self.embedder.spec)
            if cached is not None:
                return cached
        return self.embedder.dim

    def fit(self, texts: Sequence[str]) -> CachedEmbedder:
        """Fit the wrapped embedder; returns self."""
        self.embedder.fit(texts)
        return self

    def save(self, directory: str | Path) -> dict[str, Any]:
        """Save the wrapped embedder (the cache is not part of a bundle)."""
        return self.embedder.save(directory)

    def stats(self) -> dict[str, int]:
        """Cumulative counters as metrics: ``{"cache_hits": ..., "cache_misses": ...}``."""
        return {"cache_hits": self.hits, "cache_misses": self.misses}

    def encode(self, texts: Sequence[str]) -> Any:
        """Embed texts, reusing cached vectors.

        Args:
            texts: Texts to embed.

        Returns:
            float32 array of shape (len(texts), dim) for cacheable embedders; otherwise whatever
            the wrapped embedder returns.
        """
        texts = list(texts)
        if not self.cacheable:
            return self.embedder.encode(texts)
        spec = self.embedder.spec
        digests = [hash_text(t) for t in texts]
        unique: dict[bytes, str] = {}
        for digest, text in zip(digests, texts, strict=True):
            unique.setdefault(digest, text)
        found = self.cache.lookup(spec, unique)
        missing = [d for d in unique if d not in found]
        self._embed_missing(spec, missing, unique, found)
        n_miss = len(missing)
        self.misses += n_miss
        self.hits += len(texts) - n_miss
        logger.info(
            "embedding cache spec=%s texts=%d hits=%d misses=%d",
            spec.key()[:_KEY_CHARS],
            len(texts),
            len(texts) - n_miss,
            n_miss,
        )
        if not texts:
            dim = self.cache.dim(spec)
            return np.zeros((0, dim if dim is not None else self.embedder.dim), dtype=np.float32)
        return np.stack([found[d] for d in digests]).astype(np.float32, copy=False)

    def _embed_missing(
        self,
        spec: EmbedderSpec,
        missing: list[bytes],
        texts: dict[bytes, str],
        found: dict[bytes, np.ndarray],
    ) -> None:
        """Embed the ``missing`` digests' texts shard by shard, storing each shard at once."""
        start, done, can_store = time.perf_counter(), 0, True
        for first in range(0, len(missing), self.shard_size):
            shard = missing[first : first + self.shard_size]
            computed = np.asarray(self.embedder.encode([texts[d] for d in shard]))
            if computed.ndim != 2 or computed.shape[0] != len(shard):
                raise ArnewsError(
                    f"{type(self.embedder).__name__}.encode returned shape {computed.shape} for "
                    f"{len(shard)} texts; expected (n_texts, dim)."
                )
            computed = computed.astype(np.float32, copy=False)
            if can_store:
                try:
                    self.cache.store(spec, shard, computed)
                except OSError as error:
                    can_store = False
                    logger.warning(
                        "embedding cache: could not write to %s (%s); continuing without caching",
                        self.cache.root,
                        error,
                    )
            for digest, row in zip(shard, computed, strict=True):
                found[digest] = row
            done += len(shard)
            if len(missing) > self.shard_size:
                elapsed = time.perf_counter() - start
                rate = done / elapsed if elapsed > 0 else float("inf")
                logger.info(
                    "embedding progress spec=%s done=%d/%d docs_per_s=%.1f eta_s=%.0f",
                    spec.key()[:_KEY_CHARS],
                    done,
                    len(missing),
                    rate,
                    (len(missing) - done) / rate if rate > 0 else float("nan"),
                )
