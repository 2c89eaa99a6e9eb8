"""Word and character n-gram TF-IDF counted per distinct token: scikit-learn's results, faster.

``TfidfVectorizer`` runs its analyzer and a dictionary lookup for every n-gram occurrence in
Python. Here Python touches each document's tokens once (to number them) and each *distinct*
token once (to analyse it); n-grams are then numbered and counted with numpy and sparse
products in C. Vocabulary order (alphabetical), ``min_df``/``max_df``/``max_features``
pruning with scikit-learn's tie-breaking, idf and the L2-normalised rows are those of
``TfidfVectorizer`` (checked equal in the tests).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2

from arnews_ml.embed.ngram_keys import (
    CodedGrams,
    CodedVocabulary,
    CodedWords,
    distinct_count,
    numbered,
)
from arnews_ml.embed.split_batch import SplitBatch, index_dtype, narrowed
from arnews_ml.embed.word_table import Ragged, WordTable, gather_rows
from arnews_ml.text.tokenize import ArabicAnalyzer

__all__ = ["CharNgramTfidf", "NgramTfidf", "WordNgramTfidf", "char_wb_ngrams"]


def char_wb_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """Character n-grams of one word padded with spaces, exactly as scikit-learn's ``char_wb``.

    A word shorter than an n-gram size is emitted once (padded) and larger sizes are skipped.
    """
    padded = f" {word} "
    length = len(padded)
    out: list[str] = []
    for n in range(min_n, max_n + 1):
        if length <= n:
            out.append(padded)
            break
        out.extend([padded[i : i + n] for i in range(length - n + 1)])
    return out


def _csr(indptr: array, cols: array, shape: tuple[int, int], dtype: Any) -> sp.csr_array:
    """Count matrix with one entry per (row, col) occurrence; duplicates are kept (and summed
    by every later product or conversion)."""
    return sp.csr_array(
        (
            np.ones(len(cols), dtype),
            np.frombuffer(cols, np.int64),
            np.frombuffer(indptr, np.int64),
        ),
        shape=shape,
    )


@dataclass
class _Counts:
    """Term counts of a batch over the batch's own term numbering."""

    matrix: sp.csr_array  # (documents x batch terms), counts as floats, no duplicate entries
    n_terms: int
    terms: Callable[[np.ndarray], list[str]]  # batch term numbers -> term strings


