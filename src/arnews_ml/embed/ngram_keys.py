"""Integer keys for n-grams: the batch's n-grams and a fitted vocabulary's, compared in numpy.

Characters (``char_wb``) or tokens (word n-grams) are numbered, and an n-gram of up to ``max_n``
of them is the base-(A + 1) number of its digits, so equal n-grams get equal keys, n-grams of
different lengths never collide, and counting or looking up an n-gram needs no string. Used by
:mod:`arnews_ml.embed.ngram_tfidf`; each builder returns None when the keys would not fit in 63
bits, and the caller falls back to strings.
"""

from __future__ import annotations

import itertools
import operator
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from arnews_ml.embed.ngram_tfidf import CharNgramTfidf, WordNgramTfidf

__all__ = ["CodedGrams", "CodedVocabulary", "CodedWords", "distinct_count", "numbered"]


def numbered() -> defaultdict[str, int]:
    """A dict that gives each new key the next number (0, 1, 2, ...) on first lookup."""
    numbers: defaultdict[str, int] = defaultdict()
    numbers.default_factory = numbers.__len__
    return numbers


@dataclass
class CodedGrams:
    """The ``char_wb`` n-grams of distinct words as integers, computed with numpy.

    Characters are numbered 1..A in the batch's alphabet and an n-gram of up to ``max_n``
    characters is the base-(A+1) number of its characters, so equal strings get equal keys
    and strings of different lengths never collide.
    """

    word_of: np.ndarray  # the word of each n-gram occurrence
    keys: np.ndarray  # its integer key
    alphabet: np.ndarray  # code point of character number i + 1
    max_n: int
    base: int

    @classmethod
    def build(
        cls, words: list[str], min_n: int, max_n: int, alphabet: np.ndarray | None = None
    ) -> CodedGrams | None:
        """The n-grams of ``words`` (each padded with one space a side), or None when keys of
        ``max_n`` characters would not fit in 63 bits or the text holds NUL characters.

        With ``alphabet`` (a fitted vocabulary's, see :class:`CodedVocabulary`) characters are
        numbered in it and any other character gets the extra digit A + 1 (base A + 2), so an
        n-gram holding one never matches a vocabulary key.
        """
        lengths = np.fromiter(map(len, words), np.int64, len(words)) + 2
        text = " " + "  ".join(words) + " "  # the padded words, back to back
        points = np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), np.uint32)
        if alphabet is None:
            alphabet, digits = np.unique(points, return_inverse=True)
            base = len(alphabet) + 1
            if base**max_n >= 2**63 or alphabet[0] == 0:  # (decode reads NUL as an end)
                return None
        else:
            base = len(alphabet) + 2
            # a table from code point to digit - 1 (unknown: A), over the alphabet's range
            table = np.full(int(alphabet[-1]) + 2 if len(alphabet) else 1, len(alphabet))
            table[alphabet] = np.arange(len(alphabet))
            digits = table[np.minimum(points, len(table) - 1)]
        digits = digits.astype(np.int64) + 1
        word_at = np.repeat(np.arange(len(words)), lengths)  # the word of each character
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        word_of, keys = [], []
        rolling = digits  # key of the n characters starting at each position
        for n in range(1, max_n + 1):
            if n > 1:
                rolling = rolling[:-1] * base + digits[n - 1 :]
            if n == min_n:
                # A word shorter than min_n is emitted once, whole.
                short = np.flatnonzero(lengths < min_n)
                for length in np.unique(lengths[short]).tolist():
                    chosen = short[lengths[short] == length]
                    word_of.append(chosen)
                    keys.append(cls._whole(digits, starts[chosen], length, base))
            if n >= min_n:
                inside = np.flatnonzero(word_at[: len(rolling)] == word_at[n - 1 :])
                word_of.append(word_at[inside])
                keys.append(rolling[inside])
        return cls(np.concatenate(word_of), np.concatenate(keys), alphabet, max_n, base)

    @staticmethod
    def _whole(digits: np.ndarray, starts: np.ndarray, length: int, base: int) -> np.ndarray:
        key = np.zeros(len(starts), np.int64)
        for offset in range(length):
            key = key * base + digits[starts + offset]
        return key

    def decode(self, keys: np.ndarray) -> list[str]:
        """The strings of ``keys``."""
        keys = np.asarray(keys, dtype=np.int64)
        lengths = np.zeros(len(keys), np.int64)
        rest = keys.copy()
        while (alive := rest > 0).any():
            lengths += alive
            rest //= self.base
        points = np.zeros((len(keys), max(self.max_n, 1)), np.uint32)
        rest = keys.copy()
        rows = np.arange(len(keys))
        for step in range(self.max_n):  # last character first
            column = lengths - 1 - step
            used = column >= 0
            points[rows[used], column[used]] = self.alphabet[rest[used] % self.base - 1]
            rest //= self.base
        # Fixed-width unicode strings drop their trailing NULs: each row reads as its n-gram.
        return np.ascontiguousarray(points).view(f"<U{points.shape[1]}").ravel().tolist()


