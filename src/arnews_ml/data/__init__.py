"""Corpus loading, validation, quarantine and splitting (``load_sample`` is imported lazily)."""

from __future__ import annotations

from typing import Any

from arnews_ml.data.corpus import Corpus, load_corpus
from arnews_ml.data.io import read_table
from arnews_ml.data.schema import ColumnMap
from arnews_ml.data.split import Splits, split_corpus
from arnews_ml.data.validate import ValidationReport

__all__ = [
    "ColumnMap",
    "Corpus",
    "Splits",
    "ValidationReport",
    "load_corpus",
    "load_sample",
    "read_table",
    "split_corpus",
]


def __getattr__(name: str) -> Any:
    # The bundled sample is only imported when asked for.
    if name == "load_sample":
        from arnews_ml.data.sample import load_sample

        return load_sample
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
