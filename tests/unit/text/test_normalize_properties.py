"""Normalizer properties (hypothesis): idempotent, changes only what its steps document, never
grows a text except through NFKC, never crashes on surrogates or astral characters, and the
numpy code-point table gives what ``str.translate`` gives."""

from __future__ import annotations

import os
import unicodedata

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from arnews_ml.text import DEFAULT_NORMALIZER, Normalizer
from arnews_ml.text.normalize import (
    ALEF,
    ALEF_FORMS,
    ALEF_MAQSURA,
    ARABIC_INDIC_DIGITS,
    DIACRITICS,
    FARSI_YEH,
    PERSIAN_DIGITS,
    STEP_NAMES,
    TATWEEL,
    YEH,
    _CharTable,
    _pipeline,
    _strip_html,
)

# Bounded and derandomised: the same examples on every run and in CI; more with
# ARNEWS_HYPOTHESIS_EXAMPLES=1000 when looking for trouble.
PROPERTY = settings(
    max_examples=int(os.environ.get("ARNEWS_HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ALL_OFF = dict.fromkeys(STEP_NAMES, False)

# What news text is made of, weighted towards the characters the steps act on.
_ARABIC = st.characters(min_codepoint=0x0600, max_codepoint=0x06FF)
_PRESENTATION = st.characters(min_codepoint=0xFB50, max_codepoint=0xFEFF)
_SPECIAL = st.sampled_from(
    list(DIACRITICS + TATWEEL + ALEF_FORMS + ARABIC_INDIC_DIGITS + PERSIAN_DIGITS)
    + list("\u200b\u200c\u200d\u200e\u200f\u202a\u202e\u2066\u2069\u061c\ufeff\u00ad\u2060")
    + list("\u2028\u2029\u00a0\t\n\r \u060c\u061b\u061f\u066a\u066b\u00ab\u00bb\u201c\u201d")
    + list("#_@.:/<>&;!?\"'-")
    + ["😀", "𝐀", "\U0002a700", "\ud83d", "\ude00", "\udfff"]
)
_ANY = st.characters(codec=None, exclude_categories=())  # surrogates and astral included
_CHARS = st.one_of(_ARABIC, _ARABIC, _SPECIAL, _SPECIAL, _PRESENTATION, _ANY)
TEXT = st.text(_CHARS, max_size=60)
LONG_TEXT = st.text(_CHARS, min_size=64, max_size=200)  # the numpy table path
PIECES = st.sampled_from(
    [
        "<p>", "</p>", "<script>x</script>", "&amp;", "&lt;b&gt;", "&#35;", "&quot;",
        "https://ex.org/a?b=1", "www.ina.iq", "info@ex.iq", "#الدوري_العراقي", "##خبر",
        "قالَ", "البرلمـــان", "أحمد", "١٢", "«نعم»",
    ]
)  # fmt: skip
MARKUP = st.lists(st.one_of(PIECES, TEXT), max_size=8).map("".join)
NORMALIZERS = st.builds(Normalizer, **{name: st.booleans() for name in STEP_NAMES})


def _only(step: str) -> Normalizer:
    return Normalizer(**{**ALL_OFF, step: True})


@PROPERTY
@given(text=st.one_of(TEXT, MARKUP, LONG_TEXT))
@example(text="&amp;amp;")
@example(text="##خبر")
@example(text="\u0627\u200d\u0653")
def test_default_chain_is_idempotent(text: str) -> None:
    once = DEFAULT_NORMALIZER(text)
    assert DEFAULT_NORMALIZER(once) == once


@PROPERTY
@given(text=st.one_of(TEXT, MARKUP, LONG_TEXT), step=st.sampled_from(STEP_NAMES))
@example(text="&amp;amp;", step="html")
@example(text="&lt;b&gt;x", step="html")
@example(text="##خبر", step="hashtags")
def test_each_step_is_idempotent(text: str, step: str) -> None:
    only = _only(step)
    once = only(text)
    assert only(once) == once


@PROPERTY
@given(text=st.one_of(TEXT, MARKUP), normalizer=NORMALIZERS)
@example(text="\u0627\u200d\u0653", normalizer=Normalizer(diacritics=False))
@example(text="\u0627\u0640\u0653", normalizer=Normalizer(diacritics=False))
def test_every_combination_of_steps_is_idempotent(text: str, normalizer: Normalizer) -> None:
    once = normalizer(text)
    assert normalizer(once) == once


# Arabic letters (no marks, no presentation forms: NFKC leaves them alone) and what each
# letter step documents for them.
_LETTERS = [chr(c) for c in range(0x0621, 0x064B) if c != 0x0640] + [FARSI_YEH, "\u0671"]
_DEFAULT_MAP = (
    dict.fromkeys(ALEF_FORMS, ALEF)
    | {ALEF_MAQSURA: YEH, FARSI_YEH: YEH}
    | dict(zip(ARABIC_INDIC_DIGITS + PERSIAN_DIGITS, "0123456789" * 2, strict=True))
)


@PROPERTY
@given(
    words=st.lists(
        st.text(st.sampled_from(_LETTERS + list(DIACRITICS + TATWEEL)), min_size=1, max_size=12),
        max_size=10,
    )
)
def test_no_arabic_letter_changes_outside_the_documented_mappings(words: list[str]) -> None:
    text = " ".join(words)
    # NFKC first (it may compose a letter with a following hamza or maddah), then the map.
    expected = "".join(
        _DEFAULT_MAP.get(c, c) for c in unicodedata.normalize("NFKC", text)
        if c not in DIACRITICS and c != TATWEEL
    )  # fmt: skip
    assert DEFAULT_NORMALIZER(text) == " ".join(expected.split())
    # The two lossy merges change exactly their letters.
    lossy = Normalizer(ta_marbuta=True, hamza_carriers=True)(text)
    assert lossy == DEFAULT_NORMALIZER(text).translate(str.maketrans("ةؤئ", "هوي"))


@PROPERTY
@given(text=st.one_of(TEXT, MARKUP, LONG_TEXT), normalizer=NORMALIZERS)
def test_no_diacritics_or_tatweel_left_when_those_steps_are_on(
    text: str, normalizer: Normalizer
) -> None:
    out = normalizer(text)
    if normalizer.diacritics:
        assert not set(out) & set(DIACRITICS)
    if normalizer.tatweel:
        assert TATWEEL not in out
    if normalizer.alef:
        assert not set(out) & set(ALEF_FORMS)
    if normalizer.digits:
        assert not set(out) & set(ARABIC_INDIC_DIGITS + PERSIAN_DIGITS)
    if normalizer.whitespace:
        assert out == out.strip() and "  " not in out and "\n" not in out


_LATIN = st.text(
    st.sampled_from(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?()-+=*/%'\n"
    ),
    max_size=80,
)


@PROPERTY
@given(text=_LATIN)
def test_latin_text_and_digits_are_kept_as_documented(text: str) -> None:
    # No URL, e-mail, hashtag or markup: only the whitespace step changes plain ASCII.
    assert DEFAULT_NORMALIZER(text) == " ".join(text.split())
    assert Normalizer(whitespace=False)(text) == text


@PROPERTY
@given(text=st.one_of(TEXT, MARKUP, LONG_TEXT), normalizer=NORMALIZERS)
@example(text="ﷺ", normalizer=DEFAULT_NORMALIZER)
def test_length_grows_only_through_nfkc(text: str, normalizer: Normalizer) -> None:
    out = normalizer(text)
    if not normalizer.nfkc:
        assert len(out) <= len(text)
    else:  # presentation forms and ligatures expand (ﷲ -> الله), nothing else does
        before = _strip_html(text) if normalizer.html else text
        assert len(out) <= len(unicodedata.normalize("NFKC", before))


@PROPERTY
@given(text=st.text(_ANY, max_size=300), normalizer=NORMALIZERS)
@example(text="\ud83d\ude00 خبر \udfff" * 20, normalizer=DEFAULT_NORMALIZER)
def test_surrogates_and_astral_characters_never_crash(text: str, normalizer: Normalizer) -> None:
    out = normalizer(text)
    assert isinstance(out, str)
    # Characters no step knows (emoji, CJK extension B, lone surrogates) pass through.
    for char in ("😀", "\U0002a700", "\ud83d"):
        if char in text and not normalizer.nfkc:
            assert char in out


@PROPERTY
@given(text=st.one_of(LONG_TEXT, st.text(_ANY, min_size=64, max_size=300)), data=st.data())
def test_numpy_table_path_equals_str_translate(text: str, data: st.DataObject) -> None:
    normalizer = data.draw(NORMALIZERS)
    for op in _pipeline(normalizer):
        if isinstance(op, _CharTable):
            assert op.lookup is not None  # every table maps one character to at most one
            assert op(text) == text.translate(op.table)
