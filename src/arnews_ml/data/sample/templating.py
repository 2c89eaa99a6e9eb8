"""Slot filling and surface noise (digits, tatweel, diacritics) for the sample corpus templates.

A template is a string with ``{slot}`` placeholders:

- ``{name}``: a random value from :data:`~arnews_ml.data.sample.vocabulary.SLOTS` (or from the
  extra slots of :data:`EXTRA_SLOTS`);
- ``{name*}``: the same, but fixed for the whole article (the first use picks it);
- ``{num:LO-HI}``: a whole number, ``{dec:LO-HI}`` a number with one decimal;
- ``{person}``, ``{woman}``, ``{officer}``, ``{score}``, ``{weekday}``, ``{month}`` (the month of
  the article date), ``{year}`` and ``{outlet}`` (the Arabic name of the publishing outlet).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date

from arnews_ml.data.sample.vocabulary import (
    ARABIC_MONTHS,
    ARABIC_WEEKDAYS,
    DIACRITIZED,
    SLOTS,
)

__all__ = [
    "EXTRA_SLOTS",
    "Bridge",
    "LabelTemplates",
    "SlotFiller",
    "add_diacritics",
    "add_tatweel",
    "slot_names",
    "to_arabic_digits",
]

# Verbs and connectives with several interchangeable forms, so sentence shapes vary.
EXTRA_SLOTS: dict[str, tuple[str, ...]] = {
    "said": ("أوضح", "ذكر", "بيّن", "أكد", "أفاد", "أشار إلى"),
    "said_f": ("أوضحت", "ذكرت", "بيّنت", "أكدت", "أفادت", "أشارت إلى"),
    "announced_f": ("أعلنت", "ذكرت", "كشفت", "أكدت"),
    "statement": ("بيان", "بيان رسمي", "بيان مقتضب", "إيجاز صحفي", "تصريح صحفي"),
    "soon": ("خلال الأيام المقبلة", "في وقت قريب", "قريباً", "خلال الأسابيع المقبلة"),
    "recently": ("مؤخراً", "خلال الفترة الماضية", "في الآونة الأخيرة", "منذ أسابيع"),
}

_SLOT_RE = re.compile(r"\{([a-z_]+)(\*?)(?::(\d+)-(\d+))?\}")
_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
# Letters that do not join the following letter: a tatweel after them would float alone.
_NON_JOINING = set("اأإآدذرزوؤةىء")
_ARABIC_LETTER = re.compile(r"[\u0621-\u064A]")
_SPECIAL = {
    "num",
    "dec",
    "person",
    "woman",
    "officer",
    "score",
    "weekday",
    "month",
    "year",
    "outlet",
}


@dataclass(frozen=True)
class LabelTemplates:
    """The templates of one label.

    Attributes:
        label: The label these sentences carry.
        titles: Headline templates.
        leads: Opening-sentence templates (who, what, where, when).
        body: Further sentence templates.
        late: Sentences that grow more frequent with the article date (topic drift).
    """

    label: str
    titles: tuple[str, ...]
    leads: tuple[str, ...]
    body: tuple[str, ...]
    late: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bridge:
    """Content that ties two labels together in one multi-label article.

    Attributes:
        labels: The two labels (sorted).
        titles: Headlines that mention both subjects.
        sentences: Sentences that carry both subjects.
    """

    labels: tuple[str, str]
    titles: tuple[str, ...]
    sentences: tuple[str, ...]


def slot_names(template: str) -> list[str]:
    """The slot names used by ``template`` (without ``*`` or ranges)."""
    return [m.group(1) for m in _SLOT_RE.finditer(template)]


def known_slot(name: str) -> bool:
    """Whether ``name`` can be filled by :class:`SlotFiller`."""
    return name in SLOTS or name in EXTRA_SLOTS or name in _SPECIAL


@dataclass
class SlotFiller:
    """Fills templates for one article.

    Attributes:
        rng: The generator's random source (never the global one).
        day: The article date.
        outlet_name: The Arabic name of the publishing outlet.
        fixed: Values of ``{name*}`` slots chosen so far in this article.
    """

    rng: random.Random
    day: date
    outlet_name: str
    fixed: dict[str, str] = field(default_factory=dict)

    def fill(self, template: str) -> str:
        """Replace every slot of ``template``.

        Raises:
            KeyError: A slot name that is neither in the vocabularies nor a special slot.
        """
        return _SLOT_RE.sub(self._replace, template)

    def _replace(self, match: re.Match[str]) -> str:
        name, star, lo, hi = match.groups()
        if star:
            if name not in self.fixed:
                self.fixed[name] = self._value(name, lo, hi)
            return self.fixed[name]
        return self._value(name, lo, hi)

    def _value(self, name: str, lo: str | None, hi: str | None) -> str:
        rng = self.rng
        if name == "num":
            return str(rng.randint(int(lo or 1), int(hi or 10)))
        if name == "dec":
            return f"{rng.uniform(float(lo or 0), float(hi or 1)):.1f}"
        if name == "person":
            return f"{rng.choice(SLOTS['first'])} {rng.choice(SLOTS['family'])}"
        if name == "woman":
            return f"{rng.choice(SLOTS['female'])} {rng.choice(SLOTS['family'])}"
        if name == "officer":
            return f"{rng.choice(SLOTS['rank'])} {self._value('person', None, None)}"
        if name == "score":
            winner = rng.randint(1, 4)
            return f"{winner}-{rng.randint(0, winner - 1)}"
        if name == "weekday":
            return rng.choice(ARABIC_WEEKDAYS)
        if name == "month":
            return ARABIC_MONTHS[self.day.month - 1]
        if name == "year":
            return str(self.day.year)
        if name == "outlet":
            return self.outlet_name
        if name in SLOTS:
            return rng.choice(SLOTS[name])
        if name in EXTRA_SLOTS:
            return rng.choice(EXTRA_SLOTS[name])
        raise KeyError(
            f"Unknown template slot {{{name}}}; add it to vocabulary.SLOTS or "
            f"templating.EXTRA_SLOTS, or use one of {sorted(_SPECIAL)}."
        )


def to_arabic_digits(text: str) -> str:
    """Write ASCII digits as Arabic-Indic digits (٠-٩)."""
    return text.translate(_ARABIC_DIGITS)


def add_tatweel(text: str, rng: random.Random, n_words: int) -> str:
    """Stretch up to ``n_words`` words of ``text`` with tatweel (ـ) between joining letters."""
    tokens = text.split(" ")
    candidates = [
        i
        for i, tok in enumerate(tokens)
        if len(tok) >= 4 and all(_ARABIC_LETTER.match(c) for c in tok)
    ]
    for i in rng.sample(candidates, min(n_words, len(candidates))):
        tok = tokens[i]
        spots = [j for j in range(1, len(tok) - 1) if tok[j] not in _NON_JOINING]
        if spots:
            j = rng.choice(spots)
            tokens[i] = tok[: j + 1] + "ـ" * rng.randint(1, 4) + tok[j + 1 :]
    return " ".join(tokens)


def add_diacritics(text: str, rng: random.Random, share: float = 0.6) -> str:
    """Replace some common words by their diacritized forms (whole words only)."""
    tokens = text.split(" ")
    for i, tok in enumerate(tokens):
        core = tok.rstrip("،.:؛")
        if core in DIACRITIZED and rng.random() < share:
            tokens[i] = DIACRITIZED[core] + tok[len(core) :]
    return " ".join(tokens)
