"""TextCleaner: the cleaning a model applies to every article (boilerplate, then normalisation)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from arnews_ml.text.boilerplate import BoilerplateRemover
from arnews_ml.text.normalize import Normalizer

__all__ = ["CleanedTexts", "TextCleaner"]


class CleanedTexts(list):
    """A plain list of cleaned texts that remembers the Normalizer already applied to them.

    A later stage that would apply the same normalisation (the TF-IDF embedder) checks
    ``normalizer`` and skips a second, identical pass over every article.

    Args:
        texts: The cleaned texts.
        normalizer: The Normalizer applied to every one of them (None: none).
    """

    def __init__(self, texts: Sequence[str] = (), normalizer: Normalizer | None = None) -> None:
        super().__init__(texts)
        self.normalizer = normalizer


class TextCleaner:
    """Strip learned boilerplate lines, then normalise; fitted on the training articles.

    The same fitted cleaner travels inside a saved model, so new articles are cleaned exactly
    as the training ones were. At prediction time the source of an article is usually unknown;
    the boilerplate remover then applies the lines it learned across all sources.

    Args:
        normalizer: Normalisation applied after boilerplate removal (None: no normalisation).
        boilerplate: An unfitted `BoilerplateRemover`, or None to keep every line.
    """

    def __init__(
        self, normalizer: Normalizer | None = None, boilerplate: BoilerplateRemover | None = None
    ) -> None:
        self.normalizer = normalizer
        self.boilerplate = boilerplate

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> TextCleaner:
        """Build from the `text` config group (`normalize` switches, `boilerplate` options)."""
        normalize_cfg = dict(cfg.get("normalize") or {})
        boiler_cfg = dict(cfg.get("boilerplate") or {})
        enabled = boiler_cfg.pop("enabled", True)
        return cls(
            normalizer=Normalizer.from_config(normalize_cfg),
            boilerplate=BoilerplateRemover(**boiler_cfg) if enabled else None,
        )

    def fit(self, texts: Sequence[str], sources: Sequence[str] | None = None) -> TextCleaner:
        """Learn the boilerplate lines of each source from the training articles."""
        if self.boilerplate is not None:
            self.boilerplate.fit(texts, sources)
        return self

    def transform(self, texts: Sequence[str], sources: Sequence[str] | None = None) -> list[str]:
        """Clean articles: boilerplate lines out, then the normaliser.

        Returns:
            A :class:`CleanedTexts` list (it records the normaliser applied).
        """
        out = list(texts)
        if self.boilerplate is not None:
            out = self.boilerplate.transform(out, sources)
        normalizer = self.normalizer
        if normalizer is not None:
            out = [normalizer(t) for t in out]
        return CleanedTexts(out, normalizer)

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
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> TextCleaner:
        """Rebuild a fitted cleaner from `to_dict` output."""
        norm = state.get("normalizer")
        boiler = state.get("boilerplate")
        return cls(
            normalizer=None if norm is None else Normalizer.from_config(norm),
            boilerplate=None if boiler is None else BoilerplateRemover.from_dict(boiler),
        )

    def __repr__(self) -> str:
        return f"TextCleaner(normalizer={self.normalizer!r}, boilerplate={self.boilerplate!r})"
