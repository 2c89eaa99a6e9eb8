"""SentenceTransformerEmbedder on a tiny locally built model: no network, ever."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from arnews_ml.embed import SentenceTransformerEmbedder, load_embedder
from arnews_ml.embed.sentence_transformer import folder_content_hash, resolve_prefix
from arnews_ml.exceptions import DataError, DependencyError

TEXTS = [
    "نفّذت القواتُ الأمنيةُ عمليةً واسعةً",
    "ارتفعت أسعار النفط إلى 85 دولاراً",
    "فاز فريق الزوراء على الشرطة",
    "news Iraq 2024",
]


def embedder(model: Path | str, **kwargs) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(str(model), device="cpu", show_progress_bar=False, **kwargs)


def test_encode_shape_dtype_and_unit_norm(tiny_st_model: Path) -> None:
    emb = embedder(tiny_st_model, batch_size=2)
    vectors = emb.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 32) == (len(TEXTS), emb.dim)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert emb.encode([]).shape == (0, 32)
    assert emb.fit(TEXTS) is emb
    with pytest.raises(DataError, match="not a str"):
        emb.encode(["ok", float("nan")])
    raw = embedder(tiny_st_model, normalize_embeddings=False).encode(TEXTS)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)


def test_batch_size_does_not_change_vectors_or_spec(tiny_st_model: Path) -> None:
    small, large = embedder(tiny_st_model, batch_size=1), embedder(tiny_st_model, batch_size=64)
    assert np.allclose(small.encode(TEXTS), large.encode(TEXTS), atol=1e-5)
    assert small.spec == large.spec


def test_spec_of_local_folder(tiny_st_model: Path) -> None:
    spec = embedder(tiny_st_model, max_seq_length=64).spec
    assert spec.kind == "sentence_transformer"
    assert spec.model == str(tiny_st_model.resolve())
    assert spec.revision == folder_content_hash(tiny_st_model)
    assert spec.revision.startswith("sha256:")
    assert spec.options_dict == {"normalize_embeddings": True, "max_seq_length": 64, "prefix": ""}
    assert embedder(tiny_st_model).cacheable


def test_content_hash_follows_the_files(tiny_st_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(tiny_st_model, copy)
    before = embedder(copy).spec
    assert before.revision == embedder(tiny_st_model).spec.revision  # content, not location
    config = copy / "config.json"
    config.write_text(config.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    after = embedder(copy).spec
    assert after.revision != before.revision
    assert after.key() != before.key()


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("intfloat/multilingual-e5-small", "query: "),
        ("models/intfloat__multilingual-e5-base", "query: "),
        ("intfloat/e5-large-v2", "query: "),
        ("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2", ""),
        ("sentence-transformers/LaBSE", ""),
        ("/tmp/e5cache/labse", ""),
    ],
)
def test_prefix_auto(model: str, expected: str) -> None:
    assert resolve_prefix(model, None) == expected
    assert resolve_prefix(model, "auto") == expected
    assert resolve_prefix(model, "") == ""
    assert resolve_prefix(model, "passage: ") == "passage: "


def test_prefix_is_prepended(tiny_st_model: Path, tmp_path: Path) -> None:
    e5_copy = tmp_path / "tiny-e5-small"
    shutil.copytree(tiny_st_model, e5_copy)
    e5 = embedder(e5_copy)
    assert e5.resolved_prefix == "query: "
    assert e5.spec.options_dict["prefix"] == "query: "
    plain = embedder(tiny_st_model, prefix="")
    assert np.allclose(e5.encode(TEXTS), plain.encode(["query: " + t for t in TEXTS]), atol=1e-6)
    assert not np.allclose(e5.encode(TEXTS), plain.encode(TEXTS), atol=1e-3)


def test_unavailable_hub_model_says_how_to_provide_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = embedder("no-such-org/no-such-model")
    with pytest.raises(DependencyError) as info:
        emb.encode(["نص"])
    with pytest.raises(DependencyError):
        emb.spec  # noqa: B018  (its revision needs the model)
    message = str(info.value)
    assert "no-such-org/no-such-model" in message
    assert "embedder.model=models/" in message
    assert "HF_HUB_OFFLINE=0" in message


def test_save_load_identical_vectors(tiny_st_model: Path, tmp_path: Path) -> None:
    original = embedder(tiny_st_model, max_seq_length=64, batch_size=4)
    entry = original.save(tmp_path / "embedder")
    assert entry["kind"] == "sentence_transformer"
    assert entry["offline"] is True
    assert all((tmp_path / "embedder" / f).is_file() for f in entry["files"])
    assert any(f.endswith(".safetensors") for f in entry["files"])
    assert not list((tmp_path / "embedder").rglob("*.bin"))  # no pickled torch weights
    loaded = load_embedder(tmp_path / "embedder", entry)
    assert isinstance(loaded, SentenceTransformerEmbedder)
    assert loaded.spec == original.spec  # cache keys and params survive the bundle
    loaded.show_progress_bar = False
    assert np.array_equal(loaded.encode(TEXTS), original.encode(TEXTS))


def test_import_is_light() -> None:
    code = (
        "import sys, arnews_ml.embed, arnews_ml.testing; "
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
