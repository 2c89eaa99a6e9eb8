"""BoilerplateRemover: lines learned per source and globally, stripped, reported, saved."""

from __future__ import annotations

import json

import pytest
from sklearn.exceptions import NotFittedError

from arnews_ml.exceptions import ArtifactError, ConfigError, DataError
from arnews_ml.text import BoilerplateRemover

HEADER_A = "موقـع الأخبار العاجلة"  # site_a, 4 of its 6 articles
FOOTER_A = "اقرأ الخبر من المصدر"  # site_a, all 6 articles
HEADER_B = "المصدر: وكالة الأنباء"  # site_b, all 10 articles
SHARE = "أضف تعليقك"  # 2 site_a + 2 site_b + 1 unsourced article: only common overall

CONTENT_A = [
    "نفّذت القواتُ عمليةً في صلاح الدين",
    "ارتفعت أسعار النفط إلى 85 دولاراً",
    "فاز الزوراء على الشرطة ٢-١ في الدوري",
    "افتتاح مستشفى جديد في البصرة 😀",
    "البرلمـان يصوّت على الموازنة",
    "اجتماع حول مستقبل قوات التحالف",
]
CONTENT_B = [f"خبر رقم {i} من الوكالة عن موضوع مختلف {i * 7}" for i in range(10)]


def _doc_a(i: int) -> str:
    lines = [HEADER_A] if i < 4 else []
    # Folding: extra spaces and a right-to-left mark do not make a different line.
    lines += [CONTENT_A[i], "  اقرأ   الخبر من المصدر\u200f " if i == 5 else FOOTER_A]
    if i < 2:
        lines.append(SHARE)
    return "\n".join(lines)


def _doc_b(i: int) -> str:
    lines = [HEADER_B, CONTENT_B[i]]
    if i < 2:
        lines.append(SHARE)
    return "\n".join(lines)


TEXTS = [_doc_a(i) for i in range(6)] + [_doc_b(i) for i in range(10)] + [f"تقرير\n{SHARE}"]
SOURCES = ["site_a"] * 6 + ["site_b"] * 10 + [None]
PARAMS = {"min_doc_share": 0.3, "min_docs": 3, "max_line_words": 10}
# Thresholds: site_a max(3, ceil(1.8)) = 3, site_b max(3, 3) = 3, all 17 docs max(3, 6) = 6.


@pytest.fixture
def fitted() -> BoilerplateRemover:
    return BoilerplateRemover(**PARAMS).fit(TEXTS, SOURCES)


def test_lines_are_learned_per_source_and_globally(fitted: BoilerplateRemover) -> None:
    assert fitted.threshold(17) == 6
    assert fitted.lines_ == {
        "*": [HEADER_B, FOOTER_A],
        "site_a": [FOOTER_A, HEADER_A],
        "site_b": [HEADER_B],
    }
    assert fitted.n_docs_ == {"*": 17, "site_a": 6, "site_b": 10}


def test_transform_strips_the_lines_of_the_documents_source(fitted: BoilerplateRemover) -> None:
    out = fitted.transform(TEXTS, SOURCES)
    assert out[0] == f"{CONTENT_A[0]}\n{SHARE}"
    assert out[5] == CONTENT_A[5]
    assert out[6] == f"{CONTENT_B[0]}\n{SHARE}"
    assert out[9] == CONTENT_B[3]
    assert fitted.n_emptied_ == 0


def test_lines_of_one_source_stay_in_another(fitted: BoilerplateRemover) -> None:
    doc = f"{HEADER_A}\n{HEADER_B}\nنص الخبر"
    # site_b loses its own header (and global lines), but HEADER_A is only site_a's.
    assert fitted.transform([doc], ["site_b"]) == [f"{HEADER_A}\nنص الخبر"]
    # Unknown source (None, missing, unseen): every learned line goes.
    expected = ["نص الخبر"] * 4
    assert fitted.transform([doc] * 4, [None, float("nan"), "", "new_site"]) == expected
    assert fitted.transform([doc]) == ["نص الخبر"]


def test_a_line_common_in_no_single_source_is_learned_with_a_lower_global_bar() -> None:
    remover = BoilerplateRemover(min_doc_share=0.25, min_docs=3).fit(TEXTS, SOURCES)
    # All-docs threshold max(3, ceil(4.25)) = 5: SHARE (5 docs) is global, in no source's list.
    assert SHARE in remover.lines_["*"]
    assert SHARE not in remover.lines_["site_a"] + remover.lines_["site_b"]
    assert remover.transform([_doc_a(0)], ["site_a"]) == [CONTENT_A[0]]


def test_without_sources_there_is_one_group() -> None:
    remover = BoilerplateRemover(**PARAMS).fit(TEXTS)
    assert list(remover.lines_) == ["*"]
    assert remover.lines_["*"] == [HEADER_B, FOOTER_A]
    per_source_off = BoilerplateRemover(**PARAMS, per_source=False).fit(TEXTS, SOURCES)
    assert per_source_off.lines_ == remover.lines_


