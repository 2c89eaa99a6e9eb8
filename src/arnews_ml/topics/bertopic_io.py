"""Saving and loading the BERTopic model of a topic bundle: safetensors (+ c-TF-IDF), and with
an exact ("parity") reload its reducer and clusterer with skops."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from arnews_ml.exceptions import ArtifactError
from arnews_ml.topics.parts import require
from arnews_ml.topics.vectorizer import vocabulary_of

__all__ = [
    "BERTOPIC_DIR",
    "CLUSTERER_FILE",
    "REDUCER_FILE",
    "expected_bertopic_warnings",
    "load_bertopic",
    "save_bertopic",
]

#: Bundle part names of a BERTopic model.
BERTOPIC_DIR = "bertopic"
REDUCER_FILE = "reducer.skops"
CLUSTERER_FILE = "clusterer.skops"


@contextmanager
def expected_bertopic_warnings() -> Iterator[None]:
    """Silence BERTopic's own logger for a call whose warning does not apply to our use."""
    bertopic_logger = logging.getLogger("BERTopic")
    level = bertopic_logger.level
    bertopic_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        bertopic_logger.setLevel(level)


def save_bertopic(model: Any, directory: Path, *, parity: bool) -> None:
    """BERTopic as safetensors (+ c-TF-IDF); with ``parity`` also its reducer and clusterer (skops)."""
    from sklearn.feature_extraction.text import CountVectorizer

    from arnews_ml.persist import dump_skops

    if parity:
        dump_skops(model.umap_model, directory / REDUCER_FILE)
        dump_skops(model.hdbscan_model, directory / CLUSTERER_FILE)
    # BERTopic writes the vectorizer's deep get_params() as JSON, which our analyzer's
    # Normalizer is not: save a plain stand-in with the same vocabulary (load swaps ours back).
    ours = model.vectorizer_model
    model.vectorizer_model = CountVectorizer(vocabulary=vocabulary_of(ours)).fit(["-"])
    try:
        with expected_bertopic_warnings():  # "no embedding model": ours is saved beside it
            model.save(
                str(directory / BERTOPIC_DIR),
                serialization="safetensors",
                save_ctfidf=True,
                save_embedding_model=False,
            )
    finally:
        model.vectorizer_model = ours


def load_bertopic(directory: Path, adapter: Any, vectorizer: Any, *, parity: bool) -> Any:
    """Inverse of :func:`save_bertopic`; ``adapter`` embeds, ``vectorizer`` replaces the one
    BERTopic rebuilds (it cannot rebuild our analyzer, only a default CountVectorizer)."""
    from arnews_ml.persist import load_skops

    bertopic = require("bertopic")
    # an absolute, existing folder: BERTopic takes other paths with "/" for hub ids
    folder = (Path(directory) / BERTOPIC_DIR).absolute()
    if not folder.is_dir():
        raise ArtifactError(f"The topic bundle lacks its BERTopic folder {folder}; re-export it.")
    model = bertopic.BERTopic.load(str(folder), embedding_model=adapter)
    model.vectorizer_model = vectorizer
    if parity:
        model.umap_model = load_skops(Path(directory) / REDUCER_FILE)
        model.hdbscan_model = load_skops(Path(directory) / CLUSTERER_FILE)
    return model
