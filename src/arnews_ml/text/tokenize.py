"""Arabic-safe tokens: an analyzer for scikit-learn vectorizers, proclitics and light stemming."""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from arnews_ml.exceptions import ConfigError, DataError, DependencyError
from arnews_ml.text.normalize import DEFAULT_NORMALIZER, Normalizer
from arnews_ml.text.stopwords import arabic_stopwords, normalize_words

__all__ = [
    "ARABIC_TOKEN_PATTERN",
    "ArabicAnalyzer",
    "arabic_token_pattern",
    "check_ngram_range",
    "light_stem",
    "strip_proclitics",
    "tokenize",
]

_ARABIC_LETTERS = (
    "\u0620-\u063f\u0641-\u064a\u066e\u066f\u0671-\u06d3\u06d5\u06ee\u06ef\u06fa-\u06fc\u06ff"
    "\u0750-\u077f\u08a0-\u08c9\ufb50-\ufdfb\ufe70-\ufefc"  # + presentation forms (no NFKC)
)
# Combining marks and tatweel: never at the start of a token, never a token boundary.
_ARABIC_MARKS = "\u0610-\u061a\u0640\u064b-\u065f\u0670\u06d6-\u06ed\u08ca-\u08ff\u0300-\u036f"
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_DIGITS = "0-9\u0660-\u0669\u06f0-\u06f9"

ARABIC_TOKEN_PATTERN = (
    f"[{_ARABIC_LETTERS}{_LATIN}{_DIGITS}][{_ARABIC_LETTERS}{_LATIN}{_DIGITS}{_ARABIC_MARKS}]*"
)
"""A token: a run of Arabic letters, Latin letters and digits; combining marks stay inside.

Usable as `token_pattern=` of scikit-learn vectorizers (no capturing group), although
`ArabicAnalyzer` is better there: with a raw pattern diacritized words keep their marks.
"""
arabic_token_pattern = ARABIC_TOKEN_PATTERN  # the public lower-case name

_TOKEN_RE = re.compile(ARABIC_TOKEN_PATTERN)
_DIGIT_RE = re.compile(f"[{_DIGITS}]")
_LATIN_RE = re.compile(f"[{_LATIN}]")
_ARABIC_WORD_RE = re.compile(f"[{_ARABIC_LETTERS}{_ARABIC_MARKS}]+")

# Article-bearing prefixes, longest first; stripped when >= MIN_STEM letters remain.
ARTICLE_PREFIXES = ("وال", "فال", "بال", "كال", "لل", "ال")
# Conjunctions/prepositions written attached to the next word.
LETTER_PROCLITICS = frozenset("وفبكل")
MIN_STEM = 3
# Light-stemmer suffixes, longest first. "ان" is left out on purpose: it ends too many names
# (لبنان، ايران، السودان) for the dual it would catch.
LIGHT_SUFFIXES = (
    "هما",
    "كما",
    "تين",
    "تان",
    "ات",
    "ون",
    "ين",
    "ها",
    "هم",
    "هن",
    "كم",
    "نا",
    "ية",
    "يه",
    "ة",
    "ه",
    "ي",
)

ProcliticMode = bool | Literal["article"]
StemmerName = Literal["isri", "snowball", "light"]
_STEMMERS = (None, "isri", "snowball", "light")
_CACHE_LIMIT = 1 << 18  # distinct tokens remembered per analyzer before the memo is reset
_UNSEEN = object()  # a token the memo has not seen (None is a remembered "drop it")


def strip_proclitics(token: str, mode: ProcliticMode = True) -> str:
    """Remove attached proclitics, conservatively.

    Article-bearing prefixes (ال وال فال بال كال لل) go when at least 3 letters remain; a
    word that starts with one but is too short for it (والد، الله، والذي) is left whole.
    With `mode=True` a single و ف ب ك ل also goes from words of 4+ letters (then a following
    بال كال لل too: وبالتالي -> تالي); words of 3 letters (ولد، بلد، كتب) are never cut.
    Single letters are ambiguous: بلاد -> لاد, بغداد -> غداد. Use `mode="article"` where
    that costs more than it gains (e.g. topic words shown to people).

    Args:
        token: One normalised token.
        mode: True (article prefixes and single letters), "article" (article prefixes only),
            False (nothing).

    Returns:
        The token without its proclitics.
    """
    if not mode:
        return token
    for prefix in ARTICLE_PREFIXES:
        if token.startswith(prefix):
            return token[len(prefix) :] if len(token) - len(prefix) >= MIN_STEM else token
    if mode == "article" or len(token) <= MIN_STEM or token[0] not in LETTER_PROCLITICS:
        return token
    rest = token[1:]
    for prefix in ("بال", "كال", "لل"):
        if rest.startswith(prefix) and len(rest) - len(prefix) >= MIN_STEM:
            return rest[len(prefix) :]
    return rest


