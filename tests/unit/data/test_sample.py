"""The generated sample corpus: determinism, the bundled file, corpus constraints, load_sample."""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from arnews_ml.data.sample import SAMPLE_LABELS, SAMPLE_PATH, load_sample
from arnews_ml.data.sample.generate import LABEL_TEMPLATES, generate_sample, write_sample
from arnews_ml.data.sample.templates_bridges import BRIDGES
from arnews_ml.data.sample.templates_shared import FILLERS
from arnews_ml.data.sample.templating import (
    SlotFiller,
    add_diacritics,
    add_tatweel,
    known_slot,
    slot_names,
    to_arabic_digits,
)
from arnews_ml.data.sample.vocabulary import OUTLETS

EXPECTED_LABELS = (
    "security",
    "politics",
    "foreign_forces",
    "economy",
    "society",
    "sports",
    "health",
)


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return generate_sample()


def _all_templates() -> list[str]:
    out = list(FILLERS)
    for t in LABEL_TEMPLATES.values():
        out += [*t.titles, *t.leads, *t.body, *t.late]
    for b in BRIDGES:
        out += [*b.titles, *b.sentences]
    return out


def test_same_seed_same_records_and_other_seed_differs() -> None:
    a = generate_sample(n=50, seed=7)
    assert a == generate_sample(n=50, seed=7)
    assert [r["text"] for r in a] != [r["text"] for r in generate_sample(n=50, seed=8)]


def test_generate_rejects_non_positive_n() -> None:
    with pytest.raises(ValueError, match="n >= 1"):
        generate_sample(n=0)


def test_write_sample_is_byte_identical(tmp_path: Path) -> None:
    first = write_sample(tmp_path / "a.jsonl.gz", n=30, seed=3).read_bytes()
    second = write_sample(tmp_path / "sub" / "b.jsonl.gz", n=30, seed=3).read_bytes()
    assert first == second


def test_bundled_file_equals_default_generation(records: list[dict]) -> None:
    with gzip.open(SAMPLE_PATH, "rt", encoding="utf-8") as fh:
        bundled = [json.loads(line) for line in fh]
    assert bundled == records, "Regenerate with: python -m arnews_ml.data.sample.generate"
    assert SAMPLE_PATH.stat().st_size < 1_000_000


def test_every_template_slot_is_known() -> None:
    unknown = {name for tpl in _all_templates() for name in slot_names(tpl) if not known_slot(name)}
    assert not unknown


def test_bridges_cover_the_required_pairs() -> None:
    pairs = {b.labels for b in BRIDGES}
    for a, b in [
        ("security", "foreign_forces"),
        ("politics", "foreign_forces"),
        ("politics", "security"),
        ("economy", "politics"),
        ("health", "society"),
        ("society", "security"),
        ("sports", "society"),
        ("economy", "foreign_forces"),
    ]:
        assert tuple(sorted((a, b))) in pairs


def test_corpus_constraints(records: list[dict]) -> None:
    assert SAMPLE_LABELS == EXPECTED_LABELS
    assert len(records) >= 800
    assert len({r["id"] for r in records}) == len(records)
    assert len({r["text"] for r in records}) == len(records)
    words = [len(r["text"].split()) for r in records]
    assert min(words) >= 60 and max(words) <= 300
    months = {r["date"][:7] for r in records}
    assert len(months) >= 18
    counts = Counter(label for r in records for label in r["labels"])
    assert set(counts) == set(EXPECTED_LABELS)
    assert min(counts.values()) >= 60
    multi = sum(len(r["labels"]) >= 2 for r in records) / len(records)
    assert multi >= 0.20
    for r in records:
        assert r["text"].startswith(r["title"] + "\n\n")
        assert r["labels"] == [lb for lb in SAMPLE_LABELS if lb in r["labels"]]


def test_sources_carry_repeated_header_and_footer_lines(records: list[dict]) -> None:
    by_source: dict[str, list[list[str]]] = {}
    for r in records:
        by_source.setdefault(r["source"], []).append(r["text"].split("\n"))
    assert len(by_source) >= 5
    for outlet in OUTLETS:
        docs = by_source[outlet.slug]
        header_line = outlet.headers[0][0]
        footer_line = outlet.footers[0][-1]
        # Header right after the title and blank line; footer closes the text.
        assert sum(lines[2] == header_line for lines in docs) >= 0.3 * len(docs)
        assert sum(lines[-1] == footer_line for lines in docs) >= 0.3 * len(docs)


_MARKS = re.compile("[\u064b-\u0652\u0640]")  # diacritics and tatweel
_SLOT = re.compile(r"\{[^}]*\}")


def _pattern(template: str) -> re.Pattern[str]:
    """A regex matching any filling of ``template`` in de-noised text."""
    parts = _SLOT.split(_MARKS.sub("", template))
    return re.compile(".+?".join(re.escape(p) for p in parts))


def test_multilabel_articles_contain_bridging_content(records: list[dict]) -> None:
    patterns = {b.labels: [_pattern(s) for s in b.sentences] for b in BRIDGES}
    n_multi = 0
    for r in records:
        if len(r["labels"]) < 2:
            continue
        n_multi += 1
        text = _MARKS.sub("", r["text"]).translate(str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789"))
        matched = {
            label
            for key, ps in patterns.items()
            if set(key) <= set(r["labels"]) and any(p.search(text) for p in ps)
            for label in key
        }
        assert matched == set(r["labels"]), r["id"]
    assert n_multi >= 200


def test_surface_noise_helpers() -> None:
    assert to_arabic_digits("عام 2024") == "عام ٢٠٢٤"
    rng = random.Random(0)
    stretched = add_tatweel("أعلنت الحكومة اليوم", rng, 3)
    assert "ـ" in stretched and stretched.replace("ـ", "") == "أعلنت الحكومة اليوم"
    assert add_diacritics("قال المصدر", random.Random(0), share=1.0) == "قالَ المصدر"
    filler = SlotFiller(rng=random.Random(1), day=date(2024, 3, 5), outlet_name="X")
    text = filler.fill("{city*} {city*} {month} {num:3-3} {outlet}")
    first, second, *rest = text.split(" ")
    assert first == second and rest[-2:] == ["3", "X"] and "آذار" in text
    with pytest.raises(KeyError, match="Unknown template slot"):
        filler.fill("{nope}")


def test_load_sample_returns_full_corpus() -> None:
    corpus = load_sample()
    assert corpus.n_docs == 1000
    assert corpus.report.n_bad == 0
    assert corpus.label_set == tuple(sorted(EXPECTED_LABELS))
    assert list(corpus.frame.columns[:6]) == ["id", "text", "labels", "date", "source", "title"]
    assert corpus.is_multilabel
