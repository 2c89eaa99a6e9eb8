"""One-vs-rest fits: the same model with or without forked workers, and no worker outlives a
killed parent."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

from arnews_ml.classify import one_vs_rest
from arnews_ml.classify.one_vs_rest import fit_one_vs_rest
from arnews_ml.parallel import can_fork, worker_count

needs_fork = pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")


def _data(seed: int = 0, n: int = 300, d: int = 400, k: int = 4):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.05, format="csr", random_state=seed, dtype=np.float64)
    W = rng.normal(size=(d, k))
    Y = (np.quantile(X @ W, 0.7, axis=0) < X @ W).astype(int)
    return X, Y


@needs_fork
@pytest.mark.parametrize(
    "head",
    [LinearSVC(C=0.5, random_state=0), LogisticRegression(C=2.0, max_iter=500)],
    ids=["svm", "logreg"],
)
def test_forked_workers_give_the_model_scikit_learn_fits(monkeypatch, head):
    X, Y = _data()
    monkeypatch.setattr(one_vs_rest, "MIN_PARALLEL_WORK", 0)
    forked = fit_one_vs_rest(head, X, Y, n_jobs=2)
    here = fit_one_vs_rest(head, X, Y, n_jobs=None)
    reference = OneVsRestClassifier(head).fit(X, Y)
    for model in (forked, here):
        assert len(model.estimators_) == Y.shape[1]
        for mine, theirs in zip(model.estimators_, reference.estimators_, strict=True):
            np.testing.assert_array_equal(mine.coef_, theirs.coef_)
            np.testing.assert_array_equal(mine.intercept_, theirs.intercept_)
        np.testing.assert_array_equal(model.predict(X), reference.predict(X))
        np.testing.assert_array_equal(model.decision_function(X), reference.decision_function(X))
        assert model.n_features_in_ == X.shape[1]
    assert head.__dict__.get("coef_") is None, "the given head must stay unfitted"


def test_a_label_in_every_article_gets_scikit_learns_constant_predictor(monkeypatch):
    X, Y = _data()
    Y[:, 1] = 1
    monkeypatch.setattr(one_vs_rest, "MIN_PARALLEL_WORK", 0)
    with pytest.warns(UserWarning, match="present in all training examples"):
        model = fit_one_vs_rest(LinearSVC(random_state=0), X, Y, n_jobs=2)
    assert model.predict(X)[:, 1].all()


@pytest.mark.parametrize(
    ("n_jobs", "tasks", "work", "expected"),
    [(None, 6, 1e9, 1), (1, 6, 1e9, 1), (-1, 6, 10.0, 1), (4, 1, 1e9, 1), (2, 6, 1e9, 2)],
)
def test_workers_only_when_the_work_pays_for_them(n_jobs, tasks, work, expected):
    if not can_fork():
        expected = 1
    assert worker_count(n_jobs, tasks, work, min_work=1e6) == min(expected, os.cpu_count() or 1)


def test_all_cores_is_capped_by_the_tasks():
    assert worker_count(-1, 2, 1e9, min_work=0) <= 2


_SLOW_PARENT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import numpy as np
    from sklearn.base import BaseEstimator, ClassifierMixin
    from arnews_ml.classify import one_vs_rest

    class SlowHead(ClassifierMixin, BaseEstimator):
        def __init__(self, folder=""):
            self.folder = folder
        def fit(self, X, y):
            Path(self.folder, str(os.getpid())).write_text("fitting")
            time.sleep(120)
            return self

    one_vs_rest.MIN_PARALLEL_WORK = 0
    X = np.ones((10, 3))
    Y = np.tile([[0, 1], [1, 0]], (5, 1))
    one_vs_rest.fit_one_vs_rest(SlowHead(sys.argv[1]), X, Y, n_jobs=2)
    """
)


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        state = next(line for line in status.read_text().splitlines() if line.startswith("State"))
    except (FileNotFoundError, ProcessLookupError, StopIteration):
        return False
    return "Z" not in state.split(":", 1)[1]


@needs_fork
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_workers_die_when_their_parent_is_killed(tmp_path):
    script = tmp_path / "slow_parent.py"
    script.write_text(_SLOW_PARENT)
    folder = tmp_path / "pids"
    folder.mkdir()
    parent = subprocess.Popen([sys.executable, str(script), str(folder)])
    try:
        deadline = time.monotonic() + 60
        while len(list(folder.iterdir())) < 2 and time.monotonic() < deadline:
            assert parent.poll() is None, "the parent script ended early"
            time.sleep(0.1)
        workers = [int(p.name) for p in folder.iterdir()]
        assert len(workers) == 2, "two forked workers should be fitting"
        assert parent.pid not in workers
        assert all(_alive(pid) for pid in workers)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)], "workers outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        for p in folder.iterdir():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(p.name), signal.SIGKILL)
