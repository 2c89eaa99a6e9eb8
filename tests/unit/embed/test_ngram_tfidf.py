"""The fast word and character n-gram parts give exactly scikit-learn's TfidfVectorizer."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from arnews_ml.embed.ngram_keys import CodedGrams
from arnews_ml.embed.ngram_tfidf import CharNgramTfidf, WordNgramTfidf, char_wb_ngrams
from arnews_ml.text.tokenize import ArabicAnalyzer

DOCS = [
    "كتب الولد درسه في المدرسة صباحا في المدرسة",
    "كتب الولد رسالة الى صديقه في بغداد والذي كتب",
    "ارتفعت اسعار النفط الى 85 دولارا للبرميل اليوم",
    "اسعار النفط ترتفع في الاسواق العالمية 30 بالمئة بالمئة",
    "فاز فريق الزوراء على الشرطة في الدوري الممتاز #الدوري_العراقي",
    "news from baghdad: iraq oil prices rise 😀 a  b\tc\nlong-word ab",
    "",
    "في في في",
]
NEW = ["كتب صديقه رسالة جديدة عن النفط", "oil prices", "", "كلمة"]
LIMITS = ({}, {"min_df": 2, "max_df": 0.8}, {"max_features": 25}, {"min_df": 0.2, "max_df": 3})


def assert_same(ours: sp.spmatrix, theirs: sp.spmatrix) -> None:
    ours, theirs = sp.csr_matrix(ours), sp.csr_matrix(theirs)
    ours.sort_indices()
    theirs.sort_indices()
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert np.array_equal(ours.indptr, theirs.indptr)
    assert np.array_equal(ours.indices, theirs.indices)
    # Rows are L2-normalised; summing in another entry order may move the last bit.
    np.testing.assert_allclose(ours.data, theirs.data, rtol=8 * np.finfo(ours.dtype).eps)


def check_against(ours, theirs: TfidfVectorizer, docs: list[str]) -> None:
    try:
        expected = theirs.fit_transform(docs)
    except ValueError as error:  # e.g. nothing survives pruning: ours must refuse as well
        with pytest.raises(ValueError, match=str(error).split(".")[0][:20]):
            ours.fit_transform(docs)
        return
    assert_same(ours.fit_transform(docs), expected)
    assert ours.vocabulary_ == theirs.vocabulary_
    assert np.array_equal(ours.idf_, theirs.idf_)
    assert_same(ours.transform(NEW), theirs.transform(NEW))
    assert_same(ours.transform(docs[::-1]), theirs.transform(docs[::-1]))


@pytest.mark.parametrize("limits", LIMITS)
@pytest.mark.parametrize("ngram_range", [(2, 5), (3, 5), (4, 6), (1, 1)])
def test_char_part_equals_scikit_learn_char_wb(ngram_range, limits) -> None:
    theirs = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=ngram_range,
        lowercase=False,
        dtype=np.float32,
        sublinear_tf=True,
        **limits,
    )
    check_against(CharNgramTfidf(ngram_range=ngram_range, **limits), theirs, DOCS)


def test_char_part_without_integer_keys_gives_the_same_result() -> None:
    # Twelve-character n-grams of a 40-letter alphabet do not fit in 63 bits: the per-word
    # Python numbering takes over, with the same result.
    words = ["".join(chr(0x0621 + (i * 7 + j) % 40) for j in range(14)) for i in range(30)]
    docs = [" ".join(words[i : i + 5]) for i in range(25)]
    assert CodedGrams.build(words, 10, 12) is None
    theirs = TfidfVectorizer(analyzer="char_wb", ngram_range=(10, 12), lowercase=False)
    check_against(CharNgramTfidf(ngram_range=(10, 12), dtype=np.float64), theirs, docs)


def test_coded_grams_decode_back_to_their_strings() -> None:
    words = ["كتب", "a", "long-word", "😀x"]
    coded = CodedGrams.build(words, 2, 5)
    expected = [g for w in words for g in char_wb_ngrams(w, 2, 5)]
    assert sorted(coded.decode(coded.keys)) == sorted(expected)
    assert CodedGrams.build(["a\x00b"], 2, 3) is None  # NUL would read as an end


@pytest.mark.parametrize("limits", LIMITS)
@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (2, 3), (1, 3), (3, 3)])
def test_word_part_equals_scikit_learn_with_the_analyzer(ngram_range, limits) -> None:
    analyzer = {"normalizer": None, "lowercase": False}
    theirs = TfidfVectorizer(
        analyzer=ArabicAnalyzer(**analyzer, ngram_range=ngram_range),
        lowercase=False,
        dtype=np.float32,
        sublinear_tf=True,
        **limits,
    )
    ours = WordNgramTfidf(ArabicAnalyzer(**analyzer), ngram_range=ngram_range, **limits)
    check_against(ours, theirs, DOCS)


def test_word_part_drops_tokens_as_the_analyzer_does() -> None:
    # Stop words and proclitics drop or change tokens before n-grams join their neighbours.
    options = {"stopwords": "arabic", "proclitics": True, "stemmer": "light", "drop_digits": True}
    theirs = TfidfVectorizer(
        analyzer=ArabicAnalyzer(**options, ngram_range=(1, 2)),
        lowercase=False,
        sublinear_tf=True,
    )
    ours = WordNgramTfidf(ArabicAnalyzer(**options), ngram_range=(1, 2), dtype=np.float64)
    check_against(ours, theirs, DOCS)
    assert "في" not in ours.vocabulary_ and "نفط" in ours.vocabulary_


def test_empty_vocabulary_and_over_pruning_raise() -> None:
    with pytest.raises(ValueError, match="empty vocabulary"):
        WordNgramTfidf().fit_transform(["!!!", ""])
    with pytest.raises(ValueError, match="no terms remain"):
        CharNgramTfidf(min_df=len(DOCS)).fit_transform(DOCS)  # the empty one has none
    with pytest.raises(ValueError, match="max_df"):
        CharNgramTfidf(min_df=5, max_df=2).fit_transform(DOCS)


def test_char_wb_ngrams_short_word() -> None:
    assert char_wb_ngrams("ab", 2, 5) == [" a", "ab", "b ", " ab", "ab ", " ab "]
    assert char_wb_ngrams("a", 3, 5) == [" a "]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_features_breaks_ties_as_scikit_learn(dtype) -> None:
    # 300 words seen once each: which 37 survive depends only on how ties are broken.
    words = [f"w{i:03d}" + "ابتثجحخ"[i % 7] for i in range(300)]
    docs = [" ".join(words[i : i + 10]) for i in range(0, 300, 10)]
    shared = {"lowercase": False, "dtype": dtype, "max_features": 37, "sublinear_tf": True}
    theirs = TfidfVectorizer(analyzer=ArabicAnalyzer(normalizer=None, lowercase=False), **shared)
    ours = WordNgramTfidf(
        ArabicAnalyzer(normalizer=None, lowercase=False),
        ngram_range=(1, 1),
        dtype=dtype,
        max_features=37,
    )
    check_against(ours, theirs, docs)
    theirs = TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 5), **shared)
    check_against(CharNgramTfidf(ngram_range=(4, 5), dtype=dtype, max_features=37), theirs, docs)


def _random_docs(seed: int, n: int = 60) -> list[str]:
    rng = np.random.default_rng(seed)
    alphabet = [*"ابتثجحخدرزسشصطعغفقكلمنهوي", "a", "b", "😀", "ـ", "1"]
    words = ["".join(rng.choice(alphabet, size=rng.integers(1, 9))) for _ in range(80)]
    return [" ".join(rng.choice(words, size=rng.integers(0, 25))) for _ in range(n)]


@pytest.mark.parametrize(
    "make",
    [
        lambda: CharNgramTfidf((2, 5), min_df=2),
        lambda: CharNgramTfidf((1, 3)),
        lambda: WordNgramTfidf(ngram_range=(1, 2), min_df=2),
        lambda: WordNgramTfidf(ngram_range=(1, 3)),
        lambda: WordNgramTfidf(ngram_range=(2, 2)),
    ],
    ids=["char-2-5", "char-1-3", "word-1-2", "word-1-3", "word-2-2"],
)
def test_integer_key_lookup_equals_the_string_lookup_and_follows_a_refit(make) -> None:
    from arnews_ml.embed.ngram_tfidf import NgramTfidf

    part = make()
    for seed in (0, 1):  # the second fit must not reuse the first fit's lookup
        part.fit_transform(_random_docs(seed))
        held_out = [*_random_docs(seed + 10, 40), "", "zzz qqq", "😀"]
        assert_same(part.transform(held_out), NgramTfidf.transform(part, held_out))
