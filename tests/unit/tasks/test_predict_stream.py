"""Streaming arnews-predict: chunked results equal one-chunk results for every input format,
every row answered in order, JSONL/CSV/Parquet outputs, no output after a failure, progress."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from arnews_ml.tasks.predict import predict_file, predict_to_path

N_ROWS = 50
BAD = {10: "", 11: "  ", 20: None, 35: ""}


class _LabelModel:
    """A stand-in classifier: a ``labels`` list and a score from the text alone."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.seen = 0
        self.fail_after = fail_after

    def predict_frame(self, texts: list[str]) -> pd.DataFrame:
        self.seen += len(texts)
        if self.fail_after is not None and self.seen > self.fail_after:
            raise RuntimeError("the model broke mid-way")
        return pd.DataFrame(
            {
                "labels": pd.Series([["long"] if len(t) > 18 else [] for t in texts], dtype=object),
                "score_long": [float(len(t)) / 100 for t in texts],
            }
        )


def _frame() -> pd.DataFrame:
    texts = [f"خبر رقم {i}" + (" طويل جدا" if i % 3 else "") for i in range(N_ROWS)]
    for i, text in BAD.items():
        texts[i] = text
    return pd.DataFrame({"id": [f"a{i}" for i in range(N_ROWS)], "text": texts})


def _write_input(tmp_path: Path, kind: str) -> Path:
    frame = _frame()
    path = tmp_path / f"in.{kind}"
    if kind == "jsonl":
        lines = [json.dumps(r, ensure_ascii=False) for r in frame.to_dict("records")]
        lines.insert(25, '{"id": "x", "text": "broken')  # a broken line in the middle
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif kind == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _jsonl(path: Path, chunk_rows: int) -> list[dict]:
    out = io.StringIO()
    predict_file([_LabelModel()], path, out, chunk_rows=chunk_rows, progress=False)
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize("kind", ["jsonl", "csv", "parquet"])
def test_chunks_of_seven_give_the_rows_of_one_chunk(tmp_path: Path, kind: str):
    path = _write_input(tmp_path, kind)
    streamed, whole = _jsonl(path, 7), _jsonl(path, 10_000)
    assert streamed == whole
    n_expected = N_ROWS + (kind == "jsonl")
    assert len(streamed) == n_expected
    ids = [r["id"] for r in streamed if not r["id"].startswith("in:")]
    assert ids == [f"a{i}" for i in range(N_ROWS)]  # every input row once, in order
    errors = {r["id"]: r["error"] for r in streamed if "error" in r}
    assert set(errors) >= {"a10", "a11", "a20", "a35"}
    assert errors["a10"] == "text is empty"
    good = [r for r in streamed if "error" not in r]
    assert len(good) == n_expected - len(errors)
    assert all(set(r) == {"id", "labels", "score_long"} for r in good)


def test_a_broken_jsonl_line_gets_its_parse_error(tmp_path: Path):
    rows = _jsonl(_write_input(tmp_path, "jsonl"), 7)
    broken = [r for r in rows if r["id"].startswith("in:")]
    assert len(broken) == 1
    assert broken[0]["error"].startswith("invalid JSON on line 26")


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_every_output_format_holds_the_same_rows(tmp_path: Path, suffix: str):
    path = _write_input(tmp_path, "parquet")
    target = tmp_path / f"out{suffix}"
    summary = predict_to_path(
        [_LabelModel()], path, str(target), chunk_rows=7, batch_size=4, progress=False
    )
    assert (summary.n_rows, summary.n_bad) == (N_ROWS, len(BAD))
    assert summary.bad_reasons == {"text is empty": 4}  # the reader reads a null as ""
    expected = _jsonl(path, 7)
    if suffix == ".jsonl":
        got = [json.loads(x) for x in target.read_text(encoding="utf-8").splitlines()]
        assert got == expected
        return
    frame = pd.read_csv(target, dtype=str) if suffix == ".csv" else pd.read_parquet(target)
    assert list(frame.columns) == ["id", "labels", "score_long", "error"]
    assert frame["id"].tolist() == [r["id"] for r in expected]
    for row, want in zip(frame.to_dict("records"), expected, strict=True):
        if "error" in want:
            assert row["error"] == want["error"]
            continue
        labels = json.loads(row["labels"]) if suffix == ".csv" else list(row["labels"])
        assert labels == want["labels"]
        assert float(row["score_long"]) == pytest.approx(want["score_long"])
        assert pd.isna(row["error"])


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_a_failure_mid_way_leaves_no_output(tmp_path: Path, suffix: str):
    path = _write_input(tmp_path, "jsonl")
    target = tmp_path / f"out{suffix}"
    with pytest.raises(RuntimeError, match="mid-way"):
        predict_to_path(
            [_LabelModel(fail_after=20)], path, str(target), chunk_rows=7, progress=False
        )
    assert list(tmp_path.iterdir()) == [path]  # neither the output nor its .partial


def test_progress_is_logged_with_rate_and_eta(tmp_path: Path, caplog):
    path = _write_input(tmp_path, "csv")
    caplog.set_level(logging.INFO, logger="arnews_ml.tasks.predict")
    predict_file([_LabelModel()], path, io.StringIO(), chunk_rows=7, progress_every=0)
    lines = [r.getMessage() for r in caplog.records if r.name == "arnews_ml.tasks.predict"]
    progress = [x for x in lines if x.startswith("predict rows=")]
    assert len(progress) >= N_ROWS // 7
    assert "docs/s" in progress[0] and "eta=" in progress[0]
    assert lines[-1].startswith(f"predict done rows={N_ROWS}")


def test_progress_lines_are_bounded_in_rate(tmp_path: Path, caplog):
    path = _write_input(tmp_path, "csv")
    caplog.set_level(logging.INFO, logger="arnews_ml.tasks.predict")
    predict_file([_LabelModel()], path, io.StringIO(), chunk_rows=7, progress_every=3600)
    assert not [r for r in caplog.records if r.getMessage().startswith("predict rows=")]
