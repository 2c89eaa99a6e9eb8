"""A TopicModel's bundle parts: vocabulary, fitted state, backend, manifest entries.

Files: ``vectorizer.json`` (the vocabulary), ``topic_model.json`` (topics, words, labels, sizes,
representative documents, timings) and whatever the backend writes (see its ``save``). Manifest
entries: ``backend`` (its name), ``backend_class``, ``transform_mode``, ``params`` (the model's
settings, with the backend's options under ``params.backend`` as the config that builds them),
``topic_labels``, ``n_topics``, ``outlier_ratio``, ``cleaner`` and the backend's own entries.

Bundles written before the backend protocol have flat ``params`` (``backend: "nmf"``,
``reducer: "pca"``, ...) and no ``backend_class``; they load through :data:`LEGACY_BACKENDS` and
each backend's ``legacy_options``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from arnews_ml.exceptions import ArtifactError
from arnews_ml.text.cleaner import cleaner_entry, load_cleaner
from arnews_ml.topics.backend import VocabularyOptions, options_config
from arnews_ml.topics.baselines import LdaBackend, NmfBackend
from arnews_ml.topics.bertopic_backend import BertopicBackend
from arnews_ml.topics.vectorizer import VECTORIZER_FILE, vectorizer_from_dict, vectorizer_to_dict

if TYPE_CHECKING:
    from arnews_ml.topics.model import TopicModel

__all__ = ["LEGACY_BACKENDS", "STATE_FILE", "read_parts", "write_parts"]

#: Bundle part names.
STATE_FILE = "topic_model.json"
#: Backend of a bundle saved before ``backend_class`` was recorded, by its manifest ``backend``.
LEGACY_BACKENDS: dict[str, type] = {
    "bertopic": BertopicBackend,
    "lda": LdaBackend,
    "nmf": NmfBackend,
}
_STATE = (
    "topics_", "scores_", "topic_words_", "topic_labels_", "topic_sizes_",
    "representative_docs_", "outlier_ratio_", "fit_seconds_", "embed_seconds_",
)  # fmt: skip


def write_parts(model: TopicModel, directory: Path) -> dict[str, Any]:
    """Write a fitted model's parts into ``directory``; return its manifest entries."""
    backend = model.backend_
    _write_json(directory / VECTORIZER_FILE, vectorizer_to_dict(model.vectorizer_))
    _write_json(directory / STATE_FILE, _jsonable({name: getattr(model, name) for name in _STATE}))
    vocabulary = model.vocabulary if model.vocabulary is not None else VocabularyOptions()
    options = getattr(backend, "options", None)
    params = {
        "backend": options_config(options) if options is not None else None,
        **{name: getattr(vocabulary, name) for name in VocabularyOptions.field_names()},
        "top_n_words": model.top_n_words,
        "label_map": model.label_map or {},
        "label_words": model.label_words,
        "seed": model.seed,
    }
    cls = type(backend)
    meta: dict[str, Any] = {
        "backend": backend.name,
        "backend_class": f"{cls.__module__}:{cls.__qualname__}",
        "transform_mode": backend.transform_mode,
        "params": _jsonable(params),
        "topic_labels": {str(k): v for k, v in model.topic_labels_.items()},
        "n_topics": len(model.topic_words_),
        "outlier_ratio": model.outlier_ratio_,
        "cleaner": cleaner_entry(model.cleaner),
    }
    meta.update(backend.save(directory))
    return meta


def read_parts(cls: type[TopicModel], directory: Path, manifest: Mapping[str, Any]) -> TopicModel:
    """Rebuild a fitted TopicModel of class ``cls`` from its bundle (either format)."""
    try:
        params = dict(manifest["params"])
        manifest["transform_mode"]
    except KeyError as err:
        raise ArtifactError(
            f"The topic bundle {directory} has no {err} in its manifest; re-export it."
        ) from err
    backend_class = _backend_class(directory, manifest)
    spec = params.get("backend")
    if isinstance(spec, Mapping):
        from arnews_ml.config import instantiate

        options = instantiate(spec, name="topic_model")
    else:
        options = backend_class.legacy_options(params)
    vectorizer = vectorizer_from_dict(_read_json(directory / VECTORIZER_FILE))
    backend = backend_class.load(directory, manifest, vectorizer, options)
    vocabulary = VocabularyOptions(
        **{k: params[k] for k in VocabularyOptions.field_names() if k in params}
    )
    model = cls(
        backend,
        embedder=getattr(backend, "embedder", None),
        cleaner=load_cleaner(manifest.get("cleaner"), directory),
        vocabulary=vocabulary,
        top_n_words=int(params.get("top_n_words", 10)),
        label_map=params.get("label_map") or None,
        label_words=int(params.get("label_words", 3)),
        seed=int(params.get("seed", 42)),
    )
    model.backend_ = backend
    model.vectorizer_ = vectorizer
    _restore(model, _read_json(directory / STATE_FILE))
    return model


def _backend_class(directory: Path, manifest: Mapping[str, Any]) -> Any:
    spec = manifest.get("backend_class")
    if spec is not None:
        from arnews_ml.persist import resolve_class

        return resolve_class(
            spec,
            directory,
            what="topic backend class",
            written_by=str(manifest.get("package_version", "unknown")),
        )
    name = manifest.get("backend")
    if name not in LEGACY_BACKENDS:
        raise ArtifactError(
            f"The topic bundle {directory} names backend {name!r} and no backend_class; this "
            f"version of arnews_ml reads {sorted(LEGACY_BACKENDS)}. Re-export it."
        )
    return LEGACY_BACKENDS[name]


def _restore(model: TopicModel, state: Mapping[str, Any]) -> None:
    try:
        model.topics_ = np.asarray(state["topics_"], dtype=np.int64)
        model.scores_ = np.asarray(state["scores_"], dtype=np.float64)
        model.topic_words_ = {
            int(k): [(str(w), float(x)) for w, x in v] for k, v in state["topic_words_"].items()
        }
        model.topic_labels_ = {int(k): str(v) for k, v in state["topic_labels_"].items()}
        model.topic_sizes_ = {int(k): int(v) for k, v in state["topic_sizes_"].items()}
        docs = state["representative_docs_"]
        model.representative_docs_ = {int(k): list(v) for k, v in docs.items()}
        for name in ("outlier_ratio_", "fit_seconds_", "embed_seconds_"):
            setattr(model, name, float(state[name]))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ArtifactError(
            f"The saved topic model state ({STATE_FILE}) is incomplete: {err}. Re-export it."
        ) from err


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return value


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ArtifactError(
            f"Cannot read {path}: {err}. The bundle is damaged; re-export it."
        ) from err
