"""The project's Arabic stop-word list: shipped, well-formed, normalised for matching."""

from __future__ import annotations

from importlib import resources

import pytest

from arnews_ml.exceptions import ConfigError
from arnews_ml.text import DEFAULT_NORMALIZER, ArabicAnalyzer, Normalizer, arabic_stopwords
from arnews_ml.text.stopwords import STOPWORDS_FILE, raw_arabic_stopwords

NOT_STOPWORDS = ["السبت", "الأحد", "الجمعة", "يناير", "كانون", "رمضان", "العراق", "بغداد", "النفط"]


def test_file_ships_in_the_package_with_its_licence_header() -> None:
    text = resources.files("arnews_ml.text").joinpath(STOPWORDS_FILE).read_text("utf-8")
    first = text.splitlines()[0]
    assert first == "# arnews_ml Arabic stop words, written for this project, Apache-2.0"


def test_raw_list_is_one_unvocalised_word_per_line() -> None:
    words = raw_arabic_stopwords()
    assert 250 <= len(words) <= 450
    assert len(set(words)) == len(words)
    marks_only = Normalizer.from_config(
        {**dict.fromkeys(DEFAULT_NORMALIZER.to_dict(), False), "diacritics": True, "tatweel": True}
    )
    for word in words:
        assert word == word.strip() and " " not in word, word
        assert marks_only(word) == word, f"{word!r} carries diacritics or tatweel"


def test_stopwords_are_normalised() -> None:
    stops = arabic_stopwords()
    assert isinstance(stops, frozenset)
    assert {"ان", "الذي", "التي", "كان", "وقال", "اضاف", "يذكر", "قد", "الي", "ثلاثة"} <= stops
    assert "أن" not in stops and "إلى" not in stops  # spelled as normalised tokens are
    assert all(DEFAULT_NORMALIZER(w) == w for w in stops)


@pytest.mark.parametrize("word", NOT_STOPWORDS)
def test_days_months_and_content_words_are_not_stop_words(word: str) -> None:
    assert DEFAULT_NORMALIZER(word) not in arabic_stopwords()


def test_extra_words_are_normalised_and_added() -> None:
    base = arabic_stopwords()
    extended = arabic_stopwords(["الرئيسُ", "أخبار"])
    assert extended - base == {"الرئيس", "اخبار"}
    assert arabic_stopwords("عاجل") - base == {"عاجل"}  # one word, not its letters
    assert arabic_stopwords() is base  # the bundled list is read once


def test_list_follows_the_normalizer_it_is_matched_with() -> None:
    keep_alef = Normalizer(alef=False)
    assert "أن" in arabic_stopwords(normalizer=keep_alef)
    analyzer = ArabicAnalyzer(normalizer=keep_alef, stopwords="arabic")
    assert analyzer("أن الاقتصاد إلى النمو") == ["الاقتصاد", "النمو"]


def test_bad_extra_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="must be strings"):
        arabic_stopwords([3])  # type: ignore[list-item]
