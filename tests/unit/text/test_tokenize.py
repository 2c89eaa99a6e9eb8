"""ArabicAnalyzer: Arabic-safe tokens, proclitics, stemmers, and life inside scikit-learn."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from arnews_ml.exceptions import ConfigError, DataError, DependencyError
from arnews_ml.text import ARABIC_TOKEN_PATTERN, ArabicAnalyzer, Normalizer, tokenize
from arnews_ml.text.tokenize import light_stem, strip_proclitics

MIXED = "أعلنت الوزارةُ 😀 عن ١٢ إصابةً في iPhone-15 #كورونا_الجديد، اليوم!"
MIXED_TOKENS = [
    "اعلنت",
    "الوزارة",
    "عن",
    "12",
    "اصابة",
    "في",
    "iphone",
    "15",
    "كورونا",
    "الجديد",
    "اليوم",
]
DIACRITIZED = "كَتَبَ درسَه"


def test_sklearn_default_pattern_loses_diacritized_words_and_ours_does_not() -> None:
    sklearn_default = CountVectorizer().build_analyzer()
    assert sklearn_default("كَتَبَ") == []  # every letter is cut off by a haraka
    assert sklearn_default("درسَه") == ["درس"]  # cut at the fatha, "ه" dropped
    assert tokenize(DIACRITIZED) == ["كتب", "درسه"]
    # Without normalisation the words keep their marks but stay whole.
    assert ArabicAnalyzer(normalizer=None)(DIACRITIZED) == ["كَتَبَ", "درسَه"]
    raw_pattern = CountVectorizer(token_pattern=ARABIC_TOKEN_PATTERN).build_analyzer()
    assert raw_pattern(DIACRITIZED) == ["كَتَبَ", "درسَه"]


def test_default_tokens_drop_emoji_and_punctuation() -> None:
    assert tokenize(MIXED) == MIXED_TOKENS


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"drop_digits": True}, [t for t in MIXED_TOKENS if t not in ("12", "15")]),
        ({"drop_latin": True}, [t for t in MIXED_TOKENS if t != "iphone"]),
        ({"min_length": 3}, [t for t in MIXED_TOKENS if len(t) >= 3]),
        ({"stopwords": "arabic"}, [t for t in MIXED_TOKENS if t not in ("عن", "في")]),
        ({"lowercase": False}, [("iPhone" if t == "iphone" else t) for t in MIXED_TOKENS]),
    ],
    ids=["drop_digits", "drop_latin", "min_length", "stopwords", "lowercase"],
)
def test_filters(options: dict[str, object], expected: list[str]) -> None:
    assert ArabicAnalyzer(**options)(MIXED) == expected


def test_drop_digits_catches_mixed_tokens() -> None:
    assert ArabicAnalyzer(drop_digits=True)("كوفيد19 covid19 كوفيد") == ["كوفيد"]


PROCLITIC_CASES = [
    # (token, mode True, mode "article")
    ("والكتاب", "كتاب", "كتاب"),
    ("بالبيت", "بيت", "بيت"),
    ("للبيت", "بيت", "بيت"),
    ("فالامر", "امر", "امر"),
    ("كالعادة", "عادة", "عادة"),
    ("البلاد", "بلاد", "بلاد"),
    ("وكتب", "كتب", "وكتب"),
    ("وبالتالي", "تالي", "وبالتالي"),
    # Must not be cut: 3-letter words, and words too short for the article they seem to carry.
    ("ولد", "ولد", "ولد"),
    ("بلد", "بلد", "بلد"),
    ("كتب", "كتب", "كتب"),
    ("الله", "الله", "الله"),
    ("والد", "والد", "والد"),
    ("والذي", "والذي", "والذي"),
    ("iphone", "iphone", "iphone"),
]


@pytest.mark.parametrize(("token", "letters", "article"), PROCLITIC_CASES)
def test_strip_proclitics(token: str, letters: str, article: str) -> None:
    assert strip_proclitics(token, True) == letters
    assert strip_proclitics(token, "article") == article
    assert strip_proclitics(token, False) == token


def test_article_mode_keeps_names_that_start_like_a_proclitic() -> None:
    analyzer = ArabicAnalyzer(proclitics="article")
    assert analyzer("بغداد بلاد لبنان في البصرة") == ["بغداد", "بلاد", "لبنان", "في", "بصرة"]


def test_stop_words_are_checked_after_normalising_and_stripping() -> None:
    text = "والذي قال وقال الرئيسُ لماذا"
    stops = ["الذي", "قال", "ماذا"]
    assert ArabicAnalyzer(stopwords=stops, proclitics=True)(text) == ["رئيس"]
    assert ArabicAnalyzer(stopwords=stops, proclitics="article")(text) == ["رئيس"]
    assert ArabicAnalyzer(stopwords=stops)(text) == ["والذي", "وقال", "الرئيس", "لماذا"]
    # User stop words are normalised like the tokens: one entry covers إن / أن / ان.
    assert ArabicAnalyzer(stopwords=["إنّ"])("إن أن ان أنّ كتب") == ["كتب"]


def test_light_stemmer() -> None:
    analyzer = ArabicAnalyzer(stemmer="light")
    text = "الانتخابات المواطنين القوات العراقية iPhone"
    assert analyzer(text) == ["انتخاب", "مواطن", "قوات", "عراق", "iphone"]
    assert ArabicAnalyzer(stemmer="light", proclitics="article")("لبنان") == ["لبنان"]
    assert light_stem("كتابها", proclitics=False) == "كتاب"
    assert light_stem("بيت", proclitics=False) == "بيت"


@pytest.mark.parametrize(("stemmer", "expected"), [("isri", "نخب"), ("snowball", "انتخاب")])
def test_nltk_stemmers_stem_arabic_tokens_only(stemmer: str, expected: str) -> None:
    pytest.importorskip("nltk")
    assert ArabicAnalyzer(stemmer=stemmer)("الانتخابات iPhone") == [expected, "iphone"]  # type: ignore[arg-type]


def test_missing_nltk_is_a_dependency_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nltk.stem.isri", None)
    with pytest.raises(DependencyError, match="pip install"):
        ArabicAnalyzer(stemmer="isri")("كتب")


def test_word_ngrams() -> None:
    text = "قال الوزير إن الاقتصاد ينمو"
    unigrams = ["الوزير", "الاقتصاد", "ينمو"]
    bigrams = ["الوزير الاقتصاد", "الاقتصاد ينمو"]
    assert ArabicAnalyzer(stopwords="arabic", ngram_range=(1, 2))(text) == unigrams + bigrams
    assert ArabicAnalyzer(stopwords="arabic", ngram_range=[2, 2])(text) == bigrams  # YAML list


def test_normalizer_may_be_a_mapping_of_switches() -> None:
    assert ArabicAnalyzer(normalizer={"ta_marbuta": True})("مدرسةٌ") == ["مدرسه"]
    assert ArabicAnalyzer(normalizer=Normalizer(alef=False))("أحمد") == ["أحمد"]


def test_vectorizer_with_the_analyzer_pickles_and_clones(arabic_docs: list[str]) -> None:
    analyzer = ArabicAnalyzer(stopwords="arabic", proclitics=True, stemmer="light")
    vectorizer = TfidfVectorizer(analyzer=analyzer)
    matrix = vectorizer.fit(arabic_docs).transform(arabic_docs)

    restored = pickle.loads(pickle.dumps(vectorizer))
    assert (restored.transform(arabic_docs) != matrix).nnz == 0
    assert restored.analyzer == analyzer
    assert analyzer._cache  # filled by fitting ...
    assert pickle.loads(pickle.dumps(analyzer))._cache == {}  # ... and not pickled

    cloned = clone(vectorizer)
    assert cloned.analyzer == analyzer
    assert cloned.analyzer is not analyzer
    assert cloned.fit(arabic_docs).vocabulary_ == vectorizer.vocabulary_

    assert copy.deepcopy(analyzer)(arabic_docs[0]) == analyzer(arabic_docs[0])
    assert vectorizer.get_params()["analyzer__stemmer"] == "light"
    vectorizer.set_params(analyzer__stemmer=None)
    assert "قوات" in vectorizer.fit(arabic_docs).vocabulary_


def test_vocabulary_of_the_shared_corpus(arabic_docs: list[str]) -> None:
    vocab = TfidfVectorizer(analyzer=ArabicAnalyzer(stopwords="arabic")).fit(arabic_docs)
    words = set(vocab.vocabulary_)
    assert {"داعش", "12", "85", "البرلمان", "الدوري", "العراقي", "نفذت"} <= words
    assert not words & {"في", "من", "😀", "https", "example", "org", "ـ"}


def test_repr_and_equality() -> None:
    assert repr(ArabicAnalyzer()) == "ArabicAnalyzer()"
    analyzer = ArabicAnalyzer(normalizer=None, stemmer="light")
    assert repr(analyzer) == "ArabicAnalyzer(normalizer=None, stemmer='light')"
    assert analyzer == ArabicAnalyzer(normalizer=None, stemmer="light")
    assert analyzer != ArabicAnalyzer(stemmer="light")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"stemmer": "porter"}, "stemmer must be one of"),
        ({"ngram_range": (2, 1)}, "ngram_range must be two integers"),
        ({"stopwords": "english"}, "stopwords must be None, 'arabic'"),
        ({"normalizer": {"stem": True}}, "Unknown normalisation step"),
        ({"proclitics": "yes"}, "proclitics must be"),
        ({"min_length": 0}, "min_length must be an integer >= 1"),
    ],
    ids=["stemmer", "ngram_range", "stopwords", "normalizer", "proclitics", "min_length"],
)
def test_invalid_parameters(options: dict[str, object], message: str) -> None:
    analyzer = ArabicAnalyzer(**options)  # parameters are stored as given, checked on use
    with pytest.raises(ConfigError, match=message):
        analyzer.validate()
    with pytest.raises(ConfigError, match=message):
        analyzer("نص")


def test_missing_text_is_a_data_error() -> None:
    with pytest.raises(DataError, match="expects a str, got float"):
        ArabicAnalyzer(normalizer=None)(float("nan"))  # type: ignore[arg-type]


def test_set_params_rejects_unknown_names() -> None:
    with pytest.raises(ConfigError, match=r"no parameter.*'stemer'.*stemmer"):
        ArabicAnalyzer().set_params(stemer="light")


def test_importing_the_text_package_stays_light() -> None:
    code = "import sys, arnews_ml.text; print('nltk' in sys.modules, 'sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
