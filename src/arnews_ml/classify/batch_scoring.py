"""Score a large batch of articles in forked workers, one slice each, on every core.

Cleaning, TF-IDF and scoring treat each article on its own (learned boilerplate lines, idf and
weights are fixed once fitted), so slices of a batch scored apart give exactly the rows of the
whole batch scored at once. The workers are forks of this process (the model is read from its
memory, never pickled) bound to it (:mod:`arnews_ml.parallel`); only the score matrices come
back; this process scores the first slice itself. Batches under :data:`MIN_PARALLEL_DOCS` are
scored here: a request to a served model never forks.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from arnews_ml.parallel import map_in_forks, shared, worker_count

__all__ = ["MIN_PARALLEL_DOCS", "scores_in_workers", "workers_for"]

#: Batches smaller than this are scored in this process.
MIN_PARALLEL_DOCS = 2000


def workers_for(n_jobs: int | None, n_docs: int) -> int:
    """Workers to score ``n_docs`` articles with (1: in this process)."""
    return worker_count(n_jobs, n_tasks=n_docs, work=n_docs, min_work=MIN_PARALLEL_DOCS)


def _score_slice(bounds: tuple[int, int]) -> np.ndarray:
    objects = shared()
    model, texts = objects["model"], objects["texts"]
    start, stop = bounds
    return model._scores(model._encode_clean(texts[start:stop]))


def scores_in_workers(model: Any, texts: list[str], workers: int) -> np.ndarray:
    """``model._scores(model._encode_clean(texts))``, computed in ``workers`` slices: the first
    here, the others in forks.

    One article is scored here first, so what the model builds on its first call (the n-gram
    lookups of a loaded TF-IDF embedder) is built once, before the fork, not in every worker.
    """
    model._scores(model._encode_clean(texts[:1]))
    edges = np.linspace(0, len(texts), workers + 1).astype(int).tolist()
    bounds = list(itertools.pairwise(edges))
    slices = map_in_forks(_score_slice, bounds, workers, here=True, model=model, texts=texts)
    return np.vstack(slices)