def light_stem(token: str, proclitics: ProcliticMode = True) -> str:
    """The package's light stemmer: proclitics (see `strip_proclitics`), then one suffix.

    The longest matching suffix of `LIGHT_SUFFIXES` (ات ون ين ها هم ة ...) is removed when at
    least 3 letters remain: الانتخابات -> انتخاب, المواطنين -> مواطن, القوات -> قوات.
    """
    token = strip_proclitics(token, proclitics)
    for suffix in LIGHT_SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= MIN_STEM:
            return token[: -len(suffix)]
    return token


def _nltk_stemmer(name: str) -> Callable[[str], str]:
    try:
        if name == "isri":
            from nltk.stem.isri import ISRIStemmer

            return ISRIStemmer().stem
        from nltk.stem.snowball import ArabicStemmer

        return ArabicStemmer(ignore_stopwords=False).stem
    except ImportError as err:
        raise DependencyError(
            f"stemmer={name!r} needs NLTK: pip install 'nltk>=3.8' (no data download needed), "
            "or use stemmer='light'."
        ) from err


class ArabicAnalyzer:
    """Text -> tokens for Arabic, as `analyzer=` of scikit-learn vectorizers.

    scikit-learn's default token_pattern `(?u)\\b\\w\\w+\\b` treats Arabic combining marks as
    word breaks (`كَتَبَ` vanishes, `درسَه` becomes `درس`). This analyzer normalises first
    (diacritics go), then takes runs of Arabic letters, Latin letters and digits
    (`ARABIC_TOKEN_PATTERN`); punctuation and emoji fall out. Per token, in order: drop by
    `drop_digits`/`drop_latin`, stop-word check, then with `proclitics` a stop-word check
    without one attached letter (والذي -> الذي) and after stripping, then stemming and
    `min_length`. Word n-grams are then built from what is left, as scikit-learn does.

    Parameters are stored unchanged (scikit-learn's `clone` and `get_params`/`set_params`
    work, so `vectorizer__analyzer__stemmer` can be searched); derived state is built on
    first use and left out of pickles.

    Args:
        normalizer: Normalisation applied first: a `Normalizer`, a mapping of step switches
            (`{"ta_marbuta": True}`), or None for none (then tokens keep their diacritics).
        stopwords: None, "arabic" (the package list, normalised with `normalizer`), or an
            iterable of words (normalised with `normalizer` before comparing).
        proclitics: Strip attached proclitics (see `strip_proclitics`): False, True, or
            "article" for the article-bearing prefixes only.
        stemmer: None, "isri" or "snowball" (NLTK, imported on first use) or "light" (the
            package's own: proclitics, mode True unless `proclitics` says otherwise, then
            one suffix). Stemmers touch Arabic tokens only.
        drop_digits: Drop tokens containing any digit.
        drop_latin: Drop tokens containing any Latin letter.
        min_length: Drop tokens shorter than this (after stemming).
        ngram_range: (min_n, max_n) word n-grams, joined with a space.
        lowercase: Lower-case Latin letters.

    Example:
        >>> ArabicAnalyzer(stopwords="arabic")("قالَ الوزيـــرُ إنّ الاقتصادَ ينمو 3%")
        ['الوزير', 'الاقتصاد', 'ينمو']
    """

    _PARAM_NAMES = (
        "normalizer",
        "stopwords",
        "proclitics",
        "stemmer",
        "drop_digits",
        "drop_latin",
        "min_length",
        "ngram_range",
        "lowercase",
    )

    def __init__(
        self,
        normalizer: Normalizer | Mapping[str, bool] | None = DEFAULT_NORMALIZER,
        stopwords: Literal["arabic"] | Iterable[str] | None = None,
        proclitics: ProcliticMode = False,
        stemmer: StemmerName | None = None,
        drop_digits: bool = False,
        drop_latin: bool = False,
        min_length: int = 2,
        ngram_range: tuple[int, int] = (1, 1),
        lowercase: bool = True,
    ) -> None:
        self.normalizer = normalizer
        self.stopwords = stopwords
        self.proclitics = proclitics
        self.stemmer = stemmer
        self.drop_digits = drop_digits
        self.drop_latin = drop_latin
        self.min_length = min_length
        self.ngram_range = ngram_range
        self.lowercase = lowercase
        self._reset()

    # --- scikit-learn parameter protocol -----------------------------------------------------

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters, as stored."""
        return {name: getattr(self, name) for name in self._PARAM_NAMES}

    def set_params(self, **params: Any) -> ArabicAnalyzer:
        """Set constructor parameters (derived state is rebuilt on the next call)."""
        unknown = sorted(set(params) - set(self._PARAM_NAMES))
        if unknown:
            raise ConfigError(
                f"ArabicAnalyzer has no parameter(s) {', '.join(map(repr, unknown))}; "
                f"parameters are: {', '.join(self._PARAM_NAMES)}."
            )
        for name, value in params.items():
            setattr(self, name, value)
        self._reset()
        return self

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.get_params() == other.get_params()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable through set_params

    def __repr__(self) -> str:
        defaults = _ANALYZER_DEFAULTS
        shown = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if not (value == defaults[name] and type(value) is type(defaults[name]))
        ]
        return f"ArabicAnalyzer({', '.join(shown)})"

    def __getstate__(self) -> dict[str, Any]:
        return self.get_params()

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name in self._PARAM_NAMES:
            setattr(self, name, state[name])
        self._reset()

    # --- analysis ----------------------------------------------------------------------------

    def _reset(self) -> None:
        self._compiled: _Compiled | None = None
        self._cache: dict[str, str | None] = {}

    def _compile(self) -> _Compiled:
        if self._compiled is None:
            self._compiled = _Compiled(self)
        return self._compiled

    def validate(self) -> ArabicAnalyzer:
        """Check the parameters now (they are otherwise checked on the first call).

        Raises:
            ConfigError: On an invalid parameter.
            DependencyError: If the chosen stemmer needs NLTK and it is missing.
        """
        self._compile()
        return self

    def raw_tokens(self, doc: str) -> list[str]:
        """The candidate tokens of one document, normalised (and lower-cased) as configured,
        before the per-token steps of :meth:`process_token`."""
        compiled = self._compile()
        if not isinstance(doc, str):
            raise DataError(
                f"ArabicAnalyzer expects a str, got {type(doc).__name__} ({doc!r:.40}). Fill or "
                "drop missing texts first."
            )
        text = compiled.normalizer(doc) if compiled.normalizer is not None else doc
        if compiled.lowercase:
            text = text.lower()
        return _TOKEN_RE.findall(text)

    def process_token(self, raw: str) -> str | None:
        """One candidate token -> the token to emit (stripped, stemmed), or None to drop it."""
        return self._compile().process(raw)

    def _bounded_memo(self, incoming: int) -> dict[str, str | None]:
        """The token memo, emptied first when ``incoming`` new entries could take it past
        its bound (:data:`_CACHE_LIMIT`)."""
        if len(self._cache) + incoming > _CACHE_LIMIT:
            self._cache.clear()
        return self._cache

    def process_tokens(self, raws: Sequence[str]) -> list[str | None]:
        """:meth:`process_token` of each candidate token, remembered across calls in the same
        memo as the analyzer's own calls (a batch mostly repeats words seen before)."""
        compiled = self._compile()
        cache = self._bounded_memo(len(raws))
        get = cache.get
        out = [get(raw, _UNSEEN) for raw in raws]
        for index, token in enumerate(out):
            if token is _UNSEEN:
                raw = raws[index]
                out[index] = cache[raw] = compiled.process(raw)
        return out

    @property
    def splits_at_whitespace(self) -> bool:
        """Whether a document's tokens are its whitespace-separated words' tokens in order
        (:meth:`word_tokens`): true unless it normalises or lower-cases whole documents."""
        compiled = self._compile()
        return compiled.normalizer is None and not compiled.lowercase

    def word_tokens(self, words: Sequence[str]) -> list[list[str]]:
        """The tokens of each whitespace-free word, after :meth:`process_token` (dropped ones left
        out), without the normaliser or lower-casing (see :attr:`splits_at_whitespace`)."""
        compiled = self._compile()
        cache = self._bounded_memo(len(words))
        process, findall = compiled.process, _TOKEN_RE.findall
        out: list[list[str]] = []
        for word in words:
            tokens = []
            for raw in findall(word):
                token = cache.get(raw, _UNSEEN)
                if token is _UNSEEN:
                    token = cache[raw] = process(raw)
                if token is not None:
                    tokens.append(token)
            out.append(tokens)
        return out

    def __call__(self, doc: str) -> list[str]:
        """Tokens of one document (n-grams included when `ngram_range` asks for them)."""
        compiled = self._compile()
        cache = self._cache
        tokens: list[str] = []
        for raw in self.raw_tokens(doc):
            try:
                token = cache[raw]
            except KeyError:
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                token = cache[raw] = compiled.process(raw)
            if token is not None:
                tokens.append(token)
        if compiled.ngram_range == (1, 1):
            return tokens
        return _word_ngrams(tokens, *compiled.ngram_range)


