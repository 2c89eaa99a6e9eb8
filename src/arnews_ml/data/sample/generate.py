"""Generate the bundled sample corpus of templated Arabic news articles.

Run ``python -m arnews_ml.data.sample.generate`` to rewrite ``news.jsonl.gz`` beside this file;
the output is byte-identical for the same ``n`` and ``seed``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from arnews_ml.data.sample.templates_bridges import BRIDGES
from arnews_ml.data.sample.templates_economy import ECONOMY
from arnews_ml.data.sample.templates_foreign import FOREIGN_FORCES
from arnews_ml.data.sample.templates_health import HEALTH
from arnews_ml.data.sample.templates_politics import POLITICS
from arnews_ml.data.sample.templates_security import SECURITY
from arnews_ml.data.sample.templates_shared import FILLERS, HASHTAGS, LABEL_HASHTAGS
from arnews_ml.data.sample.templates_society import SOCIETY
from arnews_ml.data.sample.templates_sports import SPORTS
from arnews_ml.data.sample.templating import (
    Bridge,
    LabelTemplates,
    SlotFiller,
    add_diacritics,
    add_tatweel,
    to_arabic_digits,
)
from arnews_ml.data.sample.vocabulary import (
    ARABIC_MONTHS,
    ARABIC_WEEKDAYS,
    OUTLETS,
    SAMPLE_LABELS,
    Outlet,
)

__all__ = [
    "DEFAULT_N",
    "DEFAULT_SEED",
    "END_DATE",
    "LABEL_TEMPLATES",
    "MAX_WORDS",
    "MIN_WORDS",
    "START_DATE",
    "generate_sample",
    "main",
    "write_sample",
]

DEFAULT_N = 1000
DEFAULT_SEED = 2024
START_DATE = date(2023, 1, 1)
END_DATE = date(2024, 12, 31)
MIN_WORDS = 60
MAX_WORDS = 300
MIN_BODY_SENTENCES = 4
MAX_BODY_SENTENCES = 14

LABEL_TEMPLATES: dict[str, LabelTemplates] = {
    t.label: t for t in (SECURITY, POLITICS, FOREIGN_FORCES, ECONOMY, SOCIETY, SPORTS, HEALTH)
}
# Primary-label weights at the start and at the end of the period (linear in between): talk of
# foreign forces and their withdrawal grows over time.
_WEIGHTS_START = {
    "security": 0.26,
    "politics": 0.20,
    "foreign_forces": 0.04,
    "economy": 0.15,
    "society": 0.13,
    "sports": 0.09,
    "health": 0.09,
}
_WEIGHTS_END = {**_WEIGHTS_START, "security": 0.21, "foreign_forces": 0.22}
_MULTI_SHARE = 0.34  # articles given a second label
_THIRD_SHARE = 0.15  # of those, articles given a third label
_FILLER_SHARE = (0.1, 0.35)  # share of body sentences that are label-neutral
_MAX_TRIES = 50


def _bridge(a: str, b: str) -> Bridge | None:
    key = tuple(sorted((a, b)))
    return next((br for br in BRIDGES if br.labels == key), None)


def _day_fraction(day: date) -> float:
    return (day - START_DATE).days / (END_DATE - START_DATE).days


def _pick_labels(rng: random.Random, t: float) -> list[str]:
    weights = [(1 - t) * _WEIGHTS_START[lb] + t * _WEIGHTS_END[lb] for lb in SAMPLE_LABELS]
    labels = [rng.choices(SAMPLE_LABELS, weights=weights)[0]]
    if rng.random() < _MULTI_SHARE:
        partners = [lb for lb in SAMPLE_LABELS if lb != labels[0] and _bridge(labels[0], lb)]
        labels.append(rng.choice(partners))
        if rng.random() < _THIRD_SHARE:
            thirds = [
                lb
                for lb in SAMPLE_LABELS
                if lb not in labels and all(_bridge(lb, other) for other in labels)
            ]
            if thirds:
                labels.append(rng.choice(thirds))
    return labels


def _date_line(day: date) -> str:
    return f"{ARABIC_WEEKDAYS[day.weekday()]} {day.day} {ARABIC_MONTHS[day.month - 1]} {day.year}"


def _hashtag_line(rng: random.Random, labels: Sequence[str]) -> str:
    tags = rng.sample(HASHTAGS, rng.randint(1, 3))
    if rng.random() < 0.4:
        tags.append(rng.choice(LABEL_HASHTAGS[rng.choice(labels)]))
    return " ".join(tags)


def _body(
    rng: random.Random, fill: SlotFiller, labels: Sequence[str], t: float
) -> tuple[list[tuple[str, str]], list[str]]:
    """Draw the body sentences of one article.

    Returns:
        ``(text, kind)`` pairs, the lead first (kinds: ``lead``, ``own``, ``extra`` for another
        label's content, ``filler``), and the filler templates left unused.
    """
    primary = LABEL_TEMPLATES[labels[0]]
    n_body = rng.randint(MIN_BODY_SENTENCES, MAX_BODY_SENTENCES)
    # Each extra label gets 1-2 sentences bridging it to the primary label, plus sentences of
    # its own: 2-3 in all.
    extra: list[str] = []
    for label in labels[1:]:
        bridge = _bridge(labels[0], label)
        assert bridge is not None  # _pick_labels only pairs bridged labels
        k_bridge = rng.randint(1, 2)
        k_own = 1 if k_bridge == 1 else rng.randint(0, 1)
        extra += rng.sample(bridge.sentences, k_bridge)
        extra += rng.sample(LABEL_TEMPLATES[label].body, k_own)
    n_filler = round((n_body - 1) * rng.uniform(*_FILLER_SHARE))
    n_own = max(1, n_body - 1 - len(extra) - n_filler)
    pool = list(primary.body) + [s for s in primary.late if rng.random() < t]
    own = rng.sample(pool, min(n_own, len(pool)))
    fillers = rng.sample(FILLERS, n_filler)
    rest = [(s, "own") for s in own] + [(s, "extra") for s in extra]
    rng.shuffle(rest)
    for f in fillers:
        rest.insert(rng.randint(0, len(rest)), (f, "filler"))
    lead = (fill.fill(rng.choice(primary.leads)), "lead")
    unused = [f for f in FILLERS if f not in fillers]
    return [lead] + [(fill.fill(s), kind) for s, kind in rest], unused


def _fit_length(
    rng: random.Random,
    fill: SlotFiller,
    body: list[tuple[str, str]],
    unused: list[str],
    fixed_words: int,
) -> list[str]:
    """Drop fillers (then primary sentences) from the end, or add fillers, to fit the limits.

    The lead, one primary sentence and every bridging sentence are always kept, so each label
    of the article keeps its content.
    """

    def total() -> int:
        return fixed_words + _n_words([s for s, _ in body])

    for kind in ("filler", "own"):
        while total() > MAX_WORDS and len(body) > MIN_BODY_SENTENCES:
            idx = [i for i, (_, k) in enumerate(body) if k == kind]
            if len(idx) <= (1 if kind == "own" else 0):
                break
            del body[idx[-1]]
    while total() < MIN_WORDS:
        body.append((fill.fill(unused.pop(rng.randrange(len(unused)))), "filler"))
    return [s for s, _ in body]


def _paragraphs(rng: random.Random, sentences: list[str]) -> list[str]:
    """Group sentences into lines of one to three sentences; the lead stands alone."""
    lines = [sentences[0]]
    i = 1
    while i < len(sentences):
        k = rng.randint(1, 3)
        lines.append(" ".join(sentences[i : i + k]))
        i += k
    return lines


def _n_words(parts: Sequence[str]) -> int:
    return sum(len(p.split()) for p in parts)


def _article(rng: random.Random, day: date, outlet: Outlet, labels: list[str]) -> tuple[str, str]:
    """Title and full text (title, blank line, header, body, footer) of one article."""
    t = _day_fraction(day)
    fill = SlotFiller(rng=rng, day=day, outlet_name=outlet.name)
    body, unused = _body(rng, fill, labels, t)
    primary = LABEL_TEMPLATES[labels[0]]
    if len(labels) > 1 and rng.random() < 0.6:
        bridge = _bridge(labels[0], labels[1])
        assert bridge is not None
        title = fill.fill(rng.choice(bridge.titles))
    else:
        title = fill.fill(rng.choice(primary.titles))

    header = list(rng.choice(outlet.headers))
    if outlet.dated_header:
        header.append(_date_line(day))
    footer = list(rng.choice(outlet.footers))
    if rng.random() < outlet.hashtag_rate:
        footer.insert(0, _hashtag_line(rng, labels))

    sentences = _fit_length(rng, fill, body, unused, _n_words([title, *header, *footer]))

    diacritize = rng.random() < outlet.diacritics_rate
    stretch = rng.random() < outlet.tatweel_rate

    def surface(s: str) -> str:
        if diacritize:
            s = add_diacritics(s, rng)
        if stretch and rng.random() < 0.5:
            s = add_tatweel(s, rng, rng.randint(1, 2))
        return to_arabic_digits(s) if outlet.arabic_digits else s

    title = surface(title)
    lines = [surface(line) for line in _paragraphs(rng, sentences)]
    if outlet.arabic_digits and outlet.dated_header:
        header[-1] = to_arabic_digits(header[-1])
    text = title + "\n\n" + "\n".join(header + lines + footer)
    return title, text


def generate_sample(n: int = DEFAULT_N, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """Generate the templated sample corpus.

    Args:
        n: Number of articles.
        seed: Seed of the private random source; the same ``(n, seed)`` gives the same records.

    Returns:
        ``n`` records in date order with keys ``id`` (``sample-00001``...), ``text`` (title,
        blank line, header lines, body, footer lines), ``labels`` (list in
        :data:`SAMPLE_LABELS` order), ``date`` (ISO), ``source`` (outlet slug) and ``title``.
        Texts are unique.

    Raises:
        ValueError: ``n`` is not positive.
    """
    if n < 1:
        raise ValueError(f"generate_sample needs n >= 1 articles, got n={n}.")
    rng = random.Random(seed)
    n_days = (END_DATE - START_DATE).days + 1
    days = sorted(START_DATE + timedelta(days=rng.randrange(n_days)) for _ in range(n))
    outlet_weights = [o.weight for o in OUTLETS]
    seen: set[str] = set()
    records: list[dict[str, Any]] = []
    for i, day in enumerate(days, start=1):
        for _ in range(_MAX_TRIES):
            outlet = rng.choices(OUTLETS, weights=outlet_weights)[0]
            labels = _pick_labels(rng, _day_fraction(day))
            title, text = _article(rng, day, outlet, labels)
            if text not in seen:
                break
        else:  # pragma: no cover - would need a tiny vocabulary
            raise RuntimeError(f"Could not generate a unique article after {_MAX_TRIES} tries.")
        seen.add(text)
        records.append(
            {
                "id": f"sample-{i:05d}",
                "text": text,
                "labels": [lb for lb in SAMPLE_LABELS if lb in labels],
                "date": day.isoformat(),
                "source": outlet.slug,
                "title": title,
            }
        )
    return records


def write_sample(path: str | Path, n: int = DEFAULT_N, seed: int = DEFAULT_SEED) -> Path:
    """Write :func:`generate_sample` as gzip JSON Lines, byte-identical for the same arguments.

    Args:
        path: Output file (``.jsonl.gz``); parent folders are created.
        n: Number of articles.
        seed: Generator seed.

    Returns:
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (
        json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n"
        for rec in generate_sample(n=n, seed=seed)
    )
    payload = "".join(lines).encode("utf-8")
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(payload)
    return path


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: regenerate the bundled ``news.jsonl.gz`` (or another file)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="number of articles")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).with_name("news.jsonl.gz"),
        help="output .jsonl.gz file (default: the bundled sample)",
    )
    args = parser.parse_args(argv)
    written = write_sample(args.out, n=args.n, seed=args.seed)
    print(f"wrote n={args.n} seed={args.seed} path={written} bytes={written.stat().st_size}")


if __name__ == "__main__":
    main()
