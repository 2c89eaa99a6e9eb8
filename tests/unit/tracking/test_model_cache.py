"""The local model cache: one verified copy per model, aliases resolved on every load, bounded,
cleaned after killed downloads (echo models in a SQLite store in tmp; no network)."""

from __future__ import annotations

import fcntl
import gc
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from arnews_ml.exceptions import ArtifactError, ConfigError
from arnews_ml.inference import load_model
from arnews_ml.persist import save_bundle
from arnews_ml.persist_integrity import seal_manifest
from arnews_ml.tracking import MlflowTracker, model_logging
from arnews_ml.tracking import model_cache as mc
from arnews_ml.tracking._testing import EchoModel
from arnews_ml.tracking.model_cache import ModelCache, clear_model_cache, default_model_cache_dir
from arnews_ml.tracking.runs import main as runs_main

TEXTS = ["ارتفعت أسعار النفط إلى 85 دولاراً", "فاز فريق الزوراء على الشرطة"]
NAME = "echo-cache"


@dataclass
class Store:
    uri: str
    run_ids: list[str]
    model_ids: list[str]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Three versions of one registered echo model: v1 and v2 answer "a" for different words."""
    root = tmp_path_factory.mktemp("cache-store")
    uri = f"sqlite:///{root.as_posix()}/mlflow.db"
    tracker = MlflowTracker(tracking_uri=uri, experiment="cache")
    run_ids, model_ids = [], []
    for number, keyword in enumerate(("النفط", "الزوراء", "دولار"), start=1):
        bundle = save_bundle(EchoModel(keyword=keyword), root / f"echo_v{number}")
        with tracker.run(f"v{number}") as run_id:
            result = tracker.log_model(bundle, registered_model_name=NAME, input_example=TEXTS)
        run_ids.append(run_id)
        model_ids.append(result.model_id)
    tracker.set_registered_alias(NAME, "champion", 1)
    return Store(uri, run_ids, model_ids)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A cache folder and a system temp folder of the test's own; no store in the cwd."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv(mc.MODEL_CACHE_MAX_BYTES_ENV, raising=False)
    monkeypatch.setenv(mc.MODEL_CACHE_DIR_ENV, str(tmp_path / "cache"))
    (tmp_path / "systmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "systmp"))
    yield tmp_path
    while mlflow.active_run() is not None:
        mlflow.end_run("KILLED")


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URIs the cache downloads (each call of download_model_bundle)."""
    calls: list[str] = []
    original = model_logging.download_model_bundle

    def counting(uri: str, dst: str | Path, **kwargs: object) -> Path:
        calls.append(uri)
        return original(uri, dst, **kwargs)

    monkeypatch.setattr(model_logging, "download_model_bundle", counting)
    return calls


def _copies(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if not p.name.startswith("."))


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith((".tmp-", ".trash-")))


def test_twenty_loads_leave_one_copy_and_download_once(
    store: Store, downloads: list[str], _isolated: Path
) -> None:
    expected = EchoModel().predict_frame(TEXTS)
    for _ in range(20):
        model = load_model(f"models:/{NAME}/1", tracking_uri=store.uri)
        pd.testing.assert_frame_equal(model.predict_frame(TEXTS), expected)
    cache = _isolated / "cache"
    assert _copies(cache) == [store.model_ids[0]]
    assert downloads == [f"models:/{store.model_ids[0]}"]
    assert _leftovers(cache) == []
    assert list((_isolated / "systmp").iterdir()) == []  # no arnews-model-* folders any more


def test_every_uri_form_of_one_model_shares_its_copy(store: Store, downloads: list[str]) -> None:
    uris = [
        f"models:/{NAME}/1",
        f"models:/{NAME}@champion",
        f"models:/{store.model_ids[0]}",
        f"runs:/{store.run_ids[0]}/model",
    ]
    for uri in uris:
        assert load_model(uri, tracking_uri=store.uri).predict(TEXTS) == [["a"], ["b"]]
    assert len(downloads) == 1
    assert [e.key for e in ModelCache().entries()] == [store.model_ids[0]]
    # 'latest' is MLflow's own reading: the highest version
    assert load_model(f"models:/{NAME}/latest", tracking_uri=store.uri).keyword == "دولار"


