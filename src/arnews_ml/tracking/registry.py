"""The model registry: register a run's logged model as a described, tagged version.

Used by a single run (``tracking.register``), by the sweep callback (the best child of a sweep)
and by ``arnews-runs --promote``. The version's description and tags are built from what the
run logged, so every path describes a version the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from mlflow.tracking import MlflowClient

from arnews_ml.exceptions import ArtifactError
from arnews_ml.tracking.base import TAG_DATA_FINGERPRINT, TAG_MODEL_ID, TAG_SWEEP_ID, TAG_TASK
from arnews_ml.tracking.store import _scoped_tracking_uri

__all__ = [
    "HEADLINE_METRICS",
    "model_version_description",
    "model_version_tags",
    "register_run_model",
]

log = logging.getLogger(__name__)

#: The metrics a version's description quotes, per task.
HEADLINE_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("test_f1_macro", "test_f1_micro", "val_f1_macro"),
    "topics": ("npmi", "npmi_doc", "c_v", "topic_diversity", "n_topics", "label_nmi"),
}


def model_version_description(
    params: Mapping[str, str], metrics: Mapping[str, float], tags: Mapping[str, str]
) -> str:
    """One paragraph saying what a model version is: data, embedder, head or topic model, scores."""
    task = tags.get(TAG_TASK, "classification")
    data = params.get("data") or "data"
    parts = [f"{'Topic model' if task == 'topics' else 'Classifier'} trained on {data}"]
    counts = ", ".join(
        f"{key}={params[key]}" for key in ("n_train", "n_val", "n_test", "n_docs") if key in params
    )
    if counts:
        parts[0] += f" ({counts})"
    if tags.get(TAG_DATA_FINGERPRINT):
        parts[0] += f", data fingerprint {tags[TAG_DATA_FINGERPRINT]}"
    pieces = []
    if params.get("embedder"):
        pieces.append(f"embedder {params['embedder']}")
    if task == "topics" and params.get("topic_model"):
        pieces.append(f"topic model {params['topic_model']}")
    elif params.get("classifier"):
        pieces.append(f"head {params['classifier']}")
    if pieces:
        parts.append(", ".join(pieces))
    scores = ", ".join(
        f"{name} {metrics[name]:.4f}"
        for name in HEADLINE_METRICS.get(task, ())
        if name in metrics and name != "n_topics"
    )
    if "n_topics" in metrics and task == "topics":
        scores = f"{int(metrics['n_topics'])} topics" + (f", {scores}" if scores else "")
    if scores:
        parts.append(scores)
    return "; ".join(parts) + "."


def model_version_tags(
    run_id: str, params: Mapping[str, str], tags: Mapping[str, str]
) -> dict[str, str]:
    """The tags a registered version carries: its run, the config choices, data and sweep."""
    out = {"run_id": run_id, "task": tags.get(TAG_TASK, "")}
    for key in ("data", "text", "embedder", "classifier", "topic_model"):
        if params.get(key):
            out[key] = params[key]
    if tags.get(TAG_DATA_FINGERPRINT):
        out["data_fingerprint"] = tags[TAG_DATA_FINGERPRINT]
    if tags.get(TAG_SWEEP_ID):
        out["sweep_id"] = tags[TAG_SWEEP_ID]
    return {k: v for k, v in out.items() if v}


def register_run_model(
    client: MlflowClient,
    tracking_uri: str,
    run_id: str,
    name: str,
    model_id: str | None = None,
) -> int:
    """Register the model logged in ``run_id`` as a new version of ``name``, described and tagged.

    Args:
        client: A client of the store that holds the run (tracking and registry).
        tracking_uri: That store's URI (``models:/`` resolution reads MLflow's global URI).
        run_id: A run whose model was logged by ``MlflowTracker.log_model`` (tag
            ``arnews_ml.model_id``).
        name: The registered model's name (created when missing).
        model_id: The run's LoggedModel id; default: the run's ``arnews_ml.model_id`` tag.

    Returns:
        The new version number.

    Raises:
        ArtifactError: The run logged no model.
    """
    import mlflow

    run = client.get_run(run_id)
    model_id = model_id or run.data.tags.get(TAG_MODEL_ID)
    if not model_id:
        raise ArtifactError(
            f"Run {run_id} has no logged model (no '{TAG_MODEL_ID}' tag), so there is nothing "
            "to register. Re-run it with tracking.log_model=true."
        )
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
    with _scoped_tracking_uri(tracking_uri):  # the version is created with its tags at once
        version = mlflow.register_model(
            f"models:/{model_id}", name, tags=model_version_tags(run_id, params, tags)
        )
    client.update_model_version(
        name, version.version, description=model_version_description(params, metrics, tags)
    )
    log.info("registered model name=%s version=%s run_id=%s", name, version.version, run_id)
    return int(version.version)
