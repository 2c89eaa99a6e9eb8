"""The topic backend seam: a tiny fake backend works with TopicModel, a reducer added as config
only is built through instantiate, and options written to a manifest build the same options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arnews_ml.config import compose, instantiate
from arnews_ml.persist import load_bundle, read_manifest, save_bundle
from arnews_ml.tasks.fit_topics import build_topic_model
from arnews_ml.testing import FakeEmbedder
from arnews_ml.testing import themed_corpus as make_corpus
from arnews_ml.testing import topic_purity as purity
from arnews_ml.topics.backend import BackendFit, TopicBackend, VocabularyOptions, options_config
from arnews_ml.topics.model import TopicModel
from arnews_ml.topics.vectorizer import vocabulary_of

DOCS, LABELS = make_corpus()


class FirstWordBackend:
    """Topic = the vocabulary index of the document's first known word, modulo ``n``."""

    name = "first_word"
    transform_mode = "parity"
    embedder = None

    def __init__(self, n: int = 3) -> None:
        self.n = n

    def fit(self, texts, embed_texts, *, vectorizer, embedder, top_n_words, seed) -> BackendFit:
        self.vectorizer_, self.words_ = vectorizer, vocabulary_of(vectorizer)
        topics, scores = self.transform(texts, embed_texts)
        return BackendFit(topics, scores)

    def transform(self, texts, embed_texts) -> tuple[np.ndarray, np.ndarray]:
        counts = self.vectorizer_.transform(texts).toarray()
        first = np.where(counts.any(axis=1), counts.argmax(axis=1) % self.n, -1)
        return first.astype(np.int64), (first >= 0).astype(np.float64)

    def topic_words(self) -> dict[int, list[tuple[str, float]]]:
        return {t: [(w, 1.0) for w in self.words_[t :: self.n][:5]] for t in range(self.n)}

    def save(self, directory: Path) -> dict[str, Any]:
        return {}

    @classmethod
    def load(cls, directory, manifest, vectorizer, options) -> FirstWordBackend:
        raise NotImplementedError


def test_a_fake_backend_gets_the_whole_topic_model_surface():
    backend = FirstWordBackend()
    assert isinstance(backend, TopicBackend)
    model = TopicModel(backend, vocabulary=VocabularyOptions(min_df=2), label_words=2, seed=0)
    model.fit(DOCS)
    assert model.backend_ is backend and model.transform_mode == "parity"
    assert set(model.topic_words_) == {0, 1, 2}
    assert sum(model.topic_sizes_.values()) == len(DOCS)
    assert model.topic_labels_[0].startswith("0_") and model.topic_labels_[-1] == "-1_outliers"
    frame = model.predict_frame([DOCS[0], "English only"])
    assert frame["topic"].tolist() == [model.topics_[0], -1]
    assert list(model.get_topic_table()["topic"]) == sorted(model.topic_sizes_)
    assert model.embed_seconds_ == 0.0


def _compose_with_search_path(tmp_path: Path, overrides: list[str]) -> Any:
    return compose("topics", [f"hydra.searchpath=[file://{tmp_path}]", *overrides])


def test_a_new_reducer_is_one_yaml_file(tmp_path: Path):
    folder = tmp_path / "topic_model" / "reducer"
    folder.mkdir(parents=True)
    (folder / "random_projection.yaml").write_text(
        "_target_: arnews_ml.topics.parts.SklearnPart\n"
        "saveable: true\n"
        "estimator:\n"
        "  _target_: sklearn.random_projection.GaussianRandomProjection\n"
        "  n_components: 8\n",
        encoding="utf-8",
    )
    overrides = [
        "topic_model=bertopic",
        "topic_model/reducer=random_projection",
        "topic_model/clusterer=kmeans",
        "topic_model.clusterer.n_clusters=4",
        "topic_model.min_df=2",
    ]
    cfg = _compose_with_search_path(tmp_path, overrides)
    model = build_topic_model(cfg, FakeEmbedder(dim=32), seed=5).fit(DOCS)
    reducer = model.backend_.model_.umap_model
    assert type(reducer).__name__ == "GaussianRandomProjection" and reducer.random_state == 5
    assert model.transform_mode == "parity"  # saveable reducer + k-means
    assert purity(model.topics_, LABELS) > 0.5  # a random projection keeps some of the themes
    path = save_bundle(model, tmp_path / "bundle")
    assert read_manifest(path)["params"]["backend"]["reducer"]["estimator"]["n_components"] == 8
    loaded = load_bundle(path)
    assert loaded.transform(DOCS)[0].tolist() == model.transform(DOCS)[0].tolist()


@pytest.mark.parametrize("option", ["bertopic", "bertopic_kmeans", "bertopic_guided", "lda", "nmf"])
def test_options_written_to_a_manifest_build_equal_options(option: str):
    model = build_topic_model(compose("topics", [f"topic_model={option}"]), FakeEmbedder(), 1)
    options = model.backend.options
    assert instantiate(options_config(options), name="topic_model") == options


def _part_options(group: str) -> list[str]:
    from arnews_ml.config import CONFIG_DIR

    return sorted(p.stem for p in (CONFIG_DIR / "topic_model" / group).glob("*.yaml"))


@pytest.mark.parametrize(
    ("group", "option"),
    [(g, o) for g in ("reducer", "clusterer", "representation") for o in _part_options(g)],
)
def test_every_part_option_composes_and_builds(group: str, option: str):
    cfg = compose("topics", ["topic_model=bertopic", f"topic_model/{group}={option}"])
    model = build_topic_model(cfg, FakeEmbedder(), seed=4)
    part = getattr(model.backend.options, group)
    assert f"{type(part).__module__}.{type(part).__qualname__}" == cfg.topic_model[group]._target_
    assert callable(part.build)