def test_a_bundle_logged_as_run_artifacts_is_cached_by_run_and_path(
    store: Store, downloads: list[str], tmp_path: Path
) -> None:
    bundle = save_bundle(EchoModel(keyword="الزوراء"), tmp_path / "bundle")
    tracker = MlflowTracker(tracking_uri=store.uri, experiment="cache-artifacts")
    with tracker.run("artifacts") as run_id:
        tracker.log_artifacts(bundle, "exported/bundle")
    for _ in range(3):
        model = load_model(f"runs:/{run_id}/exported/bundle", tracking_uri=store.uri)
        assert model.predict(TEXTS) == [["b"], ["a"]]
    assert downloads == [f"runs:/{run_id}/exported/bundle"]
    [entry] = ModelCache().entries()
    assert entry.key.startswith(f"run-{run_id}-") and entry.uri == downloads[0]


def test_a_moved_alias_loads_the_new_version(store: Store) -> None:
    client = MlflowTracker(tracking_uri=store.uri).client
    uri = f"models:/{NAME}@champion"
    try:
        assert load_model(uri, tracking_uri=store.uri).predict(TEXTS) == [["a"], ["b"]]
        client.set_registered_model_alias(NAME, "champion", "2")
        assert load_model(uri, tracking_uri=store.uri).predict(TEXTS) == [["b"], ["a"]]
        client.set_registered_model_alias(NAME, "champion", "1")
        assert load_model(uri, tracking_uri=store.uri).predict(TEXTS) == [["a"], ["b"]]
    finally:
        client.set_registered_model_alias(NAME, "champion", "1")
    assert {e.key for e in ModelCache().entries()} == set(store.model_ids[:2])


def _cached_bundle(key: str) -> Path:
    folder = default_model_cache_dir() / key
    return folder / json.loads((folder / mc.ENTRY_FILE).read_text(encoding="utf-8"))["bundle"]