def distinct_count(terms: list[str]) -> int:
    """How many distinct terms a fitted vocabulary holds: a fit saves them in strictly
    increasing order, which one pass of comparisons confirms (hashing 600,000 terms into a set
    took a third of a load); a list out of that order is counted with a set."""
    if all(map(operator.lt, terms, itertools.islice(terms, 1, None))):
        return len(terms)
    return len(set(terms))


@dataclass
class _CodedLookup:
    """What both coded vocabularies share: built once per fitted part, looked up by key."""

    keys: pd.Index  # hashed integer keys
    columns: np.ndarray  # the vocabulary column of each key

    @classmethod
    def build(cls, terms: list[str], max_n: int) -> Self | None:
        """The lookup of ``terms`` (a fitted part's, in column order), or None."""
        raise NotImplementedError

    @classmethod
    def of(cls, part: CharNgramTfidf | WordNgramTfidf) -> Self | None:
        """The part's coded vocabulary, built on first use (None: use the string lookup)."""
        cached = part.__dict__.get("_coded_vocabulary", False)
        if cached is False:
            cached = cls.build(part.terms_, part.ngram_range[1])
            part.__dict__["_coded_vocabulary"] = cached
        return cached

    def columns_of(self, keys: np.ndarray) -> np.ndarray:
        """The vocabulary column of each key, -1 where the key is not in the vocabulary."""
        where = self.keys.get_indexer(keys)
        return np.where(where >= 0, self.columns[where], -1)


@dataclass
class CodedVocabulary(_CodedLookup):
    """A fitted ``char_wb`` vocabulary as integer keys, looked up in a hash table in C.

    Built once per fitted part (on first transform) from its vocabulary strings: characters are
    numbered in the vocabulary's own alphabet, base A + 2 (A + 1 marks a character the
    vocabulary never saw), keys as in :class:`CodedGrams`.
    """

    alphabet: np.ndarray

    @classmethod
    def build(cls, terms: list[str], max_n: int) -> CodedVocabulary | None:
        """None when the vocabulary is empty, holds NUL or terms longer than ``max_n``, or its
        keys would not fit in 63 bits (the string lookup is used then)."""
        width = max(map(len, terms), default=0)
        if not terms or width > max_n:
            return None
        points = np.array(terms, dtype=f"<U{width}").view(np.uint32).reshape(len(terms), width)
        lengths = np.fromiter(map(len, terms), np.int64, len(terms))
        used = np.arange(width) < lengths[:, None]
        if (points[used] == 0).any():
            return None
        alphabet = np.unique(points[used])
        base = len(alphabet) + 2
        if base**max_n >= 2**63:
            return None
        digits = np.searchsorted(alphabet, points).astype(np.int64) + 1
        keys = np.zeros(len(terms), np.int64)
        for position in range(width):
            step = used[:, position]
            keys[step] = keys[step] * base + digits[step, position]
        return cls(pd.Index(keys), np.arange(len(terms)), alphabet)


@dataclass
class CodedWords(_CodedLookup):
    """A fitted word n-gram vocabulary as integer keys over its own token numbering.

    Token t of the vocabulary is digit t + 1 (a token it never saw: T + 1), an n-gram the
    base-(T + 2) number of its tokens' digits; built once per fitted part, on first transform.
    """

    tokens: dict[str, int]
    base: int

    @classmethod
    def build(cls, terms: list[str], max_n: int) -> CodedWords | None:
        """None when a term has more than ``max_n`` tokens (or none) or keys would overflow."""
        if not terms:
            return None
        # All terms' tokens in one split (terms never hold a newline: tokens have no space),
        # numbered in order of appearance by a dict built in C.
        joined = "\n".join(terms)
        flat = joined.replace("\n", " ").split(" ")
        tokens = dict.fromkeys(flat)
        for number, token in enumerate(tokens):
            tokens[token] = number
        digits = np.fromiter(map(tokens.__getitem__, flat), np.int64, len(flat)) + 1
        points = np.frombuffer(joined.encode("utf-32-le", errors="surrogatepass"), np.uint32)
        term_of = np.cumsum(points == 10)  # the term of each character
        counts = np.bincount(term_of[points == 32], minlength=len(terms)) + 1  # tokens per term
        base = len(tokens) + 2
        if counts.max() > max_n or base**max_n >= 2**63:
            return None
        starts = np.zeros(len(terms), np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        keys = np.zeros(len(terms), np.int64)
        for position in range(int(counts.max())):
            step = counts > position
            keys[step] = keys[step] * base + digits[starts[step] + position]
        return cls(pd.Index(keys), np.arange(len(terms)), tokens, base)
