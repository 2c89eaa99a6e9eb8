"""EmbedderSpec: canonical key, JSON round trip, MLflow params; load_embedder dispatch."""

from __future__ import annotations

import pytest

from arnews_ml.embed import Embedder, EmbedderSpec, load_embedder
from arnews_ml.embed.base import EMBEDDER_KINDS
from arnews_ml.exceptions import ArtifactError, ConfigError
from arnews_ml.testing import FakeEmbedder


def make_spec(**options) -> EmbedderSpec:
    base = {"normalize_embeddings": True, "prefix": "", "max_seq_length": None}
    return EmbedderSpec("sentence_transformer", "org/model", "abc", {**base, **options})


def test_options_are_sorted_and_frozen() -> None:
    spec = EmbedderSpec("tfidf", options={"b": [1, 2], "a": 1})
    assert spec.options == (("a", 1), ("b", (1, 2)))
    assert hash(spec) == hash(EmbedderSpec("tfidf", options=[("a", 1), ("b", (1, 2))]))


def test_key_is_stable_and_order_independent() -> None:
    spec = make_spec()
    assert spec.key() == make_spec().key()
    assert len(spec.key()) == 64
    reordered = EmbedderSpec(
        "sentence_transformer",
        "org/model",
        "abc",
        {"max_seq_length": None, "prefix": "", "normalize_embeddings": True},
    )
    assert reordered.key() == spec.key()
    # A fixed value guards against accidental changes of the canonical form (cache keys on disk).
    assert EmbedderSpec("tfidf", options={"min_df": 2}).canonical_json() == (
        '{"kind":"tfidf","model":null,"options":{"min_df":2},"revision":null}'
    )


def test_key_changes_with_options_and_revision() -> None:
    keys = {
        make_spec().key(),
        make_spec(prefix="query: ").key(),
        make_spec(max_seq_length=128).key(),
        EmbedderSpec("sentence_transformer", "org/model", "def", make_spec().options).key(),
        EmbedderSpec("sentence_transformer", "org/other", "abc", make_spec().options).key(),
    }
    assert len(keys) == 5


def test_batch_size_is_not_part_of_the_spec(tiny_st_model) -> None:
    from arnews_ml.embed import SentenceTransformerEmbedder

    a = SentenceTransformerEmbedder(str(tiny_st_model), batch_size=8, device="cpu")
    b = SentenceTransformerEmbedder(
        str(tiny_st_model), batch_size=64, device="cuda", show_progress_bar=False
    )
    assert a.spec == b.spec
    assert "batch_size" not in a.spec.options_dict
    assert a._model is None and b._model is None  # the spec needs no model


def test_isinstance_check_loads_nothing() -> None:
    from arnews_ml.embed import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder("no-such-org/no-such-model")
    assert isinstance(embedder, Embedder)  # would load (and fail) if `dim` were evaluated
    assert embedder._model is None
    assert not isinstance(object(), Embedder)


def test_dict_round_trip_restores_tuples() -> None:
    spec = EmbedderSpec("tfidf", options={"word_ngram_range": (1, 2), "min_df": 2})
    data = spec.to_dict()
    assert data["options"]["word_ngram_range"] == [1, 2]
    again = EmbedderSpec.from_dict(data)
    assert again == spec
    assert again.key() == spec.key()


def test_unsupported_option_value_is_refused() -> None:
    with pytest.raises(ConfigError, match="cannot be part of an EmbedderSpec"):
        EmbedderSpec("x", options={"f": object()})


def test_fake_embedder_follows_protocol_and_round_trips(tmp_path) -> None:
    fake = FakeEmbedder(dim=6, seed=3)
    assert isinstance(fake, Embedder)
    entry = fake.save(tmp_path)
    again = load_embedder(tmp_path, entry)
    texts = ["كتب الولد", "", "news 2024"]
    assert (again.encode(texts) == fake.encode(texts)).all()
    assert again.spec == fake.spec


def test_load_embedder_unknown_kind(tmp_path) -> None:
    with pytest.raises(ArtifactError, match="known kinds are"):
        load_embedder(tmp_path, {"kind": "word2vec", "files": []})


def test_the_fake_embedder_is_no_production_kind_and_names_its_class(tmp_path) -> None:
    assert "fake" not in EMBEDDER_KINDS
    entry = FakeEmbedder(dim=4).save(tmp_path)
    assert isinstance(load_embedder(tmp_path, entry), FakeEmbedder)
    with pytest.raises(ArtifactError, match="only classes under"):
        load_embedder(tmp_path, {**entry, "class": "os:system"})
