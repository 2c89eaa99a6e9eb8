"""A config's hydra node cannot make Hydra build arbitrary code (issue 10, config safety)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from arnews_ml.config_guard import check_command_line, check_hydra_targets, untrusted_hydra_source
from arnews_ml.exceptions import ConfigError


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("+hydra.callbacks.evil._target_=os.system", "outside hydra.*, arnews_ml.*"),
        ("+hydra.callbacks.evil._target_=arnews_ml.persist.shutil.copy", "resolves to shutil.copy"),
        ("+hydra.callbacks.evil._target_=hydra.utils.instantiate", "not a Hydra callback"),
        ("+hydra.callbacks.evil._target_=arnews_ml.no_such.Thing", "cannot be found"),
        ("hydra.launcher._target_=subprocess.Popen", "outside hydra.*, hydra_plugins.*"),
        ("hydra.sweeper._target_=hydra.utils.call", "not a Hydra sweeper"),
        (
            "hydra.launcher._target_=hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
            "not a Hydra launcher",
        ),
    ],
)
def test_a_hydra_override_naming_other_code_is_refused(override, needle):
    with pytest.raises(ConfigError, match=needle) as err:
        check_command_line("train", [override])
    assert "hydra." in str(err.value) and "not run" in str(err.value)


@pytest.mark.parametrize(
    "argv",
    [
        ["hydra/launcher=joblib"],
        ["hparams_search=svm_optuna"],
        ["+hydra.callbacks.log_return._target_=hydra.experimental.callbacks.LogJobReturnCallback"],
        ["hydra.launcher.n_jobs=2", "hydra/launcher=joblib"],
    ],
)
def test_hydras_own_parts_and_the_packaged_callbacks_pass(argv):
    check_command_line("train", argv)


def test_the_packaged_configs_are_not_composed_again():
    assert not untrusted_hydra_source(["classifier=logreg", "-m", "seed=1,2"])
    assert untrusted_hydra_source(["--config-dir", "somewhere"])
    assert untrusted_hydra_source(["--config-dir=somewhere"])
    assert untrusted_hydra_source(["~hydra.callbacks.mlflow_sweep"])


def _config_dir(tmp_path: Path, hydra_node: dict) -> Path:
    folder = tmp_path / "downloaded"
    folder.mkdir()
    config = {"defaults": ["train", "_self_"], "hydra": hydra_node}
    (folder / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return folder


def test_a_downloaded_config_folder_with_a_hostile_callback_is_refused(tmp_path):
    target = tmp_path / "written.txt"
    hostile = {
        "callbacks": {
            "evil": {"_target_": "shutil.copy", "src": __file__, "dst": str(target)},
        }
    }
    folder = _config_dir(tmp_path, hostile)
    with pytest.raises(ConfigError, match=r"hydra\.callbacks\.evil.*shutil\.copy"):
        check_command_line("train", ["--config-dir", str(folder), "--config-name", "config"])
    assert not target.exists()


def test_a_downloaded_config_folder_with_hydras_launcher_passes(tmp_path):
    folder = _config_dir(tmp_path, {"job": {"name": "mine"}})
    check_command_line("train", ["-cd", str(folder), "-cn", "config", "hydra/launcher=joblib"])


def test_a_config_that_cannot_be_composed_is_not_let_through(tmp_path):
    with pytest.raises(ConfigError, match="cannot be composed for its safety check"):
        check_command_line("train", ["--config-dir", str(tmp_path), "--config-name", "absent"])


def test_every_target_of_a_composed_node_is_checked():
    node = {
        "callbacks": {"ok": {"_target_": "arnews_ml.tracking.sweep.MlflowSweepCallback"}},
        "launcher": {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"},
        "sweeper": {"_target_": "builtins.eval"},
    }
    with pytest.raises(ConfigError, match=r"hydra\.sweeper"):
        check_hydra_targets(node)


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "hydra/launcher=slurm", "hydra.launcher.partition=gpu", "classifier=svm,logreg"],
        ["-m", "hydra.launcher.n_jobs=2", "hydra/launcher=joblib", "classifier.C=interval(0.1,1)"],
        ["hydra/launcher=slurm", "hydra.launcher.partition=gpu", "--cfg", "hydra", "-p", "hydra"],
        ["-m", "hydra.launcher.n_jobs=2", "hydra/launcher=joblib", "seed=range(1,4)"],
    ],
    ids=["slurm-sweep", "optuna-interval", "cfg-and-package-flags", "range"],
)
def test_documented_sweep_commands_pass(argv):
    check_command_line("train", argv)


@pytest.mark.parametrize(
    "override",
    ["+hydra.callbacks.x._target_=os.system,os.popen", "hydra.sweeper._target_=a.B,c.D"],
)
def test_a_sweep_over_a_part_hydra_builds_is_refused(override):
    with pytest.raises(ConfigError, match="sweeps over a part Hydra builds itself"):
        check_command_line("train", ["-m", override])


def test_each_option_of_a_swept_group_is_checked(tmp_path):
    folder = tmp_path / "mine"
    (folder / "classifier").mkdir(parents=True)
    hostile = {
        "_target_": "arnews_ml.classify.heads.svm",
        "hydra": {"callbacks": {"evil": {"_target_": "os.system"}}},
    }
    (folder / "classifier" / "evil.yaml").write_text(
        "# @package _global_\n" + yaml.safe_dump({"hydra": hostile["hydra"]}), encoding="utf-8"
    )
    argv = ["-m", "--config-dir", str(folder), "classifier=svm,evil"]
    with pytest.raises(ConfigError, match=r"hydra\.callbacks\.evil.*os\.system"):
        check_command_line("train", argv)
