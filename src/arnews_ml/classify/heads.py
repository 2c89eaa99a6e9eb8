"""Factory functions for classifier heads: plain scikit-learn estimators built from config.

Config files target these through Hydra ``_target_`` (for example
``_target_: arnews_ml.classify.heads.linear_svc``), so YAML never has to spell a tuple or a
nested estimator. Each factory returns an unwrapped, unfitted scikit-learn estimator; the
multi-label wrapper (one-vs-rest or a chain) is added by :class:`TextClassifier`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import LinearSVC

from arnews_ml.exceptions import ConfigError, DataError

__all__ = [
    "check_head_fits",
    "head_for_task",
    "knn",
    "linear_svc",
    "logreg",
    "mlp",
    "params_named",
    "sgd",
    "svm",
]

ClassWeight = Literal["balanced", "none", "auto"] | dict[Any, float] | None


def _class_weight(value: ClassWeight) -> Literal["balanced", "auto"] | dict[Any, float] | None:
    """``"none"`` (what a sweep's ``choice(balanced, none)`` can name) means no weighting;
    ``"auto"`` stays until :func:`head_for_task` resolves it."""
    return None if value == "none" else value


def params_named(estimator: Any, name: str) -> dict[str, Any]:
    """The estimator's parameters called ``name``, nested ones included (a calibrated SVM's
    ``estimator__class_weight``); empty for an object without ``get_params``."""
    if not hasattr(estimator, "get_params"):
        return {}
    return {
        key: value
        for key, value in estimator.get_params(deep=True).items()
        if key.rsplit("__", 1)[-1] == name
    }


def head_for_task(head: Any, *, multilabel: bool, tuned: bool) -> Any:
    """A clone of ``head`` with ``class_weight="auto"`` resolved for the task it will fit.

    ``"auto"`` means no class weights when every label gets its own threshold tuned on
    validation data (the threshold sets each label's operating point, so reweighting the rare
    labels adds nothing but fitting time: on ANT the same macro-F1, 1.5-2x faster LinearSVC
    fits), and ``"balanced"`` otherwise (single-label models take the argmax, where the weights
    keep small classes from being drowned out).

    Args:
        head: The unfitted head (not modified).
        multilabel: Whether the labels are fitted one by one (one-vs-rest or chain).
        tuned: Whether per-label thresholds will be tuned on validation data.
    """
    base = clone(head)
    weight = None if multilabel and tuned else "balanced"
    # nested too: a calibrated SVM (linear_svc) carries the weight on its inner estimator
    auto = {
        key: weight
        for key, value in params_named(base, "class_weight").items()
        if isinstance(value, str) and value == "auto"
    }
    return base.set_params(**auto) if auto else base


def logreg(
    C: float = 1.0,
    class_weight: ClassWeight = "balanced",
    max_iter: int = 1000,
    solver: str = "lbfgs",
    random_state: int | None = 0,
) -> LogisticRegression:
    """Logistic regression: calibrated probabilities, a strong baseline on TF-IDF and embeddings.

    Args:
        C: Inverse regularisation strength.
        class_weight: ``"balanced"`` reweights classes by inverse frequency (imbalance);
            ``"none"`` or None: no weighting; ``"auto"``: see :func:`head_for_task`.
        max_iter: Solver iterations.
        solver: scikit-learn solver name.
        random_state: Seed (used by some solvers).
    """
    return LogisticRegression(
        C=C,
        class_weight=_class_weight(class_weight),
        max_iter=max_iter,
        solver=solver,
        random_state=random_state,
    )


def linear_svc(
    C: float = 0.5,
    class_weight: ClassWeight = "balanced",
    calibration: Literal["sigmoid", "isotonic"] = "sigmoid",
    cv: int = 3,
    max_iter: int = 2000,
    random_state: int | None = 0,
) -> CalibratedClassifierCV:
    """Linear SVM wrapped in probability calibration, so it gives scores in [0, 1].

    Calibration fits ``cv`` folds, so every class (every label's positives and negatives in the
    multi-label case) needs at least ``cv`` training examples.

    Args:
        C: Inverse regularisation strength of the SVM.
        class_weight: ``"balanced"`` reweights classes by inverse frequency.
        calibration: ``"sigmoid"`` (Platt, good for small data) or ``"isotonic"``.
        cv: Number of calibration folds.
        max_iter: SVM iterations.
        random_state: Seed of the SVM's coordinate descent.
    """
    if calibration not in ("sigmoid", "isotonic"):
        raise ConfigError(
            f"linear_svc 'calibration' must be 'sigmoid' or 'isotonic'; received {calibration!r}."
        )
    base = svm(C=C, class_weight=class_weight, max_iter=max_iter, random_state=random_state)
    return CalibratedClassifierCV(base, method=calibration, cv=cv)


def svm(
    C: float = 1.0,
    class_weight: ClassWeight = "balanced",
    max_iter: int = 2000,
    tol: float = 1e-4,
    random_state: int | None = 0,
    C_grid: Sequence[float] | None = None,
) -> LinearSVC:
    """Linear SVM without calibration folds: the fast default head for TF-IDF features.

    It has no ``predict_proba``: :class:`~arnews_ml.classify.model.TextClassifier` scores its
    margin through a sigmoid (margin 0 -> 0.5), and the per-label thresholds tuned on the
    validation split turn those scores into labels. One SVM fit per label instead of the
    ``cv`` (+1 per fold) fits of :func:`linear_svc`; use ``linear_svc`` when the scores must be
    calibrated probabilities.

    Args:
        C: Inverse regularisation strength (scikit-learn's default 1.0). A ``C`` outside a
            given ``C_grid`` is used as it is (a sweep or override over ``C`` fixes it).
        class_weight: ``"balanced"`` reweights classes by inverse frequency; ``"auto"``:
            none when per-label thresholds are tuned, else balanced (:func:`head_for_task`).
        max_iter: Coordinate-descent iterations.
        tol: Stopping tolerance.
        random_state: Seed of the coordinate descent.
        C_grid: Candidate ``C`` values: the estimator carries the list as its ``C`` and
            :class:`~arnews_ml.classify.model.TextClassifier` fits it with the one that scores
            best on a held-out part of the training data (:mod:`arnews_ml.classify.choose`).
            ``None``: ``C`` as given.
    """
    grid = [float(c) for c in C_grid] if C_grid else []
    return LinearSVC(
        C=grid if float(C) in grid else C,
        class_weight=_class_weight(class_weight),
        max_iter=max_iter,
        tol=tol,
        random_state=random_state,
    )


def sgd(
    loss: str = "modified_huber",
    alpha: float = 1e-4,
    class_weight: ClassWeight = "balanced",
    max_iter: int = 1000,
    tol: float = 1e-3,
    random_state: int | None = 0,
) -> SGDClassifier:
    """Linear model trained by SGD; the default ``modified_huber`` loss gives ``predict_proba``.

    Args:
        loss: SGD loss; ``"log_loss"`` and ``"modified_huber"`` give probabilities, others are
            scored through their decision function.
        alpha: Regularisation strength.
        class_weight: ``"balanced"`` reweights classes by inverse frequency.
        max_iter: Epochs.
        tol: Stopping tolerance.
        random_state: Seed of the shuffling.
    """
    return SGDClassifier(
        loss=loss,
        alpha=alpha,
        class_weight=_class_weight(class_weight),
        max_iter=max_iter,
        tol=tol,
        random_state=random_state,
    )


def knn(
    n_neighbors: int = 15,
    metric: str = "cosine",
    weights: Literal["uniform", "distance"] = "distance",
) -> KNeighborsClassifier:
    """k-nearest neighbours, cosine by default (the natural metric for sentence embeddings).

    Args:
        n_neighbors: Neighbours consulted; must not exceed the number of training articles.
        metric: Distance metric (brute-force search, so any scikit-learn metric works).
        weights: ``"distance"`` lets closer neighbours count more.
    """
    return KNeighborsClassifier(
        n_neighbors=n_neighbors, metric=metric, weights=weights, algorithm="brute"
    )


def mlp(
    hidden_layer_sizes: Sequence[int] | int = (256,),
    alpha: float = 1e-4,
    learning_rate_init: float = 1e-3,
    max_iter: int = 200,
    early_stopping: bool = True,
    validation_fraction: float = 0.1,
    random_state: int | None = 0,
) -> MLPClassifier:
    """Small feed-forward network on the embeddings.

    Args:
        hidden_layer_sizes: Units per hidden layer; a YAML list such as ``[256]`` is accepted.
        alpha: L2 penalty.
        learning_rate_init: Adam learning rate.
        max_iter: Epochs.
        early_stopping: Hold out ``validation_fraction`` of the training data to stop early.
        validation_fraction: Share held out for early stopping.
        random_state: Seed of weight initialisation, shuffling and the early-stopping split.
    """
    sizes = (hidden_layer_sizes,) if isinstance(hidden_layer_sizes, int) else hidden_layer_sizes
    sizes = tuple(int(s) for s in sizes)
    if not sizes or any(s < 1 for s in sizes):
        raise ConfigError(
            "mlp 'hidden_layer_sizes' must list positive layer widths such as [256]; "
            f"received {hidden_layer_sizes!r}."
        )
    return MLPClassifier(
        hidden_layer_sizes=sizes,
        alpha=alpha,
        learning_rate_init=learning_rate_init,
        max_iter=max_iter,
        early_stopping=early_stopping,
        validation_fraction=validation_fraction,
        random_state=random_state,
    )


def check_head_fits(
    head: Any, Y: np.ndarray, labels: list[str], *, multilabel: bool, chain: bool
) -> None:
    """Catch data a head cannot fit on, with a message naming the label and the fix.

    Args:
        head: The unfitted head.
        Y: Training label indicators, shape (n_docs, n_labels).
        labels: Label names aligned with the columns of ``Y``.
        multilabel: Whether the head will be wrapped per label (one-vs-rest or chain).
        chain: Whether the wrapper is a classifier chain.

    Raises:
        ConfigError: A head setting that cannot work on this many articles.
        DataError: A label with too few (or, for a chain, no negative) training examples.
    """
    n = Y.shape[0]
    n_neighbors = getattr(head, "n_neighbors", None)
    if isinstance(n_neighbors, int) and n_neighbors > n:
        raise ConfigError(
            f"The head's n_neighbors={n_neighbors} exceeds the {n} training articles; set "
            f"classifier.n_neighbors to at most {n}."
        )
    positives = Y.sum(axis=0)
    if multilabel and chain:
        full = [lab for lab, p in zip(labels, positives, strict=True) if p == n]
        if full:
            raise DataError(
                f"Label {full[0]!r} is on every training article, so a classifier chain cannot "
                "fit it; drop the label or use one-vs-rest (chain=false)."
            )
    # Calibration folds and the stratified early-stopping split both need enough examples
    # of every class (multi-label: of each label's positives and negatives).
    need, why = 1, ""
    if isinstance(head, CalibratedClassifierCV) and isinstance(head.cv, int):
        need, why = (
            head.cv,
            f"the {head.cv} calibration folds of the head; lower classifier.cv (>= 2)",
        )
    elif isinstance(head, MLPClassifier) and head.early_stopping:
        need, why = 2, "the 2 that early stopping needs; set classifier.early_stopping=false"
        n_val = int(np.ceil(head.validation_fraction * n))
        n_classes = 2 if multilabel else len(labels)
        if n_val < n_classes:
            raise DataError(
                f"The early-stopping split ({head.validation_fraction} of {n} articles = {n_val}) "
                f"is smaller than the {n_classes} classes it must hold; raise "
                "classifier.validation_fraction or set classifier.early_stopping=false."
            )
    if need < 2:
        return
    for lab, p in zip(labels, positives, strict=True):
        counts = {"positive": int(p), "negative": n - int(p)} if multilabel else {"": int(p)}
        for kind, count in counts.items():
            if count < need:
                what = f"{kind} examples" if kind else "training articles"
                raise DataError(
                    f"Label {lab!r} has {count} {what}, fewer than {why}, add articles, "
                    "or drop the label."
                )
