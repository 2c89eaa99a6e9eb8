"""Boilerplate removal: learn the lines that repeat across a news source's articles, strip them."""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from arnews_ml.exceptions import ArtifactError, ConfigError, DataError

__all__ = ["ALL_SOURCES", "BoilerplateRemover"]

log = logging.getLogger(__name__)

ALL_SOURCES = "*"
"""Group key of the lines learned over all documents (the only group when no sources are given)."""

_FORMAT = "arnews_ml.BoilerplateRemover"
_FORMAT_VERSION = 1
# Invisible marks that make otherwise identical lines differ (scrapers keep them at random).
_INVISIBLE_TABLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u200e\u200f\u061c\ufeff\u2060\u202a\u202b\u202c\u202d\u202e")
)


def _fold(line: str) -> str:
    """The comparison key of a line: invisible marks dropped, whitespace folded, stripped."""
    return " ".join(line.translate(_INVISIBLE_TABLE).split())


def _short_key(line: str, max_words: int) -> str | None:
    """`_fold(line)` when it has at most `max_words` words, else None (never boilerplate).

    News paragraphs are long: a split that stops after `max_words` words rejects them without
    folding the whole line, and without invisible marks that split already is the folded
    line. A line with marks (which may stand alone between spaces) is folded in full, so the
    answer is always that of `_fold`.
    """
    words = line.split(None, max_words)
    if _INVISIBLE_RE.search(line) is None:
        return " ".join(words) if len(words) <= max_words else None
    key = _fold(line)
    return key if len(key.split(None, max_words)) <= max_words else None


_INVISIBLE_CLASS = "[" + "".join(sorted(map(chr, _INVISIBLE_TABLE))) + "]"
_INVISIBLE_RE = re.compile(_INVISIBLE_CLASS)


def _screen(lines: Iterable[str]) -> re.Pattern[str]:
    """A pattern that finds something in every text holding one of the folded `lines`.

    Such a text holds each line's longest word verbatim unless an invisible mark sits inside
    it, so the pattern looks for those words and for invisible marks. A text it finds nothing
    in keeps all its lines, and is passed over without being split into lines.
    """
    words = {max(line.split(), key=len) for line in lines}
    words_first = sorted(words, key=lambda w: (-len(w), w))
    return re.compile("|".join([*map(re.escape, words_first), _INVISIBLE_CLASS]))


class _Rules(NamedTuple):
    """What a document of one group loses: its folded lines, and their screening pattern."""

    lines: frozenset[str]
    screen: re.Pattern[str]

    @classmethod
    def of(cls, lines: frozenset[str]) -> _Rules:
        return cls(lines, _screen(lines))


def _source_key(source: object) -> str | None:
    """A usable source name, or None for a missing one (None, NaN, empty string)."""
    if isinstance(source, str):
        source = source.strip()
        return source or None
    return None


