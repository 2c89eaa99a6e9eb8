"""Fitted features cached across runs: a fitted embedder (TF-IDF) and its matrices, keyed by content.

A sweep over classifier heads, or a second identical run, fits the same TF-IDF on the same cleaned
training texts again and again. :class:`CachedFeatures` wraps a fitted-per-run embedder so that
the first run stores the fitted embedder (saved as its bundle saves it: JSON vocabulary and
``.npy`` idf, no pickle) and the training matrix, and later runs with the same training texts
and embedder spec read them back; the matrices of the other texts it encodes (validation, test)
are stored beside them. :class:`CachedCleaner` does the same for the text pipeline's output.

Layout under ``<cache root>/features/``::

    <fit key[:32]>/meta.json           key, spec, the embedder's manifest entry, rows, columns
    <fit key[:32]>/embedder/...        the fitted embedder's files
    <fit key[:32]>/train.csr|.npy      the training matrix (sparse: .npy records; dense .npy)
    <fit key[:32]>/encoded/<key>.csr   the matrix of another list of texts
    clean-<key[:32]>.json              cleaned texts of one list of articles

Every entry is written to a temporary name and renamed into place; a missing, damaged or
inconsistent entry is a miss (removed, computed again), never an error. The size cap and the
least-recently-used eviction are :mod:`arnews_ml.embed.cache_budget`'s.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from arnews_ml.embed.base import EmbedderSpec, fit_encode, load_embedder
from arnews_ml.embed.cache import _write_atomic, default_cache_dir, hash_text
from arnews_ml.embed.cache_budget import FEATURES_DIR, enforce_cap, max_cache_bytes, touch
from arnews_ml.exceptions import ArnewsError

__all__ = ["CachedCleaner", "CachedFeatures", "FeatureCache", "texts_key"]

logger = logging.getLogger(__name__)

META_FILE = "meta.json"
_EMBEDDER_DIR = "embedder"
_ENCODED_DIR = "encoded"
_FORMAT = 1
_KEY_CHARS = 32
_TMP_PREFIX = ".tmp-"
_READ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error)
# What storing may raise (a full disk, an embedder that cannot save): the run goes on uncached.
_WRITE_ERRORS = (OSError, ValueError, TypeError, ArnewsError)
#: Lists of fewer texts are neither looked up nor stored (cheap to recompute, e.g. one article).
MIN_TEXTS = 32


def texts_key(prefix: str, texts: Sequence[str]) -> str:
    """sha256 hex of ``prefix`` and the ordered digests of ``texts``."""
    digest = hashlib.sha256(prefix.encode("utf-8") + b"\0")
    for text in texts:
        digest.update(hash_text(text))
    return digest.hexdigest()


def _save_matrix(handle: Any, matrix: Any) -> None:
    """A sparse matrix as four ``.npy`` records in one file (its shape, then its CSR arrays),
    mapped back by :func:`_mapped_records` (an ``.npz`` goes through zip and a copy: about a
    second for ANT's 500 MB training matrix); a dense one as ``.npy``."""
    if sp.issparse(matrix):
        csr = sp.csr_matrix(matrix)
        for array in (np.asarray(csr.shape, np.int64), csr.data, csr.indices, csr.indptr):
            np.save(handle, array, allow_pickle=False)
    else:
        np.save(handle, np.asarray(matrix), allow_pickle=False)


def _matrix_name(stem: str, matrix: Any) -> str:
    return f"{stem}.csr" if sp.issparse(matrix) else f"{stem}.npy"


_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _mapped_records(path: Path, count: int) -> list[np.ndarray]:
    """The first ``count`` ``.npy`` records of ``path``, each mapped copy-on-write: nothing is
    read or copied until used, pages already in the page cache are shared rather than copied
    (ANT's 500 MB training matrix: about 0.9 s read, instant mapped), and a write changes
    this process's copy only. An entry is never rewritten in place (new files are renamed over
    old ones), so a mapped file stays whole even if the cache is cleared meanwhile."""
    arrays = []
    with path.open("rb") as handle:
        for _ in range(count):
            version = np.lib.format.read_magic(handle)
            read_header = _HEADER_READERS.get(version)
            if read_header is None:
                raise ValueError(f"{path.name} holds a .npy record of version {version}")
            shape, fortran, dtype = read_header(handle)
            if dtype.hasobject or fortran:
                raise ValueError(f"{path.name} holds a record that is not a plain array")
            offset = handle.tell()
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if size:
                mapped = np.memmap(path, dtype, mode="c", offset=offset, shape=shape)
                arrays.append(mapped.view(np.ndarray))
            else:
                arrays.append(np.zeros(shape, dtype))
            handle.seek(offset + size)
    return arrays


def _read_csr(path: Path) -> sp.csr_matrix:
    shape, data, indices, indptr = _mapped_records(path, 4)
    if shape.shape != (2,):
        raise ValueError(f"{path.name} holds no matrix shape")
    return sp.csr_matrix((data, indices, indptr), shape=tuple(int(n) for n in shape))


def _load_matrix(folder: Path, stem: str, n_rows: int) -> Any | None:
    """The matrix ``stem.csr`` (or an older entry's ``stem.npz``) or ``stem.npy`` in ``folder``
    with ``n_rows`` rows, else None."""
    sparse, legacy, dense = (folder / f"{stem}{suffix}" for suffix in (".csr", ".npz", ".npy"))
    if sparse.is_file():
        matrix = _read_csr(sparse)
    elif legacy.is_file():
        matrix = sp.load_npz(legacy)
    elif dense.is_file():
        (matrix,) = _mapped_records(dense, 1)
    else:
        return None
    if matrix.ndim != 2 or matrix.shape[0] != n_rows:
        raise ValueError(f"matrix of shape {matrix.shape} for {n_rows} texts")
    return matrix


class FeatureCache:
    """Fitted embedders and their matrices on disk, under ``root/features``.

    Args:
        root: The embedding cache root; default :func:`~arnews_ml.embed.cache.default_cache_dir`.
        max_bytes: Cap of the whole embedding + feature cache; default
            :func:`~arnews_ml.embed.cache_budget.max_cache_bytes` (8 GiB, ``$ARNEWS_CACHE_MAX_BYTES``).
    """

    def __init__(self, root: str | Path | None = None, max_bytes: int | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self.folder = self.root / FEATURES_DIR
        self.max_bytes = max_cache_bytes() if max_bytes is None else int(max_bytes)

    def __repr__(self) -> str:
        return f"FeatureCache(root={str(self.root)!r})"

    def entry_dir(self, fit_key: str) -> Path:
        """Folder of the fitted entry ``fit_key``."""
        return self.folder / fit_key[:_KEY_CHARS]

    def _discard(self, path: Path, error: BaseException | str) -> None:
        logger.warning("feature cache: dropping unreadable entry %s (%s)", path, error)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()

    def _evict(self, keep: Path) -> None:
        try:
            enforce_cap(self.root, self.max_bytes, keep=(keep,))
        except OSError as error:  # pragma: no cover - a vanished folder mid-scan
            logger.warning("feature cache: eviction failed (%s)", error)

    # --- fitted entries ------------------------------------------------------------------------

    def load_fitted(self, fit_key: str, n_rows: int) -> tuple[Path, Any] | None:
        """``(entry folder, training matrix)`` for ``fit_key``, or None (missing or damaged)."""
        folder = self.entry_dir(fit_key)
        meta_path = folder / META_FILE
        if not meta_path.is_file():
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("key") != fit_key or meta.get("format") != _FORMAT:
                raise ValueError("entry of another key or format")
            matrix = _load_matrix(folder, "train", n_rows)
            if matrix is None:
                raise ValueError("no training matrix")
        except _READ_ERRORS as error:
            self._discard(folder, error)
            return None
        touch(meta_path)
        return folder, matrix

    def load_embedder(self, folder: Path) -> Any:
        """The fitted embedder saved in the entry ``folder`` (raises when it is gone)."""
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        return load_embedder(folder / _EMBEDDER_DIR, meta["entry"])

    def store_fitted(self, fit_key: str, embedder: Any, matrix: Any) -> Path | None:
        """Write the fitted ``embedder`` and its training ``matrix`` as the entry ``fit_key``.

        The entry is assembled in a temporary folder and renamed into place; when another
        process got there first its entry is kept. Returns the entry folder (None if not written).
        """
        target = self.entry_dir(fit_key)
        if (target / META_FILE).is_file():
            return target
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=self.folder))
        try:
            entry = embedder.save(tmp / _EMBEDDER_DIR)
            with open(tmp / _matrix_name("train", matrix), "wb") as handle:
                _save_matrix(handle, matrix)
            meta = {
                "format": _FORMAT,
                "key": fit_key,
                "spec": embedder.spec.to_dict(),
                "entry": entry,
                "shape": list(matrix.shape),
            }
            (tmp / META_FILE).write_text(
                json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
            )
            if target.exists() and not (target / META_FILE).is_file():
                shutil.rmtree(target, ignore_errors=True)  # a damaged entry
            try:
                os.rename(tmp, target)
            except OSError:
                if not (target / META_FILE).is_file():
                    raise
                return target  # another process stored the same entry meanwhile
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        self._evict(target)
        return target

    # --- matrices of other texts ---------------------------------------------------------------

    def load_encoded(self, fit_key: str, key: str, n_rows: int) -> Any | None:
        """The stored matrix of the texts ``key`` under entry ``fit_key``, or None."""
        folder = self.entry_dir(fit_key) / _ENCODED_DIR
        stem = key[:_KEY_CHARS]
        try:
            matrix = _load_matrix(folder, stem, n_rows)
        except _READ_ERRORS as error:
            for suffix in (".csr", ".npz", ".npy"):
                self._discard(folder / f"{stem}{suffix}", error)
            return None
        if matrix is not None:
            touch(self.entry_dir(fit_key) / META_FILE)
        return matrix

    def store_encoded(self, fit_key: str, key: str, matrix: Any) -> Path | None:
        """Store the matrix of the texts ``key`` (only while the entry ``fit_key`` exists)."""
        entry = self.entry_dir(fit_key)
        if not (entry / META_FILE).is_file():
            return None
        folder = entry / _ENCODED_DIR
        folder.mkdir(exist_ok=True)
        path = folder / _matrix_name(key[:_KEY_CHARS], matrix)
        _write_atomic(path, lambda handle: _save_matrix(handle, matrix))
        self._evict(entry)
        return path

    # --- cleaned texts -------------------------------------------------------------------------

    def load_texts(self, key: str, n_rows: int) -> list[str] | None:
        """Cleaned texts stored under ``key``, or None."""
        path = self.folder / f"clean-{key[:_KEY_CHARS]}.json"
        if not path.is_file():
            return None
        try:
            texts = json.loads(path.read_text(encoding="utf-8"))
            if not (isinstance(texts, list) and len(texts) == n_rows):
                raise ValueError(f"{type(texts).__name__} for {n_rows} texts")
            if not all(isinstance(t, str) for t in texts):
                raise ValueError("not a list of strings")
        except _READ_ERRORS as error:
            self._discard(path, error)
            return None
        touch(path)
        return texts

    def store_texts(self, key: str, texts: list[str]) -> Path:
        """Store cleaned texts under ``key`` (atomic)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"clean-{key[:_KEY_CHARS]}.json"
        data = json.dumps(texts, ensure_ascii=False).encode("utf-8")
        _write_atomic(path, lambda handle: handle.write(data))
        self._evict(path)
        return path


class CachedFeatures:
    """Wrap a fitted-per-run embedder (TF-IDF) so that its fit and matrices are reused across runs.

    ``fit_encode(texts)`` looks up the key ``sha256(spec, digests of the texts in order)``: on a
    hit it returns the stored training matrix (byte-identical to a fresh fit) and loads the
    fitted embedder only when something needs it (another list of texts not cached, ``save``);
    on a miss it fits, stores both and returns the matrix. ``encode(texts)`` of 32 texts or more
    after such a fit is cached the same way under the fit's entry. The texts reaching the
    embedder are the text pipeline's output, so the key covers the cleaning too.

    ``hits`` / ``misses`` count texts served from the cache / sent to the embedder (cumulative);
    :meth:`stats` gives them as ``cache_hits`` / ``cache_misses``. Writing errors are logged and
    ignored (the run goes on without caching).

    Args:
        embedder: An embedder with ``save`` whose kind :func:`~arnews_ml.embed.base.load_embedder`
            can load (TF-IDF, or any ``arnews_ml`` embedder).
        cache: The store; default ``FeatureCache()``.
    """

    cacheable = False

    def __init__(self, embedder: Any, cache: FeatureCache | None = None) -> None:
        self.embedder = embedder
        self.cache = cache if cache is not None else FeatureCache()
        self.hits = 0
        self.misses = 0
        self._fit_key: str | None = None
        self._pending: Path | None = None  # entry folder whose embedder is not loaded yet
        self._train_texts: list[str] | None = None
        self._dim: int | None = None

    def __repr__(self) -> str:
        return f"CachedFeatures({self.embedder!r}, {self.cache!r})"

    @property
    def spec(self) -> EmbedderSpec:
        """The wrapped embedder's spec."""
        return self.embedder.spec

    @property
    def dim(self) -> int:
        """Number of columns (read from the cached matrix when the embedder is not loaded)."""
        if self._pending is not None and self._dim is not None:
            return self._dim
        return self.embedder.dim

    def stats(self) -> dict[str, int]:
        """Cumulative counters as metrics: ``{"cache_hits": ..., "cache_misses": ...}``."""
        return {"cache_hits": self.hits, "cache_misses": self.misses}

    def fitted(self) -> Any:
        """The wrapped embedder, fitted (loaded from the cache entry on first need)."""
        if self._pending is not None:
            folder, self._pending = self._pending, None
            try:
                self.embedder = self.cache.load_embedder(folder)
            except (*_READ_ERRORS, ArnewsError) as error:
                logger.warning(
                    "feature cache: entry %s vanished or is damaged (%s); fitting again",
                    folder,
                    error,
                )
                fit_encode(self.embedder, self._train_texts or [])
            self._train_texts = None
        return self.embedder

    def fit(self, texts: Sequence[str]) -> CachedFeatures:
        """Fit (or restore) the embedder; returns self."""
        self.fit_encode(texts)
        return self

    def fit_encode(self, texts: Sequence[str]) -> Any:
        """The training matrix of ``texts``: from the cache, or fitted and stored."""
        texts = list(texts)
        key = texts_key("fit:" + self.embedder.spec.canonical_json(), texts)
        self._fit_key, self._pending, self._train_texts = key, None, None
        found = self.cache.load_fitted(key, len(texts))
        if found is not None:
            self._pending, matrix = found
            self._train_texts, self._dim = texts, int(matrix.shape[1])
            self.hits += len(texts)
            logger.info("feature cache hit key=%s texts=%d", key[:16], len(texts))
            return matrix
        matrix = fit_encode(self.embedder, texts)
        self.misses += len(texts)
        try:
            self.cache.store_fitted(key, self.embedder, matrix)
        except _WRITE_ERRORS as error:
            logger.warning("feature cache: could not write to %s (%s)", self.cache.folder, error)
        logger.info("feature cache miss key=%s texts=%d (stored)", key[:16], len(texts))
        return matrix

    def encode(self, texts: Sequence[str]) -> Any:
        """The matrix of ``texts`` under the current fit: from the cache, or encoded and stored."""
        texts = list(texts)
        if self._fit_key is None or len(texts) < MIN_TEXTS:
            return self.fitted().encode(texts)
        key = texts_key(self._fit_key, texts)
        matrix = self.cache.load_encoded(self._fit_key, key, len(texts))
        if matrix is not None:
            self.hits += len(texts)
            return matrix
        matrix = self.fitted().encode(texts)
        self.misses += len(texts)
        try:
            self.cache.store_encoded(self._fit_key, key, matrix)
        except _WRITE_ERRORS as error:
            logger.warning("feature cache: could not write to %s (%s)", self.cache.folder, error)
        return matrix

    def save(self, directory: str | Path) -> dict[str, Any]:
        """Save the fitted embedder (the cache is not part of a bundle)."""
        return self.fitted().save(directory)


