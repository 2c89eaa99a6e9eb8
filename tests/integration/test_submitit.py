"""Sweeps through Hydra's submitit launcher (issue 11): the LOCAL executor runs every job in a
process of its own, as SLURM would (``hydra/launcher=slurm`` differs only in the executor).

Both jobs of a 2-job multirun are logged as children of one parent run in one store. On a
cluster the jobs may not inherit the launching shell's environment (``sbatch --export=NONE``):
then they find the parent run through ``<sweep dir>/arnews_sweep.json`` alone, which the second
case checks by taking ``ARNEWS_SWEEP`` away from the job processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from arnews_ml.config import CONFIG_DIR, register_resolvers

FAST = ["n_jobs=1", "report.worst_errors=5"]

# Imported at the start of every Python process that has this folder on PYTHONPATH: in
# submitit's job processes (SUBMITIT_EXECUTOR is set there) the sweep's environment variable
# is removed, as on a node that did not get the submitting shell's environment.
NO_SWEEP_ENV = """
import os
if os.environ.get("SUBMITIT_EXECUTOR"):
    os.environ.pop("ARNEWS_SWEEP", None)
"""


@pytest.mark.slow
@pytest.mark.parametrize("found_by", ["environment", "sweep file"])
def test_a_submitit_local_sweep_runs_each_job_in_its_own_process_under_one_parent(
    store: str, tmp_path: Path, found_by: str
):
    from mlflow.tracking import MlflowClient

    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "MLFLOW_TRACKING_URI": store}
    if found_by == "sweep file":
        hook = tmp_path / "hook"
        hook.mkdir()
        (hook / "sitecustomize.py").write_text(NO_SWEEP_ENV, encoding="utf-8")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hook), env.get("PYTHONPATH")]))
    sweep_dir = tmp_path / "sweep"
    command = [
        str(bin_dir / "arnews-train"),
        "-m",
        "hydra/launcher=submitit_local",
        "classifier=svm,logreg",
        f"hydra.sweep.dir={sweep_dir}",
        *FAST,
    ]
    proc = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _, stderr = proc.communicate(timeout=1500)
    assert proc.returncode == 0, stderr[-3000:]

    client = MlflowClient(tracking_uri=store)
    (experiment,) = client.search_experiments(filter_string="name = 'arnews-classifier'")
    runs = client.search_runs([experiment.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("arnews_ml.sweep_parent") == "true"]
    children = [r for r in runs if r is not parent]
    assert len(children) == 2  # every run in the store is the parent or one of its children
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert {c.info.run_name for c in children} == {"classifier=svm", "classifier=logreg"}
    assert {c.info.status for c in children} == {"FINISHED"}
    assert parent.info.status == "FINISHED" and parent.data.params["launcher"] == "LocalLauncher"
    assert parent.data.params["n_children"] == "2"

    # the parent was opened by the command we started, each job by a process of its own
    assert parent.data.tags["arnews_ml.pid"] == str(proc.pid)
    job_pids = {c.data.tags["arnews_ml.pid"] for c in children}
    assert len(job_pids) == 2 and str(proc.pid) not in job_pids
    # submitit's own record of the two jobs (pickles and logs) is in the sweep folder
    job_logs = list((sweep_dir / ".submitit").glob("*/*_log.out"))
    assert len(job_logs) == 2, job_logs
    assert (sweep_dir / "arnews_sweep.json").is_file()


def test_the_slurm_preset_composes_onto_the_submitit_plugin():
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_resolvers()
    GlobalHydra.instance().clear()
    overrides = [
        "hydra/launcher=slurm",
        "hydra.launcher.partition=gpu",
        "hydra.launcher.gpus_per_node=1",
        "+hydra.launcher.additional_parameters.account=nlp",
    ]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides, return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (launcher.partition, launcher.gpus_per_node, launcher.cpus_per_task) == ("gpu", 1, 4)
    assert (launcher.timeout_min, launcher.mem_gb, launcher.array_parallelism) == (60, 16, 32)
    assert launcher.additional_parameters == {"account": "nlp"}
    assert launcher.max_num_timeout == 0 and launcher.signal_delay_s == 120
    typo = ["hydra/launcher=slurm", "hydra.launcher.partitoin=gpu"]
    with (
        pytest.raises(Exception, match="partitoin"),  # the plugin's schema checks the keys
        initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"),
    ):
        compose(config_name="train", overrides=typo, return_hydra_config=True)
