"""Fit a one-vs-rest head, one label per forked worker when the work pays for the workers.

scikit-learn's ``OneVsRestClassifier(n_jobs=...)`` starts joblib's loky workers: fresh
interpreters that import scikit-learn again and receive the training matrix through memory-mapped
files, several seconds of overhead for fits that take milliseconds on a small corpus, and workers
that outlive a ``kill -9`` of their parent. Here small jobs run in this process and large ones in
forked workers bound to this process (:mod:`arnews_ml.parallel`). Each label's estimator is
fitted exactly as scikit-learn fits it (a clone of the head on the label's 0/1 column), so the
result is the same fitted ``OneVsRestClassifier`` whatever the number of workers.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import LabelBinarizer

from arnews_ml.parallel import map_in_forks, shared, worker_count

__all__ = ["MIN_PARALLEL_WORK", "fit_one_vs_rest"]

logger = logging.getLogger(__name__)

#: Non-zero feature entries times labels below which the labels are fitted in this process.
#: About half a second of liblinear work; forking below that saves less than it costs. (On
#: the bundled sample, about 8M, two forked workers beat this process alone on 2 idle cores.)
MIN_PARALLEL_WORK = 5_000_000


def _work(X: Any, n_labels: int) -> float:
    entries = X.nnz if hasattr(X, "nnz") else np.prod(np.shape(X))
    return float(entries) * n_labels


def _fit_label(index: int) -> Any:
    """Worker: fit a clone of the head on one label's column of the shared matrices."""
    objects = shared()
    estimator = clone(objects["base"])
    estimator.fit(objects["X"], objects["Y"][:, index])
    return estimator


def fit_one_vs_rest(base: Any, X: Any, Y: np.ndarray, n_jobs: int | None) -> OneVsRestClassifier:
    """Fit ``OneVsRestClassifier(base)`` on the indicator matrix ``Y``.

    Args:
        base: Unfitted scikit-learn classifier (cloned per label, never modified).
        X: Features, shape (n_docs, n_features), dense or sparse.
        Y: 0/1 indicator matrix, shape (n_docs, n_labels).
        n_jobs: Workers wanted (None/1: none, -1: all cores); used only when the job is large
            (see :data:`MIN_PARALLEL_WORK`) and the platform can fork.

    Returns:
        The fitted one-vs-rest head, as scikit-learn's own ``fit`` would build it.
    """
    Y = np.asarray(Y)
    workers = worker_count(n_jobs, Y.shape[1], _work(X, Y.shape[1]), MIN_PARALLEL_WORK)
    constant = [i for i in range(Y.shape[1]) if np.unique(Y[:, i]).size < 2]
    head = OneVsRestClassifier(base)
    if workers < 2 or constant:
        # A label present in every (or no) article gets scikit-learn's constant predictor.
        return head.fit(X, Y)
    logger.info("one-vs-rest labels=%d workers=%d (forked)", Y.shape[1], workers)
    estimators = map_in_forks(_fit_label, range(Y.shape[1]), workers, base=base, X=X, Y=Y)
    head.label_binarizer_ = LabelBinarizer(sparse_output=True).fit(Y)
    head.classes_ = head.label_binarizer_.classes_
    head.estimators_ = estimators
    if hasattr(estimators[0], "n_features_in_"):
        head.n_features_in_ = estimators[0].n_features_in_
    return head
