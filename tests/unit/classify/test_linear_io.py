"""Linear heads saved as plain arrays: exact round trips, refusals, and no skops on the way."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

from arnews_ml.classify import TextClassifier
from arnews_ml.classify.linear_io import (
    LINEAR_FORMAT,
    linear_state,
    load_linear_head,
    save_linear_head,
)
from arnews_ml.exceptions import ArtifactError
from arnews_ml.persist import MANIFEST_FILE, load_bundle, save_bundle
from arnews_ml.persist_integrity import seal_manifest
from arnews_ml.testing import FakeEmbedder

HEADS = {
    "svm": LinearSVC(C=0.7, class_weight="balanced", random_state=0),
    "logreg": LogisticRegression(C=3.0, max_iter=300),
    "sgd_huber": SGDClassifier(loss="modified_huber", random_state=0),
    "sgd_hinge": SGDClassifier(loss="hinge", random_state=0, class_weight="balanced"),
}


def _data(seed: int = 0):
    X = sp.random(120, 50, density=0.2, format="csr", random_state=seed)
    y = np.arange(120) % 3
    Y = np.eye(3, dtype=int)[y]
    Y[::5, 0] = 1  # some rows with two labels
    return X, y, Y


def _same_outputs(a, b, X) -> None:
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    for method in ("decision_function", "predict_proba"):
        if hasattr(a, method):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                np.testing.assert_array_equal(getattr(a, method)(X), getattr(b, method)(X))


@pytest.mark.parametrize("name", sorted(HEADS))
@pytest.mark.parametrize("multilabel", [False, True], ids=["multiclass", "multilabel"])
def test_round_trip_is_exact(tmp_path, name, multilabel):
    X, y, Y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        head = OneVsRestClassifier(HEADS[name]).fit(X, Y) if multilabel else HEADS[name].fit(X, y)
    entry = save_linear_head(head, tmp_path / "head.npz")
    assert entry is not None and entry["format"] == LINEAR_FORMAT
    json.dumps(entry)  # the entry goes into the manifest as plain JSON
    loaded = load_linear_head(tmp_path / "head.npz", json.loads(json.dumps(entry)))
    assert type(loaded) is type(head)
    assert loaded.get_params(deep=False).keys() == head.get_params(deep=False).keys()
    _same_outputs(loaded, head, X)


@pytest.mark.parametrize(
    "head",
    [
        CalibratedClassifierCV(LinearSVC(random_state=0), cv=2),
        LinearSVC(class_weight={0: 2.0, 1: 1.0, 2: 1.0}, random_state=0),  # int keys: not JSON
    ],
    ids=["calibrated", "int-keyed-class-weight"],
)
def test_heads_the_format_cannot_keep_exactly_are_left_to_skops(tmp_path, head):
    X, y, _ = _data()
    head.fit(X, y)
    assert linear_state(head) is None
    assert save_linear_head(head, tmp_path / "head.npz") is None
    assert not (tmp_path / "head.npz").exists()


def _saved(tmp_path):
    X, y, _ = _data()
    head = LinearSVC(random_state=0).fit(X, y)
    entry = save_linear_head(head, tmp_path / "head.npz")
    return entry, tmp_path / "head.npz"


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda p: p.write_bytes(pickle.dumps({"coef_": [1.0]})), "not a plain-array .npz"),
        (lambda p: p.write_bytes(p.read_bytes()[:40]), "not a plain-array .npz"),
        (lambda p: p.unlink(), "does not exist"),
        (
            lambda p: np.savez(p, **{"head.coef_": np.array([object()], dtype=object)}),
            "not a plain-array .npz",
        ),
        (lambda p: np.savez(p, other=np.zeros(2)), "lacks the array"),
    ],
    ids=["pickle", "truncated", "missing", "object-array", "wrong-arrays"],
)
def test_a_damaged_array_file_is_refused(tmp_path, damage, needle):
    entry, path = _saved(tmp_path)
    damage(path)
    with pytest.raises(ArtifactError, match=needle):
        load_linear_head(path, entry)


def test_a_class_outside_the_registry_is_never_built(tmp_path):
    entry, path = _saved(tmp_path)
    entry["head"]["class"] = "Popen"
    with pytest.raises(ArtifactError, match="does not rebuild"):
        load_linear_head(path, entry)


def test_a_forged_manifest_naming_another_class_is_refused(tmp_path):
    texts = ["البرلمان", "المباراة", "النفط", "النواب", "الملعب", "البنك"]
    labels = [["politics"], ["sports"], ["economy"]] * 2
    clf = TextClassifier(FakeEmbedder(dim=8), LinearSVC(random_state=0)).fit(texts, labels)
    bundle = save_bundle(clf, tmp_path / "bundle")
    manifest = json.loads((bundle / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["head"]["format"] == LINEAR_FORMAT
    assert "head.npz" in manifest["files"] and "head.skops" not in manifest["files"]
    manifest["head"]["head"]["class"] = "subprocess.Popen"
    (bundle / MANIFEST_FILE).write_text(json.dumps(seal_manifest(manifest)), encoding="utf-8")
    with pytest.raises(ArtifactError, match="not trusted"):
        load_bundle(bundle)


def test_saving_and_loading_a_default_bundle_never_imports_skops(tmp_path):
    script = f"""
import sys
from arnews_ml.classify import TextClassifier
from arnews_ml.classify.heads import svm
from arnews_ml.embed.tfidf import TfidfEmbedder
from arnews_ml.persist import load_bundle, save_bundle
texts = ["البرلمان صوت", "فاز الفريق", "ارتفع النفط", "النواب صوتوا", "الملعب امتلأ", "البنك رفع"]
labels = [["politics"], ["sports"], ["economy"], ["politics", "economy"], ["sports"], ["economy"]]
clf = TextClassifier(TfidfEmbedder(min_df=1, max_df=1.0), svm()).fit(texts, labels)
bundle = save_bundle(clf, {str(tmp_path / "bundle")!r})
loaded = load_bundle(bundle)
assert loaded.predict(texts) == clf.predict(texts)
print(sorted(m for m in ("skops.io", "torch") if m in sys.modules))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


@pytest.mark.parametrize("classes", [2, 3, "multilabel"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stacked_weights_give_scikit_learns_margins_exactly(classes, dtype):
    from arnews_ml.classify.linear_io import decision_weights

    X, y, Y = _data()
    X = X.astype(dtype)
    if classes == "multilabel":
        head = OneVsRestClassifier(LinearSVC(random_state=0)).fit(X, Y)
    else:
        head = LinearSVC(random_state=0).fit(X, y % classes)
    W, b = decision_weights(head)
    margins = np.asarray(X @ W) + b
    expected = head.decision_function(X)
    np.testing.assert_array_equal(margins if expected.ndim == 2 else margins[:, 0], expected)
    single = np.asarray(X[:1] @ W) + b  # one article: the same numbers as in the batch
    np.testing.assert_array_equal(single[0], margins[0])


def test_heads_with_probabilities_keep_their_own_scoring():
    from arnews_ml.classify.linear_io import decision_weights

    X, y, Y = _data()
    assert decision_weights(LogisticRegression().fit(X, y)) is None
    assert decision_weights(OneVsRestClassifier(LogisticRegression()).fit(X, Y)) is None
