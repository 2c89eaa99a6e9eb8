"""Choose a head's regularisation ``C`` among a few candidates on a held-out part of training.

A head configured with a list of ``C`` values (``classifier.C_grid: [0.3, 1.0]``) gets the one
that scores best on a held-out fifth of the training articles, then is fitted on all of them
with it. The best ``C`` depends on the corpus: on ANT's long articles 1.0 scores best (3.0
alike, at several times the fitting time), on ANT's titles (~8 words) 0.3. The candidate fits
use at most :data:`NNZ_BUDGET` non-zero feature entries each (a row sample), so the choice costs a few
seconds on long articles and covers all rows of a corpus of short texts. The fitted head is a
plain estimator with one ``C``, saved as any other.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import clone
from sklearn.metrics import f1_score

from arnews_ml.classify.heads import head_for_task, params_named
from arnews_ml.classify.one_vs_rest import MIN_PARALLEL_WORK
from arnews_ml.classify.thresholds import tune_thresholds
from arnews_ml.parallel import map_in_forks, shared, worker_count

__all__ = ["HOLD_OUT", "MIN_ROWS", "NNZ_BUDGET", "choose_c", "resolve_head"]

logger = logging.getLogger(__name__)

#: Non-zero feature entries of the rows each candidate is fitted on (rows are sampled down).
NNZ_BUDGET = 3_000_000
#: Rows each candidate is fitted on at least, whatever the budget.
MIN_ROWS = 2_000
#: Share of the training rows held out to score the candidates.
HOLD_OUT = 0.2


def _c_keys(head: Any) -> tuple[list[str], list[float]]:
    """The parameter names holding a list of ``C`` candidates (nested ones included)."""
    lists = {k: v for k, v in params_named(head, "C").items() if isinstance(v, list | tuple)}
    candidates = [float(c) for c in list(lists.values())[-1]] if lists else []
    return list(lists), candidates


def resolve_head(
    head: Any, X: Any, Y: np.ndarray, multilabel: bool, tuned: bool, n_jobs: int | None = None
) -> Any:
    """A clone of ``head`` ready to fit: ``class_weight="auto"`` resolved
    (:func:`~arnews_ml.classify.heads.head_for_task`) and a list of ``C`` values replaced by the
    one :func:`choose_c` picks.

    Args:
        head: The unfitted head (not modified).
        X: Training features, shape (n_docs, n_features).
        Y: 0/1 label indicators, shape (n_docs, n_labels).
        multilabel: Whether each label is fitted on its own (one-vs-rest or chain).
        tuned: Whether per-label thresholds will be tuned on validation data.
        n_jobs: Candidate fits in this many forked workers when the work pays for them
            (as the one-vs-rest fits; None/1: none, -1: all cores).
    """
    base = head_for_task(head, multilabel=multilabel, tuned=tuned)
    keys, candidates = _c_keys(base)
    if not keys:
        return base
    best = choose_c(base, keys, candidates, X, Y, multilabel=multilabel, n_jobs=n_jobs)
    return base.set_params(**dict.fromkeys(keys, best))


def _fit_candidate(task: tuple[int, int]) -> np.ndarray:
    """Worker: fit candidate ``c`` on label ``j`` (multi-label) or on all classes; return its
    margins (multi-label) or predicted classes on the held-out rows."""
    c, j = task
    objects = shared()
    C = objects["candidates"][c]
    estimator = clone(objects["base"]).set_params(**dict.fromkeys(objects["keys"], C))
    y = objects["y"]
    if y.ndim == 2:
        return estimator.fit(objects["X"], y[:, j]).decision_function(objects["X_hold"])
    return estimator.fit(objects["X"], y).predict(objects["X_hold"])


def _sample(rows: np.ndarray, X: Any) -> np.ndarray:
    per_row = X.nnz / max(X.shape[0], 1) if hasattr(X, "nnz") else X.shape[1]
    return rows[: max(MIN_ROWS, int(NNZ_BUDGET / max(per_row, 1.0)))]


def choose_c(
    base: Any,
    keys: Sequence[str],
    candidates: Sequence[float],
    X: Any,
    Y: np.ndarray,
    *,
    multilabel: bool,
    seed: int = 0,
    n_jobs: int | None = None,
) -> float:
    """The candidate ``C`` with the best macro-F1 on a held-out part of the training rows.

    Multi-label: each label's margins go through a sigmoid and a threshold tuned on the held-out
    rows (as the model's thresholds will be), every row keeping at least its top label; single
    label: the argmax. Ties go to the earlier candidate. With fewer than 50 rows, or a held-out
    part without every label, the middle candidate is returned without fitting.

    Args:
        base: The head with its ``class_weight`` resolved.
        keys: The parameter names to set to each candidate.
        candidates: ``C`` values, in order of preference on ties.
        X: Training features.
        Y: 0/1 label indicators, shape (n_docs, n_labels).
        multilabel: Whether each label is fitted on its own.
        seed: Seed of the row shuffle.
        n_jobs: Forked workers for the candidate fits (see :func:`resolve_head`).
    """
    candidates = [float(c) for c in candidates]
    middle = candidates[len(candidates) // 2]
    n = X.shape[0]
    Y = np.asarray(Y)
    order = np.random.default_rng(seed).permutation(n)
    n_hold = int(HOLD_OUT * n)
    hold, fit = _sample(order[:n_hold], X), _sample(order[n_hold:], X)
    Y_fit, Y_hold = Y[fit], Y[hold]
    if len(candidates) < 2 or n < 50 or not Y_hold.any(axis=0).all():
        return middle
    if multilabel and not (Y_fit.any(axis=0).all() and (~Y_fit.astype(bool)).any(axis=0).all()):
        return middle
    X_fit = X[fit]
    tasks = [(c, j) for c in range(len(candidates)) for j in range(Y.shape[1] if multilabel else 1)]
    work = float(X_fit.nnz if hasattr(X_fit, "nnz") else np.prod(X_fit.shape)) * len(tasks)
    workers = worker_count(n_jobs, len(tasks), work, MIN_PARALLEL_WORK)
    y_fit = Y_fit if multilabel else Y_fit.argmax(axis=1)
    shared_objects = {"base": base, "keys": keys, "candidates": candidates, "X": X_fit}
    outputs = map_in_forks(
        _fit_candidate, tasks, workers, here=True, y=y_fit, X_hold=X[hold], **shared_objects
    )
    scores = []
    for c in range(len(candidates)):
        if multilabel:
            pairs = zip(tasks, outputs, strict=True)
            S = expit(np.column_stack([out for (ci, _), out in pairs if ci == c]))
            P = np.greater_equal(S, tune_thresholds(Y_hold, S)[None, :])
            P[np.arange(len(S)), S.argmax(axis=1)] = True
        else:
            P = np.eye(Y.shape[1], dtype=bool)[outputs[c]]
        scores.append(f1_score(Y_hold, P, average="macro", zero_division=0))
    best = candidates[int(np.argmax(scores))]
    logger.info(
        "C chosen=%s fit_rows=%d held_out=%d macro_f1 %s",
        best,
        len(fit),
        len(hold),
        " ".join(f"C={c}:{s:.4f}" for c, s in zip(candidates, scores, strict=True)),
    )
    return best
