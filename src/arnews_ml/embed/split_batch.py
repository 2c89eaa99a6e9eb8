"""A batch of documents split at whitespace once, shared by both TF-IDF parts at transform.

Character n-grams (``char_wb``) never cross whitespace and neither do the word analyzer's tokens
(:data:`~arnews_ml.text.tokenize.ARABIC_TOKEN_PATTERN` holds no space), so both parts can work
per *distinct* word of the batch and map the result back to the documents with numpy: the batch
is split and its words numbered once, instead of once per part and per occurrence.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from arnews_ml.embed.ngram_keys import numbered

__all__ = ["SplitBatch", "index_dtype", "narrowed"]


def index_dtype(*sizes: int) -> type:
    """32-bit sparse indices when every size fits in them, else 64-bit (half the memory traffic
    of every product, sum and copy; the arithmetic is the same)."""
    return np.int32 if max(sizes) < 2**31 else np.int64


def narrowed(counts: sp.csr_array) -> sp.csr_array:
    """A count matrix as float32 with 32-bit indices when they fit (a cheaper product)."""
    index = index_dtype(counts.nnz, *counts.shape)
    return sp.csr_array(
        (
            counts.data.astype(np.float32, copy=False),
            counts.indices.astype(index, copy=False),
            counts.indptr.astype(index, copy=False),
        ),
        shape=counts.shape,
    )


@dataclass
class SplitBatch:
    """The documents, their distinct words and each document's word numbers in reading order."""

    docs: Sequence[str]
    words: list[str]  # distinct whitespace-separated words, numbered in order of appearance
    word_ids: np.ndarray  # the word number of every occurrence, documents back to back
    indptr: np.ndarray  # document d's occurrences are word_ids[indptr[d]:indptr[d + 1]]

    @classmethod
    def of(cls, docs: Sequence[str]) -> SplitBatch:
        """Split ``docs`` at whitespace (``str.split()``) and number their words."""
        numbers = numbered()
        indptr, ids = array("q", [0]), array("q")
        for doc in docs:
            ids.extend([numbers[w] for w in doc.split()])
            indptr.append(len(ids))
        return cls(
            docs, list(numbers), np.frombuffer(ids, np.int64), np.frombuffer(indptr, np.int64)
        )

    @property
    def n_docs(self) -> int:
        return len(self.indptr) - 1

    def doc_words(self, dtype: type) -> sp.csr_array:
        """(documents x words) counts, one entry per occurrence (a product sums them); its index
        arrays are its own (summing its duplicates in place leaves the batch as it was), 32-bit
        when they fit, so a product with it has 32-bit indices too."""
        index = index_dtype(len(self.word_ids), len(self.words))
        return sp.csr_array(
            (
                np.ones(len(self.word_ids), dtype),
                self.word_ids.astype(index),
                self.indptr.astype(index),
            ),
            shape=(self.n_docs, len(self.words)),
        )

    def expand(
        self, rows: np.ndarray, ptr: np.ndarray, values: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-word sequences laid out in the documents' reading order.

        Args:
            rows: The table row of each of the batch's words.
            ptr, values: The table: row r's sequence is ``values[ptr[r]:ptr[r + 1]]``.

        Returns:
            ``(sequence, doc_of)``: the concatenation, occurrence by occurrence, of each word's
            sequence, and the document of each of its items.
        """
        occurrence_rows = rows.take(self.word_ids)
        starts = ptr.take(occurrence_rows)
        lengths = ptr.take(occurrence_rows + 1) - starts
        ends = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(lengths, out=ends[1:])
        # item i of an occurrence is values[ptr[row] + i]; the occurrence's run starts at ends[o]
        shift = np.repeat(starts - ends[:-1], lengths)
        doc_lengths = ends.take(self.indptr[1:]) - ends.take(self.indptr[:-1])
        doc_of = np.repeat(np.arange(self.n_docs), doc_lengths)
        return values.take(shift + np.arange(int(ends[-1]))), doc_of
