"""The model cache with a really trained classifier: cached labels equal the bundle folder's,
processes loading at once download once, and a download killed with SIGKILL at two points
leaves nothing a later load trusts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from arnews_ml.inference import load_model
from arnews_ml.tracking import model_logging
from arnews_ml.tracking.model_cache import MODEL_CACHE_DIR_ENV, ModelCache

pytestmark = pytest.mark.slow

NEW_ARTICLES = [
    "نفذت القوات الأمنية عملية واسعة ضد خلايا داعش بإسناد جوي من طيران التحالف الدولي",
    "فاز نادي الزوراء على نادي الشرطة بهدفين في الدوري الممتاز",
    "صوّت مجلس النواب على قانون الموازنة العامة بعد نقاش طويل",
]

# A load whose download stalls once its files are on disk (whole, or half written and one
# truncated), after writing a marker file, so the test can kill it there with SIGKILL.
STALLED_LOAD = """
import sys, time
from pathlib import Path
from arnews_ml.tracking import model_logging
mode, marker, uri = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
original = model_logging.download_model_bundle
def stalled(uri, dst, **kwargs):
    bundle = original(uri, dst, **kwargs)
    if mode == "partial":
        files = sorted(p for p in Path(dst).rglob("*") if p.is_file())
        for file in files[len(files) // 2 :]:
            file.unlink()
        files[0].write_bytes(files[0].read_bytes()[:10])
    marker.write_text("stalled", encoding="utf-8")
    time.sleep(300)
    return bundle
model_logging.download_model_bundle = stalled
from arnews_ml.inference import load_model
load_model(uri)
"""

LOAD_AND_PRINT = """
import json, logging, sys
logging.basicConfig(level=logging.WARNING)
logging.getLogger("arnews_ml.tracking.model_cache").setLevel(logging.INFO)
from arnews_ml.inference import load_model
print(json.dumps(load_model(sys.argv[1]).predict(sys.argv[2:]), ensure_ascii=False))
"""


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, store_in, train_sample
) -> Iterator[dict[str, Any]]:
    """A TF-IDF classifier trained and registered (arnews-classifier v1) in a SQLite store."""
    root = tmp_path_factory.mktemp("model-cache")
    with store_in(root) as uri:
        result = train_sample(root, "run", "n_jobs=1")
        assert result.registered_version is not None
        yield {"uri": uri, "root": root, "result": result}


@pytest.fixture
def env(trained: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(trained["root"])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", trained["uri"])
    monkeypatch.setenv(MODEL_CACHE_DIR_ENV, str(tmp_path / "models"))
    version = trained["result"].registered_version
    return {**trained, "model_uri": f"models:/arnews-classifier/{version}", "tmp": tmp_path}


def _count_downloads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = model_logging.download_model_bundle

    def counting(uri: str, dst: Any, **kwargs: Any) -> Path:
        calls.append(uri)
        return original(uri, dst, **kwargs)

    monkeypatch.setattr(model_logging, "download_model_bundle", counting)
    return calls


def _state(root: Path) -> tuple[list[str], list[str]]:
    names = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    copies = [n for n in names if not n.startswith(".")]
    return copies, [n for n in names if n.startswith((".tmp-", ".trash-"))]


def test_cached_labels_equal_the_folder_labels(
    env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads = _count_downloads(monkeypatch)
    folder = load_model(env["result"].bundle_dir)
    cold = load_model(env["model_uri"])
    warm = load_model(env["model_uri"])
    expected = folder.predict_scores(NEW_ARTICLES)
    for model in (cold, warm):
        assert model.predict(NEW_ARTICLES) == folder.predict(NEW_ARTICLES)
        pd.testing.assert_frame_equal(model.predict_scores(NEW_ARTICLES), expected)
    assert len(downloads) == 1
    copies, leftovers = _state(env["tmp"] / "models")
    assert len(copies) == 1 and leftovers == []


def test_processes_loading_at_once_download_once(env: dict[str, Any]) -> None:
    folder = load_model(env["result"].bundle_dir)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", LOAD_AND_PRINT, env["model_uri"], *NEW_ARTICLES],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=300) for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    for out, _ in outputs:
        assert json.loads(out) == folder.predict(NEW_ARTICLES)
    logs = "".join(err for _, err in outputs)
    assert logs.count("model cache: downloaded") == 1, logs
    assert logs.count("model cache hit") == 1, logs
    copies, leftovers = _state(env["tmp"] / "models")
    assert len(copies) == 1 and leftovers == []


@pytest.mark.parametrize("mode", ["complete", "partial"])
def test_a_download_killed_with_sigkill_leaves_nothing_trusted(
    env: dict[str, Any], mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = env["tmp"] / "stalled"
    child = subprocess.Popen(
        [sys.executable, "-c", STALLED_LOAD, mode, str(marker), env["model_uri"]],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while not marker.exists():
            assert child.poll() is None, child.communicate()[1]
            assert time.monotonic() < deadline, "the child never reached its download"
            time.sleep(0.1)
        copies, leftovers = _state(env["tmp"] / "models")
        assert copies == [] and len(leftovers) == 1 and leftovers[0].startswith(".tmp-")
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert ModelCache().entries() == []  # nothing there is a copy

    downloads = _count_downloads(monkeypatch)
    model = load_model(env["model_uri"])
    assert model.predict(NEW_ARTICLES) == load_model(env["result"].bundle_dir).predict(NEW_ARTICLES)
    assert len(downloads) == 1
    copies, leftovers = _state(env["tmp"] / "models")
    assert len(copies) == 1 and leftovers == []
