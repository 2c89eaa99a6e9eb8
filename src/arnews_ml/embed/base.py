"""The Embedder protocol, its frozen spec (cache key, MLflow params, manifest entry) and the loader."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from arnews_ml.exceptions import ArtifactError, ConfigError
from arnews_ml.jsonable import to_jsonable

__all__ = [
    "EMBEDDER_KINDS",
    "Embedder",
    "EmbedderSpec",
    "fit_encode",
    "load_embedder",
]

#: The package's embedder kinds, mapped to ``module:Class``, for ``load_embedder``. Each class has
#: ``load(directory, entry)``. Another embedder (a test's fake) names its own ``class`` in its
#: manifest entry; only ``arnews_ml.`` classes are ever imported.
EMBEDDER_KINDS: dict[str, str] = {
    "tfidf": "arnews_ml.embed.tfidf:TfidfEmbedder",
    "sentence_transformer": "arnews_ml.embed.sentence_transformer:SentenceTransformerEmbedder",
}


def _freeze(value: Any) -> Any:
    """Turn an option value into a hashable, JSON-able one (lists -> tuples, numpy -> Python)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ConfigError(
        f"Embedder option value {value!r} of type {type(value).__name__} cannot be part of an "
        "EmbedderSpec; use a str, int, float, bool, None or a tuple of those."
    )


@dataclass(frozen=True)
class EmbedderSpec:
    """Everything that determines an embedder's output: its cache key, MLflow params and manifest entry.

    Two embedders with equal specs produce identical vectors for identical texts. Runtime settings
    that do not change the vectors (batch size, device, progress bar) are never part of a spec.

    Args:
        kind: Embedder kind, e.g. ``"tfidf"`` or ``"sentence_transformer"``.
        model: Hub id or resolved local path of the model, or ``None``.
        revision: Model revision: a hub commit, ``"sha256:<hex>"`` for a local folder, or ``None``.
        options: Option pairs (a mapping or an iterable of ``(key, value)``); stored sorted by key
            as a tuple with lists frozen to tuples.
    """

    kind: str
    model: str | None = None
    revision: str | None = None
    options: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        items = self.options.items() if isinstance(self.options, Mapping) else self.options
        pairs = tuple(sorted((str(k), _freeze(v)) for k, v in items))
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ConfigError(f"EmbedderSpec options have repeated keys: {keys}.")
        object.__setattr__(self, "options", pairs)

    @property
    def options_dict(self) -> dict[str, Any]:
        """The options as a plain dict (tuples stay tuples)."""
        return dict(self.options)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: ``{"kind", "model", "revision", "options": {key: value}}``."""
        return {
            "kind": self.kind,
            "model": self.model,
            "revision": self.revision,
            "options": {k: to_jsonable(v) for k, v in self.options},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EmbedderSpec:
        """Rebuild a spec written by :meth:`to_dict` (JSON lists become tuples again)."""
        try:
            kind = data["kind"]
        except KeyError:
            raise ArtifactError(
                f"An embedder spec needs a 'kind'; got keys {sorted(data)}. "
                "Re-save the model with this version of arnews_ml."
            ) from None
        return cls(
            kind=kind,
            model=data.get("model"),
            revision=data.get("revision"),
            options=dict(data.get("options") or {}),
        )

    def canonical_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces, UTF-8 kept) that :meth:`key` hashes."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def key(self) -> str:
        """sha256 hex digest of :meth:`canonical_json`: the content-addressed cache key."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


_PROTOCOL_MEMBERS = ("spec", "dim", "fit", "encode", "save")
_MISSING = object()


class _StaticProtocolMeta(type(Protocol)):  # type: ignore[misc]
    """isinstance() that looks members up statically, as Python >= 3.12 does.

    Python 3.11's runtime protocols call ``hasattr``, which evaluates properties: checking a
    sentence-transformers embedder would load (or download) its model just to read ``dim``.
    """

    def __instancecheck__(cls, instance: object) -> bool:
        if cls is not Embedder:
            return super().__instancecheck__(instance)
        return all(
            inspect.getattr_static(instance, name, _MISSING) is not _MISSING
            for name in _PROTOCOL_MEMBERS
        )


