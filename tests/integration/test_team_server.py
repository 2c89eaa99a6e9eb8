"""A team tracking server (issue 11): a real PostgreSQL and a real ``mlflow server`` with proxied
artifacts, started by ``scripts/team_server.sh`` (what ``make server`` runs) on loopback ports.

Runs, models, the registry and artifacts go through the server over HTTP: a training run and a
topic run log to it, the model registered there loads back from another folder without opening a
file in the server's artifact folder, four jobs at once lose no run, and a killed job's run is
marked KILLED by the next one. A server that does not answer fails a run in one line.

PostgreSQL's server programs come from Debian's ``postgresql`` package (``.ci/run`` installs it);
without them these tests fail under CI (``CI=true``) and are skipped elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from glob import glob
from pathlib import Path

import pytest

from arnews_ml.exceptions import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "team_server.sh"
FAST = ["n_jobs=1", "report.worst_errors=5"]
TEXTS = [
    "نفذت القوات الأمنية عملية واسعة ضد خلايا داعش بإسناد جوي من طيران التحالف الدولي",
    "فاز نادي الزوراء على نادي الشرطة بهدفين في الدوري الممتاز",
    "صوّت مجلس النواب على قانون الموازنة العامة بعد نقاش طويل",
    "ارتفعت أسعار النفط في الأسواق العالمية وتحسنت إيرادات الموازنة",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _missing_postgres() -> str | None:
    """Why a PostgreSQL server cannot be started here, or None."""
    if not (glob("/usr/lib/postgresql/*/bin/initdb") or shutil.which("initdb")):
        return (
            "PostgreSQL's server programs (initdb, pg_ctl) are not installed: "
            "apt-get install postgresql (.ci/run installs it when it runs as root)"
        )
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "the PostgreSQL driver is missing: pip install 'arnews-ml[server]' (psycopg2-binary)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser, so PostgreSQL cannot run as the postgres user"
    return None


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _runs(uri: str, experiment: str) -> list:
    client = _client(uri)
    exp = client.get_experiment_by_name(experiment)
    return [] if exp is None else client.search_runs([exp.experiment_id], max_results=1000)


@pytest.fixture(scope="module")
def team_server() -> Iterator[tuple[str, Path]]:
    """``scripts/team_server.sh`` on free loopback ports; yields (server URI, data folder)."""
    reason = _missing_postgres()
    if reason:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI needs a PostgreSQL server for the team-server tests: {reason}")
        pytest.skip(reason)
    # under /tmp, not pytest's 0700 folder: run as root, PostgreSQL runs as the postgres user
    base = Path(tempfile.mkdtemp(prefix="arnews-team-server-"))
    base.chmod(0o755)
    data = base / "data"
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    log = (base / "server.log").open("w")
    command = ["bash", str(SCRIPT), "--data", str(data), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--pg-port", str(_free_port()), "--workers", "2"]
    env = {**os.environ, "MLFLOW": str(Path(sys.executable).parent / "mlflow")}
    proc = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 480
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the team server exited ({proc.returncode}):\n{_tail(base)}")
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the team server did not answer within 480 s:\n{_tail(base)}")
            time.sleep(1)
        yield uri, data
    finally:
        proc.send_signal(signal.SIGTERM)  # the script stops mlflow, then its PostgreSQL
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):  # anything of its session left behind
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        pg_left = subprocess.run(
            ["pgrep", "-f", f"postgres -D {data}/postgres"], capture_output=True, text=True
        ).stdout.split()
        for pid in pg_left:  # only if the script could not stop it
            os.kill(int(pid), signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)
        assert not pg_left, "the team server script left its PostgreSQL running"


def _tail(base: Path) -> str:
    text = (base / "server.log").read_text(encoding="utf-8", errors="replace")[-4000:]
    pg_log = base / "data" / "logs" / "postgres.log"
    if pg_log.is_file():
        text += "\n--- postgres.log ---\n" + pg_log.read_text(errors="replace")[-2000:]
    return text


def _field(stdout: str, name: str) -> str:
    line = next(x for x in stdout.splitlines() if x.startswith(name))
    return line[len(name) :].strip()


# Loads a model from the server in another folder; an audit hook records every file it opens or
# lists in the server's artifact folder (there must be none: the model comes over HTTP).
LOADER = """
import json, os, sys
artifacts = os.path.realpath(sys.argv[2])
touched, opened = [], []
def hook(event, args):
    if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], str):
        path = os.path.realpath(args[0])
        opened.append(path)
        if path.startswith(artifacts):
            touched.append(path)
