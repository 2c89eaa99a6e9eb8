"""The project's own Arabic stop-word list (arabic_stopwords.txt), normalised for matching."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from arnews_ml.exceptions import ConfigError
from arnews_ml.text.normalize import DEFAULT_NORMALIZER, Normalizer

__all__ = ["STOPWORDS_FILE", "arabic_stopwords", "raw_arabic_stopwords"]

STOPWORDS_FILE = "arabic_stopwords.txt"


@lru_cache(maxsize=1)
def raw_arabic_stopwords() -> tuple[str, ...]:
    """The stop words as written in the bundled file (unnormalised, comments skipped)."""
    text = resources.files("arnews_ml.text").joinpath(STOPWORDS_FILE).read_text(encoding="utf-8")
    words = (line.strip() for line in text.splitlines())
    return tuple(dict.fromkeys(w for w in words if w and not w.startswith("#")))


def normalize_words(words: Iterable[str], normalizer: Normalizer | None) -> frozenset[str]:
    """Normalise and lower-case words the way analyzer tokens are; empty results are dropped."""
    if isinstance(words, str):
        raise ConfigError(
            f"Stop words must be a list of words, got the string {words!r:.40}. "
            f"Wrap it in a list: [{words!r:.40}]."
        )
    out = set()
    for word in words:
        if not isinstance(word, str):
            raise ConfigError(f"Stop words must be strings, got {word!r} ({type(word).__name__}).")
        folded = (normalizer(word) if normalizer is not None else word.strip()).lower()
        if folded:
            out.add(folded)
    return frozenset(out)


@lru_cache(maxsize=8)
def _default_set(normalizer: Normalizer | None) -> frozenset[str]:
    return normalize_words(raw_arabic_stopwords(), normalizer)


def arabic_stopwords(
    extra: Iterable[str] = (), normalizer: Normalizer | None = DEFAULT_NORMALIZER
) -> frozenset[str]:
    """The package's Arabic stop words plus `extra`, normalised so they match normalised tokens.

    With the default normaliser أن, إن and ان are one entry, and على becomes علي (which also
    removes the name علي: the price of merging alef maqsura).

    Args:
        extra: More stop words (a single word may be passed as a plain string); normalised too.
        normalizer: Normalisation applied to every word; pass the one your tokens went through.

    Returns:
        The normalised stop words.
    """
    base = _default_set(normalizer)
    if isinstance(extra, str):
        extra = (extra,)
    extra = tuple(extra)
    return base | normalize_words(extra, normalizer) if extra else base