@runtime_checkable
class Embedder(Protocol, metaclass=_StaticProtocolMeta):
    """What the classifier and topic models need from an embedder. Fakes need no base class.

    ``isinstance(obj, Embedder)`` checks that the members exist without evaluating them (no
    model is loaded by the check).

    Optional attribute ``cacheable: bool`` (default ``False`` when absent): ``True`` when the
    vectors depend only on ``spec`` and the text (no per-run fitting), so that
    :class:`~arnews_ml.embed.cache.CachedEmbedder` may reuse them across runs.
    """

    @property
    def spec(self) -> EmbedderSpec:
        """The spec that determines this embedder's vectors."""
        ...

    @property
    def dim(self) -> int:
        """Number of output columns (after ``fit`` for fitted embedders)."""
        ...

    def fit(self, texts: Sequence[str]) -> Embedder:
        """Learn what is needed from the training texts (a no-op for pretrained models)."""
        ...

    def encode(self, texts: Sequence[str]) -> Any:
        """Embed texts: float32 ndarray of shape (n, dim), or a scipy.sparse CSR matrix (TF-IDF)."""
        ...

    def save(self, directory: str | Path) -> dict[str, Any]:
        """Write the embedder's files into ``directory``; return its manifest entry.

        The entry has at least ``kind``, ``files`` (paths relative to ``directory``) and ``spec``.
        """
        ...


def _import_kind(kind: str, entry: Mapping[str, Any], directory: Path) -> type:
    if kind not in EMBEDDER_KINDS and entry.get("class"):
        from arnews_ml.persist import resolve_class

        return resolve_class(entry["class"], directory, what="embedder class")
    try:
        target = EMBEDDER_KINDS[kind]
    except KeyError:
        raise ArtifactError(
            f"Unknown embedder kind {kind!r} in the manifest entry; known kinds are: "
            f"{', '.join(sorted(EMBEDDER_KINDS))}. The bundle was written by a different "
            "arnews_ml version: install that version or re-train the model."
        ) from None
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def load_embedder(directory: str | Path, entry: Mapping[str, Any]) -> Embedder:
    """Rebuild an embedder from the files that its ``save(directory)`` wrote.

    Args:
        directory: The folder passed to ``save``.
        entry: The manifest entry ``save`` returned (dispatches on ``entry["kind"]``).

    Returns:
        A ready-to-encode embedder (fitted, when the kind is fitted).

    Raises:
        ArtifactError: The kind is unknown or the files are missing or inconsistent.
    """
    if "kind" not in entry:
        raise ArtifactError(
            f"The embedder manifest entry has no 'kind' (keys: {sorted(entry)}); "
            "the bundle is damaged or was not written by arnews_ml."
        )
    directory = Path(directory)
    if not directory.is_dir():
        raise ArtifactError(f"The embedder folder {directory} does not exist.")
    cls = _import_kind(str(entry["kind"]), entry, directory)
    return cls.load(directory, entry)


def fit_encode(embedder: Any, texts: Sequence[str]) -> Any:
    """Fit ``embedder`` on ``texts`` and return their embeddings, in one pass when it has a
    ``fit_encode`` (TF-IDF counts its training n-grams once), else ``fit`` then ``encode``."""
    if hasattr(embedder, "fit_encode"):
        return embedder.fit_encode(texts)
    embedder.fit(texts)
    return embedder.encode(texts)


def read_entry_files(directory: Path, entry: Mapping[str, Any]) -> list[Path]:
    """Paths of the files listed in ``entry["files"]``; ArtifactError naming the first missing one."""
    paths = [directory / f for f in entry.get("files", ())]
    for path in paths:
        if not path.exists():
            raise ArtifactError(
                f"The embedder file {path} listed in the manifest is missing; the bundle is "
                "incomplete. Re-save the model or copy the whole bundle folder."
            )
    return paths
