"""`mlflow models serve` on a registered arnews_ml model: JSON in, predictions out, 4xx on bad input."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from arnews_ml.classify.heads import logreg
from arnews_ml.classify.model import TextClassifier
from arnews_ml.data import load_sample
from arnews_ml.embed import TfidfEmbedder
from arnews_ml.persist import load_bundle, save_bundle
from arnews_ml.tracking import MlflowTracker

pytestmark = pytest.mark.slow

READY_TIMEOUT_S = 90
TEXTS = [
    "ارتفعت أسعار النفط في السوق وتراجع سعر صرف الدينار أمام الدولار",
    "فاز نادي الزوراء على نادي الشرطة بهدفين في مباراة الدوري الممتاز",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8")


def _post_json(url: str, payload: object) -> tuple[int, str]:
    return _post(url, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real classifier trained on the sample corpus (word TF-IDF + logistic regression)."""
    frame = load_sample().frame
    model = TextClassifier(TfidfEmbedder(analyzer="word"), logreg(C=10.0))
    model.fit(frame["text"].tolist(), frame["labels"].tolist())
    return save_bundle(model, tmp_path_factory.mktemp("bundle") / "classifier")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, bundle_dir: Path) -> Iterator[str]:
    root = tmp_path_factory.mktemp("serve")
    store = f"sqlite:///{root.as_posix()}/mlflow.db"
    tracker = MlflowTracker(tracking_uri=store, experiment="serve")
    with tracker.run("serve-test"):
        result = tracker.log_model(
            bundle_dir, registered_model_name="arnews-serve", input_example=TEXTS
        )
    assert result.registered_model_version == 1

    port = _free_port()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": store,
        # the scoring server starts `uvicorn` by name: it must be on PATH
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log_path = root / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "models",
                "serve",
                "-m",
                "models:/arnews-serve/1",
                "--env-manager",
                "local",
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
            ],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: uvicorn is a grandchild
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"mlflow models serve exited with {process.returncode}:\n"
                    f"{log_path.read_text(encoding='utf-8', errors='replace')[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"mlflow models serve not ready after {READY_TIMEOUT_S} s:\n"
                    f"{log_path.read_text(encoding='utf-8', errors='replace')[-3000:]}"
                )
            time.sleep(0.5)
        yield f"{url}/invocations"
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


def test_dataframe_records_get_the_bundles_predictions(server: str, bundle_dir: Path) -> None:
    status, body = _post_json(server, {"dataframe_records": [{"text": t} for t in TEXTS]})
    assert status == 200, body
    predictions = json.loads(body)["predictions"]
    expected = load_bundle(bundle_dir).predict_frame(TEXTS)
    assert [p["labels"] for p in predictions] == expected["labels"].tolist()
    assert "economy" in predictions[0]["labels"] and "sports" in predictions[1]["labels"]
    for reply, (_, row) in zip(predictions, expected.iterrows(), strict=True):
        for column in expected.columns.drop("labels"):
            assert reply[column] == pytest.approx(row[column])


def test_inputs_dict_gets_predictions(server: str, bundle_dir: Path) -> None:
    status, body = _post_json(server, {"inputs": {"text": TEXTS}})
    assert status == 200, body
    expected = load_bundle(bundle_dir).predict(TEXTS)
    assert [p["labels"] for p in json.loads(body)["predictions"]] == expected


def test_missing_text_column_is_a_4xx_with_a_message(server: str) -> None:
    status, body = _post_json(server, {"dataframe_records": [{"body": "x"}]})
    assert 400 <= status < 500, body
    reply = json.loads(body)
    assert reply["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "text" in reply["message"]


def test_a_row_that_is_no_text_gets_an_error_the_others_their_labels(
    server: str, bundle_dir: Path
) -> None:
    records = [{"text": TEXTS[0]}, {"text": None}, {"text": "   "}, {"text": TEXTS[1]}]
    status, body = _post_json(server, {"dataframe_records": records})
    assert status == 200, body
    predictions = json.loads(body)["predictions"]
    assert [p.get("error") for p in predictions] == [
        None,
        "text is missing",
        "text is empty",
        None,
    ]
    expected = load_bundle(bundle_dir).predict([TEXTS[0], TEXTS[1]])
    assert [predictions[0]["labels"], predictions[3]["labels"]] == expected
    assert predictions[1].get("labels") is None


def test_one_record_whose_text_is_a_list_gets_an_error_not_labels(server: str) -> None:
    status, body = _post_json(server, {"dataframe_records": [{"text": list(TEXTS)}]})
    assert status == 200, body
    (prediction,) = json.loads(body)["predictions"]
    assert prediction["error"] == "text must be a string, got list"
    assert prediction.get("labels") is None


def test_invalid_json_is_a_4xx(server: str) -> None:
    status, body = _post(server, b'{"dataframe_records": [')
    assert 400 <= status < 500, body
    assert "JSON" in json.loads(body)["message"]
