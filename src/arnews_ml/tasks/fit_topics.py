"""Task: fit, evaluate, analyse, save and log a topic model from a composed `topics` config."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arnews_ml.config import instantiate, to_container
from arnews_ml.embed.cache import CachedEmbedder, EmbeddingCache
from arnews_ml.exceptions import ConfigError, DataError
from arnews_ml.parallel import in_background
from arnews_ml.tasks.common import (
    build_cleaner,
    data_fingerprint,
    format_outputs,
    load_data,
    make_tracker,
    save_and_log_model,
)
from arnews_ml.tasks.context import RunContext
from arnews_ml.tasks.tracked_run import log_corpus_inputs, quality_first, tracked_run
from arnews_ml.text.cleaner import TextCleaner
from arnews_ml.topics import analysis, plots
from arnews_ml.topics.assign import (
    DEFAULT_CHUNK_SIZE,
    DocumentTopicsWriter,
    assign_topics,
    sample_indices,
)
from arnews_ml.topics.backend import VocabularyOptions
from arnews_ml.topics.metrics import TOPIC_LABEL_TABLE_FILE, score_topic_model, topic_label_table
from arnews_ml.topics.model import TopicModel
from arnews_ml.tracking.base import TAG_DATA_FINGERPRINT, Tracker

__all__ = [
    "TopicsResult",
    "build_topic_model",
    "fit_topics",
    "format_topics_result",
    "prepare_topic_texts",
]

log = logging.getLogger(__name__)

TOPIC_TABLE_FILE = "topics.csv"
METRICS_FILE = "topic_metrics.json"
#: Keys of a `topic_model` config that are the TopicModel's own settings (beside the vocabulary's);
#: the rest is the backend's options, built from the node's `_target_`.
_MODEL_KEYS = ("top_n_words", "label_map", "label_words")
_RUN_KEYS = ("seed", "seeds", "fit_sample", "assign_chunk_size")


@dataclass
class TopicsResult:
    """What a topic-model run produced."""

    run_id: str | None
    metrics: dict[str, float]
    topic_table: pd.DataFrame
    output_dir: Path
    bundle_dir: Path
    model_uri: str | None = None
    registered_version: str | None = None
    artifacts: list[Path] = field(default_factory=list)


def _seeds(cfg: Any) -> list[int]:
    seeds = cfg.topic_model.get("seeds")
    if seeds is None:
        return [int(cfg.topic_model.get("seed", cfg.seed))]
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ConfigError("topic_model.seeds is empty; give at least one seed, e.g. [1,2,3].")
    return seeds


def build_topic_model(cfg: Any, embedder: Any, seed: int, cleaner: Any = None) -> TopicModel:
    """The unfitted TopicModel of a composed `topics` config (``topic_model`` group), seeded.

    The ``topic_model`` node holds the vocabulary settings (``min_df``, ``max_df``, ...), the
    model's own (``top_n_words``, ``label_map``, ``label_words``), the run's (``seed``,
    ``seeds``) and, with its ``_target_``, the backend's options (``BertopicOptions`` with its
    ``reducer``/``clusterer``/``representation`` parts, ``LdaOptions``, ``NmfOptions``...),
    whose ``build()`` gives the backend. ``cleaner`` is the model's text pipeline, saved with it
    and applied to raw new articles (see :func:`prepare_topic_texts`).
    """
    node = dict(to_container(cfg.topic_model))
    for key in _RUN_KEYS:
        node.pop(key, None)
    vocabulary = VocabularyOptions(
        **{k: node.pop(k) for k in VocabularyOptions.field_names() if k in node}
    )
    settings = {k: node.pop(k) for k in _MODEL_KEYS if k in node}
    options = instantiate(node, name="topic_model")
    if not callable(getattr(options, "build", None)):
        raise ConfigError(
            f"topic_model._target_ {node['_target_']} built a {type(options).__name__}, which "
            "has no build() giving a topic backend; point it at backend options such as "
            "arnews_ml.topics.baselines.NmfOptions."
        )
    return TopicModel(
        options.build(),
        embedder=embedder,
        cleaner=cleaner,
        vocabulary=vocabulary,
        seed=seed,
        **settings,
    )


def prepare_topic_texts(
    cfg: Any, texts: list[str], sources: list[str]
) -> tuple[list[str], list[str], TextCleaner]:
    """The two views of the corpus a topic model needs, from the model's one text pipeline.

    Returns:
        ``(topic_texts, embed_texts, cleaner)``: fully cleaned text (boilerplate learnt on
        ``texts`` and removed, the `text.normalize` switches applied) for topic words; the same
        with only the light `text.embed_normalize` steps for the embedder, length n each; and
        the fitted cleaner, saved with the model so new articles get both views the same way.
    """
    cleaner = build_cleaner(cfg).fit(texts, sources)
    topic_texts, embed_texts = cleaner.views(texts, sources)
    return topic_texts, embed_texts, cleaner


def _assign_corpus(
    out: Path,
    cfg: Any,
    model: TopicModel,
    frame: pd.DataFrame,
    texts: tuple[list[str], list[str]],
    fitted: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, Path]:
    """Topic of every document (the fit's for the sample, ``transform`` for the rest, in
    chunks), written chunk by chunk to the document-topic Parquet file."""
    path = out / analysis.DOCUMENT_TOPICS_FILE
    chunk_size = cfg.topic_model.get("assign_chunk_size") or DEFAULT_CHUNK_SIZE
    with DocumentTopicsWriter(path) as writer:

        def write(start: int, stop: int, topics: np.ndarray, scores: np.ndarray) -> None:
            rows = frame.iloc[start:stop]
            writer.write(
                analysis.document_topics_frame(
                    rows["id"].tolist(),
                    rows["date"],
                    rows["source"].tolist(),
                    rows["labels"].tolist(),
                    topics,
                    scores,
                    topic_labels=model.topic_labels_,
                )
            )

        topics, scores = assign_topics(
            model, texts[0], texts[1], fitted=fitted, chunk_size=int(chunk_size), on_chunk=write
        )
    return topics, scores, path


def _analysis_artifacts(
    out: Path, cfg: Any, model: TopicModel, frame: pd.DataFrame, topics: np.ndarray, html: bool
) -> tuple[list[Path], list[tuple[pd.DataFrame, Path, bool]]]:
    """Topics over time / per source / per label: the tables (and HTML charts) written, and
    the static charts to draw (table, PNG path, whether it is over time)."""
    labels = model.topic_labels_
    top_k = int(cfg.analysis.top_k)
    paths: list[Path] = []

    charts: list[tuple[pd.DataFrame, str, str, str, bool]] = []
    if frame["date"].notna().any():
        over_time = analysis.topics_over_time(
            topics, frame["date"], freq=cfg.analysis.time_bin, topic_labels=labels
        )
        charts.append(
            (
                over_time,
                analysis.TOPICS_OVER_TIME_FILE,
                plots.TOPICS_OVER_TIME_HTML,
                plots.TOPICS_OVER_TIME_PNG,
                True,
            )
        )
    if (frame["source"] != "").any():
        per_source = analysis.topics_per_group(
            topics, frame["source"].tolist(), topic_labels=labels, group_name="source"
        )
        charts.append(
            (
                per_source,
                analysis.TOPICS_PER_SOURCE_FILE,
                plots.TOPICS_PER_SOURCE_HTML,
                plots.TOPICS_PER_SOURCE_PNG,
                False,
            )
        )
    if frame["labels"].map(len).any():
        per_label = analysis.topics_per_group(
            topics, frame["labels"].tolist(), topic_labels=labels, group_name="label"
        )
        charts.append(
            (
                per_label,
                analysis.TOPICS_PER_LABEL_FILE,
                plots.TOPICS_PER_LABEL_HTML,
                plots.TOPICS_PER_LABEL_PNG,
                False,
            )
        )
    pngs: list[tuple[pd.DataFrame, Path, bool]] = []
    for table, csv_name, html_name, png_name, is_time in charts:
        table.to_csv(out / csv_name, index=False, encoding="utf-8-sig")
        paths.append(out / csv_name)
        pngs.append((table, out / png_name, is_time))
        if html:
            figure = plots.topics_over_time_figure if is_time else plots.topics_per_group_figure
            paths.append(plots.write_html(figure(table, top_k), out / html_name))
    return paths, pngs


def _draw_charts(pngs: list[tuple[pd.DataFrame, Path, bool]], top_k: int) -> list[Path]:
    """Write the static charts :func:`_analysis_artifacts` listed."""
    drawn = []
    for table, path, is_time in pngs:
        static = plots.topics_over_time_static if is_time else plots.topics_per_group_static
        drawn.append(plots.write_png(static(table, top_k), path))
    return drawn


def fit_topics(
    cfg: Any, tracker: Tracker | None = None, context: RunContext | None = None
) -> TopicsResult:
    """Fit, evaluate, analyse, save and log a topic model as the `topics` config says.

    Steps: load and validate the corpus; learn boilerplate; embed the lightly cleaned text
    (cached when the embedder allows); fit the topic model once per seed, on every document or,
    with ``topic_model.fit_sample=N``, on a seeded sample of N documents; assign every document
    its topic (the fit's, or the fitted model's ``transform`` in chunks of
    ``topic_model.assign_chunk_size``), written chunk by chunk to the document-topic Parquet
    file; score the model on the whole corpus (npmi, npmi_doc, c_v, topic_diversity, n_topics,
    outlier_ratio, fit_seconds, n_fit_docs, n_assigned_docs, assign_seconds; label_nmi/label_ari
    when the corpus has labels; stability across seeds); write the topic table and topics over
    time / per source / per label; save the bundle and log it.

    Args:
        cfg: A composed `topics` config.
        tracker: Where to log; default: what the `tracking` config builds.
        context: The run's surroundings from the command layer (choices, overrides, sweep);
            default: what the config itself says.

    Returns:
        A TopicsResult with the run id, the metrics and the topic table.
    """
    context = (context or RunContext()).with_choices_from(cfg)
    tracker = tracker if tracker is not None else make_tracker(cfg)
    seeds = _seeds(cfg)
    option = context.choice("topic_model") or str(cfg.topic_model._target_).rsplit(".", 1)[-1]

    with tracked_run(cfg, tracker, context, task="topics", default_name=option) as run:
        out, run_id = run.out, run.run_id
        corpus = load_data(cfg, out)
        if corpus.n_docs < 20:
            raise DataError(
                f"A topic model needs at least 20 documents; the corpus has {corpus.n_docs} "
                "after validation (see the quarantine file)."
            )
        tracker.set_tags({TAG_DATA_FINGERPRINT: data_fingerprint(corpus)})
        frame = corpus.frame
        log_corpus_inputs(tracker, corpus, {"training": frame}, run.context)
        texts = frame["text"].tolist()
        sources = frame["source"].tolist()
        topic_texts, embed_texts, cleaner = prepare_topic_texts(cfg, texts, sources)

        embedder = instantiate(cfg.embedder, name="embedder")
        cached = None
        if cfg.cache.enabled and getattr(embedder, "cacheable", False):
            cached = CachedEmbedder(embedder, EmbeddingCache(cfg.cache.dir))

        fitted = sample_indices(len(frame), cfg.topic_model.get("fit_sample"), int(cfg.seed))
        fit_texts = [topic_texts[i] for i in fitted]
        fit_embed_texts = [embed_texts[i] for i in fitted]
        runs: list[TopicModel] = []
        for seed in seeds:
            model = build_topic_model(
                cfg, cached if cached is not None else embedder, seed, cleaner
            )
            log.info(
                "fitting topic model seed=%d documents=%d of %d",
                seed, len(fitted), len(topic_texts),
            )  # fmt: skip
            runs.append(model.fit(fit_texts, fit_embed_texts))
        model = runs[0]
        started = time.perf_counter()
        topics, _, doc_topics_path = _assign_corpus(
            out, cfg, model, frame, (topic_texts, embed_texts), fitted
        )
        assign_seconds = time.perf_counter() - started

        labels = frame["labels"].tolist()
        metrics = score_topic_model(model, topic_texts, labels, runs=runs[1:], doc_topics=topics)
        metrics["n_fit_docs"] = float(len(fitted))
        metrics["n_assigned_docs"] = float(len(frame) - len(fitted))
        metrics["assign_seconds"] = assign_seconds
        tracker.log_params({"n_docs": len(frame)})
        artifacts: list[Path] = [doc_topics_path]
        if "label_nmi" in metrics:
            table = topic_label_table(topics, labels, model.topic_labels_)
            table.to_csv(out / TOPIC_LABEL_TABLE_FILE, encoding="utf-8-sig")
            artifacts.append(out / TOPIC_LABEL_TABLE_FILE)
        if cached is not None:
            metrics.update({k: float(v) for k, v in cached.stats().items()})
        tracker.log_metrics(quality_first(metrics))

        topic_table = model.get_topic_table(n_docs=int(cfg.analysis.representative_docs))
        topic_table.to_csv(out / TOPIC_TABLE_FILE, index=False, encoding="utf-8-sig")
        (out / METRICS_FILE).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
        artifacts += [out / TOPIC_TABLE_FILE, out / METRICS_FILE]
        tables, pngs = _analysis_artifacts(out, cfg, model, frame, topics, bool(cfg.analysis.html))
        artifacts += tables
        # The static charts are drawn in a forked worker while the model is saved and logged
        # (matplotlib is Python-bound: about a second that the run need not wait for).
        with in_background(_draw_charts, pngs, int(cfg.analysis.top_k)) as charts:
            for path in artifacts:
                tracker.log_artifact(path)

            bundle_dir, model_uri, registered = save_and_log_model(
                tracker,
                model,
                out,
                cfg,
                embed_texts[:2],
                model_name=f"topics-{option}",
                in_sweep=context.sweep is not None,
            )
            for path in charts():
                tracker.log_artifact(path)
                artifacts.append(path)
        log.info(
            "topics run finished run_id=%s n_topics=%d npmi=%.4f",
            run_id,
            int(metrics["n_topics"]),
            metrics["npmi"],
        )

    return TopicsResult(
        run_id=run_id,
        metrics=metrics,
        topic_table=topic_table,
        output_dir=out,
        bundle_dir=bundle_dir,
        model_uri=model_uri,
        registered_version=registered,
        artifacts=artifacts,
    )


def format_topics_result(result: TopicsResult, head: int = 10) -> str:
    """A short terminal summary: the metrics and the head of the topic table."""
    m = result.metrics
    keys = [
        "n_topics",
        "outlier_ratio",
        "npmi",
        "npmi_doc",
        "c_v",
        "topic_diversity",
        "label_nmi",
        "label_ari",
        "stability_overlap",
        "fit_seconds",
        "n_fit_docs",
        "n_assigned_docs",
        "assign_seconds",
    ]
    lines = [f"run id           {result.run_id}"]
    lines += [
        f"{k:<16} {m[k]:.4f}" if not k.startswith("n_") else f"{k:<16} {int(m[k])}"
        for k in keys
        if k in m
    ]
    lines.append("topics (id, size, label, top words):")
    for row in result.topic_table.head(head).itertuples(index=False):
        words = " ".join(str(row.top_words).split()[:8])
        lines.append(f"  {row.topic:>3} {row.size:>6}  {row.label[:30]:<30} {words}")
    lines += format_outputs(result)
    return "\n".join(lines)
