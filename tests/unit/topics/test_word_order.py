"""Topic words re-ordered by local co-occurrence (arnews_ml.topics.word_order)."""

from __future__ import annotations

import pytest

from arnews_ml.exceptions import ConfigError
from arnews_ml.topics.coherence import npmi_coherence
from arnews_ml.topics.word_order import cooccurrence_order

# "نفط" and "برميل" stand side by side; "اسعار" is only ever far from both (> 10 tokens away).
_FILLER = "كلمة " * 12
DOCS = [
    f"نفط برميل {_FILLER} اسعار سوق".split(),
    f"سوق اسعار {_FILLER} برميل نفط".split(),
    f"نفط برميل خام {_FILLER} اسعار".split(),
    f"اسعار {_FILLER} خام نفط برميل".split(),
]


def test_the_lead_words_are_the_ones_used_together_and_the_word_set_is_kept():
    ctfidf = {0: ["نفط", "اسعار", "سوق", "برميل", "خام"]}
    out = cooccurrence_order(ctfidf, DOCS, window=10, n_lead=3, prior=0.0)
    assert out[0][:3] == ["نفط", "برميل", "خام"]  # the first c-TF-IDF word still leads
    assert out[0][3:] == ["اسعار", "سوق"]  # the rest in c-TF-IDF order
    assert sorted(out[0]) == sorted(ctfidf[0])
    lead = npmi_coherence({0: out[0][:3]}, DOCS, window=10)
    as_ranked = npmi_coherence({0: ctfidf[0][:3]}, DOCS, window=10)
    assert lead > as_ranked


def test_a_large_prior_keeps_the_ctfidf_order():
    ctfidf = {0: ["نفط", "اسعار", "سوق", "برميل", "خام"], 1: ["سوق", "اسعار"]}
    out = cooccurrence_order(ctfidf, DOCS, window=10, n_lead=5, prior=100.0)
    assert out == ctfidf


@pytest.mark.parametrize(
    ("window", "n_lead", "prior", "key"),
    [(1, 10, 0.2, "word_order_window"), (10, 1, 0.2, "word_order_lead"), (10, 10, -1, "prior")],
)
def test_bad_settings_name_their_key(window, n_lead, prior, key):
    with pytest.raises(ConfigError, match=key):
        cooccurrence_order({0: ["نفط", "برميل"]}, DOCS, window=window, n_lead=n_lead, prior=prior)
