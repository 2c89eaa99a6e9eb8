"""TfidfEmbedder: Arabic-safe word + char n-grams, unit rows, save/load without pickle."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from arnews_ml.embed import TfidfEmbedder, load_embedder
from arnews_ml.exceptions import ArtifactError, ConfigError, DataError

DOCS = [
    "كَتَبَ الولدُ درسَه في المدرسةِ صباحاً",
    "كتب الولد رسالة إلى صديقه في بغداد",
    "ارتفعت أسعار النفط إلى 85 دولاراً للبرميل اليوم",
    "أسعار النفط ترتفع في الأسواق العالمية ٣٠ بالمئة",
    "فاز فريق الزوراء على الشرطة في الدوري الممتاز #الدوري_العراقي",
    "news from Baghdad: Iraq oil prices rise 😀",
]


def same_csr(a: sp.spmatrix, b: sp.spmatrix) -> bool:
    a, b = sp.csr_matrix(a), sp.csr_matrix(b)
    a.sort_indices()
    b.sort_indices()
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.data, b.data)
    )


@pytest.fixture
def fitted() -> TfidfEmbedder:
    return TfidfEmbedder(min_df=1, max_df=1.0).fit(DOCS)


def test_shapes_dtype_and_unit_rows(fitted: TfidfEmbedder) -> None:
    matrix = fitted.encode(DOCS[:4])
    assert sp.issparse(matrix) and matrix.format == "csr"
    assert matrix.shape == (4, fitted.dim)
    assert matrix.dtype == np.float32
    assert fitted.dim == sum(fitted.n_features_.values())
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    assert np.allclose(norms, 1.0, atol=1e-5)


def test_diacritized_words_are_kept_and_normalised(fitted: TfidfEmbedder) -> None:
    vocabulary = fitted.vectorizers_["word"].vocabulary_
    # scikit-learn's default token_pattern would drop كَتَبَ and cut درسَه (DESIGN §9).
    assert "كتب" in vocabulary
    assert "درسه" in vocabulary
    assert "كتب الولد" in vocabulary  # word bigrams
    assert "85" in vocabulary and "30" in vocabulary  # Arabic-Indic digits normalised
    assert not any("\u064e" in term for term in vocabulary)  # no fatha left
    # Diacritics and tatweel do not change the features.
    assert same_csr(fitted.encode(["كتب الولد"]), fitted.encode(["كَتَبَ الولـــدُ"]))


def test_encode_of_training_texts_equals_fresh_transform(fitted: TfidfEmbedder) -> None:
    # The first encode after fit reuses the training matrix; later calls recompute.
    first = fitted.encode(DOCS)
    second = fitted.encode(DOCS)
    assert np.allclose(first.toarray(), second.toarray(), atol=1e-6)


def test_unknown_text_gives_zero_row(fitted: TfidfEmbedder) -> None:
    matrix = fitted.encode(["", "zzzz qqqq"])
    assert matrix.shape == (2, fitted.dim)
    assert matrix[0].nnz == 0


@pytest.mark.parametrize("analyzer", ["word", "char"])
def test_single_part(analyzer: str) -> None:
    embedder = TfidfEmbedder(analyzer=analyzer, min_df=1, max_df=1.0).fit(DOCS)
    assert list(embedder.n_features_) == [analyzer]
    assert embedder.encode(DOCS).shape == (len(DOCS), embedder.dim)


def test_save_load_identical_and_no_pickle(fitted: TfidfEmbedder, tmp_path) -> None:
    entry = fitted.save(tmp_path)
    assert entry["kind"] == "tfidf"
    assert sorted(entry["files"]) == sorted(p.name for p in tmp_path.iterdir())
    assert not list(tmp_path.glob("*.pkl")) and not list(tmp_path.glob("*.joblib"))
    json.dumps(entry)
    loaded = load_embedder(tmp_path, entry)
    assert isinstance(loaded, TfidfEmbedder)
    assert loaded.spec == fitted.spec
    assert loaded.dim == fitted.dim
    new = [*DOCS[::-1], "نصٌّ جديدٌ عن النفط في بغداد"]
    assert same_csr(loaded.encode(new), fitted.encode(new))


def test_a_load_and_its_transforms_never_hash_the_vocabulary(
    fitted: TfidfEmbedder, tmp_path
) -> None:
    """Loading keeps each part's terms as a list (the fast transform looks them up by integer
    keys); the term -> column dict is built only when someone asks for ``vocabulary_``, and it
    is the fitted one."""
    loaded = load_embedder(tmp_path, fitted.save(tmp_path))
    loaded.encode(DOCS)
    for part, vectorizer in loaded.vectorizers_.items():
        assert "_vocabulary" not in vectorizer.__dict__, part
        assert vectorizer.terms_ == fitted.vectorizers_[part].terms_
        assert vectorizer.vocabulary_ == fitted.vectorizers_[part].vocabulary_
        assert vectorizer.terms_ == sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)


@pytest.mark.parametrize("damage", ["repeated", "unsorted"])
def test_a_vocabulary_file_with_a_repeated_term_is_refused(
    fitted: TfidfEmbedder, tmp_path, damage: str
) -> None:
    """Terms are saved in increasing order, which the load checks in one pass; a file out of
    that order (hand-made, or an older writer) is still read when its terms are distinct."""
    entry = fitted.save(tmp_path)
    path = tmp_path / "tfidf_word_vocabulary.json"
    terms = json.loads(path.read_text(encoding="utf-8"))
    if damage == "repeated":
        terms[1] = terms[0]
    else:
        terms[0], terms[1] = terms[1], terms[0]
    path.write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
    if damage == "repeated":
        with pytest.raises(ArtifactError, match=r"tfidf_params|disagree.*distinct"):
            load_embedder(tmp_path, entry)
        return
    loaded = load_embedder(tmp_path, entry)
    assert loaded.vectorizers_["word"].vocabulary_[terms[0]] == 0


def test_spec_records_parameters() -> None:
    spec = TfidfEmbedder(char_ngram_range=(3, 5), stemmer="light").spec
    options = spec.options_dict
    assert spec.kind == "tfidf"
    assert options["char_ngram_range"] == (3, 5)
    assert options["stemmer"] == "light"
    assert "diacritics" in options["normalizer"]
    assert spec.key() != TfidfEmbedder().spec.key()
    assert TfidfEmbedder().cacheable is False


def test_options_change_features() -> None:
    plain = TfidfEmbedder(analyzer="word", min_df=1, max_df=1.0).fit(DOCS)
    stemmed = TfidfEmbedder(
        analyzer="word", min_df=1, max_df=1.0, stopwords=True, proclitics=True
    ).fit(DOCS)
    assert "في" in plain.vectorizers_["word"].vocabulary_
    assert "في" not in stemmed.vectorizers_["word"].vocabulary_


def test_bad_parameters_and_tiny_corpus() -> None:
    with pytest.raises(ConfigError, match="analyzer"):
        TfidfEmbedder(analyzer="bpe")
    with pytest.raises(ConfigError, match="char_ngram_range"):
        TfidfEmbedder(char_ngram_range=(5, 2))
    with pytest.raises(ConfigError):
        TfidfEmbedder(stemmer="porter")
    with pytest.raises(DataError, match="min_df=1"):
        TfidfEmbedder(min_df=5).fit(DOCS)
    with pytest.raises(DataError):
        TfidfEmbedder().fit([])
    with pytest.raises(Exception, match="not fitted"):
        TfidfEmbedder().encode(DOCS)


def test_forked_word_part_gives_the_same_model() -> None:
    serial = TfidfEmbedder(min_df=1, max_df=1.0).fit(DOCS)
    forked = TfidfEmbedder(min_df=1, max_df=1.0, n_jobs=2)
    assert forked._forks() or "fork" not in __import__("multiprocessing").get_all_start_methods()
    forked.fit(DOCS)
    assert forked.vectorizers_["word"].vocabulary_ == serial.vectorizers_["word"].vocabulary_
    assert same_csr(forked.encode(DOCS), serial.encode(DOCS))
    assert forked.spec == serial.spec  # n_jobs changes nothing learned
    with pytest.raises(DataError, match="min_df"):
        TfidfEmbedder(min_df=50, n_jobs=2).fit(DOCS)


def test_normalizer_false_takes_the_text_as_the_pipeline_normalised_it() -> None:
    from arnews_ml.text.cleaner import TextCleaner
    from arnews_ml.text.normalize import DEFAULT_NORMALIZER

    given = TfidfEmbedder(min_df=1, max_df=1.0, normalizer=False)
    assert given._prepare(["كَتَبَ ABC"]) == ["كَتَبَ abc"]  # lower-cased only
    assert dict(given.spec.options)["normalizer"] == ()
    default = TfidfEmbedder(min_df=1, max_df=1.0)
    assert default._prepare(["كَتَبَ ABC"]) == ["كتب abc"]
    cleaned = TextCleaner(normalizer=DEFAULT_NORMALIZER).fit(DOCS).transform(DOCS)
    # the pipeline's normalisation then no second pass equals the embedder normalising itself
    assert same_csr(given.fit_encode(cleaned), default.fit(list(DOCS)).encode(list(DOCS)))


def test_fit_encode_equals_fit_then_encode() -> None:
    embedder = TfidfEmbedder(min_df=1, max_df=1.0)
    once = embedder.fit_encode(list(DOCS))
    assert same_csr(once, TfidfEmbedder(min_df=1, max_df=1.0).fit(list(DOCS)).encode(list(DOCS)))
    assert same_csr(once, embedder.encode(list(DOCS)))


def test_transform_keeps_32_bit_indices(fitted: TfidfEmbedder) -> None:
    """Both parts and their combination index with int32 when the sizes fit (half the memory
    traffic of int64 through the product, the weighting and the stacking)."""
    from arnews_ml.embed.split_batch import SplitBatch

    batch = SplitBatch.of(fitted._prepare(DOCS))
    for part, vectorizer in fitted.vectorizers_.items():
        block = vectorizer.transform_split(batch)
        assert block.indices.dtype == np.int32 and block.indptr.dtype == np.int32, part
    combined = fitted.encode(DOCS)
    assert combined.indices.dtype == np.int32 and combined.indptr.dtype == np.int32