@pytest.mark.parametrize(
    "damage", ["part", "manifest-resealed", "missing-entry", "missing-file", "entry-points-outside"]
)
def test_a_tampered_copy_is_detected_and_downloaded_again(
    store: Store,
    downloads: list[str],
    damage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    uri = f"models:/{NAME}/1"
    load_model(uri, tracking_uri=store.uri)
    bundle = _cached_bundle(store.model_ids[0])
    echo = bundle / "echo.json"
    if damage == "part":  # the model would now answer "a" for the other word
        echo.write_text(json.dumps({"keyword": "الزوراء", "labels": ["a", "b"]}), "utf-8")
    elif damage == "manifest-resealed":  # an edit whose checksums were all recomputed
        echo.write_text(json.dumps({"keyword": "الزوراء", "labels": ["a", "b"]}), "utf-8")
        manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
        manifest["files"]["echo.json"] = mc.integrity.sha256_file(echo)
        (bundle / "manifest.json").write_text(json.dumps(seal_manifest(manifest)), "utf-8")
    elif damage == "entry-points-outside":  # entry.json sends the load to another bundle
        evil = save_bundle(EchoModel(keyword="الزوراء"), default_model_cache_dir() / "evil")
        entry_file = bundle.parents[2] / mc.ENTRY_FILE
        entry = json.loads(entry_file.read_text(encoding="utf-8"))
        manifest = json.loads((evil / "manifest.json").read_text(encoding="utf-8"))
        entry["bundle"] = "../evil"
        entry["manifest_sha256"] = mc.integrity.manifest_sha256(manifest)
        entry_file.write_text(json.dumps(entry), "utf-8")
    elif damage == "missing-entry":
        (bundle.parents[2] / mc.ENTRY_FILE).unlink()
    else:
        echo.unlink()
    with caplog.at_level(logging.WARNING, logger=mc.__name__):
        model = load_model(uri, tracking_uri=store.uri)
    assert model.predict(TEXTS) == [["a"], ["b"]]
    assert len(downloads) == 2
    if damage != "missing-entry":
        assert "failed its checks" in caplog.text
    assert json.loads(echo.read_text(encoding="utf-8"))["keyword"] == "النفط"
    copies = [store.model_ids[0], *(["evil"] if damage == "entry-points-outside" else [])]
    assert _copies(default_model_cache_dir()) == sorted(copies)
    assert _leftovers(default_model_cache_dir()) == []


def test_the_cap_evicts_the_least_recently_used(store: Store, downloads: list[str]) -> None:
    load_model(f"models:/{NAME}/1", tracking_uri=store.uri)
    one = ModelCache().entries()[0].n_bytes
    cache = ModelCache(max_bytes=int(2.5 * one))
    cache.load(f"models:/{NAME}/2", tracking_uri=store.uri)
    cache.load(f"models:/{NAME}/1", tracking_uri=store.uri)  # v1 used after v2
    cache.load(f"models:/{NAME}/3", tracking_uri=store.uri)  # over the cap: v2 goes
    assert {e.key for e in cache.entries()} == {store.model_ids[0], store.model_ids[2]}
    assert sum(e.n_bytes for e in cache.entries()) <= cache.max_bytes
    assert ModelCache(max_bytes=0).evict() == []  # 0: no cap, as ARNEWS_CACHE_MAX_BYTES
    # the env var sets the cap of load_model's cache; the copy being loaded always stays
    os.environ[mc.MODEL_CACHE_MAX_BYTES_ENV] = "1"
    try:
        model = load_model(f"models:/{NAME}/2", tracking_uri=store.uri)
    finally:
        del os.environ[mc.MODEL_CACHE_MAX_BYTES_ENV]
    assert model.predict(TEXTS) == [["b"], ["a"]]
    assert [e.key for e in cache.entries()] == [store.model_ids[1]]
    assert len(downloads) == 4


def test_a_copy_in_use_by_another_process_is_not_evicted_nor_cleared(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = ModelCache()
    cache.load(f"models:/{NAME}/1", tracking_uri=store.uri)
    cache.load(f"models:/{NAME}/2", tracking_uri=store.uri)
    # a shared lock on v1's lock file, as a process loading it holds (another open file
    # description conflicts like another process would)
    with open(cache.root / ".locks" / store.model_ids[0], "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        assert ModelCache(max_bytes=1).evict() == [store.model_ids[1]]
        assert runs_main(["--clear-cache"]) == 0
        fcntl.flock(handle, fcntl.LOCK_UN)
    out = capsys.readouterr().out
    assert "0 cached model(s)" in out and "Kept 1 model(s) in use by a running process" in out
    assert _copies(cache.root) == [store.model_ids[0]]


def test_a_live_model_pins_its_copy_until_it_is_collected(store: Store) -> None:
    cache = ModelCache()
    model = cache.load(f"models:/{NAME}/1", tracking_uri=store.uri)  # may read its files later
    cache.load(f"models:/{NAME}/2", tracking_uri=store.uri)  # dropped at once: not pinned
    assert ModelCache(max_bytes=1).evict() == [store.model_ids[1]]
    assert clear_model_cache().n_kept == 1
    assert model.predict(TEXTS) == [["a"], ["b"]]
    del model
    gc.collect()
    assert clear_model_cache().n_copies == 1
    assert _copies(cache.root) == []


def test_clear_cache_empties_it_and_says_what_it_freed(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    load_model(f"models:/{NAME}/1", tracking_uri=store.uri)
    load_model(f"models:/{NAME}/2", tracking_uri=store.uri)
    size = sum(e.n_bytes for e in ModelCache().entries())
    dead = default_model_cache_dir() / f".tmp-{mc._host()}-{_dead_pid()}-0123abcd"
    (dead / "model").mkdir(parents=True)
    (dead / "model" / "half").write_bytes(b"x" * 100)
    assert runs_main(["--clear-cache"]) == 0
    out = capsys.readouterr().out
    assert str(default_model_cache_dir()) in out
    assert "2 cached model(s) and 1 unfinished download(s) removed" in out
    assert f"({size + 100:,} bytes) freed" in out
    assert _copies(default_model_cache_dir()) == [] and _leftovers(default_model_cache_dir()) == []
    assert clear_model_cache().n_copies == 0
    with pytest.raises(SystemExit):
        runs_main(["--clear-cache", "--promote", "abc", "--alias", "champion"])


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_leftovers_of_killed_downloads_are_removed_and_never_trusted(
    store: Store, downloads: list[str]
) -> None:
    root = default_model_cache_dir()
    root.mkdir(parents=True)
    host, key = mc._host(), store.model_ids[0]
    # a killed download: complete-looking files, even an entry, but never renamed into place
    dead = root / f".tmp-{host}-{_dead_pid()}-0123abcd"
    (dead / "model").mkdir(parents=True)
    (dead / mc.ENTRY_FILE).write_text("{}", encoding="utf-8")
    trash = root / ".trash-0123456789ab"  # a removal killed halfway
    trash.mkdir()
    alive = root / f".tmp-{host}-{os.getpid()}-89abcdef"  # a download in progress: kept
    alive.mkdir()
    foreign_new = root / ".tmp-otherhost-1-00000000"  # another host's: only age tells
    foreign_new.mkdir()
    foreign_old = root / ".tmp-otherhost-2-00000000"
    foreign_old.mkdir()
    old = 2 * mc.STALE_TMP_SECONDS
    os.utime(foreign_old, (os.path.getmtime(foreign_old) - old,) * 2)
    # a copy under the key without its entry file: not trusted
    (root / key / "model").mkdir(parents=True)
    model = load_model(f"models:/{NAME}/1", tracking_uri=store.uri)
    assert model.predict(TEXTS) == [["a"], ["b"]]
    assert len(downloads) == 1
    assert _leftovers(root) == sorted([alive.name, foreign_new.name])
    assert _copies(root) == [key]


def test_download_dir_and_cache_false_bypass_the_cache(store: Store, _isolated: Path) -> None:
    model = load_model(f"models:/{NAME}/1", tracking_uri=store.uri, download_dir="dl")
    assert model.predict(TEXTS) == [["a"], ["b"]]
    assert (_isolated / "dl" / "artifacts" / "bundle" / "manifest.json").is_file()
    model = load_model(f"models:/{NAME}/1", tracking_uri=store.uri, cache=False)
    assert model.predict(TEXTS) == [["a"], ["b"]]
    assert not default_model_cache_dir().exists()
    # the temporary folder of cache=False (this process's one) is removed when it exits
    mine = list((_isolated / "systmp").glob("arnews-model-*"))
    assert len(mine) == 1
    code = (
        "from arnews_ml.inference import load_model\n"
        f"m = load_model('models:/{NAME}/1', tracking_uri={store.uri!r}, cache=False)\n"
        "assert m.predict(['النفط']) == [['a']]\n"
    )
    env = {**os.environ, "TMPDIR": str(_isolated / "systmp")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
    assert list((_isolated / "systmp").glob("arnews-model-*")) == mine


def test_errors_name_the_uri_and_leave_nothing(store: Store, _isolated: Path) -> None:
    with pytest.raises(ArtifactError, match=r"models:/no-such-model/1.*MLFLOW_TRACKING_URI"):
        load_model("models:/no-such-model/1", tracking_uri=store.uri)
    with pytest.raises(ArtifactError, match=f"models:/{NAME}@nobody"):
        load_model(f"models:/{NAME}@nobody", tracking_uri=store.uri)
    with pytest.raises(ArtifactError, match="Set MLFLOW_TRACKING_URI"):
        load_model("models:/anything/1")  # no store in the cwd: none is created
    assert not (_isolated / "mlflow.db").exists()
    assert not default_model_cache_dir().exists()
    assert list((_isolated / "systmp").iterdir()) == []


def test_cache_folder_and_cap_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arnews_ml.embed.cache import CACHE_DIR_ENV

    assert mc.CACHE_DIR_ENV == CACHE_DIR_ENV  # one root for the embedding and model caches
    monkeypatch.delenv(mc.MODEL_CACHE_DIR_ENV)
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "root"))
    assert default_model_cache_dir() == tmp_path / "root" / "models"
    monkeypatch.delenv(CACHE_DIR_ENV)
    assert default_model_cache_dir() == Path.home() / ".cache" / "arnews_ml" / "models"
    assert ModelCache().max_bytes == mc.DEFAULT_MAX_BYTES == 2 * 1024**3
    for raw, expected in [("500M", 500 * 2**20), ("2G", 2**31), ("1.5GiB", 3 * 2**29), ("7", 7)]:
        monkeypatch.setenv(mc.MODEL_CACHE_MAX_BYTES_ENV, raw)
        assert ModelCache().max_bytes == expected
    monkeypatch.setenv(mc.MODEL_CACHE_MAX_BYTES_ENV, "lots")
    with pytest.raises(ConfigError, match="ARNEWS_MODEL_CACHE_MAX_BYTES='lots' is not a size"):
        ModelCache()


def test_a_version_without_a_model_id_is_keyed_by_its_store() -> None:
    class Version:  # registered from a run artifact (MLflow 2 style): no logged model id
        name, version, model_id, source = "news", "3", None, "s3://bucket/run/artifacts/model"

    class Client:
        def get_model_version(self, name: str, version: str) -> Version:
            return Version()

    first = mc._resolve_models_uri(Client(), "models:/news/3", "sqlite:////a/mlflow.db")
    again = mc._resolve_models_uri(Client(), "models:/news/3", "sqlite:////a/mlflow.db")
    other = mc._resolve_models_uri(Client(), "models:/news/3", "http://other:5000")
    assert first == again and first.key != other.key and first.key.startswith("v-news-3-")
    assert first.download_uri == "models:/news/3"


def test_a_copy_another_process_made_while_this_one_waited_is_a_logged_hit(
    store: Store,
    downloads: list[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The race of two processes loading at once: the second finds no copy under the shared lock,
    waits for the exclusive one, and finds the copy the first made. It must not download again,
    and it says it hit the cache (the log is how people and the slow test count hits)."""
    uri = f"models:/{NAME}/1"
    load_model(uri, tracking_uri=store.uri)  # the "other process": makes the copy
    trusted = ModelCache._trusted_bundle
    calls: list[str] = []

    def missing_at_first(self: ModelCache, key: str) -> Path | None:
        calls.append(key)
        return None if len(calls) == 1 else trusted(self, key)

    monkeypatch.setattr(ModelCache, "_trusted_bundle", missing_at_first)
    with caplog.at_level(logging.INFO, logger=mc.__name__):
        model = load_model(uri, tracking_uri=store.uri)
    assert model.predict(TEXTS) == [["a"], ["b"]]
    assert len(calls) == 2 and len(downloads) == 1
    hits = [r.getMessage() for r in caplog.records if "model cache hit" in r.getMessage()]
    assert len(hits) == 1 and "another process" in hits[0]


def test_loads_a_moment_apart_are_ordered_by_last_use(store: Store) -> None:
    """Two loads within one kernel clock tick (a few ms) still get distinct last-use times, so
    the least recently used copy is the one evicted (a plain touch tied them; the key decided)."""
    cache = ModelCache(max_bytes=0)
    for version in (1, 2):
        cache.load(f"models:/{NAME}/{version}", tracking_uri=store.uri)
    bundles = {e.key: e.path / mc._read_entry(e.path)["bundle"] for e in cache.entries()}
    for _ in range(20):  # each pair of loads straight from the copies, microseconds apart
        for key in (store.model_ids[1], store.model_ids[0]):
            cache._load(key, bundles[key])
        assert [e.key for e in cache.entries()] == [store.model_ids[1], store.model_ids[0]]
