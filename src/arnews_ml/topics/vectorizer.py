"""The topic-word vectorizer: a document-level vocabulary of readable Arabic words, fixed for c-TF-IDF.

BERTopic's c-TF-IDF fits its vectorizer on one joined document per topic, so ``min_df=5`` there
would mean "in 5 topics". We fit a CountVectorizer on the documents first (document frequencies
as people expect them), then hand BERTopic (and the LDA/NMF baselines) a CountVectorizer whose
``vocabulary=`` is that fixed word list, with the same analyzer. Both are plain JSON to save.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from sklearn.feature_extraction.text import CountVectorizer

from arnews_ml.exceptions import ArtifactError, ConfigError
from arnews_ml.text.normalize import DEFAULT_NORMALIZER, Normalizer
from arnews_ml.text.stopwords import arabic_stopwords
from arnews_ml.text.tokenize import ArabicAnalyzer

__all__ = [
    "VECTORIZER_FILE",
    "analyze_seed_words",
    "build_topic_analyzer",
    "build_topic_vectorizer",
    "make_fixed_vectorizer",
    "seed_topic_list",
    "vectorizer_from_dict",
    "vectorizer_to_dict",
    "vocabulary_of",
]

#: File name of the saved vectorizer (analyzer parameters + vocabulary) inside a bundle.
VECTORIZER_FILE = "vectorizer.json"

ProcliticMode = bool | Literal["article"]
StemmerName = Literal["light", "isri", "snowball"]


def build_topic_analyzer(
    *,
    normalizer: Normalizer | None = None,
    stopwords_extra: Iterable[str] = (),
    proclitics: ProcliticMode = "article",
    stemmer: StemmerName | None = None,
    ngram_range: Sequence[int] = (1, 1),
    min_length: int = 2,
) -> ArabicAnalyzer:
    """The analyzer behind topic words: normalised tokens, no stop words, digits or Latin tokens.

    Args:
        normalizer: The model's normalisation (its text pipeline's), applied to tokens and stop
            words alike; None: the default steps (for an analyzer used without a pipeline).
        stopwords_extra: Words to drop on top of the package's Arabic stop-word list.
        proclitics: Strip attached proclitics: ``"article"`` (ال وال بال لل ...; the default,
            keeps words readable), ``True`` (also single و ف ب ك ل, which sometimes cuts a
            root letter: بغداد -> غداد) or ``False``.
        stemmer: ``None`` (default: topic words stay readable), ``"light"`` or the NLTK root
            stemmers ``"isri"`` / ``"snowball"`` (roots are hard to read).
        ngram_range: (min_n, max_n) word n-grams; a list from YAML is accepted.
        min_length: Drop tokens shorter than this.

    Returns:
        A validated, picklable :class:`~arnews_ml.text.tokenize.ArabicAnalyzer`.

    Raises:
        ConfigError: An invalid option.
    """
    if isinstance(stopwords_extra, str):
        stopwords_extra = (stopwords_extra,)
    stops = arabic_stopwords(extra=tuple(stopwords_extra))
    analyzer = ArabicAnalyzer(
        normalizer=normalizer if normalizer is not None else DEFAULT_NORMALIZER,
        stopwords=sorted(stops),
        proclitics=proclitics,
        stemmer=stemmer,
        drop_digits=True,
        drop_latin=True,
        min_length=min_length,
        ngram_range=_ngram_tuple(ngram_range),
    )
    return analyzer.validate()


def build_topic_vectorizer(
    docs: Sequence[str],
    *,
    normalizer: Normalizer | None = None,
    min_df: int | float = 5,
    max_df: int | float = 0.5,
    ngram_range: Sequence[int] = (1, 1),
    stopwords_extra: Iterable[str] = (),
    proclitics: ProcliticMode = "article",
    stemmer: StemmerName | None = None,
    max_features: int | None = None,
) -> CountVectorizer:
    """Fit the topic vocabulary on documents and return a vectorizer that keeps it fixed.

    Args:
        docs: The documents (cleaned text; the analyzer normalises them).
        normalizer: The model's normalisation (see :func:`build_topic_analyzer`).
        min_df: Keep words in at least this many documents (int) or share of documents (float).
        max_df: Drop words in more than this share (float) or count (int) of documents.
        ngram_range: (min_n, max_n) word n-grams.
        stopwords_extra: Extra stop words (see :func:`build_topic_analyzer`).
        proclitics: Proclitic stripping (see :func:`build_topic_analyzer`).
        stemmer: Stemmer (see :func:`build_topic_analyzer`).
        max_features: Keep only the most frequent words; ``None`` keeps all.

    Returns:
        An unfitted ``CountVectorizer(analyzer=..., vocabulary=[...])``: fitting it (as BERTopic
        does on the joined topic documents) never changes the vocabulary.

    Raises:
        ConfigError: ``min_df``/``max_df`` leave no word for this corpus (the message gives the
            corpus size and what to lower).
    """
    analyzer = build_topic_analyzer(
        normalizer=normalizer,
        stopwords_extra=stopwords_extra,
        proclitics=proclitics,
        stemmer=stemmer,
        ngram_range=ngram_range,
    )
    docs = list(docs)
    probe = CountVectorizer(
        analyzer=analyzer, min_df=min_df, max_df=max_df, max_features=max_features
    )
    try:
        probe.fit(docs)
    except ValueError as err:
        raise ConfigError(
            f"The topic vocabulary is empty or inconsistent for {len(docs)} documents with "
            f"topic_model.min_df={min_df!r} and topic_model.max_df={max_df!r} ({err}). Lower "
            "min_df (e.g. 2) or raise max_df, or pass more documents."
        ) from err
    return make_fixed_vectorizer(analyzer, probe.get_feature_names_out().tolist())


def make_fixed_vectorizer(analyzer: ArabicAnalyzer, vocabulary: Sequence[str]) -> CountVectorizer:
    """A CountVectorizer with ``analyzer`` and a fixed ``vocabulary`` (column order kept)."""
    if not vocabulary:
        raise ConfigError("The topic vocabulary is empty; lower topic_model.min_df.")
    return CountVectorizer(analyzer=analyzer, vocabulary=list(vocabulary))


def vocabulary_of(vectorizer: CountVectorizer) -> list[str]:
    """The fixed vocabulary of a vectorizer from :func:`build_topic_vectorizer`, in column order."""
    vocab = vectorizer.vocabulary
    if isinstance(vocab, Mapping):
        return [word for word, _ in sorted(vocab.items(), key=lambda item: item[1])]
    return list(vocab)


def analyze_seed_words(analyzer: ArabicAnalyzer, words: Iterable[str]) -> list[str]:
    """Seed words in the form the vocabulary uses (normalised, proclitics stripped, no stop words).

    Args:
        analyzer: The topic analyzer (n-grams are ignored: each word is analysed on its own).
        words: Seed words as written in the config.

    Returns:
        The distinct analysed tokens, in input order.
    """
    unigram = ArabicAnalyzer(**{**analyzer.get_params(), "ngram_range": (1, 1)})
    out: dict[str, None] = {}
    for word in words:
        for token in unigram(str(word)):
            out.setdefault(token, None)
    return list(out)


def seed_topic_list(
    analyzer: ArabicAnalyzer, seed_words: Mapping[str, Sequence[str]] | None
) -> list[list[str]] | None:
    """BERTopic's ``seed_topic_list`` from ``{label: [words]}``.

    Each topic's list holds the words as written (the embedder sees raw text) and their analysed
    forms (c-TF-IDF boosts seed words by matching vocabulary entries, which are analysed).

    Raises:
        ConfigError: ``seed_words`` is not a mapping, or a label's words all vanish in analysis.
    """
    if not seed_words:
        return None
    if not isinstance(seed_words, Mapping):
        raise ConfigError(
            "topic_model.seed_words must map a label to a list of words, e.g. "
            f"{{security: [هجوم, تفجير]}}; got {type(seed_words).__name__}."
        )
    out = []
    for label, words in seed_words.items():
        written = [str(w) for w in (words.split() if isinstance(words, str) else words)]
        analysed = analyze_seed_words(analyzer, written)
        if not analysed:
            raise ConfigError(
                f"topic_model.seed_words[{label!r}] has no word left after analysis (all stop "
                f"words, digits or Latin?): {written}. Give content words."
            )
        out.append(list(dict.fromkeys(written + analysed)))
    return out


def vectorizer_to_dict(vectorizer: CountVectorizer) -> dict[str, Any]:
    """JSON-able description of a fixed-vocabulary topic vectorizer (no pickle needed)."""
    analyzer = vectorizer.analyzer
    if not isinstance(analyzer, ArabicAnalyzer):
        raise ArtifactError(
            f"Only vectorizers built by build_topic_vectorizer can be saved; this one has "
            f"analyzer={analyzer!r}."
        )
    params = analyzer.get_params()
    normalizer = params["normalizer"]
    if isinstance(normalizer, Normalizer):
        normalizer = normalizer.to_dict()
    elif isinstance(normalizer, Mapping):
        normalizer = dict(normalizer)
    stopwords = params["stopwords"]
    if stopwords is not None and not isinstance(stopwords, str):
        stopwords = sorted(stopwords)
    return {
        "analyzer": {
            **params,
            "normalizer": normalizer,
            "stopwords": stopwords,
            "ngram_range": list(params["ngram_range"]),
        },
        "vocabulary": vocabulary_of(vectorizer),
    }


def vectorizer_from_dict(data: Mapping[str, Any]) -> CountVectorizer:
    """Rebuild the vectorizer written by :func:`vectorizer_to_dict`.

    Raises:
        ArtifactError: The description lacks ``analyzer`` or ``vocabulary``.
    """
    try:
        params = dict(data["analyzer"])
        vocabulary = list(data["vocabulary"])
    except (KeyError, TypeError) as err:
        raise ArtifactError(
            f"The saved topic vectorizer lacks {err}; the bundle is damaged. Re-export it."
        ) from err
    if isinstance(params.get("normalizer"), Mapping):
        params["normalizer"] = Normalizer.from_config(params["normalizer"])
    params["ngram_range"] = _ngram_tuple(params.get("ngram_range", (1, 1)))
    return make_fixed_vectorizer(ArabicAnalyzer(**params), vocabulary)


def _ngram_tuple(value: Sequence[int]) -> tuple[int, int]:
    try:
        low, high = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"topic_model.ngram_range must be two integers [min_n, max_n]; got {value!r}."
        ) from None
    return low, high
