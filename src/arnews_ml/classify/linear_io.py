"""Save and load linear heads as plain arrays: no pickle, no skops, nothing imported to load them.

A fitted linear head is its parameters plus a few arrays (``coef_``, ``intercept_``,
``classes_``). Saving those in a ``.npz`` file (read back with ``allow_pickle=False``) and the
scalars in the bundle's manifest rebuilds the exact estimator. This avoids ``import skops.io``,
which scans every scikit-learn estimator for its trusted-type list (and so imports torch), the
largest single cost of saving or loading a default model.

Covered: ``LinearSVC``, ``LogisticRegression`` and ``SGDClassifier``, alone or inside a
``OneVsRestClassifier``. Anything else (a chain, calibration, a label seen in every article,
parameters that are not plain JSON) returns None from :func:`linear_state` and is saved with
skops as before. Classes are rebuilt from the names in :data:`LINEAR_CLASSES` only, never from a
module path read from the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import LabelBinarizer
from sklearn.svm import LinearSVC

from arnews_ml.exceptions import ArtifactError
from arnews_ml.plain_arrays import (
    class_params,
    is_plain,
    object_state,
    read_arrays,
    rebuild,
    restore,
    write_arrays,
)

__all__ = [
    "HEAD_FILE",
    "LINEAR_CLASSES",
    "LINEAR_FORMAT",
    "LINEAR_HEAD_FILE",
    "linear_state",
    "load_head",
    "load_linear_head",
    "save_head",
    "save_linear_head",
]

HEAD_FILE = "head.skops"
"""A head saved with skops (any scikit-learn-like head)."""

LINEAR_HEAD_FILE = "head.npz"
"""A linear head saved as plain arrays by this module."""

LINEAR_FORMAT = "linear-npz-1"
"""The ``format`` a head entry in the manifest carries when it was saved by this module."""

LINEAR_CLASSES: dict[str, type] = {
    "LinearSVC": LinearSVC,
    "LogisticRegression": LogisticRegression,
    "SGDClassifier": SGDClassifier,
    "LabelBinarizer": LabelBinarizer,
}
"""The only classes this format rebuilds, by name."""

_KIND = "linear head"


def _object_state(obj: Any, prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any] | None:
    return object_state(obj, LINEAR_CLASSES, prefix, arrays)


def linear_state(head: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """The manifest entry and arrays that rebuild ``head``, or None when the format cannot.

    Args:
        head: A fitted head (a linear estimator, or one-vs-rest over one).

    Returns:
        ``(entry, arrays)``: ``entry`` is JSON for the manifest, ``arrays`` go to the .npz file.
    """
    arrays: dict[str, np.ndarray] = {}
    if isinstance(head, OneVsRestClassifier) and type(head) is OneVsRestClassifier:
        if not is_plain({k: v for k, v in head.get_params(deep=False).items() if k != "estimator"}):
            return None
        parts = [
            _object_state(e, f"estimators.{i}.", arrays) for i, e in enumerate(head.estimators_)
        ]
        binarizer = _object_state(head.label_binarizer_, "label_binarizer.", arrays)
        template = class_params(head.estimator, LINEAR_CLASSES)
        if any(p is None for p in parts) or binarizer is None or template is None:
            return None
        entry = {
            "format": LINEAR_FORMAT,
            "wrapper": "one_vs_rest",
            "estimator": template,
            "estimators": parts,
            "label_binarizer": binarizer,
            "n_features_in_": int(head.n_features_in_),
        }
        arrays["classes_"] = np.asarray(head.classes_)
        return entry, arrays
    single = _object_state(head, "head.", arrays)
    if single is None:
        return None
    return {"format": LINEAR_FORMAT, "wrapper": None, "head": single}, arrays


def save_linear_head(head: Any, path: str | Path) -> dict[str, Any] | None:
    """Write ``head``'s arrays to ``path`` (.npz) and return its manifest entry, or None (and
    write nothing) when the head is not one this format covers."""
    state = linear_state(head)
    if state is None:
        return None
    entry, arrays = state
    write_arrays(path, arrays)
    return entry


def _build(spec: Any, where: str) -> Any:
    return rebuild(spec, LINEAR_CLASSES, where, _KIND)


def _restore(spec: Any, prefix: str, arrays: Any, where: str) -> Any:
    return restore(spec, LINEAR_CLASSES, prefix, arrays, where, _KIND)


def load_linear_head(path: str | Path, entry: dict[str, Any]) -> Any:
    """Rebuild the head :func:`save_linear_head` wrote (no pickle is ever read).

    Raises:
        ArtifactError: The file is missing or not a plain .npz, or the entry is malformed.
    """
    where = f"The head {Path(path)}"
    arrays = read_arrays(path, where)
    if entry.get("wrapper") is None:
        return _restore(entry.get("head"), "head.", arrays, where)
    if entry.get("wrapper") != "one_vs_rest" or not isinstance(entry.get("estimators"), list):
        raise ArtifactError(f"{where}: unknown head wrapper {entry.get('wrapper')!r}; re-export.")
    head = OneVsRestClassifier(_build(entry.get("estimator"), where))
    head.estimators_ = [
        _restore(spec, f"estimators.{i}.", arrays, where)
        for i, spec in enumerate(entry["estimators"])
    ]
    head.label_binarizer_ = _restore(
        entry.get("label_binarizer"), "label_binarizer.", arrays, where
    )
    head.classes_ = arrays.get("classes_", head.label_binarizer_.classes_)
    head.n_features_in_ = int(entry.get("n_features_in_", head.estimators_[0].n_features_in_))
    return head


def decision_weights(head: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(W, b)`` with ``X @ W + b`` equal to ``head.decision_function(X)`` (2-d), or None.

    For a head without ``predict_proba`` whose scores are plain linear margins: a
    ``LinearSVC``, or one-vs-rest over ``LinearSVC``. ``W`` is one C-ordered matrix (features x
    outputs), so a batch is scored in one sparse product instead of one per label, and a
    single article no longer pays a per-label copy of the transposed coefficients. The sums run
    in the same order as scikit-learn's, so the margins are the same numbers.
    """
    if isinstance(head, OneVsRestClassifier) and type(head) is OneVsRestClassifier:
        parts = head.estimators_
        if not parts or any(type(e) is not LinearSVC or e.coef_.shape[0] != 1 for e in parts):
            return None
        W = np.ascontiguousarray(np.vstack([e.coef_ for e in parts]).T)
        b = np.concatenate([np.ravel(e.intercept_) for e in parts])
        return W, b
    if type(head) is LinearSVC:
        return np.ascontiguousarray(head.coef_.T), np.ravel(head.intercept_).copy()
    return None


def save_head(head: Any, directory: Path, inner: Any) -> dict[str, Any]:
    """Write a fitted head into a bundle folder: plain arrays when :func:`linear_state` can
    keep it, else skops. Returns its manifest entry (``inner``: the estimator it wraps)."""
    entry: dict[str, Any] = {
        "file": LINEAR_HEAD_FILE,
        "class": f"{type(inner).__module__}:{type(inner).__qualname__}",
    }
    linear = save_linear_head(head, directory / LINEAR_HEAD_FILE)
    if linear is None:  # not a plain linear head: skops, which scans every estimator type
        from arnews_ml.persist import dump_skops

        dump_skops(head, directory / HEAD_FILE)
        entry["file"] = HEAD_FILE
    else:
        entry.update(linear)
    return entry


def load_head(directory: Path, entry: Any) -> Any:
    """Read the head :func:`save_head` wrote (bundles from before plain arrays: skops)."""
    if not isinstance(entry, dict):
        raise ArtifactError(f"The manifest of {directory} has a malformed 'head'; re-export it.")
    path = directory / entry.get("file", HEAD_FILE)
    if entry.get("format") == LINEAR_FORMAT:
        return load_linear_head(path, entry)
    from arnews_ml.persist import load_skops

    return load_skops(path)
