"""Topic baselines saved as JSON and plain arrays come back as the same estimators."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition import NMF, LatentDirichletAllocation
from sklearn.feature_extraction.text import TfidfTransformer

from arnews_ml.exceptions import ArtifactError
from arnews_ml.topics.baselines import (
    ARRAYS_FILE,
    ESTIMATOR_FILE,
    STATE_FILE,
    load_baseline,
    save_baseline,
)


def counts(seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = rng.integers(0, 4, size=(40, 25)) * (rng.random((40, 25)) < 0.3)
    return sp.csr_matrix(dense.astype(np.float64))


def test_nmf_and_its_weighting_round_trip_as_plain_arrays(tmp_path) -> None:
    weighting = TfidfTransformer(sublinear_tf=True).fit(counts(0))
    nmf = NMF(n_components=3, init="nndsvda", max_iter=400, random_state=1)
    nmf.fit(weighting.transform(counts(0)))
    save_baseline(tmp_path, nmf, weighting)
    assert (tmp_path / STATE_FILE).is_file() and (tmp_path / ARRAYS_FILE).is_file()
    assert not (tmp_path / ESTIMATOR_FILE).exists()
    nmf2, weighting2 = load_baseline(tmp_path)
    new = counts(1)
    assert np.array_equal(weighting2.transform(new).toarray(), weighting.transform(new).toarray())
    assert np.array_equal(
        nmf2.transform(weighting.transform(new)), nmf.transform(weighting.transform(new))
    )
    assert nmf2.get_params() == nmf.get_params()


def test_lda_keeps_skops(tmp_path) -> None:
    lda = LatentDirichletAllocation(n_components=2, max_iter=5, random_state=0).fit(counts(0))
    save_baseline(tmp_path, lda, None)
    assert (tmp_path / ESTIMATOR_FILE).is_file() and not (tmp_path / STATE_FILE).exists()
    lda2, weighting = load_baseline(tmp_path)
    assert weighting is None
    assert np.allclose(lda2.transform(counts(1)), lda.transform(counts(1)))


def test_a_class_outside_the_allowlist_is_refused(tmp_path) -> None:
    nmf = NMF(n_components=2, init="nndsvda", max_iter=300, random_state=0).fit(counts(0))
    save_baseline(tmp_path, nmf, None)
    state = json.loads((tmp_path / STATE_FILE).read_text())
    state["estimator"]["class"] = "Pipeline"
    (tmp_path / STATE_FILE).write_text(json.dumps(state))
    with pytest.raises(ArtifactError, match=r"Pipeline.*not trusted"):
        load_baseline(tmp_path)
