"""Task: train, evaluate, save and log a text classifier from a composed `train` config."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arnews_ml.classify.evaluate import (
    ClassifierEvaluation,
    evaluate_classifier,
    write_evaluation_plots,
    write_evaluation_reports,
)
from arnews_ml.classify.metrics import metric_label_names, threshold_metrics
from arnews_ml.classify.model import TextClassifier
from arnews_ml.config import instantiate
from arnews_ml.data.split import split_corpus
from arnews_ml.data.summary import summarize_corpus
from arnews_ml.exceptions import DataError
from arnews_ml.parallel import in_background
from arnews_ml.tasks.common import (
    build_cleaner,
    cached_pipeline,
    data_fingerprint,
    format_outputs,
    load_data,
    make_tracker,
    save_and_log_model,
    split_options,
)
from arnews_ml.tasks.context import RunContext
from arnews_ml.tasks.tracked_run import log_corpus_inputs, quality_first, tracked_run
from arnews_ml.tracking.base import TAG_DATA_FINGERPRINT, Tracker

__all__ = ["TrainResult", "format_result", "train_classifier"]

log = logging.getLogger(__name__)

# Artifact file names (inside the run's output folder and the MLflow run).
REPORT_JSON = "classification_report.json"
ERRORS_CSV = "test_predictions_worst_first.csv"
CORPUS_REPORT_JSON = "corpus_report.json"
BOILERPLATE_CSV = "boilerplate_lines.csv"
THRESHOLDS_JSON = "thresholds.json"


@dataclass
class TrainResult:
    """What a training run produced."""

    run_id: str | None
    metrics: dict[str, float]
    labels: tuple[str, ...]
    multilabel: bool
    output_dir: Path
    bundle_dir: Path
    model_uri: str | None = None
    registered_version: str | None = None
    artifacts: list[Path] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _write_reports(out: Path, evaluation: ClassifierEvaluation, worst: int) -> list[Path]:
    """The test split's reports (as ``arnews-evaluate`` writes them, the plots apart) and the
    report as JSON too."""
    paths = write_evaluation_reports(
        evaluation, out, worst=worst, errors_file=ERRORS_CSV, plots=False
    )
    report = evaluation.report()
    (out / REPORT_JSON).write_text(report.to_json(orient="index", indent=2), encoding="utf-8")
    paths.append(out / REPORT_JSON)
    return paths


def _write_thresholds(out: Path, clf: TextClassifier) -> Path:
    thresholds = {
        lab: float(t) for lab, t in zip(clf.labels_, np.atleast_1d(clf.thresholds_), strict=True)
    }
    (out / THRESHOLDS_JSON).write_text(json.dumps(thresholds, indent=2), encoding="utf-8")
    return out / THRESHOLDS_JSON


def _write_corpus_report(out: Path, corpus: Any, boilerplate: list[dict[str, Any]]) -> list[Path]:
    summary = summarize_corpus(corpus, boilerplate)
    summary["validation"] = corpus.report.to_dict()
    (out / CORPUS_REPORT_JSON).write_text(
        json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    pd.DataFrame(boilerplate, columns=["source", "line", "n_docs"]).to_csv(
        out / BOILERPLATE_CSV, index=False, encoding="utf-8-sig"
    )
    return [out / CORPUS_REPORT_JSON, out / BOILERPLATE_CSV]


def train_classifier(
    cfg: Any, tracker: Tracker | None = None, context: RunContext | None = None
) -> TrainResult:
    """Train, evaluate, save and log a classifier as the `train` config says.

    Steps: load and validate the corpus, split it, learn boilerplate on the training split,
    embed (cached when the embedder allows), fit the head (thresholds tuned on val), score
    val and test, write reports and plots, save the bundle, log everything to the tracker.

    Args:
        cfg: A composed `train` config.
        tracker: Where to log; default: what the `tracking` config builds.
        context: The run's surroundings from the command layer (choices, overrides, sweep);
            default: what the config itself says.

    Returns:
        A TrainResult with the run id, all metrics and the saved bundle's location.
    """
    context = (context or RunContext()).with_choices_from(cfg)
    tracker = tracker if tracker is not None else make_tracker(cfg)
    names = _option_names(cfg, context)
    with tracked_run(
        cfg, tracker, context, task="classification", default_name="-".join(names)
    ) as run:
        out, run_id = run.out, run.run_id
        corpus = load_data(cfg, out)
        if corpus.n_docs == 0:
            raise DataError(
                "The corpus has no usable documents after validation; see the quarantine file."
            )
        tracker.set_tags({TAG_DATA_FINGERPRINT: data_fingerprint(corpus)})
        splits = split_corpus(corpus.frame, **split_options(cfg))
        train, val, test = splits.train, splits.val, splits.test
        if len(test) == 0:
            raise DataError(
                "The test split is empty: set data.test_path or data.split.test_size > 0."
            )
        log.info("split train=%d val=%d test=%d", len(train), len(val), len(test))
        log_corpus_inputs(
            tracker, corpus, {"training": train, "validation": val, "test": test}, run.context
        )

        sources = train["source"].tolist() if "source" in train else None
        cleaner = build_cleaner(cfg).fit(train["text"].tolist(), sources)
        artifacts = _write_corpus_report(out, corpus, cleaner.boilerplate_report())

        embedder = instantiate(cfg.embedder, name="embedder")
        # features (and the cleaned texts) come from the cache when a run already made them
        run_embedder, run_cleaner, cache = cached_pipeline(cfg, embedder, cleaner)
        head = instantiate(cfg.classifier, name="classifier")
        clf = TextClassifier(
            run_embedder,
            head,
            task=cfg.task,
            chain=cfg.multilabel.chain,
            tune_thresholds=cfg.multilabel.tune_thresholds,
            min_labels=cfg.multilabel.min_labels,
            cleaner=run_cleaner,
            n_jobs=cfg.get("n_jobs"),
        )
        tracker.set_tags(
            {"arnews_ml.embedder_spec": json.dumps(embedder.spec.to_dict(), ensure_ascii=False)}
        )
        has_val = len(val) > 0
        clf.fit(train["text"].tolist(), train["labels"].tolist())
        if has_val:
            # scored once: for the per-label thresholds, then for the validation metrics
            val_scores = clf.predict_scores(val["text"].tolist())
            clf.tune_thresholds_on(val_scores, val["labels"].tolist())
        # A given test file is evaluated as given; its articles also in training are counted
        # and the scores on the others reported beside (test_unseen_*).
        seen_in_train = test["text"].str.strip().isin(set(train["text"].str.strip())).to_numpy()
        counts = {
            "n_train": len(train),
            "n_val": len(val),
            "n_test": len(test),
            "n_test_seen_in_train": int(seen_in_train.sum()),
            "n_labels": len(clf.labels_),
        }
        # Counts are params: the run page and the compare view lead with the quality metrics.
        tracker.log_params(counts)
        # Labels the model never saw in training cannot be predicted; they are ignored in the
        # scores rather than stopping the evaluation. The corpus report lists them.
        t0 = time.perf_counter()
        on_test = evaluate_classifier(
            clf, test["text"].tolist(), test["labels"].tolist(), ids=test["id"].tolist()
        )
        predict_seconds = time.perf_counter() - t0
        metrics: dict[str, float] = dict(on_test.metrics)
        if seen_in_train.any() and not seen_in_train.all():
            unseen = ~seen_in_train
            on_unseen = evaluate_classifier(
                clf,
                test["text"][unseen].tolist(),
                test["labels"][unseen].tolist(),
                prefix="test_unseen",
                scores=on_test.scores[unseen],
            )
            for name in ("f1_macro", "f1_micro"):
                metrics[f"test_unseen_{name}"] = on_unseen.metrics[f"test_unseen_{name}"]
        if has_val:
            on_val = evaluate_classifier(
                clf, val["text"].tolist(), val["labels"].tolist(), prefix="val", scores=val_scores
            )
            metrics.update(on_val.metrics)
        if clf.multilabel_:
            metrics.update(threshold_metrics(clf.labels_, clf.thresholds_))
        metrics["fit_seconds"] = float(clf.fit_seconds_)
        metrics["embed_seconds"] = float(clf.embed_seconds_)
        metrics["predict_seconds"] = predict_seconds
        if cache is not None:
            metrics.update({k: float(v) for k, v in cache.stats().items()})
        tracker.log_metrics(quality_first(metrics))
        tracker.set_tags(
            {
                "arnews_ml.task_type": "multilabel" if clf.multilabel_ else "multiclass",
                "arnews_ml.thresholds_tuned": str(bool(clf.thresholds_tuned_)),
            }
        )

        # The plots are drawn in a forked worker while the reports and the model are written
        # and logged (matplotlib is Python-bound: about a second that the run need not wait).
        with in_background(write_evaluation_plots, on_test, out) as plots:
            artifacts += _write_reports(out, on_test, int(cfg.report.worst_errors))
            artifacts.append(_write_thresholds(out, clf))
            for path in artifacts:
                tracker.log_artifact(path)

            clf.cleaner = cleaner  # the bundle keeps the cleaner itself, not its cache wrapper
            bundle_dir, model_uri, registered = save_and_log_model(
                tracker,
                clf,
                out,
                cfg,
                test["text"].head(2).tolist(),
                model_name="classifier-" + "-".join(names),
                in_sweep=context.sweep is not None,
            )
            for path in plots():
                tracker.log_artifact(path)
                artifacts.append(path)
        log.info(
            "run finished run_id=%s test_f1_macro=%.4f",
            run_id,
            metrics.get("test_f1_macro", float("nan")),
        )

    return TrainResult(
        run_id=run_id,
        metrics=metrics,
        labels=tuple(clf.labels_),
        multilabel=bool(clf.multilabel_),
        output_dir=out,
        bundle_dir=bundle_dir,
        model_uri=model_uri,
        registered_version=registered,
        artifacts=artifacts,
        counts=counts,
    )


def _option_names(cfg: Any, context: RunContext) -> tuple[str, str]:
    """The classifier and embedder option names (``svm``, ``tfidf``); the targets' names when
    the config was not composed from groups."""
    head = context.choice("classifier") or str(cfg.classifier["_target_"]).rsplit(".", 1)[-1]
    embedder = context.choice("embedder") or str(cfg.embedder["_target_"]).rsplit(".", 1)[-1]
    return head, embedder


def format_result(result: TrainResult) -> str:
    """A short terminal summary of a training run."""
    m, n = result.metrics, result.counts
    kind = "multi-label" if result.multilabel else "multiclass"
    lines = [
        f"run id           {result.run_id}",
        f"task             {kind}, {len(result.labels)} labels",
        f"documents        train {n['n_train']:,}, val {n['n_val']:,}, test {n['n_test']:,}",
        f"test macro-F1    {m.get('test_f1_macro', float('nan')):.4f}",
        f"test micro-F1    {m.get('test_f1_micro', float('nan')):.4f}",
        f"test accuracy    {m.get('test_accuracy', float('nan')):.4f}"
        + (" (subset)" if result.multilabel else ""),
    ]
    if "test_hamming_loss" in m:
        lines.append(f"test hamming     {m['test_hamming_loss']:.4f}")
    per_label = ", ".join(
        f"{lab} {m[f'test_f1_{key}']:.2f}"
        for lab, key in zip(result.labels, metric_label_names(result.labels), strict=True)
        if f"test_f1_{key}" in m
    )
    lines.append(f"per-label F1     {per_label}")
    lines.append(f"fit / embed      {m['fit_seconds']:.1f} s / {m['embed_seconds']:.1f} s")
    lines += format_outputs(result)
    return "\n".join(lines)