class CachedCleaner:
    """Wrap a fitted text cleaner so that its output for a list of 32 or more articles is reused.

    The key is the cleaner's state (``to_dict()``: normaliser switches, learned boilerplate) and
    the digests of the articles in order. Used by the training task while it trains and
    evaluates; the bundle saves the wrapped cleaner itself.

    Args:
        cleaner: A callable ``list[str] -> list[str]`` with ``to_dict()``.
        cache: The store; default ``FeatureCache()``.
    """

    def __init__(self, cleaner: Any, cache: FeatureCache | None = None) -> None:
        self.cleaner = cleaner
        self.cache = cache if cache is not None else FeatureCache()
        state = json.dumps(cleaner.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
        self._prefix = "clean:" + hashlib.sha256(state.encode("utf-8")).hexdigest()

    def __repr__(self) -> str:
        return f"CachedCleaner({self.cleaner!r}, {self.cache!r})"

    def __call__(self, texts: Sequence[str]) -> list[str]:
        texts = list(texts)
        if len(texts) < MIN_TEXTS:
            return list(self.cleaner(texts))
        key = texts_key(self._prefix, texts)
        found = self.cache.load_texts(key, len(texts))
        if found is not None:
            return found
        cleaned = list(self.cleaner(texts))
        try:
            self.cache.store_texts(key, cleaned)
        except _WRITE_ERRORS as error:
            logger.warning("feature cache: could not write to %s (%s)", self.cache.folder, error)
        return cleaned
