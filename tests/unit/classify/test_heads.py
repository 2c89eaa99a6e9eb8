"""Head factories: each builds a plain estimator that fits tiny dense data and gives scores."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.neural_network import MLPClassifier
from sklearn.svm import LinearSVC

from arnews_ml.classify import heads
from arnews_ml.exceptions import ConfigError, DataError
from arnews_ml.testing import build_head


def _blobs(n_per: int = 20, k: int = 3, dim: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(k, dim))
    X = np.vstack([c + rng.normal(size=(n_per, dim)) for c in centers])
    y = np.repeat(np.arange(k), n_per)
    return X.astype(np.float32), y


FACTORIES = {
    "logreg": lambda: heads.logreg(C=1.0),
    "linear_svc": lambda: heads.linear_svc(C=0.5, cv=3),
    "sgd": lambda: heads.sgd(alpha=1e-3),
    "knn": lambda: heads.knn(n_neighbors=5),
    "mlp": lambda: heads.mlp(hidden_layer_sizes=[16], learning_rate_init=0.01, max_iter=300),
}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_each_head_fits_and_gives_probabilities(name):
    X, y = _blobs()
    est = FACTORIES[name]().fit(X, y)
    proba = est.predict_proba(X)
    assert proba.shape == (len(y), 3)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert (est.predict(X) == y).mean() > 0.8


def test_linear_svc_is_calibrated_svm():
    est = heads.linear_svc(C=0.25, calibration="isotonic", cv=2, random_state=3)
    assert isinstance(est, CalibratedClassifierCV)
    assert isinstance(est.estimator, LinearSVC)
    assert est.estimator.C == 0.25 and est.estimator.class_weight == "balanced"
    assert est.method == "isotonic" and est.cv == 2 and est.estimator.random_state == 3


def test_mlp_turns_yaml_list_into_tuple():
    est = heads.mlp(hidden_layer_sizes=[256, 64], random_state=7)
    assert isinstance(est, MLPClassifier)
    assert est.hidden_layer_sizes == (256, 64)
    assert est.early_stopping is True and est.random_state == 7
    assert heads.mlp(hidden_layer_sizes=32).hidden_layer_sizes == (32,)


def test_defaults_follow_the_issue():
    assert heads.logreg().class_weight == "balanced"
    assert heads.sgd().loss == "modified_huber"
    knn = heads.knn()
    assert (knn.n_neighbors, knn.metric, knn.weights) == (15, "cosine", "distance")
    assert heads.sgd(random_state=5).random_state == 5


def test_bad_options_raise_config_errors():
    with pytest.raises(ConfigError, match="calibration"):
        heads.linear_svc(calibration="platt")
    with pytest.raises(ConfigError, match="hidden_layer_sizes"):
        heads.mlp(hidden_layer_sizes=[])


def test_a_head_comes_from_its_yaml_and_the_run_seed_reaches_it():
    from arnews_ml.config import compose, instantiate

    est = build_head("logreg", C=3.0)
    assert est.C == 3.0 and est.class_weight == "balanced"
    for name in ("logreg", "svm", "linear_svc", "sgd", "mlp"):
        cfg = compose("train", [f"classifier={name}", "seed=21"])
        head = instantiate(cfg.classifier, name="classifier")
        params = head.get_params()
        seed = params.get("random_state", params.get("estimator__random_state"))
        assert seed == 21, name


def test_check_head_fits_names_the_problem():
    Y = np.array([[1, 0], [1, 0], [0, 1], [1, 1]])
    with pytest.raises(ConfigError, match="n_neighbors=15"):
        heads.check_head_fits(heads.knn(), Y, ["a", "b"], multilabel=True, chain=False)
    with pytest.raises(DataError, match="'a' has 1 negative examples"):
        heads.check_head_fits(heads.linear_svc(cv=3), Y, ["a", "b"], multilabel=True, chain=False)
    full = np.array([[1, 0], [1, 1], [1, 0]])
    with pytest.raises(DataError, match="'a' is on every training article"):
        heads.check_head_fits(heads.logreg(), full, ["a", "b"], multilabel=True, chain=True)
    one = np.array([[1, 0]] + [[0, 1]] * 29)
    with pytest.raises(DataError, match="'a' has 1 training articles, fewer than the 2 that early"):
        heads.check_head_fits(heads.mlp(), one, ["a", "b"], multilabel=False, chain=False)
    heads.check_head_fits(
        heads.mlp(early_stopping=False), one, ["a", "b"], multilabel=False, chain=False
    )
    with pytest.raises(DataError, match="early-stopping split"):
        heads.check_head_fits(
            heads.mlp(), np.eye(3)[[0, 1, 2] * 3], list("abc"), multilabel=False, chain=False
        )
    # one-vs-rest tolerates a label on every article (a constant predictor)
    heads.check_head_fits(heads.logreg(), full, ["a", "b"], multilabel=True, chain=False)


def test_svm_is_a_plain_linear_svm_scored_by_its_margin():
    est = heads.svm()
    assert isinstance(est, LinearSVC) and not hasattr(est, "predict_proba")
    assert est.C == 1.0 and est.class_weight == "balanced"
    assert build_head("svm", C=0.5, random_state=4).get_params()["random_state"] == 4
    X, y = _blobs()
    assert (est.fit(X, y).predict(X) == y).mean() > 0.8


def test_auto_class_weight_is_none_only_where_thresholds_set_each_label():
    head = build_head("svm", C_grid=None)  # the default config asks for "auto"
    assert head.class_weight == "auto"
    tuned = heads.head_for_task(head, multilabel=True, tuned=True)
    assert tuned.class_weight is None and tuned is not head
    assert head.class_weight == "auto"  # the template is not modified
    for multilabel, tuned_flag in ((False, True), (True, False), (False, False)):
        resolved = heads.head_for_task(head, multilabel=multilabel, tuned=tuned_flag)
        assert resolved.class_weight == "balanced"
    # nested: the calibrated SVM carries the weight on its inner estimator
    calibrated = heads.head_for_task(
        heads.linear_svc(class_weight="auto"), multilabel=False, tuned=True
    )
    assert calibrated.estimator.class_weight == "balanced"
    # a weight given explicitly is kept
    kept = heads.head_for_task(heads.svm(class_weight="balanced"), multilabel=True, tuned=True)
    assert kept.class_weight == "balanced"
    X, y = _blobs()
    assert (resolved.fit(X, y).predict(X) == y).mean() > 0.8