class BoilerplateRemover:
    """Learn and strip lines that repeat across many documents of the same source.

    A line (text between newlines, compared after folding whitespace and invisible marks) is
    boilerplate for a group of documents when it has at most `max_line_words` words and appears
    in at least `max(min_docs, ceil(min_doc_share * n_docs_in_group))` distinct documents of
    that group: site headers, "المصدر: ..." lines, "اقرأ الخبر من المصدر", "أضف تعليقك", share
    buttons.

    Groups:
        - Without sources (or with `per_source=False`) there is one group, `"*"`.
        - With sources and `per_source=True`, each source is a group, and `"*"` is learned
          as well over all documents (its threshold counts all documents), which catches lines
          that several small sources share.

    At transform time a document of a source seen in `fit` loses the lines of its source and
    of `"*"`. A document whose source is unknown (sources=None, a missing value, or a source
    not seen in `fit`, as at prediction time) loses every line learned for any group: each
    of them repeated often enough somewhere to be boilerplate.

    Empty-document guard: if stripping would leave a non-empty document with nothing but
    whitespace, the original document is kept unchanged. Such documents are counted in
    `n_emptied_` and their positions listed in `emptied_` (both reset by every `transform`).

    Args:
        min_doc_share: Share of a group's documents a line must appear in, in [0, 1].
        min_docs: Minimum number of documents a line must appear in (>= 2).
        max_line_words: Longer lines are never boilerplate (they are content).
        per_source: Learn lines per source (True) or over all documents only (False).

    Attributes:
        lines_: Group -> learned lines, most frequent first (`"*"` for the global group).
        n_docs_: Group -> number of documents it was learned from.
        n_emptied_: Documents the last `transform` kept whole because stripping emptied them.
        emptied_: Positions of those documents in the last `transform` input.
    """

    def __init__(
        self,
        min_doc_share: float = 0.05,
        min_docs: int = 5,
        max_line_words: int = 25,
        per_source: bool = True,
    ) -> None:
        self.min_doc_share = min_doc_share
        self.min_docs = min_docs
        self.max_line_words = max_line_words
        self.per_source = per_source

    # --- learning ----------------------------------------------------------------------------

    def _validate_params(self) -> None:
        share = self.min_doc_share
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise ConfigError(
                f"min_doc_share must be a number in [0, 1], got {share!r}. "
                "Set text.boilerplate.min_doc_share=0.05 (5% of a source's articles)."
            )
        for name, low in (("min_docs", 2), ("max_line_words", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(
                    f"{name} must be an integer >= {low}, got {value!r}. "
                    f"Set text.boilerplate.{name} to a whole number >= {low}."
                )
        if not isinstance(self.per_source, bool):
            raise ConfigError(f"per_source must be true or false, got {self.per_source!r}.")

    def threshold(self, n_docs: int) -> int:
        """Documents a line must appear in to be boilerplate, in a group of `n_docs`."""
        return max(self.min_docs, math.ceil(self.min_doc_share * n_docs))

    def _doc_lines(self, text: str) -> set[str]:
        keys = set()
        for line in text.splitlines():
            key = _short_key(line, self.max_line_words)
            if key:
                keys.add(key)
        return keys

    def fit(
        self, texts: Iterable[str], sources: Iterable[object] | None = None
    ) -> BoilerplateRemover:
        """Learn the boilerplate lines of each source.

        Args:
            texts: Raw documents, with their original line breaks.
            sources: One source name per document (missing values allowed), or None.

        Returns:
            self, fitted.

        Raises:
            ConfigError: On invalid parameters.
            DataError: If `sources` and `texts` differ in length, or a text is not a str.
        """
        self._validate_params()
        texts, keys = self._prepare(texts, sources)
        group_counts: dict[str, Counter[str]] = {ALL_SOURCES: Counter()}
        group_docs: Counter[str] = Counter()
        use_sources = self.per_source and sources is not None
        for text, source in zip(texts, keys, strict=True):
            doc_lines = self._doc_lines(text)
            group_counts[ALL_SOURCES].update(doc_lines)
            group_docs[ALL_SOURCES] += 1
            if use_sources and source is not None:
                group_counts.setdefault(source, Counter()).update(doc_lines)
                group_docs[source] += 1

        self.counts_: dict[str, dict[str, int]] = {}
        for group, counts in group_counts.items():
            needed = self.threshold(group_docs[group])
            kept = sorted(
                ((line, n) for line, n in counts.items() if n >= needed),
                key=lambda item: (-item[1], item[0]),
            )
            self.counts_[group] = dict(kept)
        self.n_docs_: dict[str, int] = {group: int(group_docs[group]) for group in group_counts}
        self._finish_fit()
        log.info(
            "boilerplate fitted documents=%d groups=%d lines=%d",
            self.n_docs_[ALL_SOURCES],
            len(self.counts_),
            sum(len(v) for v in self.counts_.values()),
        )
        return self

    def _finish_fit(self) -> None:
        self.lines_: dict[str, list[str]] = {g: list(c) for g, c in self.counts_.items()}
        every_line = frozenset().union(*(set(v) for v in self.lines_.values()))
        self._all_rules = _Rules.of(every_line)
        self._group_rules = {
            group: _Rules.of(frozenset(lines) | frozenset(self.lines_.get(ALL_SOURCES, ())))
            for group, lines in self.lines_.items()
        }
        self.n_emptied_ = 0
        self.emptied_: list[int] = []

    def _prepare(
        self, texts: Iterable[str], sources: Iterable[object] | None
    ) -> tuple[list[str], list[str | None]]:
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(
                    f"Document {i} is a {type(text).__name__} ({text!r:.40}), not a str. "
                    "Drop or fill missing texts before boilerplate removal."
                )
        if sources is None:
            return texts, [None] * len(texts)
        keys = [_source_key(s) for s in sources]
        if len(keys) != len(texts):
            raise DataError(
                f"Got {len(texts)} texts but {len(keys)} sources; pass one source per text "
                "(or sources=None)."
            )
        return texts, keys

    # --- stripping ---------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "lines_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                "This BoilerplateRemover is not fitted yet; call fit(texts, sources) first or "
                "load a fitted one with BoilerplateRemover.from_dict()."
            )

    def _rules_for(self, key: str | None) -> _Rules:
        """The rules for a source key (from `_source_key`); every line for an unknown one."""
        return self._group_rules.get(key, self._all_rules) if key is not None else self._all_rules

    def transform(self, texts: Iterable[str], sources: Iterable[object] | None = None) -> list[str]:
        """Strip the learned boilerplate lines.

        Kept lines keep their original spelling and order; they are joined with "\\n".
        A document that stripping would empty is returned unchanged and counted in
        `n_emptied_` (see the class docstring).

        Args:
            texts: Raw documents, with their original line breaks.
            sources: One source name per document (missing values allowed), or None.

        Returns:
            The documents without boilerplate lines, in input order.
        """
        self._check_fitted()
        texts, keys = self._prepare(texts, sources)
        out: list[str] = []
        self.emptied_ = []
        for i, (text, source) in enumerate(zip(texts, keys, strict=True)):
            remove, screen = self._rules_for(source)
            if not remove or not text or not screen.search(text):
                out.append(text)
                continue
            lines = text.splitlines()
            # learned lines have at most max_line_words words: longer lines always stay
            kept = [line for line in lines if _short_key(line, self.max_line_words) not in remove]
            if len(kept) == len(lines):
                out.append(text)
            elif any(line.strip() for line in kept):
                out.append("\n".join(kept))
            elif text.strip():
                self.emptied_.append(i)
                out.append(text)
            else:
                out.append(text)
        self.n_emptied_ = len(self.emptied_)
        if self.n_emptied_:
            log.info(
                "boilerplate kept documents that stripping would empty n_emptied=%d",
                self.n_emptied_,
            )
        return out

    def fit_transform(
        self, texts: Iterable[str], sources: Iterable[object] | None = None
    ) -> list[str]:
        """`fit` then `transform` on the same documents."""
        texts = list(texts)
        sources = None if sources is None else list(sources)
        return self.fit(texts, sources).transform(texts, sources)

    # --- reporting and persistence -------------------------------------------------------------

    def report(self) -> list[dict[str, Any]]:
        """The learned lines as rows `{"source", "line", "n_docs"}`, most frequent first."""
        self._check_fitted()
        rows = [
            {"source": group, "line": line, "n_docs": n}
            for group, counts in self.counts_.items()
            for line, n in counts.items()
        ]
        rows.sort(key=lambda r: (-r["n_docs"], r["source"], r["line"]))
        return rows

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters (scikit-learn convention)."""
        return {
            "min_doc_share": self.min_doc_share,
            "min_docs": self.min_docs,
            "max_line_words": self.max_line_words,
            "per_source": self.per_source,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state: parameters, and when fitted the learned lines with their counts."""
        state: dict[str, Any] = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "params": self.get_params(),
        }
        if hasattr(self, "lines_"):
            state["n_docs"] = dict(self.n_docs_)
            state["lines"] = {
                group: [[line, n] for line, n in counts.items()]
                for group, counts in self.counts_.items()
            }
        return state

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> BoilerplateRemover:
        """Rebuild a remover (fitted when `state` holds lines) from `to_dict` output.

        Raises:
            ArtifactError: If `state` is not a BoilerplateRemover state of a known version.
        """
        if not isinstance(state, Mapping) or state.get("format") != _FORMAT:
            raise ArtifactError(
                f"Not a saved BoilerplateRemover (expected format {_FORMAT!r}); the bundle file "
                "may be corrupt or from another component."
            )
        if state.get("format_version") != _FORMAT_VERSION:
            raise ArtifactError(
                f"BoilerplateRemover format_version {state.get('format_version')!r} is not "
                f"supported (this arnews_ml reads {_FORMAT_VERSION}); retrain the model or "
                "install the arnews_ml version that saved it."
            )
        try:
            remover = cls(**state["params"])
            remover._validate_params()
            if "lines" in state:
                remover.counts_ = {
                    str(group): {str(line): int(n) for line, n in rows}
                    for group, rows in state["lines"].items()
                }
                remover.n_docs_ = {str(g): int(n) for g, n in state["n_docs"].items()}
                remover._finish_fit()
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise ArtifactError(
                f"Saved BoilerplateRemover state is malformed ({err!r}); the bundle file may be "
                "corrupt. Retrain the model."
            ) from err
        return remover

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"BoilerplateRemover({params})"
