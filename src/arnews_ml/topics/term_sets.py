"""Documents as sets of their vocabulary terms, so c-TF-IDF counts a word once per document.

BERTopic's c-TF-IDF counts a word once per occurrence in the joined documents of a topic, so a
name repeated 20 times in one long article outweighs a word found in half the topic's articles.
Counting each term once per document makes a topic's words the words *many of its documents*
share (document frequency within the topic), which is what a reader, and co-occurrence
coherence, expect of topic words (``topic_model.term_weighting=documents``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arnews_ml.topics.vectorizer import vocabulary_of

__all__ = ["document_term_sets", "split_terms", "term_set_vectorizer"]

#: Separates the terms of one document in :func:`document_term_sets`: a control character, never
#: inside a normalised term and left alone by BERTopic (which turns newlines into spaces before
#: c-TF-IDF, and joins a topic's documents with a space).
_TERM_SEPARATOR = "\x1f"


def document_term_sets(
    vectorizer: Any, texts: Sequence[str], analyzed: Sequence[Sequence[str]] | None = None
) -> list[str]:
    """Each document as the set of its vocabulary terms, one per line (for c-TF-IDF by documents).

    BERTopic's c-TF-IDF counts a word once per occurrence in the joined documents of a topic, so a
    name repeated 20 times in one long article outweighs a word found in half the topic's
    articles. Counting each term once per document makes a topic's words the words *many of its
    documents* share (document frequency within the topic), which is what a reader, and
    co-occurrence coherence, expect of topic words.

    Args:
        vectorizer: The fixed-vocabulary topic vectorizer (its analyzer and vocabulary).
        texts: Documents, length n.
        analyzed: The vectorizer's analyzer output for ``texts``, when the caller has it already.

    Returns:
        n strings: the document's distinct in-vocabulary terms (n-grams kept whole), each
        followed by the separator, so that joined documents still split into whole terms.
    """
    if analyzed is None:
        analyzer = vectorizer.build_analyzer()
        analyzed = (analyzer(text) for text in texts)
    vocabulary = set(vocabulary_of(vectorizer))
    out = []
    for tokens in analyzed:
        terms = dict.fromkeys(t for t in tokens if t in vocabulary)
        out.append("".join(f"{term}{_TERM_SEPARATOR}" for term in terms))
    return out


def split_terms(doc: str) -> list[str]:
    """Inverse of :func:`document_term_sets` for one (possibly joined) string: its terms."""
    return [term.strip() for term in doc.split(_TERM_SEPARATOR) if term.strip()]


def term_set_vectorizer(vectorizer: Any) -> Any:
    """A CountVectorizer over the same vocabulary that reads :func:`document_term_sets` output."""
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(analyzer=split_terms, vocabulary=vocabulary_of(vectorizer))
