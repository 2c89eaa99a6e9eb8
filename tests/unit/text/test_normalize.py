"""Normalizer: every step on its own, switched off, in order, and the default pipeline."""

from __future__ import annotations

import random

import pytest

from arnews_ml.exceptions import ConfigError, DataError
from arnews_ml.text import DEFAULT_NORMALIZER, Normalizer, normalize
from arnews_ml.text.normalize import STEP_NAMES

ALL_OFF = dict.fromkeys(STEP_NAMES, False)

# (step, input, output with only that step on). Whitespace is left as the step leaves it.
STEP_CASES = [
    ("html", "<p>خبر &amp; تقرير</p>", " خبر & تقرير "),
    ("nfkc", "ﻻ ﷲ\u00a0ﺃ", "لا الله أ"),
    ("urls", "انظر https://example.org/a?b=1. والمزيد www.ina.iq", "انظر  . والمزيد  "),
    ("emails", "راسلنا info@example.iq اليوم", "راسلنا   اليوم"),
    ("hashtags", "فوز #الدوري_العراقي #كرة_القدمِ", "فوز الدوري العراقي كرة القدمِ"),
    ("tatweel", "البرلمـــان العـراقي", "البرلمان العراقي"),
    ("diacritics", "كَتَبَ الطالبُ درسَهُ نفّذت هٰذا كتابًا", "كتب الطالب درسه نفذت هذا كتابا"),
    ("alef", "أحمد إلى آخر ٱلله", "احمد الى اخر الله"),
    ("alef_maqsura", "مستشفى على ی", "مستشفي علي ي"),
    ("ta_marbuta", "مدرسة الصحة", "مدرسه الصحه"),
    ("hamza_carriers", "مؤتمر رئيس", "موتمر رييس"),
    ("digits", "١٢ ۳٤ 56", "12 34 56"),
    (
        "punctuation",
        "قال، نعم؛ لماذا؟ «هنا» “هناك” ٣٫٥٪",
        'قال, نعم; لماذا? "هنا" "هناك" ٣.٥%',
    ),
    ("whitespace", "  كلمة\u200f\u00a0\n\tأخرى\u200bثالثة\u200c  ", "كلمة أخرى ثالثة"),
]


@pytest.mark.parametrize(("step", "text", "expected"), STEP_CASES, ids=[c[0] for c in STEP_CASES])
def test_each_step_alone_gives_exact_output(step: str, text: str, expected: str) -> None:
    only = Normalizer(**{**ALL_OFF, step: True})
    assert only.steps == [step]
    assert only(text) == expected
    # Switched off, the step leaves its input alone.
    assert Normalizer(**ALL_OFF)(text) == text


def test_every_step_has_a_case() -> None:
    assert sorted(c[0] for c in STEP_CASES) == sorted(STEP_NAMES)


@pytest.mark.parametrize(
    ("switches", "expected"),
    [
        ({}, 'قال الرئيس: "نعم" 12 مدرسة مسؤول'),
        ({"digits": False}, 'قال الرئيس: "نعم" ١٢ مدرسة مسؤول'),
        ({"ta_marbuta": True}, 'قال الرئيس: "نعم" 12 مدرسه مسؤول'),
        ({"hamza_carriers": True}, 'قال الرييس: "نعم" 12 مدرسة مسوول'),
        ({"diacritics": False}, 'قالَ الرئيس: "نعم" 12 مدرسة مسؤول'),
        ({"tatweel": False}, 'قال الرئيـــس: "نعم" 12 مدرسة مسؤول'),
        ({"punctuation": False}, "قال الرئيس: «نعم» 12 مدرسة مسؤول"),
    ],
    ids=[
        "default",
        "digits-off",
        "ta_marbuta-on",
        "hamza-on",
        "diacritics-off",
        "tatweel-off",
        "punctuation-off",
    ],
)
def test_normalize_switches(switches: dict[str, bool], expected: str) -> None:
    assert normalize("قالَ الرئيـــس:  «نعم» ١٢ مدرسة مسؤول", **switches) == expected