def test_long_lines_are_never_boilerplate() -> None:
    long_line = " ".join(["كلمة"] * 11)
    texts = [f"{long_line}\nخبر {i}" for i in range(6)]
    assert BoilerplateRemover(**PARAMS).fit(texts).lines_ == {"*": []}
    assert BoilerplateRemover(**{**PARAMS, "max_line_words": 11}).fit(texts).lines_ == {
        "*": [long_line]
    }


def test_report_rows_sorted_by_documents(fitted: BoilerplateRemover) -> None:
    assert fitted.report() == [
        {"source": "*", "line": HEADER_B, "n_docs": 10},
        {"source": "site_b", "line": HEADER_B, "n_docs": 10},
        {"source": "*", "line": FOOTER_A, "n_docs": 6},
        {"source": "site_a", "line": FOOTER_A, "n_docs": 6},
        {"source": "site_a", "line": HEADER_A, "n_docs": 4},
    ]


def test_a_document_that_would_be_emptied_is_kept_and_counted(
    fitted: BoilerplateRemover,
) -> None:
    only_boilerplate = f"{HEADER_A}\n\n{FOOTER_A}\n"
    out = fitted.transform(["", only_boilerplate, _doc_a(1)], [None, "site_a", "site_a"])
    assert out == ["", only_boilerplate, f"{CONTENT_A[1]}\n{SHARE}"]
    assert fitted.n_emptied_ == 1
    assert fitted.emptied_ == [1]
    fitted.transform([_doc_a(2)], ["site_a"])
    assert fitted.n_emptied_ == 0  # reset by every transform


def test_to_dict_round_trips_through_json(fitted: BoilerplateRemover) -> None:
    state = json.loads(json.dumps(fitted.to_dict(), ensure_ascii=False))
    loaded = BoilerplateRemover.from_dict(state)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.lines_ == fitted.lines_
    assert loaded.report() == fitted.report()
    assert loaded.transform(TEXTS, SOURCES) == fitted.transform(TEXTS, SOURCES)
    unfitted = BoilerplateRemover.from_dict(BoilerplateRemover(min_docs=7).to_dict())
    assert unfitted.min_docs == 7
    assert not hasattr(unfitted, "lines_")


def test_from_dict_refuses_foreign_or_newer_state(fitted: BoilerplateRemover) -> None:
    with pytest.raises(ArtifactError, match="Not a saved BoilerplateRemover"):
        BoilerplateRemover.from_dict({"lines": {}})
    with pytest.raises(ArtifactError, match="format_version 99"):
        BoilerplateRemover.from_dict({**fitted.to_dict(), "format_version": 99})
    with pytest.raises(ArtifactError, match="malformed"):
        BoilerplateRemover.from_dict({**fitted.to_dict(), "n_docs": None})


def test_fit_transform_equals_fit_then_transform() -> None:
    remover = BoilerplateRemover(**PARAMS)
    assert remover.fit_transform(iter(TEXTS), iter(SOURCES)) == remover.transform(TEXTS, SOURCES)


def test_errors_name_the_problem() -> None:
    with pytest.raises(NotFittedError, match="call fit"):
        BoilerplateRemover().transform(["نص"])
    with pytest.raises(DataError, match="2 texts but 1 sources"):
        BoilerplateRemover(**PARAMS).fit(["أ", "ب"], ["s"])
    with pytest.raises(DataError, match="Document 1 is a NoneType"):
        BoilerplateRemover(**PARAMS).fit(["أ", None])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="min_docs must be an integer >= 2"):
        BoilerplateRemover(min_docs=1).fit(TEXTS)
    with pytest.raises(ConfigError, match=r"min_doc_share must be a number in \[0, 1\]"):
        BoilerplateRemover(min_doc_share=5).fit(TEXTS)


def test_short_key_agrees_with_folding_every_line():
    import random

    from arnews_ml.text.boilerplate import _fold, _short_key

    rng = random.Random(7)
    pieces = ["خبر", "أضف", "تعليقك", "\u200b", "\u200f", " ", "  ", "\t", "word", "١٢"]
    for _ in range(2000):
        line = "".join(
            rng.choice(pieces) + rng.choice([" ", "", "\u200c"]) for _ in range(rng.randint(0, 14))
        )
        folded = _fold(line)
        expected = folded if len(folded.split()) <= 5 else None
        assert _short_key(line, 5) == expected, repr(line)


def test_screened_transform_agrees_with_checking_every_line(fitted: BoilerplateRemover) -> None:
    import random

    from arnews_ml.text.boilerplate import _fold, _source_key

    rng = random.Random(11)
    marked = FOOTER_A.replace("الخبر", "ال\u200cخبر")  # an invisible mark inside a word
    pieces = [HEADER_A, HEADER_B, FOOTER_A, marked, SHARE, *CONTENT_A, "  ", "المصدر نفسه"]
    for _ in range(300):
        text = "\n".join(rng.choice(pieces) for _ in range(rng.randint(1, 5)))
        text += "\nنص يبقى"
        source = rng.choice(["site_a", "site_b", None, "unseen"])
        remove = fitted._rules_for(_source_key(source)).lines
        lines = text.splitlines()
        kept = [line for line in lines if _fold(line) not in remove]
        expected = text if len(kept) == len(lines) else "\n".join(kept)
        assert fitted.transform([text], [source]) == [expected], (text, source)
