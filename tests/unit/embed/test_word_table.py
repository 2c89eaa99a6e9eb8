"""Per-word results kept across batches never change a TF-IDF row, bounded or shared."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp

from arnews_ml.embed import word_table
from arnews_ml.embed.ngram_tfidf import CharNgramTfidf, WordNgramTfidf
from arnews_ml.embed.split_batch import SplitBatch
from arnews_ml.embed.word_table import WordTable, gather_rows
from arnews_ml.text.normalize import Normalizer
from arnews_ml.text.tokenize import ArabicAnalyzer

TRAIN = [
    "كتب الولد درسه في المدرسة صباحا في المدرسة",
    "ارتفعت اسعار النفط الى 85 دولارا للبرميل اليوم",
    "اسعار النفط ترتفع في الاسواق العالمية",
    "فاز فريق الزوراء على الشرطة في الدوري",
]
BATCHES = [
    ["اسعار النفط في بغداد", "", "الولد كتب"],
    ["فاز الزوراء", "النفط النفط النفط", "كلمة جديدة تماما", ""],
    ["", "", "في المدرسة والاسواق"],
]


def parts():
    return [
        CharNgramTfidf(ngram_range=(2, 4), dtype=np.float64),
        WordNgramTfidf(
            ArabicAnalyzer(normalizer=None, lowercase=False), ngram_range=(1, 2), dtype=np.float64
        ),
    ]


def fresh_rows(part_index: int, docs: list[str]) -> sp.csr_array:
    part = parts()[part_index]
    part.fit_transform(TRAIN)
    return part.transform(docs)


def assert_rows_equal(ours: sp.csr_array, theirs: sp.csr_array) -> None:
    np.testing.assert_allclose(sp.csr_array(ours).toarray(), theirs.toarray(), rtol=1e-12)


@pytest.mark.parametrize("part_index", [0, 1])
@pytest.mark.parametrize("max_words", [2, 5, None])
def test_rows_are_those_of_a_fresh_part_whatever_the_table_holds(
    part_index, max_words, monkeypatch
) -> None:
    if max_words is not None:
        monkeypatch.setattr(word_table, "MAX_WORDS", max_words)
    part = parts()[part_index]
    part.fit_transform(TRAIN)
    for docs in BATCHES * 2:
        assert_rows_equal(part.transform(docs), fresh_rows(part_index, docs))
    table = part.__dict__["_per_word"]
    assert len(table) <= max(max_words or word_table.MAX_WORDS, 7)


def test_a_refit_forgets_the_table() -> None:
    part = parts()[0]
    part.fit_transform(TRAIN)
    part.transform(BATCHES[0])
    part.fit_transform(TRAIN[:2])
    assert "_per_word" not in part.__dict__
    expected = parts()[0]
    expected.fit_transform(TRAIN[:2])
    assert_rows_equal(part.transform(BATCHES[1]), expected.transform(BATCHES[1]))


def test_a_normalising_analyzer_tokenises_whole_documents() -> None:
    analyzer = ArabicAnalyzer(normalizer=Normalizer())
    assert not analyzer.splits_at_whitespace
    assert ArabicAnalyzer(normalizer=None, lowercase=False).splits_at_whitespace
    part = WordNgramTfidf(analyzer, ngram_range=(1, 1), dtype=np.float64)
    part.fit_transform(TRAIN)
    assert "_per_word" not in (part.transform(BATCHES[0]), part.__dict__)[1]


def test_threads_sharing_a_part_get_the_rows_of_one_thread() -> None:
    part = parts()[0]
    part.fit_transform(TRAIN)
    docs = [f"{a} {b}" for a in TRAIN for b in TRAIN]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(part.transform, [docs[i::3] for i in range(3)] * 4))
    for index, rows in enumerate(results):
        assert_rows_equal(rows, fresh_rows(0, docs[index % 3 :: 3]))


def test_the_table_computes_only_new_words() -> None:
    seen: list[list[str]] = []

    def lengths(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        seen.append(list(words))
        return np.arange(len(words) + 1), np.asarray([len(w) for w in words])

    table = WordTable(lengths, max_words=3)
    rows, _, values = table.lookup(["ab", "c"])
    assert values[rows].tolist() == [2, 1]
    rows, _, values = table.lookup(["c", "def"])
    assert seen[-1] == ["def"] and values[rows].tolist() == [1, 3]
    rows, _, values = table.lookup(["gh", "ab"])  # over the bound: starts again
    assert seen[-1] == ["gh", "ab"] and len(table) == 2 and values[rows].tolist() == [2, 2]


def test_split_batch_lays_word_sequences_out_in_reading_order() -> None:
    batch = SplitBatch.of(["b a b", "", "c", "", ""])
    assert batch.words == ["b", "a", "c"]
    rows = np.asarray([2, 0, 1])  # table rows of b, a, c
    ptr = np.asarray([0, 1, 1, 3])  # row 0: [10]; row 1: []; row 2: [20, 21]
    values = np.asarray([10, 20, 21])
    sequence, doc_of = batch.expand(rows, ptr, values)
    assert sequence.tolist() == [20, 21, 10, 20, 21]
    assert doc_of.tolist() == [0, 0, 0, 0, 0]
    counts = batch.doc_words(np.float32).toarray()
    assert counts.tolist() == [[2, 1, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]]
    local_ptr, local_values = gather_rows(rows, ptr, values)
    assert local_ptr.tolist() == [0, 2, 3, 3] and local_values.tolist() == [20, 21, 10]


def test_the_table_grows_in_place_and_earlier_views_stay_valid() -> None:
    def codes(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        ptr = np.zeros(len(words) + 1, np.int64)
        np.cumsum([len(w) for w in words], out=ptr[1:])
        return ptr, np.asarray([ord(c) for w in words for c in w], np.int64)

    table = WordTable(codes)
    words = [f"w{i}x" * (1 + i % 3) for i in range(3000)]  # past the first capacity
    seen = []
    for start in range(0, 3000, 700):
        batch = words[start : start + 700]
        seen.append((batch, table.lookup(batch)))
    for batch, (rows, ptr, values) in seen:  # views taken before the table grew
        local_ptr, local_values = gather_rows(rows, ptr, values)
        again = [local_values[a:b] for a, b in itertools.pairwise(local_ptr)]
        assert ["".join(map(chr, codes)) for codes in again] == batch


def test_a_fork_never_copies_a_table_another_thread_is_filling() -> None:
    import os
    import threading
    import time

    started, finish = threading.Event(), threading.Event()

    def slow(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        started.set()
        finish.wait(5)
        return np.arange(len(words) + 1), np.arange(len(words))

    table = WordTable(slow)
    filler = threading.Thread(target=table.lookup, args=(["a", "b"],))
    filler.start()
    started.wait(5)
    threading.Timer(0.3, finish.set).start()
    begun = time.monotonic()
    pid = os.fork()  # waits for the filling thread to let go of the table
    if pid == 0:
        os._exit(0 if len(table) == 2 else 1)
    waited = time.monotonic() - begun
    _, status = os.waitpid(pid, 0)
    filler.join()
    assert os.WEXITSTATUS(status) == 0 and waited >= 0.25


def test_parts_in_either_order_share_a_batch_without_changing_it() -> None:
    fitted = parts()
    for part in fitted:
        part.fit_transform(TRAIN)
    docs = ["النفط النفط في بغداد في", "", "فاز الزوراء على الشرطة الشرطة"]
    expected = [fresh_rows(i, docs) for i in range(2)]
    batch = SplitBatch.of(docs)
    ids, indptr = batch.word_ids.copy(), batch.indptr.copy()
    for index in (0, 1, 0, 1):  # the char part first, then the word part, twice
        assert_rows_equal(fitted[index].transform_split(batch), expected[index])
    assert np.array_equal(batch.word_ids, ids) and np.array_equal(batch.indptr, indptr)
