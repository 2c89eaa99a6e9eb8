"""Per-word results of a fitted TF-IDF part, remembered across batches (bounded).

At transform time each TF-IDF part turns every distinct word of a batch into a short integer
sequence: the vocabulary columns of its character n-grams, or the token numbers of its word
tokens. News repeats its words from one batch to the next (a served model, a corpus labelled in
chunks), so a fitted part keeps these sequences in a :class:`WordTable` and computes only the
words it has not seen. The table is a cache: it never changes a result, it is bounded
(:data:`MAX_WORDS`; when full it starts again empty), and it is not saved with the model. Its
arrays grow in place (capacity doubling), so a call costs what its own words cost, not the
table's size.
"""

from __future__ import annotations

import itertools
import os
import threading
import weakref
from collections.abc import Callable

import numpy as np

__all__ = ["MAX_WORDS", "WordTable", "gather_rows"]

#: Distinct words a table holds before it is emptied (about 60 MB with ``char_wb`` 3-5 grams).
MAX_WORDS = 1 << 18

#: Computes, for a list of words, ``(ptr, values)``: word i's sequence is values[ptr[i]:ptr[i+1]].
Ragged = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]


#: Live tables, whose locks are held across a fork (see :func:`_hold_locks`).
_TABLES: weakref.WeakSet[WordTable] = weakref.WeakSet()


def _hold_locks() -> None:
    """Before a fork: take every table's lock, so no table is copied half-updated by another
    thread (batch scoring forks workers, maybe inside a multi-threaded server)."""
    for table in list(_TABLES):
        table._lock.acquire()


def _release_locks() -> None:
    for table in list(_TABLES):
        if table._lock.locked():
            table._lock.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_hold_locks, after_in_parent=_release_locks, after_in_child=_release_locks
    )


def _grown(array: np.ndarray, size: int) -> np.ndarray:
    """``array`` with room for ``size`` items: itself, or a copy twice as large."""
    if size <= len(array):
        return array
    bigger = np.zeros(max(size, 2 * len(array)), array.dtype)
    bigger[: len(array)] = array
    return bigger


def gather_rows(
    rows: np.ndarray, ptr: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The sequences of table ``rows`` as a ragged pair of their own (``(ptr, values)``)."""
    starts = ptr.take(rows)
    lengths = ptr.take(rows + 1) - starts
    local = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(lengths, out=local[1:])
    shift = np.repeat(starts - local[:-1], lengths)
    return local, values.take(shift + np.arange(int(local[-1])))


class WordTable:
    """Distinct words -> row numbers of a ragged int64 table, filled on demand.

    Args:
        compute: The per-word sequences of a list of words (see :data:`Ragged`).
        max_words: Bound on the rows kept (default :data:`MAX_WORDS`); a batch with more
            distinct words still works: the table then holds exactly that batch's words.
    """

    def __init__(self, compute: Ragged, max_words: int | None = None) -> None:
        self._compute = compute
        self._max_words = MAX_WORDS if max_words is None else max_words
        self._lock = threading.Lock()  # a served model may predict from several threads
        self._clear()
        _TABLES.add(self)

    def _clear(self) -> None:
        self.rows: dict[str, int] = {}
        self._ptr = np.zeros(1024, np.int64)  # row r: values[ptr[r]:ptr[r + 1]]
        self._values = np.zeros(16 * 1024, np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def lookup(self, words: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The table row of each of ``words`` (distinct), computing the new ones.

        Returns:
            ``(rows, ptr, values)``: each word's row, and the table those rows index (views
            whose entries never change afterwards, even while another thread adds words).
        """
        with self._lock:
            found = np.fromiter(
                map(self.rows.get, words, itertools.repeat(-1)), np.int64, len(words)
            )
            missing = np.flatnonzero(found < 0)
            if len(missing):
                if len(self.rows) + len(missing) > self._max_words:
                    self._clear()
                    found[:] = -1
                    missing = np.arange(len(words))
                new = [words[i] for i in missing.tolist()]
                ptr, values = self._compute(new)
                start, end = len(self.rows), len(self.rows) + len(new)
                used = int(self._ptr[start])
                self._ptr = _grown(self._ptr, end + 1)
                self._values = _grown(self._values, used + len(values))
                self._ptr[start + 1 : end + 1] = ptr[1:] + used
                self._values[used : used + len(values)] = values
                self.rows.update(zip(new, range(start, end), strict=True))
                found[missing] = np.arange(start, end)
            n = len(self.rows)
            return found, self._ptr[: n + 1], self._values[: int(self._ptr[n])]
