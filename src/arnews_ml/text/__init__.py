"""Arabic text: normalisation, boilerplate removal, tokens for vectorizers, stop words."""

from __future__ import annotations

from arnews_ml.text.boilerplate import BoilerplateRemover
from arnews_ml.text.normalize import DEFAULT_NORMALIZER, Normalizer, normalize
from arnews_ml.text.stopwords import arabic_stopwords
from arnews_ml.text.tokenize import ARABIC_TOKEN_PATTERN, ArabicAnalyzer, tokenize

__all__ = [
    "ARABIC_TOKEN_PATTERN",
    "DEFAULT_NORMALIZER",
    "ArabicAnalyzer",
    "BoilerplateRemover",
    "Normalizer",
    "arabic_stopwords",
    "normalize",
    "tokenize",
]