def test_default_steps_and_order() -> None:
    assert DEFAULT_NORMALIZER.steps == [
        "html",
        "nfkc",
        "urls",
        "emails",
        "hashtags",
        "tatweel",
        "diacritics",
        "alef",
        "alef_maqsura",
        "digits",
        "punctuation",
        "whitespace",
    ]
    assert Normalizer(ta_marbuta=True, hamza_carriers=True).steps[9:11] == [
        "ta_marbuta",
        "hamza_carriers",
    ]


def test_nfkc_runs_before_the_letter_steps_and_keeps_harakat() -> None:
    # Presentation form of alef-with-hamza: only NFKC turns it into أ, which alef then unifies.
    assert Normalizer(**{**ALL_OFF, "nfkc": True, "alef": True})("ﺃمل") == "امل"
    assert Normalizer(**{**ALL_OFF, "alef": True})("ﺃمل") == "ﺃمل"
    assert Normalizer(**{**ALL_OFF, "nfkc": True})("كَتَبَ") == "كَتَبَ"


def test_default_normalize_on_the_shared_corpus(arabic_docs: list[str]) -> None:
    out = [normalize(d) for d in arabic_docs]
    joined = " ".join(out)
    for gone in ("ـ", "\u0651", "\u064f", "https", "#", "١", "أ", "إ"):
        assert gone not in joined
    assert "البرلمان العراقي" in out[1]
    assert "12 شهرا" in out[1]
    assert "الدوري العراقي" in out[3]
    assert "😀" in out[2]  # emoji are the tokenizer's business, not the normaliser's


def test_translate_steps_fused_equal_steps_one_by_one() -> None:
    text = "«أُعلِنَ» ١٢ مؤتمراً في مستشفى #الصحة_العامة، هٰذا\u200f البرلمـان؟ ﻻ"
    rng = random.Random(7)
    for _ in range(40):
        switches = {name: rng.random() < 0.5 for name in STEP_NAMES}
        expected = text
        for name in STEP_NAMES:
            if switches[name]:
                expected = Normalizer(**{**ALL_OFF, name: True})(expected)
        assert Normalizer(**switches)(text) == expected, switches


def test_unknown_switch_is_a_config_error_naming_the_steps() -> None:
    with pytest.raises(ConfigError, match=r"'stemming'.*ta_marbuta"):
        normalize("نص", stemming=True)
    with pytest.raises(ConfigError, match="hamza_carriers"):
        Normalizer.from_config({"hamza": True})
    with pytest.raises(ConfigError, match="'digits' must be true or false"):
        Normalizer.from_config({"digits": "yes"})


def test_config_round_trip_and_value_semantics() -> None:
    custom = Normalizer(ta_marbuta=True, urls=False)
    assert Normalizer.from_config(custom.to_dict()) == custom
    assert Normalizer.from_config(None) == DEFAULT_NORMALIZER
    assert hash(custom) == hash(Normalizer(ta_marbuta=True, urls=False))
    with pytest.raises(AttributeError):
        custom.digits = False  # type: ignore[misc]


def test_non_string_input_is_a_data_error() -> None:
    with pytest.raises(DataError, match="expects a str, got float"):
        normalize(float("nan"))  # type: ignore[arg-type]


def test_character_tables_translate_long_texts_exactly_as_str_translate() -> None:
    from arnews_ml.text.normalize import _CharTable

    table = {ord("أ"): "ا", ord("ـ"): None, ord("\u064e"): None, ord("٣"): "3", 0x1F600: "x"}
    rng = random.Random(7)
    alphabet = "أاـ\u064e٣ ب😀\ud800\n"  # with an astral character and a lone surrogate
    text = "".join(rng.choice(alphabet) for _ in range(5000))
    assert _CharTable(table)(text) == text.translate(table)
    assert _CharTable(table)("أـب") == "اب"  # short texts take str.translate
    wide = {ord("ﻻ"): "لا"}  # a two-character entry: str.translate does the work
    assert _CharTable(wide).lookup is None
    assert _CharTable(wide)("ﻻ" * 100) == "لا" * 100
