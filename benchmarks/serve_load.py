"""A served model under bounded load with malformed requests mixed in (issue 10).

Trains the default classifier (TF-IDF + SVM) on the bundled sample corpus, logs and registers
it in a temporary SQLite store, starts ``mlflow models serve`` on 127.0.0.1, and sends
``--requests`` requests from ``--concurrency`` threads. About one request in ``--bad-every``
is malformed: a text that is a list, empty, null or a number (answered 200 with an ``error``
field on that row), or a body that is not JSON, has no records or lacks the text column
(answered 4xx). Prints latency percentiles and what came back next to the targets: no 5xx,
every malformed request answered as documented, every good one labelled, the server still up.

    python benchmarks/serve_load.py [--requests 1000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

READY_TIMEOUT_S = 120

#: (name, body, expected): "rows" = 200 with labels, "row_error" = 200 with an error field on
#: the row, "4xx" = a client error.
MALFORMED: list[tuple[str, bytes, str]] = [
    (
        "text_is_list",
        json.dumps({"dataframe_records": [{"text": ["a", "b"]}]}).encode(),
        "row_error",
    ),
    ("text_empty", json.dumps({"dataframe_records": [{"text": ""}]}).encode(), "row_error"),
    ("text_null", json.dumps({"dataframe_records": [{"text": None}]}).encode(), "row_error"),
    ("text_number", json.dumps({"dataframe_records": [{"text": 42}]}).encode(), "row_error"),
    ("not_json", b"{this is not json", "4xx"),
    ("no_records", json.dumps({"wrong_key": [1, 2]}).encode(), "4xx"),
    ("no_text_column", json.dumps({"dataframe_records": [{"body": "نص"}]}).encode(), "4xx"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, body: bytes) -> tuple[int, str, float]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, text = response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
        status, text = 0, str(err)
    return status, text, time.perf_counter() - start


def _outcome(status: int, text: str) -> str:
    if status == 0:
        return "no_answer"
    if status >= 500:
        return "5xx"
    if 400 <= status < 500:
        return "4xx"
    try:
        rows = json.loads(text)["predictions"]
    except (ValueError, KeyError, TypeError):
        return "bad_200"
    if any(isinstance(r, dict) and r.get("error") for r in rows):
        return "row_error"
    return "rows" if all(isinstance(r, dict) and r.get("labels") for r in rows) else "bad_200"


def _train_and_register(root: Path) -> str:
    from arnews_ml.classify.heads import svm
    from arnews_ml.classify.model import TextClassifier
    from arnews_ml.data import load_sample
    from arnews_ml.embed import TfidfEmbedder
    from arnews_ml.persist import save_bundle
    from arnews_ml.tracking import MlflowTracker

    frame = load_sample().frame
    model = TextClassifier(TfidfEmbedder(), svm()).fit(
        frame["text"].tolist(), frame["labels"].tolist()
    )
    bundle = save_bundle(model, root / "bundle")
    store = f"sqlite:///{root.as_posix()}/mlflow.db"
    tracker = MlflowTracker(tracking_uri=store, experiment="serve-load")
    with tracker.run("serve-load"):
        tracker.log_model(bundle, registered_model_name="arnews-serve-load")
    return store


def _serve(root: Path, store: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": store,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = (root / "serve.log").open("wb")
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m"]
    command += ["models:/arnews-serve-load/1", "--env-manager", "local"]
    command += ["-p", str(port), "-h", "127.0.0.1"]
    return subprocess.Popen(
        command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def _wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server was not ready after {READY_TIMEOUT_S} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--bad-every", type=int, default=5, help="one malformed request in N")
    args = parser.parse_args()

    from arnews_ml.data import load_sample

    texts = load_sample().frame["text"].tolist()
    plan: list[tuple[str, bytes, str]] = []
    for i in range(args.requests):
        if i % args.bad_every == args.bad_every - 1:
            plan.append(MALFORMED[(i // args.bad_every) % len(MALFORMED)])
        else:
            body = {"dataframe_records": [{"text": texts[i % len(texts)]}]}
            plan.append(("good", json.dumps(body, ensure_ascii=False).encode(), "rows"))

    with tempfile.TemporaryDirectory(prefix="arnews-serve-load-") as folder:
        root = Path(folder)
        print("training and registering the default classifier on the sample corpus ...")
        store = _train_and_register(root)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        process = _serve(root, store, port)
        try:
            _wait_ready(base, process, root / "serve.log")
            print(f"sending {len(plan)} requests, {args.concurrency} at a time ...")
            start = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                answers = list(pool.map(lambda p: _post(f"{base}/invocations", p[1]), plan))
            wall = time.perf_counter() - start
            alive = _post(f"{base}/invocations", plan[0][1])[0] == 200 and process.poll() is None
        finally:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, signal.SIGKILL)

    outcomes = Counter()
    wrong = Counter()
    for (name, _, expected), (status, text, _) in zip(plan, answers, strict=True):
        got = _outcome(status, text)
        outcomes[got] += 1
        if got != expected:
            wrong[f"{name}: expected {expected}, got {got} ({status})"] += 1
    latency = np.array([seconds for _, _, seconds in answers]) * 1000
    good = np.array([name == "good" for name, _, _ in plan])
    n_5xx = outcomes["5xx"] + outcomes["no_answer"]
    print(f"\nserved-model load: {len(plan)} requests, concurrency {args.concurrency}, ")
    print(f"  malformed: {int((~good).sum())} ({len(MALFORMED)} kinds), wall {wall:.1f} s")
    print(f"  throughput            {len(plan) / wall:8.1f} requests/s")
    for label, values in (("all", latency), ("good", latency[good]), ("malformed", latency[~good])):
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        print(f"  latency {label:<10} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms")
    print(f"  outcomes              {dict(outcomes)}")
    print(f"  5xx or no answer      {n_5xx:8d}   target 0")
    print(f"  answered otherwise    {sum(wrong.values()):8d}   target 0  {dict(wrong) or ''}")
    print(f"  server up afterwards  {alive!s:>8}   target True")
    if n_5xx or wrong or not alive:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