_ANALYZER_DEFAULTS = ArabicAnalyzer().get_params()


class _Compiled:
    """Validated, derived state of an ArabicAnalyzer (rebuilt after unpickling)."""

    def __init__(self, analyzer: ArabicAnalyzer) -> None:
        norm = analyzer.normalizer
        if isinstance(norm, Mapping):
            norm = Normalizer.from_config(norm)
        elif norm is not None and not isinstance(norm, Normalizer):
            raise ConfigError(
                f"normalizer must be a Normalizer, a mapping of step switches or None, got "
                f"{type(norm).__name__}."
            )
        self.normalizer: Normalizer | None = norm
        self.lowercase = _check_bool("lowercase", analyzer.lowercase)

        words = analyzer.stopwords
        if words is None:
            self.stopwords: frozenset[str] = frozenset()
        elif words == "arabic":
            self.stopwords = arabic_stopwords(normalizer=norm)
        elif isinstance(words, str):
            raise ConfigError(
                f"stopwords must be None, 'arabic' or a list of words, got the string {words!r:.40}."
            )
        else:
            self.stopwords = normalize_words(words, norm)

        proclitics = analyzer.proclitics
        if not (isinstance(proclitics, bool) or proclitics == "article"):
            raise ConfigError(f"proclitics must be false, true or 'article', got {proclitics!r}.")
        stemmer = analyzer.stemmer
        if stemmer not in _STEMMERS:
            raise ConfigError(
                f"stemmer must be one of None, 'isri', 'snowball', 'light', got {stemmer!r}."
            )
        if stemmer == "light" and not proclitics:
            proclitics = True
        self.proclitics: ProcliticMode = proclitics
        self.stemmer = stemmer
        self.stem: Callable[[str], str] | None = (
            _nltk_stemmer(stemmer) if stemmer in ("isri", "snowball") else None
        )
        self.drop_digits = _check_bool("drop_digits", analyzer.drop_digits)
        self.drop_latin = _check_bool("drop_latin", analyzer.drop_latin)

        min_length = analyzer.min_length
        if isinstance(min_length, bool) or not isinstance(min_length, int) or min_length < 1:
            raise ConfigError(f"min_length must be an integer >= 1, got {min_length!r}.")
        self.min_length = min_length
        self.ngram_range = check_ngram_range(analyzer.ngram_range)

    def process(self, token: str) -> str | None:
        """One raw token -> the token to emit, or None to drop it."""
        if self.drop_digits and _DIGIT_RE.search(token):
            return None
        if self.drop_latin and _LATIN_RE.search(token):
            return None
        stops = self.stopwords
        if token in stops:
            return None
        if self.proclitics:
            # A stop word behind one attached letter (والذي, لماذا) is a stop word, whether or
            # not stripping would cut that letter from a content word.
            if len(token) > MIN_STEM and token[0] in LETTER_PROCLITICS and token[1:] in stops:
                return None
            token = strip_proclitics(token, self.proclitics)
            if token in stops:
                return None
        if self.stemmer is not None and _ARABIC_WORD_RE.fullmatch(token):
            if self.stem is not None:
                token = self.stem(token)
            else:  # light: proclitics are already gone
                token = light_stem(token, proclitics=False)
        return token if len(token) >= self.min_length else None


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}.")
    return value


