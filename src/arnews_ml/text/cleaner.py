"""TextCleaner: the one text pipeline of a model (boilerplate, then normalisation), and how a
bundle saves it (only arnews_ml classes load back)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from arnews_ml.exceptions import ArtifactError
from arnews_ml.persist import resolve_class
from arnews_ml.text.boilerplate import BoilerplateRemover
from arnews_ml.text.normalize import Normalizer

__all__ = ["TextCleaner", "cleaner_entry", "load_cleaner"]

_TRUSTED_PREFIX = "arnews_ml."


class TextCleaner:
    """The text pipeline of a model: strip learned boilerplate lines, then normalise.

    Fitted on the training articles and saved inside the model's bundle, it is the only thing
    that cleans text at fit and at predict time, so new articles are cleaned exactly as the
    training ones were. It gives two views of an article: the fully normalised text
    (:meth:`transform`: a classifier's input, a topic model's words) and, when
    ``embed_normalizer`` is set, a lightly normalised text for a topic model's embedder
    (:meth:`embed_view`), close to what sentence-transformers models were trained on. At
    prediction time the source of an article is usually unknown; the boilerplate remover then
    applies the lines it learned across all sources.

    Args:
        normalizer: Normalisation applied after boilerplate removal (None: no normalisation).
        boilerplate: An unfitted `BoilerplateRemover`, or None to keep every line.
        embed_normalizer: The embedder's normalisation for topic models (None: the embedder
            sees the fully normalised text).
    """

    def __init__(
        self,
        normalizer: Normalizer | None = None,
        boilerplate: BoilerplateRemover | None = None,
        embed_normalizer: Normalizer | None = None,
    ) -> None:
        self.normalizer = normalizer
        self.boilerplate = boilerplate
        self.embed_normalizer = embed_normalizer

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> TextCleaner:
        """Build from the `text` config group (`normalize` switches, `boilerplate` options,
        `embed_normalize` switches of the embedder's view)."""
        normalize_cfg = dict(cfg.get("normalize") or {})
        boiler_cfg = dict(cfg.get("boilerplate") or {})
        embed_cfg = cfg.get("embed_normalize")
        enabled = boiler_cfg.pop("enabled", True)
        return cls(
            normalizer=Normalizer.from_config(normalize_cfg),
            boilerplate=BoilerplateRemover(**boiler_cfg) if enabled else None,
            embed_normalizer=None if embed_cfg is None else Normalizer.from_config(embed_cfg),
        )

    def fit(self, texts: Sequence[str], sources: Sequence[str] | None = None) -> TextCleaner:
        """Learn the boilerplate lines of each source from the training articles."""
        if self.boilerplate is not None:
            self.boilerplate.fit(texts, sources)
        return self

    def transform(self, texts: Sequence[str], sources: Sequence[str] | None = None) -> list[str]:
        """Clean articles: boilerplate lines out, then the normaliser (length n)."""
        return self._normalized(self._stripped(texts, sources))

    def views(
        self, texts: Sequence[str], sources: Sequence[str] | None = None
    ) -> tuple[list[str], list[str]]:
        """Both views of the articles, boilerplate removed once.

        Returns:
            ``(normalised, embedder_view)``, length n each; the second is the first when there
            is no ``embed_normalizer``.
        """
        stripped = self._stripped(texts, sources)
        full = self._normalized(stripped)
        if self.embed_normalizer is None:
            return full, full
        return full, [self.embed_normalizer(t) for t in stripped]

    def _stripped(self, texts: Sequence[str], sources: Sequence[str] | None) -> list[str]:
        if self.boilerplate is None:
            return list(texts)
        return self.boilerplate.transform(list(texts), sources)

    def _normalized(self, texts: list[str]) -> list[str]:
        if self.normalizer is None:
            return texts
        return [self.normalizer(t) for t in texts]

    def embed_view(self, texts: Sequence[str], sources: Sequence[str] | None = None) -> list[str]:
        """What a topic model's embedder sees (see :meth:`views`)."""
        return self.views(texts, sources)[1]

    def fit_transform(
        self, texts: Sequence[str], sources: Sequence[str] | None = None
    ) -> list[str]:
        """`fit` then `transform` on the same articles."""
        return self.fit(texts, sources).transform(texts, sources)

    def __call__(self, texts: Sequence[str]) -> list[str]:
        return self.transform(texts)

    def boilerplate_report(self) -> list[dict[str, Any]]:
        """The learned lines (source, line, n_docs); empty when boilerplate removal is off."""
        return self.boilerplate.report() if self.boilerplate is not None else []

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state (normaliser switches and the fitted boilerplate lines)."""
        return {
            "normalizer": None if self.normalizer is None else self.normalizer.to_dict(),
            "boilerplate": None if self.boilerplate is None else self.boilerplate.to_dict(),
            "embed_normalizer": (
                None if self.embed_normalizer is None else self.embed_normalizer.to_dict()
            ),
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> TextCleaner:
        """Rebuild a fitted cleaner from `to_dict` output (bundles from before the embedder
        view have none: both views are then the one normalisation they were saved with)."""
        norm = state.get("normalizer")
        boiler = state.get("boilerplate")
        embed = state.get("embed_normalizer")
        return cls(
            normalizer=None if norm is None else Normalizer.from_config(norm),
            boilerplate=None if boiler is None else BoilerplateRemover.from_dict(boiler),
            embed_normalizer=None if embed is None else Normalizer.from_config(embed),
        )

    def __repr__(self) -> str:
        return (
            f"TextCleaner(normalizer={self.normalizer!r}, boilerplate={self.boilerplate!r}, "
            f"embed_normalizer={self.embed_normalizer!r})"
        )


def cleaner_entry(cleaner: Any) -> dict[str, Any] | None:
    """``{"class": "module:Class", "state": cleaner.to_dict()}`` for a manifest, or None."""
    if cleaner is None:
        return None
    cls = type(cleaner)
    path = f"{cls.__module__}:{cls.__qualname__}"
    if not (hasattr(cleaner, "to_dict") and hasattr(cls, "from_dict")):
        raise ArtifactError(
            f"The cleaner {path} cannot be saved in a bundle: it needs to_dict() and a "
            "from_dict() classmethod (arnews_ml.text.cleaner.TextCleaner has both)."
        )
    if not cls.__module__.startswith(_TRUSTED_PREFIX):
        raise ArtifactError(
            f"The cleaner {path} is not an arnews_ml class, so a bundle could not load it "
            "back; use arnews_ml.text.cleaner.TextCleaner or save without a cleaner."
        )
    return {"class": path, "state": cleaner.to_dict()}


def load_cleaner(entry: Mapping[str, Any] | None, directory: Path) -> Any:
    """Rebuild a cleaner from :func:`cleaner_entry` output (only ``arnews_ml.`` classes)."""
    if entry is None:
        return None
    cls = resolve_class(entry.get("class"), directory, what="cleaner class")
    if not hasattr(cls, "from_dict"):
        raise ArtifactError(
            f"The bundle {directory} names cleaner class {entry.get('class')!r}, which has no "
            "from_dict(); re-export the model with this version of arnews_ml."
        )
    return cls.from_dict(entry.get("state") or {})
