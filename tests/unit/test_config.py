"""Every primary config and every group option composes; every _target_ builds."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from arnews_ml.config import CONFIG_DIR, compose, instantiate, register_resolvers
from arnews_ml.exceptions import ConfigError

PRIMARY = ["corpus", "train", "topics"]


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


@pytest.mark.parametrize("name", PRIMARY)
def test_primary_configs_compose_and_resolve(name: str) -> None:
    cfg = compose(name)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert resolved["data"]["_target_"].startswith("arnews_ml.data.")
    assert resolved["seed"] == cfg.seed


@pytest.mark.parametrize("option", _options("classifier"))
def test_every_classifier_builds_an_sklearn_estimator(option: str) -> None:
    from sklearn.base import BaseEstimator

    cfg = compose("train", [f"classifier={option}"])
    head = instantiate(cfg.classifier, expected_type=BaseEstimator, name="classifier")
    assert head.get_params()  # a real, unwrapped estimator


@pytest.mark.parametrize("option", _options("embedder"))
def test_every_embedder_config_builds(option: str, tiny_st_model) -> None:
    # The sentence-transformers option names a hub model; offline, point it at a local one.
    local = [f"embedder.model={tiny_st_model}"] if option == "sentence_transformer" else []
    cfg = compose("train", [f"embedder={option}", *local])
    embedder = instantiate(cfg.embedder, name="embedder")
    assert option.startswith(embedder.spec.kind)


@pytest.mark.parametrize("option", _options("data"))
def test_every_data_option_composes(option: str) -> None:
    cfg = compose("train", [f"data={option}"])
    assert set(cfg.data.split) >= {"method", "val_size", "test_size", "seed"}


@pytest.mark.parametrize("option", _options("text"))
def test_every_text_option_builds_a_cleaner(option: str) -> None:
    from arnews_ml.tasks.common import build_cleaner

    cfg = compose("train", [f"text={option}"])
    cleaner = build_cleaner(cfg)
    assert cleaner.fit_transform(["  كَتَبَ   الطالبُ  "]) == ["كتب الطالب"]


@pytest.mark.parametrize("option", _options("tracking"))
def test_every_tracking_option_composes(option: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from arnews_ml.tracking import base

    cfg = compose("train", [f"tracking={option}"])
    if option == "server":  # no server runs here: skip the wait for one to answer
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
        monkeypatch.setattr(base, "check_tracking_server", lambda uri, wait_s=0: None)
    tracker = base.build_tracker(cfg.tracking)
    expected = {"mlflow": "MlflowTracker", "none": "NullTracker", "server": "MlflowTracker"}
    assert type(tracker).__name__ == expected[option]
    if option == "server":
        assert tracker.tracking_uri == "http://127.0.0.1:5000"


@pytest.mark.parametrize("option", _options("experiment"))
def test_every_experiment_preset_composes(option: str) -> None:
    cfg = compose("train", [f"experiment={option}"])
    assert OmegaConf.to_container(cfg, resolve=False)


def test_tuple_resolver_gives_tuples() -> None:
    register_resolvers()
    cfg = OmegaConf.create({"r": "${tuple:1,2}"})
    assert cfg.r == (1, 2)


def test_instantiate_refuses_targets_outside_the_allow_list() -> None:
    with pytest.raises(ConfigError, match=r"os\.system"):
        instantiate({"_target_": "os.system", "command": "true"}, name="evil")


def test_instantiate_refuses_nested_targets_outside_the_allow_list() -> None:
    cfg = {"_target_": "sklearn.pipeline.Pipeline", "steps": [{"_target_": "subprocess.run"}]}
    with pytest.raises(ConfigError, match=r"subprocess\.run"):
        instantiate(cfg, name="pipe")


@pytest.mark.parametrize(
    "target",
    [
        "arnews_ml.persist.shutil.copy",  # a module an allowed module imported
        "arnews_ml.tasks.common.Path",  # a class imported into an allowed module
        "sklearn.base.np.save",  # numpy through sklearn
        "sklearn.datasets.dump_svmlight_file",  # a real sklearn function that writes files
        "arnews_ml.data.sample.generate.main",  # package code, but no buildable part
        "arnews_ml.persist.save_bundle",
        "arnews_ml.no_such_module.thing",
    ],
)
def test_a_target_is_checked_by_what_it_resolves_to_not_by_its_name(target, tmp_path) -> None:
    written = tmp_path / "written"
    cfg = {"_target_": target, "src": str(tmp_path), "dst": str(written)}
    with pytest.raises(
        ConfigError, match=r"not one of arnews_ml's buildable parts|cannot be found"
    ):
        instantiate(cfg, name="evil")
    assert not written.exists()


def test_every_packaged_target_and_sklearn_estimators_are_buildable_parts() -> None:
    from arnews_ml.classify.heads import svm
    from arnews_ml.config import buildable_parts, check_target
    from arnews_ml.topics.parts import SklearnPart

    parts = buildable_parts()
    assert svm in parts and SklearnPart in parts
    check_target("sklearn.linear_model.LogisticRegression", "classifier")
    check_target("arnews_ml.embed.TfidfEmbedder", "embedder")  # a re-exported part


def test_instantiate_converts_containers_and_checks_the_type() -> None:
    from sklearn.feature_extraction.text import CountVectorizer

    cfg = OmegaConf.create(
        {"_target_": "sklearn.feature_extraction.text.CountVectorizer", "stop_words": ["x"]}
    )
    vec = instantiate(cfg, expected_type=CountVectorizer)
    assert type(vec.stop_words) is list
    with pytest.raises(ConfigError, match="is required here"):
        instantiate(cfg, expected_type=dict, name="vectorizer")


def test_instantiate_without_target_names_the_key() -> None:
    with pytest.raises(ConfigError, match="'classifier' has no _target_"):
        instantiate({"C": 1.0}, name="classifier")


@pytest.mark.parametrize("option", _options("topic_model"))
def test_every_topic_model_option_builds(option: str) -> None:
    from arnews_ml.tasks.fit_topics import build_topic_model
    from arnews_ml.testing import FakeEmbedder
    from arnews_ml.topics.model import TopicModel

    cfg = compose("topics", [f"topic_model={option}"])
    model = build_topic_model(cfg, FakeEmbedder(), seed=3)
    assert isinstance(model, TopicModel)
    assert model.seed == 3
    options = model.backend.options
    assert f"{type(options).__module__}.{type(options).__qualname__}" == cfg.topic_model._target_


def test_package_errors_raised_by_a_target_come_through_unwrapped(tmp_path) -> None:
    from arnews_ml.exceptions import DataError

    cfg = {"_target_": "arnews_ml.data.load_corpus", "path": str(tmp_path / "absent.csv")}
    with pytest.raises(DataError, match=r"absent\.csv"):
        instantiate(cfg, name="data")


@pytest.mark.parametrize("option", _options("hparams_search"))
def test_every_search_preset_composes_with_its_sweeper_and_searches_existing_keys(
    option: str,
) -> None:
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    primary = "topics" if option.startswith("topics") else "train"
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = hydra_compose(primary, [f"hparams_search={option}"], return_hydra_config=True)
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("OptunaSweeper")
    assert sweeper.n_trials >= 10 and sweeper.direction == "maximize"
    assert not cfg.objective.startswith("test_")  # never select on a test split
    groups = set(cfg.hydra.runtime.choices)
    for key in sweeper.params:
        if key in groups:
            continue
        parent, _, leaf = key.rpartition(".")
        assert leaf in OmegaConf.select(cfg, parent), key


def test_runs_started_in_the_same_second_get_folders_of_their_own() -> None:
    import os

    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = hydra_compose("train", return_hydra_config=True)
    run_dir = OmegaConf.to_container(cfg.hydra.run, resolve=True)["dir"]
    assert run_dir.endswith(f"-{os.getpid()}")