def check_ngram_range(value: object, key: str = "ngram_range") -> tuple[int, int]:
    """``(min_n, max_n)`` from a pair of integers (a tuple, or a list from YAML).

    Raises:
        ConfigError: Not two integers with ``1 <= min_n <= max_n``; the message names ``key``.
    """
    try:
        low, high = value  # type: ignore[misc]
        ok = all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in (low, high))
        ok = ok and 1 <= low <= high
    except (TypeError, ValueError):
        ok = False
    if not ok:
        leaf = key.rsplit(".", 1)[-1]
        raise ConfigError(
            f"{key} must be two integers (min_n, max_n) with 1 <= min_n <= max_n; got "
            f"{value!r}. In YAML write {leaf}: [1, 2]."
        )
    return int(low), int(high)


def _word_ngrams(tokens: list[str], min_n: int, max_n: int) -> list[str]:
    """Word n-grams in scikit-learn's order: all min_n-grams, then (min_n+1)-grams, ..."""
    out = list(tokens) if min_n == 1 else []
    n_tokens = len(tokens)
    for n in range(max(min_n, 2), min(max_n, n_tokens) + 1):
        out.extend(" ".join(tokens[i : i + n]) for i in range(n_tokens - n + 1))
    return out


DEFAULT_ANALYZER = ArabicAnalyzer()


def tokenize(text: str) -> list[str]:
    """Tokens of `text` with the default `ArabicAnalyzer` (default normalisation, no filtering)."""
    return DEFAULT_ANALYZER(text)
