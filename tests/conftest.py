"""Shared fixtures: tiny inline Arabic corpora and locally built models (no network, ever)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Diacritics, tatweel, mixed Latin, digits (Arabic-Indic and ASCII) and emoji on purpose.
ARABIC_DOCS = [
    "نفّذت القواتُ الأمنيةُ عمليةً واسعةً ضدّ خلايا داعش في صلاح الدين بدعم جوي من التحالف الدولي",
    "صوّت البرلمـــان العراقي على قرار يطالب بانسحاب القوات الأجنبية من البلاد خلال ١٢ شهراً",
    "ارتفعت أسعار النفط إلى 85 دولاراً للبرميل وتوقعات بزيادة إيرادات الموازنة 😀",
    "فاز فريق الزوراء على الشرطة بهدفين في الدوري الممتاز أمس #الدوري_العراقي",
    "أعلنت وزارة الصحة تسجيل إصابات جديدة وافتتاح مستشفى في البصرة https://example.org/news",
    "اجتمع رئيس الوزراء مع السفير الأمريكي لبحث مستقبل قوات التحالف في قاعدة عين الأسد",
]
ARABIC_LABELS = [
    ["security", "foreign_forces"],
    ["politics", "foreign_forces"],
    ["economy"],
    ["sports"],
    ["health"],
    ["politics", "foreign_forces"],
]


@pytest.fixture
def arabic_docs() -> list[str]:
    return list(ARABIC_DOCS)


@pytest.fixture
def arabic_labels() -> list[list[str]]:
    return [list(x) for x in ARABIC_LABELS]


TINY_MODEL_TEXTS = [
    "نفّذت القواتُ الأمنيةُ عمليةً واسعةً ضدّ خلايا داعش في صلاح الدين",
    "صوّت البرلمـــان العراقي على قرار يطالب بانسحاب القوات الأجنبية خلال ١٢ شهراً",
    "ارتفعت أسعار النفط إلى 85 دولاراً للبرميل",
    "فاز فريق الزوراء على الشرطة بهدفين في الدوري الممتاز",
    "query: passage: news Iraq Baghdad 2024",
]


@pytest.fixture(scope="session")
def tiny_st_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of a tiny random sentence-transformers model (dim 32, mean pooling), no network."""
    from arnews_ml.testing import build_tiny_sentence_transformer

    return build_tiny_sentence_transformer(
        tmp_path_factory.mktemp("tiny_st") / "tiny-model", TINY_MODEL_TEXTS, dim=32, seed=0
    )


@pytest.fixture(autouse=True, scope="session")
def _model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Models loaded from models:/ and cached features go to temporary folders, never the
    user's ~/.cache or the repository (subprocesses such as arnews-predict inherit them)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("ARNEWS_MODEL_CACHE_DIR", str(tmp_path_factory.mktemp("model-cache")))
    # embeddings and TF-IDF features of runs that name no cache folder: not the repository's
    patch.setenv("ARNEWS_CACHE_DIR", str(tmp_path_factory.mktemp("feature-cache")))
    yield
    patch.undo()
