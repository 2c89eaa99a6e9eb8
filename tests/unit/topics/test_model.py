"""TopicModel on the BERTopic backend, composed from the YAML: every part fitted, clean Arabic
topic words, outliers, labels, guided seeds, and save -> load per transform mode."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import numpy as np
import pytest

from arnews_ml.config import compose
from arnews_ml.embed import CachedEmbedder, EmbeddingCache, TfidfEmbedder
from arnews_ml.exceptions import ConfigError, DataError
from arnews_ml.persist import load_bundle, read_manifest, save_bundle
from arnews_ml.tasks.fit_topics import build_topic_model
from arnews_ml.testing import TOPIC_THEMES as THEMES
from arnews_ml.testing import FakeEmbedder
from arnews_ml.testing import themed_corpus as make_corpus
from arnews_ml.testing import topic_purity as purity
from arnews_ml.text.stopwords import arabic_stopwords
from arnews_ml.topics import term_sets
from arnews_ml.topics.model import TopicModel
from arnews_ml.topics.parts import default_min_cluster_size

NEW_DOCS = [
    "انفجار عبوة ناسفة قرب مركز الشرطة واعتقال مسلحين",
    "ارتفاع أسعار النفط والدولار وتراجع التضخم",
    "فاز الفريق في المباراة أمام الجماهير",
]


DOCS, LABELS = make_corpus()
_ALL_WORDS = " ".join(THEMES.values()).split()
# documents mixing every theme: HDBSCAN leaves them as outliers
NOISE = [" ".join(random.Random(i).sample(_ALL_WORDS, 6)) for i in range(20)]
# PCA (5 dimensions) + k-means (4 clusters) on a 2-document vocabulary, 10 words per topic
KMEANS = [
    "topic_model=bertopic_kmeans",
    "topic_model.reducer.n_components=5",
    "topic_model.clusterer.n_clusters=4",
    "topic_model.min_df=2",
    "topic_model.top_n_words=10",
]
SVD_HDBSCAN = [
    "topic_model=bertopic",
    "topic_model/reducer=svd",
    "topic_model.min_df=2",
    "topic_model.top_n_words=10",
]


def make_model(embedder, *overrides: str, seed: int = 42, cleaner=None) -> TopicModel:
    """The TopicModel the `topics` config composes with these overrides."""
    return build_topic_model(compose("topics", list(overrides)), embedder, seed, cleaner)


def assert_clean_words(model: TopicModel) -> None:
    stops = arabic_stopwords()
    assert model.topic_words_, "no topics"
    for words in model.top_words(10).values():
        assert words
        for word in words:
            assert word not in stops, word
            assert not any(c.isdigit() or "a" <= c.lower() <= "z" for c in word), word
            assert any("\u0621" <= c <= "\u064a" for c in word), word  # Arabic survived


@pytest.fixture(scope="module")
def kmeans_tfidf() -> TopicModel:
    return make_model(TfidfEmbedder(min_df=1), *KMEANS).fit(DOCS)


def test_kmeans_on_tfidf_finds_the_themes(kmeans_tfidf):
    model = kmeans_tfidf
    assert model.backend_.svd_ is not None and model.backend_.svd_.random_state == 42
    assert model.topics_.dtype == np.int64 and model.topics_.shape == (len(DOCS),)
    assert purity(model.topics_, LABELS) >= 0.9
    assert model.outlier_ratio_ == 0.0
    assert set(model.topic_words_) == {0, 1, 2, 3}
    assert model.backend_.model_.language != "english"  # "english" strips Arabic from topic words
    assert model.transform_mode == "parity"
    assert_clean_words(model)
    # the training path and transform agree for k-means
    assert model.transform(DOCS)[0].tolist() == model.topics_.tolist()


@pytest.mark.parametrize("representation", ["mmr", "keybert"])
def test_representations_give_clean_words(representation):
    model = make_model(
        TfidfEmbedder(min_df=1), *KMEANS, f"topic_model/representation={representation}"
    )
    model.fit(DOCS)
    assert type(model.backend_.model_.representation_model).__name__ in {
        "MaximalMarginalRelevance",
        "KeyBERTInspired",
    }
    assert_clean_words(model)


def test_fake_embedder_dense_path_and_embed_texts():
    embedder = FakeEmbedder(dim=16)
    raw = [doc + " https://example.org" for doc in DOCS]
    model = make_model(embedder, *KMEANS).fit(DOCS, embed_texts=raw)
    assert model.backend_.svd_ is None
    assert embedder.n_fit == 1
    assert_clean_words(model)
    with pytest.raises(DataError, match="embed_texts"):
        model.fit(DOCS, embed_texts=raw[:3])


def test_guided_seed_words_lift_their_words():
    seeds = "topic_model.seed_words={economy: ['التضخم', 'الاستثمار'], security: ['داعش']}"
    plain = make_model(TfidfEmbedder(min_df=1), *KMEANS).fit(DOCS)
    guided = make_model(TfidfEmbedder(min_df=1), *KMEANS, seeds).fit(DOCS)
    assert guided.backend_.model_.seed_topic_list[0] == ["التضخم", "الاستثمار", "تضخم", "استثمار"]

    def best_rank(model: TopicModel, word: str) -> int:
        ranks = [words.index(word) for words in model.top_words(10).values() if word in words]
        return min(ranks) if ranks else 99

    for word in ("تضخم", "استثمار", "داعش"):
        assert best_rank(guided, word) < 10, word  # the seeded theme's words are in a topic
        assert best_rank(guided, word) <= best_rank(plain, word), word
    assert sum(best_rank(guided, w) < best_rank(plain, w) for w in ("تضخم", "استثمار", "داعش"))


def test_reduce_outliers_lowers_the_outlier_share():
    plain = make_model(TfidfEmbedder(min_df=1), *SVD_HDBSCAN).fit(DOCS + NOISE)
    assert plain.outlier_ratio_ > 0.05
    assert plain.transform_mode == "similarity"
    for strategy in ("c-tf-idf", "embeddings"):
        option = f"topic_model.reduce_outliers={strategy}"
        reduced = make_model(TfidfEmbedder(min_df=1), *SVD_HDBSCAN, option)
        reduced.fit(DOCS + NOISE)
        assert reduced.outlier_ratio_ < plain.outlier_ratio_
        assert (reduced.transform(NOISE)[0] == -1).mean() < (plain.transform(NOISE)[0] == -1).mean()
        assert_clean_words(reduced)
        assert -1 not in reduced.topic_words_


def test_label_map_nr_topics_and_predict_frame():
    model = make_model(
        FakeEmbedder(dim=16),
        *KMEANS,
        "topic_model.label_map={0: 'أمن'}",
        "topic_model.nr_topics=3",
        "topic_model.clusterer.n_clusters=6",
    )
    assert model.label_map == {0: "أمن"}
    model.label_map = {0: "أمن", "1": "سياسة"}  # JSON and some YAML keys arrive as strings
    model.fit(DOCS)
    assert len(model.topic_words_) <= 3
    assert model.topic_labels_[0] == "أمن" and model.topic_labels_[1] == "سياسة"
    assert model.topic_labels_[2].startswith("2_")
    assert model.topic_labels_[2].split("_")[1] == model.top_words(1)[2][0]
    frame = model.predict_frame(NEW_DOCS)
    assert list(frame.columns) == ["topic", "topic_label", "topic_score"]
    assert [str(t) for t in frame.dtypes] == ["int64", "object", "float64"]
    assert len(frame) == len(NEW_DOCS)
    assert all(
        model.topic_labels_[t] == lab for t, lab in zip(frame.topic, frame.topic_label, strict=True)
    )
    assert model.predict_frame([]).shape == (0, 3)


def test_topic_table_columns(kmeans_tfidf):
    table = kmeans_tfidf.get_topic_table(n_docs=2)
    assert list(table.columns) == [
        "topic", "label", "size", "top_words", "top_words_weights", "representative_docs",
    ]  # fmt: skip
    assert table["size"].sum() == len(DOCS)
    row = table.iloc[0]
    assert len(json.loads(row["representative_docs"])) == 2
    assert all(len(d) <= 200 for d in json.loads(row["representative_docs"]))
    weights = json.loads(row["top_words_weights"])
    assert list(weights) == row["top_words"].split()


def test_save_load_parity_mode_is_exact(kmeans_tfidf, tmp_path):
    path = save_bundle(kmeans_tfidf, tmp_path / "a" / "b")  # a path with "/" that is no hub id
    manifest = read_manifest(path)
    assert manifest["transform_mode"] == "parity"
    assert manifest["embedder"]["kind"] == "tfidf"
    assert {"svd.skops", "reducer.skops", "clusterer.skops"} <= set(manifest["files"])
    assert any(f.startswith("bertopic/") and f.endswith(".safetensors") for f in manifest["files"])
    assert not [f for f in manifest["files"] if f.endswith((".pkl", ".pickle", ".joblib"))]
    loaded = load_bundle(path)
    for docs in (DOCS, NEW_DOCS):
        expected, got = kmeans_tfidf.transform(docs), loaded.transform(docs)
        assert got[0].tolist() == expected[0].tolist()
        assert np.allclose(got[1], expected[1], atol=1e-5)
    assert loaded.topic_labels_ == kmeans_tfidf.topic_labels_
    assert loaded.top_words(5) == kmeans_tfidf.top_words(5)
    assert type(loaded.backend_.model_.hdbscan_model).__name__ == "KMeans"


def test_word_order_by_cooccurrence_keeps_each_topics_words_and_leads_with_local_ones(
    kmeans_tfidf,
):
    from arnews_ml.topics.metrics import npmi_coherence

    assert kmeans_tfidf.backend_.options.word_order == "cooccurrence"  # the bertopic default
    plain = make_model(TfidfEmbedder(min_df=1), *KMEANS, "topic_model.word_order=ctfidf").fit(DOCS)
    assert plain.topics_.tolist() == kmeans_tfidf.topics_.tolist()
    ordered, ranked = kmeans_tfidf.top_words(10), plain.top_words(10)
    assert {t: sorted(w) for t, w in ordered.items()} == {t: sorted(w) for t, w in ranked.items()}
    assert all(ordered[t][0] == ranked[t][0] for t in ordered)  # the c-TF-IDF top word leads
    assert ordered != ranked
    analyzer = plain.vectorizer_.build_analyzer()
    tokens = [analyzer(doc) for doc in DOCS]
    lead = {t: w[:5] for t, w in ordered.items()}
    as_ranked = {t: w[:5] for t, w in ranked.items()}
    assert npmi_coherence(lead, tokens)[0] >= npmi_coherence(as_ranked, tokens)[0] - 1e-12
    # BERTopic's labels follow its (re-ordered) representations
    bertopic = kmeans_tfidf.backend_.model_
    assert bertopic.topic_labels_[0] == "0_" + "_".join(ordered[0][:4])


def test_predict_frame_cleans_raw_articles_with_the_saved_cleaner(tmp_path):
    from arnews_ml.text.boilerplate import BoilerplateRemover
    from arnews_ml.text.cleaner import TextCleaner

    footer = "شارك الخبر على فيسبوك وتويتر"
    raw = [f"{doc}\n{footer}" for doc in DOCS]
    cleaner = TextCleaner(boilerplate=BoilerplateRemover(min_docs=2)).fit(raw)
    model = make_model(TfidfEmbedder(min_df=1), *KMEANS, cleaner=cleaner).fit(cleaner(raw))
    loaded = load_bundle(save_bundle(model, tmp_path / "m"))
    assert read_manifest(tmp_path / "m")["cleaner"]["class"].endswith(":TextCleaner")
    new_raw = [f"{doc}\n{footer}" for doc in NEW_DOCS]
    # raw articles with the outlet footer get the topics of their cleaned text
    expected = model.transform(cleaner(new_raw))[0].tolist()
    assert loaded.predict_frame(new_raw)["topic"].tolist() == expected
    assert model.predict_frame(new_raw)["topic"].tolist() == expected


def test_save_load_similarity_mode_without_umap(tmp_path):
    embedder = CachedEmbedder(FakeEmbedder(dim=16), EmbeddingCache(tmp_path / "cache"))
    model = make_model(embedder, *SVD_HDBSCAN).fit(DOCS)
    path = save_bundle(model, tmp_path / "bundle")
    manifest = read_manifest(path)
    assert manifest["transform_mode"] == "similarity"
    assert manifest["embedder"]["kind"] == "fake"  # the cache wrapper is not part of a bundle
    assert "clusterer.skops" not in manifest["files"]
    loaded = load_bundle(path)
    first, again = loaded.transform(DOCS), loaded.transform(DOCS)
    assert first[0].tolist() == again[0].tolist()
    kept = model.topics_ != -1
    assert (first[0][kept] == model.topics_[kept]).mean() >= 0.6


def test_invalid_options_are_config_errors():
    from hydra.errors import MissingConfigException

    with pytest.raises(MissingConfigException, match="tsne"):
        compose("topics", ["topic_model/reducer=tsne"])
    with pytest.raises(ConfigError, match="reducer"):
        make_model(FakeEmbedder(), "topic_model.reducer={_target_: sklearn.cluster.KMeans}")
    with pytest.raises(ConfigError, match="nr_topics"):
        make_model(FakeEmbedder(), "topic_model.nr_topics=1")
    with pytest.raises(ConfigError, match="term_weighting"):
        make_model(FakeEmbedder(), "topic_model.term_weighting=tf")
    with pytest.raises(ConfigError, match="diversity"):
        make_model(
            FakeEmbedder(),
            "topic_model/representation=mmr",
            "topic_model.representation.diversity=2",
        )
    with pytest.raises(ConfigError, match="n_clusters"):
        make_model(FakeEmbedder(), *KMEANS, "topic_model.clusterer.n_clusters=1")
    with pytest.raises(ConfigError, match="embedder"):
        make_model(None, *KMEANS).fit(DOCS)
    with pytest.raises(ConfigError, match="TopicBackend"):
        TopicModel("bertopic").fit(DOCS)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="single string"):
        make_model(FakeEmbedder(), *KMEANS).fit("نص واحد")


def test_document_term_sets_count_a_term_once_per_document(kmeans_tfidf):
    vectorizer = kmeans_tfidf.vectorizer_
    docs = ["النفط النفط النفط والدولار", "الدولار"]
    sets = term_sets.document_term_sets(vectorizer, docs)
    assert term_sets.split_terms(sets[0]) == ["نفط", "دولار"]
    # BERTopic joins a topic's documents with a space and turns newlines into spaces
    joined = " ".join(sets).replace("\n", " ")
    counts = term_sets.term_set_vectorizer(vectorizer).fit_transform([joined]).toarray()[0]
    words = term_sets.term_set_vectorizer(vectorizer).get_feature_names_out().tolist()
    assert counts[words.index("نفط")] == 1 and counts[words.index("دولار")] == 2


def test_term_weighting_documents_keeps_the_document_vectorizer():
    by_docs = make_model(TfidfEmbedder(min_df=1), *KMEANS).fit(DOCS)
    by_counts = make_model(
        TfidfEmbedder(min_df=1), *KMEANS, "topic_model.term_weighting=counts"
    ).fit(DOCS)
    assert (
        by_docs.backend_.model_.vectorizer_model is by_docs.vectorizer_
    )  # transform and save use it
    assert by_docs.topics_.tolist() == by_counts.topics_.tolist()  # only the words differ
    assert_clean_words(by_docs)
    assert by_docs.backend_.model_.topic_embeddings_.shape[0] == len(by_docs.topic_sizes_)


def test_svd_learnt_on_a_sample_projects_every_document():
    model = make_model(TfidfEmbedder(min_df=1), *KMEANS, "topic_model.svd_max_docs=60").fit(DOCS)
    assert model.backend_.svd_.n_components == min(256, 59)
    assert model.topics_.shape == (len(DOCS),)
    assert purity(model.topics_, LABELS) >= 0.9


def test_adapter_puts_tfidf_words_in_the_svd_space(kmeans_tfidf):
    adapter = kmeans_tfidf.backend_.model_.embedding_model
    assert type(adapter).__name__ == "EmbedderAdapter"
    vectors = adapter.embed_words(["نفط", "هجوم"])
    assert vectors.shape == (2, kmeans_tfidf.backend_.svd_.n_components)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert adapter.embed([]).shape == (0, kmeans_tfidf.backend_.svd_.n_components)


def test_config_options_and_default_cluster_size():
    embedder = FakeEmbedder()
    assert make_model(embedder, "topic_model=bertopic_kmeans").transform_mode == "parity"
    assert make_model(embedder, "topic_model=bertopic").transform_mode == "similarity"
    guided = make_model(embedder, "topic_model=bertopic_guided")
    assert guided.backend.options.seed_words["security"][0] == "عملية"
    assert guided.top_n_words == 25 and guided.seed == 42  # the YAML's, not a Python preset's
    assert default_min_cluster_size(120) == 10
    assert default_min_cluster_size(20) == 5
    assert default_min_cluster_size(100_000) == 500


def test_import_is_light():
    code = (
        "import sys, arnews_ml.topics, arnews_ml.topics.model; "
        "print([m for m in ('bertopic', 'umap', 'hdbscan') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    import arnews_ml.topics as topics

    assert all(getattr(topics, name) is not None for name in topics.__all__)


@pytest.mark.slow
def test_bertopic_umap_hdbscan_seeded_and_reloads_by_similarity(tmp_path):
    options = ["topic_model=bertopic", "topic_model.min_df=2", "topic_model.top_n_words=10"]
    model = make_model(TfidfEmbedder(min_df=1), *options, seed=7).fit(DOCS)
    again = make_model(TfidfEmbedder(min_df=1), *options, seed=7).fit(DOCS)
    assert model.topics_.tolist() == again.topics_.tolist()  # UMAP random_state: repeatable
    assert model.backend_.model_.umap_model.random_state == 7
    assert purity(model.topics_, LABELS) >= 0.9
    assert_clean_words(model)
    path = save_bundle(model, tmp_path / "umap" / "bundle")
    assert read_manifest(path)["transform_mode"] == "similarity"
    loaded = load_bundle(path)
    # BERTopic's documented safetensors behaviour: UMAP and HDBSCAN are not saved, a reloaded
    # model assigns each document to the topic whose embedding is most similar. It is
    # deterministic and agrees with the fitted topics for most non-outlier documents.
    first, second = loaded.transform(DOCS), load_bundle(path).transform(DOCS)
    assert first[0].tolist() == second[0].tolist()
    kept = model.topics_ != -1
    assert (first[0][kept] == model.topics_[kept]).mean() >= 0.6


@pytest.mark.slow
def test_guided_bertopic_with_umap():
    seeds = "topic_model.seed_words={security: ['داعش', 'تفجير'], foreign_forces: ['القوات', 'التحالف']}"
    model = make_model(
        TfidfEmbedder(min_df=1),
        "topic_model=bertopic_guided",
        seeds,
        "topic_model.min_df=2",
        "topic_model.top_n_words=10",
    ).fit(DOCS)
    assert_clean_words(model)
    words = {w for ws in model.top_words(10).values() for w in ws}
    assert {"داعش", "تفجير"} & words


def test_a_row_that_is_no_text_gets_an_error_and_the_others_their_topic(kmeans_tfidf):
    docs = [*kmeans_tfidf.representative_docs_[0][:1], "", None]
    out = kmeans_tfidf.predict_frame(docs)
    assert out["error"].tolist() == [None, "text is empty", "text is missing"]
    expected = kmeans_tfidf.predict_frame(docs[:1])
    assert out["topic"][0] == expected["topic"][0]
    assert out.loc[1:, "topic"].isna().all()
