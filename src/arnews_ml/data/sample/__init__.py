"""The bundled sample corpus: templated Arabic news written by this project, for offline runs."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arnews_ml.data.sample.vocabulary import SAMPLE_LABELS

if TYPE_CHECKING:
    from arnews_ml.data.corpus import Corpus

__all__ = ["SAMPLE_LABELS", "SAMPLE_PATH", "load_sample"]

SAMPLE_PATH: Path = Path(str(files("arnews_ml.data.sample") / "news.jsonl.gz"))


def load_sample(**kwargs: Any) -> Corpus:
    """Load the bundled sample corpus (1,000 templated articles, 7 labels, 2023-2024).

    Args:
        **kwargs: Passed to :func:`arnews_ml.data.corpus.load_corpus` (e.g. ``quarantine_path``).

    Returns:
        The validated :class:`~arnews_ml.data.corpus.Corpus` with ``label_set`` =
        :data:`SAMPLE_LABELS`.
    """
    from arnews_ml.data.corpus import load_corpus

    return load_corpus(SAMPLE_PATH, label_set=SAMPLE_LABELS, **kwargs)
