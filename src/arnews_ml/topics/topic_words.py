"""Topic word lists: normalise each topic's top words before they are scored.

Every topic metric (coherence, diversity, stability) first turns its input into
``{topic_id: [word, ...]}``: the first ``top_n`` distinct, non-empty words of each topic, with the
outlier topic ``-1`` left out. BERTopic pads short topics with empty strings and gives
``(word, score)`` pairs; both are accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from arnews_ml.exceptions import ConfigError, DataError

__all__ = ["OUTLIER_TOPIC", "TopicWords", "topic_word_lists"]

OUTLIER_TOPIC = -1

TopicWords = Mapping[int, Sequence[Any]] | Sequence[Sequence[Any]]


def _clean_words(words: Iterable[Any], top_n: int | None) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for item in words:
        # BERTopic's get_topic() gives (word, score) pairs.
        word = item[0] if isinstance(item, tuple | list) else item
        if word is None:
            continue
        word = " ".join(str(word).split())
        if not word or word in seen:
            continue
        seen.add(word)
        out.append(word)
        if top_n is not None and len(out) == top_n:
            break
    return out


def topic_word_lists(topics: TopicWords, top_n: int | None = None) -> dict[int, list[str]]:
    """Normalise topic words to ``{topic_id: [word, ...]}`` without the outlier topic.

    Args:
        topics: ``{topic_id: words}`` (e.g. ``TopicModel.top_words()``) or a sequence of word
            lists (ids 0..n-1). Words may be strings or ``(word, score)`` pairs.
        top_n: Keep the first ``top_n`` distinct non-empty words; ``None`` keeps all.

    Returns:
        ``{topic_id: words}`` in the input's order, topic ``-1`` left out.

    Raises:
        DataError: If a topic is a single string instead of a list of words.
    """
    if top_n is not None and (not isinstance(top_n, int) or top_n < 1):
        raise ConfigError(f"'top_n' must be a positive integer; got {top_n!r}.")
    items = topics.items() if isinstance(topics, Mapping) else enumerate(topics)
    out: dict[int, list[str]] = {}
    for key, words in items:
        topic = int(key)
        if topic == OUTLIER_TOPIC:
            continue
        if isinstance(words, str):
            raise DataError(
                f"Topic {topic} is the string {words[:40]!r}, not a list of words; pass "
                "{topic_id: ['word', ...]} (e.g. TopicModel.top_words())."
            )
        out[topic] = _clean_words(words, top_n)
    return out
