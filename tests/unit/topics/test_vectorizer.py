"""The topic vectorizer: document-level Arabic vocabulary, fixed for c-TF-IDF, saved as JSON."""

from __future__ import annotations

import json

import pytest
from sklearn.feature_extraction.text import CountVectorizer

from arnews_ml.exceptions import ConfigError
from arnews_ml.text.stopwords import arabic_stopwords
from arnews_ml.topics.vectorizer import (
    analyze_seed_words,
    build_topic_analyzer,
    build_topic_vectorizer,
    seed_topic_list,
    vectorizer_from_dict,
    vectorizer_to_dict,
    vocabulary_of,
)

# Diacritics, tatweel, digits (ASCII and Arabic-Indic), Latin words, stop words on purpose.
DOCS = [
    "أعلنت الحكومةُ في بغداد أن البرلمـــان سيصوّت على القانون الجديد عام 2024 وفق CNN",
    "قال الوزير إن الحكومة والبرلمان اتفقا على القانون بعد جلسة طويلة ١٢ ساعة",
    "ارتفعت أسعار النفط في الأسواق وقال البنك المركزي إن التضخم تراجع Reuters",
    "هبطت أسعار النفط وقال الوزير إن الموازنة تعتمد على النفط في بغداد",
    "فاز الفريق في المباراة وقال المدرب إن الجماهير دعمت الفريق في الملعب",
    "خسر الفريق المباراة في الملعب وقال المدرب إن الدوري طويل 3-1",
]


def test_vocabulary_excludes_stopwords_digits_and_latin():
    vectorizer = build_topic_vectorizer(DOCS, min_df=1, max_df=1.0)
    vocab = vocabulary_of(vectorizer)
    stops = arabic_stopwords()
    assert vocab, "the vocabulary should not be empty"
    assert not stops.intersection(vocab)
    assert not [w for w in vocab if any(c.isdigit() for c in w)]
    assert not [w for w in vocab if any("a" <= c.lower() <= "z" for c in w)]
    # normalised: no diacritics or tatweel, hamza-alef folded, article stripped
    assert "برلمان" in vocab and "حكومة" in vocab
    assert not [w for w in vocab if "\u0640" in w or any("\u064b" <= c <= "\u0652" for c in w)]
    assert "الحكومة" not in vocab


def test_vocabulary_uses_document_frequencies_and_stays_fixed():
    vectorizer = build_topic_vectorizer(DOCS, min_df=2, max_df=1.0)
    vocab = vocabulary_of(vectorizer)
    # "نفط" is in 2 documents (kept), "تضخم" in 1 (dropped): min_df counts documents
    assert "نفط" in vocab
    assert "تضخم" not in vocab
    assert isinstance(vectorizer, CountVectorizer)
    # BERTopic fits it on one joined document per topic: the vocabulary must not change
    joined = [" ".join(DOCS[:3]), " ".join(DOCS[3:])]
    counts = vectorizer.fit_transform(joined)
    assert vectorizer.get_feature_names_out().tolist() == vocab
    assert counts.shape == (2, len(vocab))


def test_max_df_drops_words_in_most_documents():
    vocab = vocabulary_of(build_topic_vectorizer(DOCS, min_df=1, max_df=0.3))
    assert "نفط" not in vocab  # in 2 of 6 documents: above 30 %
    assert "تضخم" in vocab  # in 1 of 6


def test_min_df_too_high_is_a_config_error_with_the_fix():
    with pytest.raises(ConfigError, match="min_df"):
        build_topic_vectorizer(DOCS, min_df=50, max_df=1.0)


def test_article_mode_keeps_words_that_start_with_a_proclitic_letter():
    analyzer = build_topic_analyzer(proclitics="article")
    assert analyzer("والوزير وزير بغداد") == ["وزير", "وزير", "بغداد"]
    aggressive = build_topic_analyzer(proclitics=True)
    assert aggressive("بغداد") == ["غداد"]  # why "article" is the default for readable words


def test_stopwords_extra_and_ngrams():
    analyzer = build_topic_analyzer(stopwords_extra=["الفريق"], ngram_range=[1, 2])
    tokens = analyzer("فاز الفريق في المباراة النهائية")
    assert "فريق" not in tokens
    assert "مباراة نهائية" in tokens


def test_json_round_trip_gives_the_same_counts():
    vectorizer = build_topic_vectorizer(DOCS, min_df=1, max_df=1.0, ngram_range=(1, 2))
    data = json.loads(json.dumps(vectorizer_to_dict(vectorizer), ensure_ascii=False))
    rebuilt = vectorizer_from_dict(data)
    assert vocabulary_of(rebuilt) == vocabulary_of(vectorizer)
    assert (rebuilt.transform(DOCS) != vectorizer.transform(DOCS)).nnz == 0


def test_seed_words_are_analysed_like_the_vocabulary():
    analyzer = build_topic_analyzer()
    assert analyze_seed_words(analyzer, ["الأمن", "النفط", "في", "2024", "ISIS"]) == ["امن", "نفط"]
    seeds = seed_topic_list(analyzer, {"security": ["الأمن", "هجوم"], "economy": "النفط التضخم"})
    assert seeds == [["الأمن", "هجوم", "امن"], ["النفط", "التضخم", "نفط", "تضخم"]]
    assert seed_topic_list(analyzer, None) is None


def test_seed_words_errors_name_the_label():
    analyzer = build_topic_analyzer()
    with pytest.raises(ConfigError, match="security"):
        seed_topic_list(analyzer, {"security": ["في", "2024"]})
    with pytest.raises(ConfigError, match="seed_words"):
        seed_topic_list(analyzer, [["هجوم"]])  # type: ignore[arg-type]