class NgramTfidf:
    """Shared fit/transform of the n-gram parts; subclasses say how a batch is counted.

    Args:
        ngram_range: (min_n, max_n) n-gram sizes.
        min_df, max_df, max_features, sublinear_tf, dtype: As in ``TfidfVectorizer``.
    """

    #: What a fitted part builds on first use and keeps (never pickled, dropped by a refit):
    #: its term -> column dict, its coded vocabulary (:mod:`ngram_keys`) and its word table
    #: (:mod:`word_table`).
    _CACHES = ("_vocabulary", "_coded_vocabulary", "_per_word")

    def __init__(
        self,
        ngram_range: tuple[int, int],
        min_df: int | float = 1,
        max_df: int | float = 1.0,
        max_features: int | None = None,
        sublinear_tf: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        self.ngram_range = tuple(ngram_range)
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.dtype = dtype

    @property
    def idf_(self) -> np.ndarray:
        """Inverse document frequency per term, shape (n_features,)."""
        return self._tfidf.idf_

    @property
    def vocabulary_(self) -> dict[str, int]:
        """Term -> column, as scikit-learn's; built from :attr:`terms_` on first use (the fast
        transform never needs it, so neither a load nor a fit pays for hashing every term)."""
        vocabulary = self.__dict__.get("_vocabulary")
        if vocabulary is None:  # terms_ are distinct: a fit makes them so, from_fitted checks
            terms = self.terms_
            vocabulary = self.__dict__["_vocabulary"] = dict(
                zip(terms, range(len(terms)), strict=True)
            )
        return vocabulary

    @property
    def n_terms_(self) -> int:
        """Number of fitted terms (columns)."""
        return len(self.terms_)

    @classmethod
    def from_fitted(cls, terms: list[str], idf: np.ndarray, **params: Any) -> Self:
        """Rebuild a fitted instance from its terms in column order and its idf (what
        ``save`` writes).

        Raises:
            ValueError: A term is repeated, or the idf is not one number per term.
        """
        terms, idf = list(terms), np.asarray(idf)
        n_distinct = distinct_count(terms)
        if n_distinct != len(terms) or idf.shape != (len(terms),):
            raise ValueError(
                f"{len(terms)} terms ({n_distinct} distinct) and idf of shape {idf.shape}"
            )
        self = cls(**params)
        self.terms_ = terms
        self._tfidf = self._transformer()
        self._tfidf.idf_ = idf
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for cache in self._CACHES:  # rebuilt on first use
            state.pop(cache, None)
        return state

    def _word_table(self, compute: Ragged) -> WordTable:
        """This fitted part's per-word results, kept across batches (see :mod:`word_table`)."""
        table = self.__dict__.get("_per_word")
        if table is None:
            table = self.__dict__["_per_word"] = WordTable(compute)
        return table

    def _weighted(self, counts: sp.csr_array) -> sp.csr_array:
        """``self._tfidf.transform(counts)`` in place (sublinear tf, idf, unit L2 rows): the same
        operations in the same order, without the input checks (``counts`` is this module's
        own matrix of summed counts) or their index sorting."""
        data = counts.data
        if self.sublinear_tf:
            np.log(data, out=data)
            data += 1.0
        data *= self.idf_[counts.indices]
        inplace_csr_row_normalize_l2(counts)
        return counts

    def _transformer(self) -> TfidfTransformer:
        return TfidfTransformer(
            norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=self.sublinear_tf
        )

    def _count(self, docs: Sequence[str]) -> _Counts:
        raise NotImplementedError

    def _select(self, matrix: sp.csr_array, columns: np.ndarray, n_columns: int) -> sp.csr_array:
        """Counts moved to ``columns[batch term]`` (< 0: dropped), as ``self.dtype``."""
        index = index_dtype(matrix.nnz, n_columns)
        new = columns.astype(index, copy=False).take(matrix.indices)
        data = matrix.data.astype(self.dtype, copy=False)
        dropped = new < 0
        if dropped.any():
            data[dropped] = 0  # removed below, in C, without rebuilding the index arrays here
            new[dropped] = 0
        out = sp.csr_array(
            (data, new, matrix.indptr.astype(index, copy=False)),
            shape=(matrix.shape[0], n_columns),
        )
        out.eliminate_zeros()
        return out

    def fit_transform(self, docs: Sequence[str]) -> sp.csr_array:
        """Learn the vocabulary and idf; return the TF-IDF rows of ``docs``."""
        for cache in self._CACHES:  # built for an earlier fit
            self.__dict__.pop(cache, None)
        counts = self._count(docs)
        if counts.n_terms == 0:
            raise ValueError("empty vocabulary; the documents contain no terms")
        matrix = counts.matrix
        n_doc = matrix.shape[0]
        max_doc = self.max_df if isinstance(self.max_df, Integral) else self.max_df * n_doc
        min_doc = self.min_df if isinstance(self.min_df, Integral) else self.min_df * n_doc
        if max_doc < min_doc:
            raise ValueError("max_df corresponds to < documents than min_df")
        dfs = np.bincount(matrix.indices, minlength=counts.n_terms)  # rows hold no duplicates
        kept = np.flatnonzero((dfs <= max_doc) & (dfs >= min_doc))
        # Alphabetical order of the survivors, then max_features on that order: the same
        # columns and ties as scikit-learn, which sorts first and prunes after.
        terms = counts.terms(kept)
        order = sorted(range(len(terms)), key=terms.__getitem__)
        kept = kept[np.asarray(order, dtype=np.intp)]
        terms = [terms[i] for i in order]
        if self.max_features is not None and len(kept) > self.max_features:
            tfs = np.bincount(matrix.indices, weights=matrix.data, minlength=counts.n_terms)
            # in scikit-learn's dtype (its counts are self.dtype): argsort breaks ties by dtype
            tfs = tfs.astype(self.dtype)
            best = np.sort((-tfs[kept]).argsort()[: self.max_features])
            kept = kept[best]
            terms = [terms[i] for i in best]
        if len(kept) == 0:
            raise ValueError(
                "After pruning, no terms remain. Try a lower min_df or a higher max_df."
            )
        self.terms_ = terms  # in column order; vocabulary_ is built from them when asked for
        columns = np.full(counts.n_terms, -1, dtype=np.int64)
        columns[kept] = np.arange(len(kept))
        selected = self._select(matrix, columns, len(kept))
        self._tfidf = self._idf_of(dfs[kept], n_doc, selected.dtype)
        return self._weighted(selected)

    def _idf_of(self, dfs: np.ndarray, n_doc: int, dtype: Any) -> TfidfTransformer:
        """The transformer ``TfidfTransformer().fit`` would give for these document
        frequencies (its smoothed idf, computed the same way), without counting them again."""
        df = dfs.astype(dtype)
        df += 1.0  # smooth_idf: one document holding every term
        idf = np.full_like(df, fill_value=n_doc + 1, dtype=dtype)
        idf /= df
        np.log(idf, out=idf)
        idf += 1.0
        transformer = self._transformer()
        transformer.idf_ = idf
        transformer.n_features_in_ = len(idf)
        return transformer

    def transform(self, docs: Sequence[str]) -> sp.csr_array:
        """TF-IDF rows of ``docs`` over the fitted vocabulary (unknown terms are ignored)."""
        counts = self._count(docs)
        lookup = self.vocabulary_.get
        names = counts.terms(np.arange(counts.n_terms))
        columns = np.fromiter((lookup(t, -1) for t in names), np.int64, counts.n_terms)
        selected = self._select(counts.matrix, columns, self.n_terms_)
        return self._tfidf.transform(selected, copy=False)


class CharNgramTfidf(NgramTfidf):
    """``TfidfVectorizer(analyzer="char_wb")`` computed per distinct word.

    ``char_wb`` n-grams never cross whitespace, so a document's n-gram counts are its word
    counts times each word's n-gram counts: (docs x words) @ (words x n-grams), a sparse
    product in C.
    """

    def __init__(self, ngram_range: tuple[int, int] = (2, 5), **limits: Any) -> None:
        super().__init__(ngram_range, **limits)

    def _count(self, docs: Sequence[str]) -> _Counts:
        batch = SplitBatch.of(docs)
        words = batch.words
        min_n, max_n = self.ngram_range
        coded = CodedGrams.build(words, min_n, max_n)
        if coded is not None:
            numbers, keys = pd.factorize(coded.keys)
            word_grams = sp.coo_array(
                (np.ones(len(numbers), self.dtype), (coded.word_of, numbers)),
                shape=(len(words), len(keys)),
            ).tocsr()

            def terms(selected: np.ndarray) -> list[str]:
                return coded.decode(keys[selected])

        else:  # an alphabet too large to pack max_n characters in 63 bits: number them here
            grams = numbered()
            word_ptr, gram_ids = array("q", [0]), array("q")
            for word in words:  # insertion order = word number
                gram_ids.extend([grams[g] for g in char_wb_ngrams(word, min_n, max_n)])
                word_ptr.append(len(gram_ids))
            word_grams = _csr(word_ptr, gram_ids, (len(words), len(grams)), self.dtype)
            names = list(grams)

            def terms(selected: np.ndarray) -> list[str]:
                return [names[i] for i in selected.tolist()]

        # The product sums a word's repeated n-grams (and the repeats of a word, summed first,
        # which halves its work); its rows come out without duplicates (columns unsorted, which
        # no later step needs). Counts are small integers: exact in float32.
        doc_words = batch.doc_words(np.float32)  # 32-bit indices when they fit
        doc_words.sum_duplicates()
        counts = sp.csr_array(doc_words @ narrowed(word_grams))
        return _Counts(counts, word_grams.shape[1], terms)

    def transform(self, docs: Sequence[str]) -> sp.csr_array:
        """TF-IDF rows of ``docs`` over the fitted vocabulary (unknown n-grams are ignored)."""
        return self.transform_split(SplitBatch.of(docs))

    def transform_split(self, batch: SplitBatch) -> sp.csr_array:
        """TF-IDF rows of a split batch: each distinct word's n-grams are integer keys looked up
        in the fitted vocabulary's keys (no n-gram string is built); what
        ``NgramTfidf.transform`` gives."""
        coded = CodedVocabulary.of(self)
        if coded is None:
            return super().transform(batch.docs)
        table = self._word_table(lambda words: self._word_columns(coded, words))
        ptr, columns = gather_rows(*table.lookup(batch.words))
        # Counts are small integers, exact in float32; 32-bit indices halve the product's memory
        # traffic.
        word_columns = narrowed(
            sp.csr_array(
                (np.ones(len(columns), np.float32), columns, ptr),
                shape=(len(batch.words), self.n_terms_),
            )
        )
        # A document's words stay in reading order and each word's n-grams in the order its
        # string gives them, so the product lists a row's columns in an order that depends on
        # the article alone: it scores the same, to the last bit, in any batch or slice.
        counts = sp.csr_array(batch.doc_words(np.float32) @ word_columns)
        # (not counts.astype: on a product's unsorted rows it sorts them first)
        data = counts.data.astype(self.dtype, copy=False)
        return self._weighted(sp.csr_array((data, counts.indices, counts.indptr), counts.shape))

    def _word_columns(
        self, coded: CodedVocabulary, words: list[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per word, the vocabulary columns of its n-grams (repeats kept, unknown left out)."""
        min_n, max_n = self.ngram_range
        grams = CodedGrams.build(words, min_n, max_n, alphabet=coded.alphabet)
        assert grams is not None  # a fixed alphabet always codes
        columns = coded.columns_of(grams.keys)
        hit = np.flatnonzero(columns >= 0)
        word_of = grams.word_of[hit]
        order = np.argsort(word_of, kind="stable")
        ptr = np.zeros(len(words) + 1, np.int64)
        np.cumsum(np.bincount(word_of, minlength=len(words)), out=ptr[1:])
        return ptr, columns[hit][order]


class WordNgramTfidf(NgramTfidf):
    """``TfidfVectorizer(analyzer=ArabicAnalyzer(ngram_range=...))`` computed per distinct token.

    Each distinct raw token is analysed once (:meth:`ArabicAnalyzer.process_token`); n-grams
    are numbered from pairs of numbers ((n-1)-gram, last token) inside each document, so an
    n-gram's string is only built for terms that survive pruning (fit) or once per distinct
    n-gram of a batch (transform).

    Args:
        analyzer: Tokenisation and per-token steps; its own ``ngram_range`` is ignored.
        ngram_range: (min_n, max_n) word n-gram sizes.
    """

    def __init__(
        self,
        analyzer: ArabicAnalyzer | None = None,
        ngram_range: tuple[int, int] = (1, 2),
        **limits: Any,
    ) -> None:
        super().__init__(ngram_range, **limits)
        self.analyzer = analyzer if analyzer is not None else ArabicAnalyzer()

    def _tokens(self, docs: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Token numbers (dropped tokens left out), each token's document, the token strings."""
        analyzer = self.analyzer
        raw = numbered()
        indptr, ids = array("q", [0]), array("q")
        for doc in docs:
            ids.extend([raw[t] for t in analyzer.raw_tokens(doc)])
            indptr.append(len(ids))
        tokens = numbered()
        token_of_raw = np.fromiter(
            (-1 if t is None else tokens[t] for t in analyzer.process_tokens(list(raw))),
            np.int64,
            len(raw),
        )
        numbers = token_of_raw.take(np.frombuffer(ids, np.int64))
        doc_of = np.repeat(np.arange(len(docs)), np.diff(np.frombuffer(indptr, np.int64)))
        kept = numbers >= 0
        return numbers[kept], doc_of[kept], list(tokens)

    def _count(self, docs: Sequence[str]) -> _Counts:
        tokens, doc_of, names = self._tokens(docs)
        n_tokens = len(names)
        min_n, max_n = self.ngram_range
        # level n: the n-gram number starting at each position (-1: crosses a document end),
        # and per n-gram number its (n-1)-gram number and last token.
        at_position = tokens
        parents: list[tuple[np.ndarray, np.ndarray]] = []
        rows, cols, offsets = [], [], []
        n_terms = 0
        for n in range(1, max_n + 1):
            if n > 1:
                prefix = at_position[:-1]
                inside = (prefix >= 0) & (doc_of[: len(prefix)] == doc_of[n - 1 :])
                keys = prefix[inside] * n_tokens + tokens[n - 1 :][inside]
                codes, uniques = pd.factorize(keys)
                at_position = np.full(len(prefix), -1, dtype=np.int64)
                at_position[inside] = codes
                parents.append((uniques // n_tokens, uniques % n_tokens))
                size = len(uniques)
            else:
                size = n_tokens
            if n >= min_n:
                valid = at_position >= 0
                rows.append(doc_of[: len(at_position)][valid])
                cols.append(at_position[valid] + n_terms)
                offsets.append(n_terms)
                n_terms += size
        matrix = sp.coo_array(
            (
                np.ones(sum(map(len, rows)), self.dtype),
                (np.concatenate(rows), np.concatenate(cols)),
            ),
            shape=(len(docs), n_terms),
        ).tocsr()  # sums the repeated (document, term) entries
        bounds = np.asarray([*offsets, n_terms])

        def strings(level: int, numbers: np.ndarray) -> list[str]:
            if level == 1:
                return [names[i] for i in numbers.tolist()]
            prefix, last = parents[level - 2]
            heads = strings(level - 1, prefix[numbers])
            return [f"{h} {names[t]}" for h, t in zip(heads, last[numbers].tolist(), strict=True)]

        def terms(numbers: np.ndarray) -> list[str]:
            out = [""] * len(numbers)
            level_of = np.searchsorted(bounds, numbers, side="right")  # 1-based level index
            for index, level in enumerate(range(min_n, max_n + 1), start=1):
                where = np.flatnonzero(level_of == index)
                local = numbers[where] - offsets[index - 1]
                for position, term in zip(where.tolist(), strings(level, local), strict=True):
                    out[position] = term
            return out

        return _Counts(sp.csr_array(matrix), n_terms, terms)

    def transform(self, docs: Sequence[str]) -> sp.csr_array:
        """TF-IDF rows of ``docs`` over the fitted vocabulary (unknown n-grams are ignored)."""
        return self.transform_split(SplitBatch.of(docs))

    def transform_split(self, batch: SplitBatch) -> sp.csr_array:
        """TF-IDF rows of a split batch: each distinct word is tokenised once and its tokens
        looked up once; n-grams become integer keys looked up in the fitted vocabulary's keys
        (no n-gram string is built). What ``NgramTfidf.transform`` gives."""
        coded = CodedWords.of(self)
        if coded is None or not self.analyzer.splits_at_whitespace:
            return super().transform(batch.docs)
        table = self._word_table(lambda words: self._word_digits(coded, words))
        digits, doc_of = batch.expand(*table.lookup(batch.words))
        min_n, max_n = self.ngram_range
        rows, keys = [], []
        rolling = digits
        for n in range(1, max_n + 1):
            if n > 1:
                rolling = rolling[:-1] * coded.base + digits[n - 1 :]
            if n >= min_n:
                inside = doc_of[: len(rolling)] == doc_of[n - 1 :]
                rows.append(doc_of[: len(rolling)][inside])
                keys.append(rolling[inside])
        columns = coded.columns_of(np.concatenate(keys)) if keys else np.zeros(0, np.int64)
        hit = columns >= 0
        index = index_dtype(len(hit), batch.n_docs, self.n_terms_)
        counts = sp.coo_array(
            (
                np.ones(int(hit.sum()), self.dtype),
                (np.concatenate(rows)[hit].astype(index), columns[hit].astype(index)),
            ),
            shape=(batch.n_docs, self.n_terms_),
        ).tocsr()  # sums the repeated (document, term) entries
        return self._weighted(sp.csr_array(counts))

    def _word_digits(self, coded: CodedWords, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per word, the digits of its tokens (see :class:`CodedWords`; unknown: T + 1)."""
        word_tokens = self.analyzer.word_tokens(words)
        known, unknown = coded.tokens.get, len(coded.tokens)
        ptr = np.zeros(len(words) + 1, np.int64)
        np.cumsum(np.fromiter(map(len, word_tokens), np.int64, len(words)), out=ptr[1:])
        digits = np.fromiter(
            (known(t, unknown) + 1 for tokens in word_tokens for t in tokens), np.int64, ptr[-1]
        )
        return ptr, digits
