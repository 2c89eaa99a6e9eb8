"""TextClassifier: an embedder, a scikit-learn head, the label set and per-label thresholds."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.multioutput import ClassifierChain

from arnews_ml.classify.batch_scoring import scores_in_workers, workers_for
from arnews_ml.classify.choose import resolve_head
from arnews_ml.classify.heads import check_head_fits
from arnews_ml.classify.linear_io import HEAD_FILE, decision_weights, load_head, save_head
from arnews_ml.classify.one_vs_rest import fit_one_vs_rest
from arnews_ml.classify.targets import (
    check_label_set,
    check_texts,
    label_rows,
    resolve_multilabel,
    to_indicator,
)
from arnews_ml.classify.thresholds import DEFAULT_THRESHOLD
from arnews_ml.classify.thresholds import tune_thresholds as tune_label_thresholds
from arnews_ml.embed.base import fit_encode
from arnews_ml.exceptions import ArtifactError, ConfigError, DataError
from arnews_ml.text.cleaner import cleaner_entry, load_cleaner
from arnews_ml.text.rows import predict_rows

__all__ = ["EMBEDDER_DIR", "HEAD_FILE", "SCORE_PREFIX", "TextClassifier"]

SCORE_PREFIX = "score_"
EMBEDDER_DIR = "embedder"


class TextClassifier(BaseEstimator):
    """Classify articles: clean, embed, then a scikit-learn head (one-vs-rest when multi-label).

    ``__init__`` only stores parameters; everything learned ends in ``_``.

    Args:
        embedder: Any object following the ``Embedder`` protocol (fitted on the training texts
            by :meth:`fit`).
        head: An unfitted scikit-learn classifier (see :mod:`arnews_ml.classify.heads`); it is
            cloned, never modified.
        task: ``"auto"`` (multi-label iff some training article has 2+ labels),
            ``"multilabel"`` or ``"multiclass"``.
        chain: Multi-label only: a ``ClassifierChain`` instead of one-vs-rest.
        tune_thresholds: Multi-label only: tune per-label thresholds for F1 on the validation
            data given to :meth:`fit` (else every threshold is 0.5).
        min_labels: Multi-label only: when fewer labels pass their thresholds, the top-scoring
            ones are added up to this many (0 allows an article with no label).
        cleaner: Optional fitted text cleaner applied before embedding: a callable
            ``list[str] -> list[str]`` (e.g. ``TextCleaner``). To be saved in a bundle it needs
            ``to_dict()`` and a ``from_dict()`` classmethod and must live under ``arnews_ml.``.
        random_state: Seed of the classifier chain.
        n_jobs: Multi-label one-vs-rest only: fit this many labels at once, in forked worker
            processes that die with this one; used only when the fits are large enough to pay
            for the workers (:mod:`arnews_ml.classify.one_vs_rest`). Not threads: liblinear's
            random state is process-global, so threaded fits would not be reproducible.
            ``None``: 1; ``-1``: all CPU cores. The fitted model is the same either way.
        predict_n_jobs: Score a batch of 2,000+ articles in this many slices, the first in
            this process and the others in forked workers (the same scores, to the last bit;
            :mod:`arnews_ml.classify.batch_scoring`). ``-1`` (default): every core; ``None``
            or ``1``: this process only. Smaller batches (a served request) never fork.

    Attributes:
        labels_: Sorted label names; the column order of every score matrix.
        multilabel_: Whether the model is multi-label.
        head_: The fitted head (wrapped in one-vs-rest or a chain when multi-label).
        thresholds_: Per-label decision thresholds, shape (n_labels,); all 0.5 unless tuned
            (single-label models ignore them and take the argmax).
        thresholds_tuned_: Whether the thresholds were tuned on validation data.
        embed_seconds_: Seconds spent cleaning, fitting the embedder and encoding train + val.
        fit_seconds_: Seconds spent fitting the head and tuning thresholds.
    """

    bundle_kind: ClassVar[str] = "classifier"

    def __init__(
        self,
        embedder: Any,
        head: Any,
        *,
        task: Literal["auto", "multilabel", "multiclass"] = "auto",
        chain: bool = False,
        tune_thresholds: bool = True,
        min_labels: int = 1,
        cleaner: Callable[[list[str]], list[str]] | None = None,
        random_state: int | None = 0,
        n_jobs: int | None = None,
        predict_n_jobs: int | None = -1,
    ) -> None:
        self.embedder = embedder
        self.head = head
        self.task = task
        self.chain = chain
        self.tune_thresholds = tune_thresholds
        self.min_labels = min_labels
        self.cleaner = cleaner
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.predict_n_jobs = predict_n_jobs

    # ------------------------------------------------------------------ fitting

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[Sequence[str]],
        val_texts: Sequence[str] | None = None,
        val_labels: Sequence[Sequence[str]] | None = None,
        *,
        label_set: Iterable[str] | None = None,
    ) -> TextClassifier:
        """Clean, fit the embedder on the training texts, encode, fit the head, tune thresholds.

        Args:
            texts: Training articles.
            labels: One list of label names per training article.
            val_texts: Validation articles (for threshold tuning).
            val_labels: Their labels.
            label_set: All labels the model must know (e.g. the corpus label set); a label
                without a training article is an error. Default: the training labels.

        Returns:
            self, fitted.
        """
        texts = check_texts(texts, "texts")
        rows = label_rows(labels, len(texts), "labels")
        val_texts, val_rows = self._check_val(val_texts, val_labels)
        _, multilabel, _ = self._prepare_targets(rows, val_rows, label_set)  # fail fast

        start = time.perf_counter()
        X = fit_encode(self.embedder, self._clean(texts))
        # validation articles serve the per-label thresholds only
        tune = val_texts is not None and multilabel and self.tune_thresholds
        X_val = self._encode_clean(val_texts) if tune else None
        embed_seconds = time.perf_counter() - start

        self._fit_head(X, rows, X_val, val_rows, label_set)
        self.embed_seconds_ = embed_seconds
        return self

    def _check_val(
        self, val_texts: Sequence[str] | None, val_labels: Sequence[Sequence[str]] | None
    ) -> tuple[list[str] | None, list[list[str]] | None]:
        if (val_texts is None) != (val_labels is None):
            raise DataError("Pass both val_texts and val_labels, or neither.")
        if val_texts is None:
            return None, None
        texts = check_texts(val_texts, "val_texts")
        return texts, label_rows(val_labels, len(texts), "val_labels")

    def _prepare_targets(
        self,
        rows: list[list[str]],
        val_rows: list[list[str]] | None,
        label_set: Iterable[str] | None,
    ) -> tuple[list[str], bool, np.ndarray]:
        """Check labels and head against the data; return labels_, multilabel_ and Y (n, k)."""
        if not isinstance(self.min_labels, int | np.integer) or self.min_labels < 0:
            raise ConfigError(
                f"TextClassifier 'min_labels' must be an integer >= 0; received "
                f"{self.min_labels!r}."
            )
        if not rows:
            raise DataError("No training articles: 'texts' and 'labels' are empty.")
        multilabel = resolve_multilabel(self.task, rows)
        labels = check_label_set(rows, label_set, val_rows)
        if multilabel and self.min_labels > len(labels):
            raise ConfigError(
                f"TextClassifier 'min_labels'={self.min_labels} exceeds the number of labels "
                f"({len(labels)}); set min_labels between 0 and {len(labels)}."
            )
        if not hasattr(self.head, "fit"):
            raise ConfigError(
                f"TextClassifier 'head' must be a scikit-learn classifier; received "
                f"{type(self.head).__name__}. Build one with arnews_ml.classify.heads."
            )
        Y = to_indicator(rows, labels)
        check_head_fits(self.head, Y, labels, multilabel=multilabel, chain=self.chain)
        return labels, multilabel, Y

    def _fit_head(
        self,
        X: Any,
        rows: list[list[str]],
        X_val: Any | None,
        val_rows: list[list[str]] | None,
        label_set: Iterable[str] | None,
    ) -> None:
        labels, multilabel, Y = self._prepare_targets(rows, val_rows, label_set)
        start = time.perf_counter()
        base = resolve_head(self.head, X, Y, multilabel, self.tune_thresholds, self.n_jobs)
        if multilabel:
            if self.chain:
                head = ClassifierChain(base, order=None, random_state=self.random_state)
                head.fit(X, Y)
            else:
                # Process workers, not threads: liblinear draws from a process-global random
                # state, so labels fitted in threads of one process are not bit-reproducible.
                head = fit_one_vs_rest(base, X, Y, self.n_jobs)
        else:
            head = base
            head.fit(X, Y.argmax(axis=1))

        self.labels_ = labels
        self.multilabel_ = multilabel
        self.head_ = head
        self.thresholds_ = np.full(len(labels), DEFAULT_THRESHOLD, dtype=np.float64)
        self.thresholds_tuned_ = False
        if X_val is not None and val_rows:
            self.tune_thresholds_on(self._scores(X_val), val_rows)
        self.fit_seconds_ = time.perf_counter() - start

    def tune_thresholds_on(self, scores: Any, labels: Sequence[Sequence[str]]) -> TextClassifier:
        """Tune the per-label thresholds on validation articles' scores and true labels.

        ``fit(..., val_texts, val_labels)`` does this itself; a caller that needs the
        validation scores anyway (to report validation metrics) scores the articles once with
        :meth:`predict_scores` and passes them here. Single-label models (argmax) and
        ``tune_thresholds=False`` keep their thresholds.

        Args:
            scores: Scores of the validation articles, shape (n_val, n_labels), in
                ``labels_`` order (an ndarray or the ``predict_scores`` DataFrame).
            labels: Their true label lists.

        Returns:
            self.
        """
        self._check_fitted()
        scores = np.asarray(scores, dtype=np.float64)
        rows = label_rows(labels, scores.shape[0], "val_labels")
        if self.multilabel_ and self.tune_thresholds and rows:
            Y_val = to_indicator(rows, self.labels_, name="val_labels")
            self.thresholds_ = tune_label_thresholds(Y_val, scores)
            self.thresholds_tuned_ = True
        return self

    # ------------------------------------------------------------------ predicting

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "head_")

    def _check_fitted(self) -> None:
        if not hasattr(self, "head_"):
            raise NotFittedError(
                "This TextClassifier is not fitted yet: call fit(...) first, or load a saved "
                "bundle with arnews_ml.persist.load_bundle."
            )

    def _clean(self, texts: list[str]) -> list[str]:
        if self.cleaner is None:
            return texts
        if callable(self.cleaner):
            cleaned = self.cleaner(texts)
        elif hasattr(self.cleaner, "transform"):
            cleaned = self.cleaner.transform(texts)
        else:
            raise ConfigError(
                f"TextClassifier 'cleaner' must be callable (list[str] -> list[str]); "
                f"received {type(self.cleaner).__name__}."
            )
        if not isinstance(cleaned, list):
            cleaned = list(cleaned)
        if len(cleaned) != len(texts):
            raise DataError(
                f"The cleaner returned {len(cleaned)} texts for {len(texts)} articles; it must "
                "return one cleaned text per article."
            )
        return cleaned

    def _encode_clean(self, texts: list[str]) -> Any:
        return self.embedder.encode(self._clean(texts))

    def encode(self, texts: Sequence[str]) -> Any:
        """Clean and embed articles exactly as the model does before its head.

        Returns:
            Embeddings, shape (n_docs, dim): float ndarray or scipy.sparse matrix.
        """
        self._check_fitted()
        return self._encode_clean(check_texts(texts))

    def _scores(self, X: Any) -> np.ndarray:
        head = self.head_
        n, k = X.shape[0], len(self.labels_)
        if n == 0:
            return np.zeros((0, k), dtype=np.float64)
        if hasattr(head, "predict_proba"):
            P = np.asarray(head.predict_proba(X), dtype=np.float64)
        else:
            D = np.asarray(self._margins(X), dtype=np.float64)
            if self.multilabel_:
                P = expit(D)
            elif D.ndim == 1:  # binary: the score of the second class
                P = np.column_stack([1.0 - expit(D), expit(D)])
            else:
                P = softmax(D, axis=1)
        if P.shape != (n, k):
            raise DataError(
                f"The head returned scores of shape {P.shape}; expected ({n}, {k}) for "
                f"{n} articles and the labels {', '.join(self.labels_)}."
            )
        return np.clip(P, 0.0, 1.0)

    def _margins(self, X: Any) -> np.ndarray:
        """``head_.decision_function(X)``, as one product with stacked weights when the head is
        linear (:func:`~arnews_ml.classify.linear_io.decision_weights`; same numbers)."""
        cached = self.__dict__.get("_decision_weights")
        if cached is None or cached[0] is not self.head_:
            cached = (self.head_, decision_weights(self.head_))
            self.__dict__["_decision_weights"] = cached
        weights = cached[1]
        if weights is None:
            return self.head_.decision_function(X)
        W, b = weights
        D = np.asarray(X @ W) + b
        return D[:, 0] if D.shape[1] == 1 else D  # binary: one margin, as scikit-learn gives

    def _scores_for_texts(self, texts: Sequence[str]) -> np.ndarray:
        self._check_fitted()
        texts = check_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels_)), dtype=np.float64)
        workers = workers_for(self.predict_n_jobs, len(texts))
        if workers > 1:
            return scores_in_workers(self, texts, workers)
        return self._scores(self._encode_clean(texts))

    @property
    def score_columns(self) -> list[str]:
        """``score_<label>`` column names, in ``labels_`` order."""
        self._check_fitted()
        return [f"{SCORE_PREFIX}{lab}" for lab in self.labels_]

    def predict_scores(self, texts: Sequence[str]) -> pd.DataFrame:
        """Per-label scores in [0, 1]: probabilities when the head has ``predict_proba``, else
        its decision function through a sigmoid (multi-label) or softmax (single-label).

        Returns:
            DataFrame with one ``score_<label>`` float column per label, one row per article.
        """
        scores = self._scores_for_texts(texts)
        return pd.DataFrame(scores, columns=self.score_columns)

    def predict_from_scores(self, scores: np.ndarray | pd.DataFrame) -> list[list[str]]:
        """Turn scores into label lists.

        Single-label: the argmax. Multi-label: every label with ``score >= thresholds_``;
        when fewer than ``min_labels`` pass, the top-scoring labels fill up to ``min_labels``.
        Labels of a row are listed from the highest score down.

        Args:
            scores: Shape (n_docs, n_labels), columns in ``labels_`` order.
        """
        self._check_fitted()
        if isinstance(scores, pd.DataFrame):
            missing = [c for c in self.score_columns if c not in scores.columns]
            if missing:
                raise DataError(f"The scores frame lacks the columns {', '.join(missing)}.")
            scores = scores[self.score_columns]
        S = np.asarray(scores, dtype=np.float64)
        k = len(self.labels_)
        if S.ndim != 2 or S.shape[1] != k:
            raise DataError(
                f"Scores must have shape (n_docs, {k}) for the labels "
                f"{', '.join(self.labels_)}; received {S.shape}."
            )
        # descending score, ties in label order
        order = np.argsort(-S, axis=1, kind="stable")
        if not self.multilabel_:
            return [[self.labels_[int(row[0])]] for row in order]
        passed = np.greater_equal(S, self.thresholds_[None, :])
        # per row, in score order: the labels that pass, or the top min_labels when too few do
        keep = np.take_along_axis(passed, order, axis=1)
        short = keep.sum(axis=1) < self.min_labels
        keep[short] = np.arange(S.shape[1]) < self.min_labels
        names = np.asarray(self.labels_, dtype=object)[order]
        return [row[mask].tolist() for row, mask in zip(names, keep, strict=True)]

    def predict(self, texts: Sequence[str]) -> list[list[str]]:
        """Labels of each article (see :meth:`predict_from_scores`)."""
        return self.predict_from_scores(self._scores_for_texts(texts))

    def predict_frame(self, texts: Sequence[str]) -> pd.DataFrame:
        """The pyfunc output: a ``labels`` column (list of str) and the ``score_<label>`` columns,
        one row per text; a text that is not a non-empty string gets an ``error`` instead."""

        def predict(valid: list[str]) -> pd.DataFrame:
            scores = self._scores_for_texts(valid)
            frame = pd.DataFrame(scores, columns=self.score_columns)
            frame.insert(0, "labels", pd.Series(self.predict_from_scores(scores), dtype=object))
            return frame

        return predict_rows(texts, predict)

    def binarize(
        self,
        labels: Sequence[Sequence[str]],
        *,
        unknown: Literal["error", "ignore"] = "error",
    ) -> np.ndarray:
        """0/1 indicator matrix of label lists, shape (n_docs, n_labels), in ``labels_`` order.

        Args:
            labels: One list of label names per article (a bare string counts as one label).
            unknown: ``"error"`` (DataError naming the row) or ``"ignore"`` for labels the
                model does not know.
        """
        self._check_fitted()
        labels = labels if isinstance(labels, str | bytes) else list(labels)
        rows = label_rows(labels, len(labels), "labels")
        return to_indicator(rows, self.labels_, unknown=unknown)

    # ------------------------------------------------------------------ bundles

    def _write_bundle_parts(self, directory: str | Path) -> dict[str, Any]:
        """Write the embedder and the head into ``directory``; return the manifest metadata."""
        self._check_fitted()
        directory = Path(directory)
        cleaner_state = cleaner_entry(self.cleaner)
        embedder_dir = directory / EMBEDDER_DIR
        embedder_dir.mkdir(parents=True, exist_ok=True)
        embedder_entry = self.embedder.save(embedder_dir)
        inner = self.head_.estimator if self.multilabel_ else self.head_
        head_entry = save_head(self.head_, directory, inner)
        random_state = self.random_state if isinstance(self.random_state, int) else None
        return {
            "labels": list(self.labels_),
            "task": "multilabel" if self.multilabel_ else "multiclass",
            "thresholds": {
                lab: float(t) for lab, t in zip(self.labels_, self.thresholds_, strict=True)
            },
            "thresholds_tuned": bool(self.thresholds_tuned_),
            "min_labels": int(self.min_labels),
            "chain": bool(self.chain),
            "tune_thresholds": bool(self.tune_thresholds),
            "random_state": random_state,
            "head": head_entry,
            "embedder": dict(embedder_entry),
            "embedder_dir": EMBEDDER_DIR,
            "cleaner": cleaner_state,
        }

    @classmethod
    def _read_bundle_parts(
        cls, directory: str | Path, manifest: Mapping[str, Any]
    ) -> TextClassifier:
        """Rebuild a fitted classifier from the parts :meth:`_write_bundle_parts` wrote."""
        from arnews_ml.embed.base import load_embedder

        directory = Path(directory)
        required = ("labels", "task", "thresholds", "min_labels", "head", "embedder")
        missing = [key for key in required if key not in manifest]
        if missing:
            raise ArtifactError(
                f"The classifier bundle {directory} lacks the manifest keys "
                f"{', '.join(missing)}; it is damaged or from another version. Re-export it."
            )
        embedder = load_embedder(
            directory / manifest.get("embedder_dir", EMBEDDER_DIR), manifest["embedder"]
        )
        head_ = load_head(directory, manifest["head"])
        multilabel = manifest["task"] == "multilabel"
        labels = [str(x) for x in manifest["labels"]]
        thresholds = manifest["thresholds"]
        try:
            values = np.array([float(thresholds[lab]) for lab in labels], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as err:
            raise ArtifactError(
                f"The thresholds in the manifest of {directory} do not match its labels "
                f"({err}); the bundle is damaged. Re-export it."
            ) from err
        inner = head_.estimator if multilabel else head_
        model = cls(
            embedder,
            clone(inner),
            task=manifest["task"],
            chain=bool(manifest.get("chain", False)),
            tune_thresholds=bool(manifest.get("tune_thresholds", True)),
            min_labels=int(manifest["min_labels"]),
            cleaner=load_cleaner(manifest.get("cleaner"), directory),
            random_state=manifest.get("random_state"),
        )
        model.labels_ = labels
        model.multilabel_ = multilabel
        model.head_ = head_
        model.thresholds_ = values
        model.thresholds_tuned_ = bool(manifest.get("thresholds_tuned", False))
        return model
