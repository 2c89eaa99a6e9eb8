"""Wiring shared by the tasks: config -> corpus, cleaner, tracker, output folder."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path
from typing import Any

from arnews_ml.config import instantiate, to_container
from arnews_ml.data.corpus import Corpus
from arnews_ml.exceptions import ConfigError
from arnews_ml.text.cleaner import TextCleaner
from arnews_ml.tracking.base import Tracker, build_tracker

__all__ = [
    "BUNDLE_DIR",
    "QUARANTINE_FILE",
    "build_cleaner",
    "cached_pipeline",
    "data_fingerprint",
    "format_outputs",
    "frame_fingerprint",
    "load_data",
    "make_tracker",
    "output_dir",
    "save_and_log_model",
    "should_register",
    "split_options",
]

log = logging.getLogger(__name__)

QUARANTINE_FILE = "quarantine.jsonl"
BUNDLE_DIR = "model"


def output_dir(cfg: Any, run_dir: str | Path | None = None) -> Path:
    """The run's output folder, created and checked writable: `paths.output_dir`, else
    ``run_dir`` (Hydra's run folder, from the command layer), else a new temporary folder.

    Raises:
        ConfigError: The folder cannot be created or written (names the key and the fix).
    """
    configured = cfg.get("paths", {}).get("output_dir") if hasattr(cfg, "get") else None
    if configured:
        path = Path(str(configured))
    elif run_dir is not None:
        path = Path(run_dir)
    else:  # not inside a Hydra app (tests, notebooks)
        path = Path(tempfile.mkdtemp(prefix="arnews-run-"))
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".arnews-write-check-"):
            pass
    except OSError as err:
        key = "paths.output_dir" if configured else "hydra.run.dir"
        raise ConfigError(
            f"The output folder {path} cannot be written ({err.strerror or err}). "
            f"Set {key}=<a folder you can write>."
        ) from None
    return path


def split_options(cfg: Any) -> dict[str, Any]:
    """The `data.split` options as plain keyword arguments of `split_corpus`."""
    data_cfg = to_container(cfg.data)
    return dict(data_cfg.get("split") or {})


def load_data(cfg: Any, out_dir: Path) -> Corpus:
    """Load the corpus named by the `data` config group; bad rows go to the output folder."""
    data_cfg = to_container(cfg.data)
    data_cfg.pop("split", None)
    if not data_cfg.get("quarantine_path"):
        data_cfg["quarantine_path"] = str(out_dir / QUARANTINE_FILE)
    corpus = instantiate(data_cfg, expected_type=Corpus, name="data")
    report = corpus.report
    log.info(
        "corpus loaded documents=%d read=%d quarantined=%d labels=%d multilabel=%s",
        corpus.n_docs,
        report.n_read,
        report.n_read - report.n_kept,
        len(corpus.label_set),
        corpus.is_multilabel,
    )
    return corpus


def build_cleaner(cfg: Any) -> TextCleaner:
    """An unfitted TextCleaner from the `text` config group."""
    return TextCleaner.from_config(to_container(cfg.text))


def cached_pipeline(cfg: Any, embedder: Any, cleaner: Any) -> tuple[Any, Any, Any]:
    """The embedder and cleaner a model trains with when ``cache.enabled``: a pretrained
    embedder (sentence-transformers) through the per-text embedding cache, a fitted one (TF-IDF)
    through the feature cache with the cleaner's output cached beside it.

    Returns:
        ``(embedder, cleaner, counters)``: the wrappers (the given objects when the cache is off)
        and the wrapper whose ``stats()`` gives ``cache_hits`` / ``cache_misses`` (or None).
    """
    from arnews_ml.embed.cache import CachedEmbedder, EmbeddingCache
    from arnews_ml.embed.feature_cache import CachedCleaner, CachedFeatures, FeatureCache

    if not cfg.cache.enabled:
        return embedder, cleaner, None
    if getattr(embedder, "cacheable", False):
        wrapped = CachedEmbedder(embedder, EmbeddingCache(cfg.cache.dir))
        return wrapped, cleaner, wrapped
    if not hasattr(embedder, "save"):
        return embedder, cleaner, None
    features = FeatureCache(cfg.cache.dir)
    wrapped_cleaner = CachedCleaner(cleaner, features) if hasattr(cleaner, "to_dict") else cleaner
    wrapped = CachedFeatures(embedder, features)
    return wrapped, wrapped_cleaner, wrapped


def data_fingerprint(corpus: Corpus) -> str:
    """A short content hash of the corpus (ids, texts and labels), for run tags."""
    return frame_fingerprint(corpus.frame)


def frame_fingerprint(frame: Any) -> str:
    """A short content hash of a corpus frame's ids, texts and labels (16 hex characters)."""
    digest = hashlib.sha256()
    for row in frame[["id", "text", "labels"]].itertuples(index=False):
        digest.update(f"{row.id}\x1f{row.text}\x1f{'|'.join(row.labels)}\x1e".encode())
    return digest.hexdigest()[:16]


def make_tracker(cfg: Any) -> Tracker:
    """The tracker the `tracking` config group builds (`tracking=mlflow` or `tracking=none`)."""
    return build_tracker(cfg.tracking)


def format_outputs(result: Any) -> list[str]:
    """The closing lines of a run's terminal summary: bundle, model URI (and version), outputs."""
    lines = [f"model bundle     {result.bundle_dir}"]
    if result.model_uri:
        version = result.registered_version
        suffix = f" (registered version {version})" if version else ""
        lines.append(f"model uri        {result.model_uri}{suffix}")
    lines.append(f"outputs          {result.output_dir}")
    return lines


def should_register(cfg: Any, in_sweep: bool) -> bool:
    """The registration policy ``tracking.register``: ``always``, ``never``, or ``auto`` (a
    single run registers its model; a sweep's job does not, the sweep registers its best)."""
    if not cfg.tracking.get("log_model") or not cfg.tracking.get("registered_model"):
        return False
    policy = cfg.tracking.get("register", "auto")
    return policy == "always" or (policy == "auto" and not in_sweep)


def save_and_log_model(
    tracker: Tracker,
    model: Any,
    out_dir: Path,
    cfg: Any,
    input_example: list[str],
    *,
    model_name: str,
    in_sweep: bool = False,
) -> tuple[Path, str | None, Any]:
    """Save the model's bundle in the run folder and, if `tracking.log_model`, log it as an
    MLflow model named ``model_name``; register it as `tracking.registered_model` when the
    policy says so (:func:`should_register`). Log the run's metrics first: the registered
    version's description quotes them.

    Returns:
        ``(bundle_dir, model_uri, registered_version)``; the last two are None when not logged
        (the version is None when not registered).
    """
    from arnews_ml.persist import save_bundle

    bundle_dir = save_bundle(model, out_dir / BUNDLE_DIR, overwrite=True)
    if not cfg.tracking.log_model:
        return bundle_dir, None, None
    info = tracker.log_model(
        bundle_dir,
        name=model_name,
        input_example=input_example,
        output_example=model.predict_frame(input_example),
    )
    version = None
    if should_register(cfg, in_sweep):
        version = tracker.register_model(info, str(cfg.tracking.registered_model))
    return bundle_dir, info.model_uri, version