sys.addaudithook(hook)
import arnews_ml
model = arnews_ml.load_model(sys.argv[1])
cache = os.path.realpath(os.environ["ARNEWS_MODEL_CACHE_DIR"])
print(json.dumps({
    "labels": model.predict(json.loads(sys.argv[3])),
    "touched": touched,
    "cache_files_opened": sum(p.startswith(cache) for p in opened),
}))
"""


@pytest.mark.slow
def test_training_and_topic_runs_log_to_the_server_and_the_model_loads_back_from_elsewhere(
    team_server: tuple[str, Path], tmp_path: Path, run_cli
):
    uri, data = team_server
    artifacts = data / "artifacts"
    work = tmp_path / "work"
    work.mkdir()
    train = run_cli(["arnews-train", "tracking=server", *FAST], work, uri)
    assert train.returncode == 0, train.stderr[-3000:]
    topics = run_cli(
        ["arnews-topics", "tracking=server", "topic_model=nmf", "analysis.html=false"], work, uri
    )
    assert topics.returncode == 0, topics.stderr[-3000:]
    # nothing was written to a local store: runs and artifacts all went to the server
    assert not (work / "mlflow.db").exists() and not (work / "mlartifacts").exists()

    client = _client(uri)
    run_id = _field(train.stdout, "run id")
    for experiment, stdout in (
        ("arnews-classifier", train.stdout),
        ("arnews-topics", topics.stdout),
    ):
        run = client.get_run(_field(stdout, "run id"))
        assert client.get_experiment(run.info.experiment_id).name == experiment
        assert run.info.status == "FINISHED"
        assert run.info.artifact_uri.startswith("mlflow-artifacts:"), run.info.artifact_uri
        assert list(artifacts.rglob(run.info.run_id)), "no artifacts of the run on the server"
        versions = client.search_model_versions(f"name = '{experiment}'")
        assert [v.run_id for v in versions].count(run.info.run_id) == 1  # registered there
    metrics = client.get_run(_field(topics.stdout, "run id")).data.metrics
    assert metrics["n_topics"] > 1 and "npmi" in metrics

    promoted = run_cli(["arnews-runs", "--promote", run_id, "--alias", "champion"], work, uri)
    assert promoted.returncode == 0, promoted.stderr[-2000:]

    # another folder, its own model cache, the model over HTTP only
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": uri,
        "ARNEWS_MODEL_CACHE_DIR": str(elsewhere / "cache"),
    }
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            LOADER,
            "models:/arnews-classifier@champion",
            str(artifacts),
            json.dumps(TEXTS),
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    answer = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert answer["touched"] == []
    assert answer["cache_files_opened"] > 0  # the hook saw the download land in the cache

    from arnews_ml import load_model

    local = load_model(_field(train.stdout, "model bundle"))
    assert answer["labels"] == local.predict(TEXTS)


PARALLEL_RUN = "parallel-{}"


@pytest.mark.slow
def test_four_jobs_at_once_against_the_server_all_finish_and_lose_no_run(
    team_server: tuple[str, Path], tmp_path: Path
):
    uri, _ = team_server
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    procs = []
    for i in range(4):
        cwd = tmp_path / f"job{i}"
        cwd.mkdir()
        command = [str(bin_dir / "arnews-train"), "tracking=server", *FAST]
        command += [f"run_name={PARALLEL_RUN.format(i)}", f"seed={i}"]
        procs.append(
            subprocess.Popen(
                command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    outcomes = [p.communicate(timeout=1200) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0, 0, 0, 0], [err[-1500:] for _, err in outcomes]

    runs = {
        r.info.run_name: r
        for r in _runs(uri, "arnews-classifier")
        if r.info.run_name.startswith("parallel-")
    }
    assert sorted(runs) == [PARALLEL_RUN.format(i) for i in range(4)]
    for run in runs.values():
        assert run.info.status == "FINISHED"
        assert "test_f1_macro" in run.data.metrics
        assert run.data.tags.get("arnews_ml.model_id")
    versions = _client(uri).search_model_versions("name = 'arnews-classifier'")
    by_run = {v.run_id: int(v.version) for v in versions}
    assert all(r.info.run_id in by_run for r in runs.values())  # each registered
    assert len(set(by_run.values())) == len(by_run)  # and no version number given twice


KILLED = """
import sys, time
from arnews_ml.tracking.mlflow_tracker import MlflowTracker
tracker = MlflowTracker(sys.argv[1], experiment="server-faults")
tracker.start_run(run_name="killed")
tracker.log_metrics({"x": 1.0})
tracker.log_text("half", "partial.txt")
print("ready", flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_a_killed_jobs_run_on_the_server_is_marked_killed_by_the_next_run(
    team_server: tuple[str, Path],
):
    from arnews_ml.tracking.mlflow_tracker import MlflowTracker

    uri, _ = team_server
    proc = subprocess.Popen([sys.executable, "-c", KILLED, uri], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
    finally:
        proc.kill()
        proc.wait(timeout=60)
    (dead,) = _runs(uri, "server-faults")
    assert dead.info.status == "RUNNING"

    tracker = MlflowTracker(uri, experiment="server-faults")
    with tracker.run(run_name="next"):
        pass
    statuses = {r.info.run_name: r.info.status for r in _runs(uri, "server-faults")}
    assert statuses == {"killed": "KILLED", "next": "FINISHED"}
    dead = _client(uri).get_run(dead.info.run_id)
    assert f"process {proc.pid}" in dead.data.tags["arnews_ml.error"]


def _tracking(**keys):
    node = {"_target_": "arnews_ml.tracking.mlflow_tracker.MlflowTracker", "log_model": True}
    return {**node, **keys}


def test_a_server_that_does_not_answer_fails_in_one_line_within_the_wait():
    from arnews_ml.tracking.base import build_tracker

    uri = f"http://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    with pytest.raises(ConfigError) as err:
        build_tracker(_tracking(tracking_uri=uri, server_wait_s=1, require_server=True))
    assert time.monotonic() - started < 15
    message = str(err.value)
    assert "\n" not in message and uri in message and "make server" in message


def test_tracking_server_refuses_a_store_that_is_no_server(tmp_path: Path):
    from arnews_ml.tracking.base import build_tracker

    store = f"sqlite:///{tmp_path}/mlflow.db"
    with pytest.raises(ConfigError, match="tracking=server needs a tracking server URI"):
        build_tracker(_tracking(tracking_uri=store, require_server=True))
    # tracking=mlflow keeps SQLite, the zero-setup default
    assert build_tracker(_tracking(tracking_uri=store)).tracking_uri == store


@pytest.mark.slow
def test_arnews_train_against_a_stopped_server_says_so_in_one_line(tmp_path: Path, run_cli):
    uri = f"http://127.0.0.1:{_free_port()}"
    result = run_cli(["arnews-train", "tracking=server", "tracking.server_wait_s=2"], tmp_path, uri)
    assert result.returncode == 2
    assert f"error: The MLflow tracking server {uri} does not answer" in result.stderr
    assert "Traceback" not in result.stderr
