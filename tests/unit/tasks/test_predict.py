"""arnews-predict's core: bad rows reported not fatal, several models embed each article once."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from arnews_ml.tasks.predict import predict_file, share_embedder
from arnews_ml.testing import FakeEmbedder


class _VectorModel:
    """A stand-in model that embeds its input and reports the first coordinate."""

    def __init__(self, column: str) -> None:
        self.embedder = FakeEmbedder(dim=4)
        self.column = column

    def predict_frame(self, texts: list[str]) -> pd.DataFrame:
        vectors = self.embedder.encode(texts)
        return pd.DataFrame({self.column: vectors[:, 0].astype(float)})


def _input(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    rows = [
        {"id": "a", "text": "خبر أول"},
        {"id": "b", "text": "   "},
        {"id": "c", "text": "خبر ثان"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return path


def test_bad_rows_get_an_error_field_and_are_counted(tmp_path: Path):
    out = io.StringIO()
    summary = predict_file([_VectorModel("x")], _input(tmp_path), out, progress=False)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert rows[1] == {"id": "b", "error": "text is empty"}
    assert "x" in rows[0] and "x" in rows[2]
    assert (summary.n_rows, summary.n_predicted, summary.n_bad) == (3, 2, 1)


def test_models_with_the_same_embedder_embed_each_article_once(tmp_path: Path):
    first, second = _VectorModel("x"), _VectorModel("y")
    originals = (first.embedder, second.embedder)
    out = io.StringIO()
    predict_file([first, second], _input(tmp_path), out, progress=False)
    assert originals[0].n_encoded + originals[1].n_encoded == 2  # two good articles, once each
    assert (first.embedder, second.embedder) == originals  # put back afterwards
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows[0]["x"] == rows[0]["y"]


def test_share_embedder_leaves_different_embedders_alone(tmp_path: Path):
    first, second = _VectorModel("x"), _VectorModel("y")
    second.embedder = FakeEmbedder(dim=8)
    assert share_embedder([first, second], tmp_path) == []
