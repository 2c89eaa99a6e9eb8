"""``arnews-evaluate``: score a saved classifier on a new labelled file and log it to MLflow.

    arnews-evaluate --model models:/arnews-classifier@champion --input labelled.jsonl
    arnews-evaluate --model outputs/2025-01-01/12-00-00/model --input news.csv \
        --text-column content --labels-column topics --no-log

The metrics have the names of a training run's test metrics (``test_f1_macro``, ...). With
logging, an evaluation run is opened in the experiment ``arnews-evaluations`` with the reports
and plots, the input file as a dataset input (context ``evaluation``), and, when the model
came from MLflow, the metrics linked to the model's LoggedModel so they show on its page.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from arnews_ml.classify.evaluate import (
    ClassifierEvaluation,
    evaluate_classifier,
    write_evaluation_reports,
)
from arnews_ml.classify.metrics import metric_label_names
from arnews_ml.exceptions import ArnewsError
from arnews_ml.inference import is_model_uri, load_model
from arnews_ml.tracking.base import TAG_ERROR, TAG_MODEL_ID, TAG_TASK
from arnews_ml.tracking.store import default_artifact_location, resolve_tracking_uri

__all__ = [
    "DEFAULT_EXPERIMENT",
    "ModelOrigin",
    "file_digest",
    "log_evaluation",
    "main",
    "resolve_model_origin",
]

DEFAULT_EXPERIMENT = "arnews-evaluations"
QUARANTINE_FILE = "quarantine.jsonl"
DATASET_CONTEXT = "evaluation"

TAG_EVALUATED_MODEL = "arnews_ml.evaluated_model"
TAG_EVALUATED_RUN = "arnews_ml.evaluated_run_id"
TAG_EVALUATED_MODEL_ID = "arnews_ml.evaluated_model_id"
TAG_EVALUATED_NAME = "arnews_ml.evaluated_registered_model"
TAG_EVALUATED_VERSION = "arnews_ml.evaluated_model_version"


class _UsageError(ArnewsError):
    """A bad argument: one line on stderr, exit status 2."""


@dataclass(frozen=True)
class ModelOrigin:
    """Where an evaluated model lives in MLflow (every field None for a plain bundle folder)."""

    model_id: str | None = None
    run_id: str | None = None
    registered_name: str | None = None
    registered_version: str | None = None


def file_digest(path: str | Path) -> str:
    """A content hash of a file (or of every file under a folder): 32 hex characters."""
    digest = hashlib.sha256()
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    for file in files:
        if root.is_dir():
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:32]


def resolve_model_origin(client: Any, model: str) -> ModelOrigin:
    """The LoggedModel id, source run and registry name/version behind a model URI, when known.

    Understands ``models:/<name>@<alias>``, ``models:/<name>/<version>``,
    ``models:/<model_id>``, ``runs:/<run_id>/...`` and an MLflow model folder whose MLmodel
    names a model of this store; anything else gives an empty origin.
    """
    from mlflow.exceptions import MlflowException

    try:
        if model.startswith("models:/"):
            ref = model[len("models:/") :].strip("/")
            if "@" in ref:
                name, _, alias = ref.partition("@")
                return _from_version(client, client.get_model_version_by_alias(name, alias))
            if "/" in ref:
                name, _, version = ref.rpartition("/")
                return _from_version(client, client.get_model_version(name, version))
            return _from_model_id(client, ref)
        if model.startswith("runs:/"):
            run_id = model[len("runs:/") :].split("/", 1)[0]
            run = client.get_run(run_id)
            model_id = run.data.tags.get(TAG_MODEL_ID)
            if not model_id:
                found = client.search_logged_models(
                    experiment_ids=[run.info.experiment_id],
                    filter_string=f"source_run_id='{run_id}'",
                )
                model_id = found[0].model_id if len(found) == 1 else None
            return ModelOrigin(model_id=model_id, run_id=run_id)
        mlmodel = Path(model) / "MLmodel"
        if mlmodel.is_file():
            import yaml

            model_id = (yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}).get("model_id")
            if model_id:
                return _from_model_id(client, str(model_id))
    except MlflowException:
        pass  # not resolvable in this store: log without the link
    return ModelOrigin()


def _from_model_id(client: Any, model_id: str) -> ModelOrigin:
    logged = client.get_logged_model(model_id)
    return ModelOrigin(model_id=logged.model_id, run_id=logged.source_run_id)


def _from_version(client: Any, version: Any) -> ModelOrigin:
    model_id = getattr(version, "model_id", None)
    if not model_id and str(version.source).startswith("models:/m-"):
        model_id = str(version.source)[len("models:/") :]
    return ModelOrigin(
        model_id=model_id,
        run_id=version.run_id,
        registered_name=version.name,
        registered_version=str(version.version),
    )


def log_evaluation(
    evaluation: ClassifierEvaluation,
    *,
    model: str,
    input_path: Path,
    artifacts: list[Path],
    params: dict[str, Any],
    tracking_uri: str | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
) -> tuple[str, ModelOrigin]:
    """Log an evaluation run: tags, params, metrics (linked to the model), artifacts, dataset.

    Args:
        evaluation: The scores.
        model: The model URI or folder as given (tag ``arnews_ml.evaluated_model``).
        input_path: The labelled file (logged as a dataset input, context ``evaluation``).
        artifacts: Files to log (reports, plots, quarantine).
        params: Extra params (``n_docs``, ``input``, ``n_unknown_labels``, ...).
        tracking_uri: The store; see :func:`~arnews_ml.tracking.store.resolve_tracking_uri`.
        experiment: The experiment (created when missing).

    Returns:
        The run id and the model's origin in the store.
    """
    from mlflow.entities import (
        Dataset,
        DatasetInput,
        InputTag,
        LoggedModelInput,
        Metric,
        Param,
        RunTag,
    )
    from mlflow.tracking import MlflowClient
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    from arnews_ml.tracking.base import package_version
    from arnews_ml.tracking.store import _quiet_progress

    uri = resolve_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    origin = resolve_model_origin(client, model)
    found = client.get_experiment_by_name(experiment)
    experiment_id = (
        found.experiment_id
        if found is not None
        else client.create_experiment(experiment, artifact_location=default_artifact_location(uri))
    )
    tags = {
        TAG_TASK: "evaluation",
        TAG_EVALUATED_MODEL: model,
        "arnews_ml.version": package_version(),
        TAG_EVALUATED_RUN: origin.run_id,
        TAG_EVALUATED_MODEL_ID: origin.model_id,
        TAG_EVALUATED_NAME: origin.registered_name,
        TAG_EVALUATED_VERSION: origin.registered_version,
    }
    tags = {k: str(v) for k, v in tags.items() if v is not None}
    run = client.create_run(experiment_id, run_name=f"evaluate-{input_path.stem}", tags=tags)
    run_id = run.info.run_id
    try:
        digest = file_digest(input_path)
        dataset = Dataset(
            name=input_path.name,
            digest=digest,
            source_type="local",
            source=json.dumps({"uri": input_path.absolute().as_uri()}),
            profile=json.dumps({"num_rows": evaluation.n_docs}),
        )
        client.log_inputs(
            run_id,
            datasets=[DatasetInput(dataset, [InputTag(MLFLOW_DATASET_CONTEXT, DATASET_CONTEXT)])],
            models=[LoggedModelInput(origin.model_id)] if origin.model_id else None,
        )
        now = int(time.time() * 1000)
        metrics = [
            # model_id= links each value to the LoggedModel (shown on the model's page)
            Metric(
                key,
                float(value),
                now,
                0,
                model_id=origin.model_id,
                dataset_name=dataset.name,
                dataset_digest=digest,
            )
            for key, value in evaluation.metrics.items()
        ]
        client.log_batch(
            run_id,
            metrics=metrics,
            params=[Param(str(k), str(v)[:6000]) for k, v in params.items()],
        )
        with _quiet_progress():
            for path in artifacts:
                client.log_artifact(run_id, str(path))
    except BaseException as err:
        message = " ".join(f"{type(err).__name__}: {err}".split())[:500]
        client.log_batch(run_id, tags=[RunTag(TAG_ERROR, message)])
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED")
    return run_id, origin


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arnews-evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="Bundle folder or models:/ URI.")
    parser.add_argument("--input", required=True, type=Path, help="Labelled file or folder.")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--labels-column", default="labels")
    parser.add_argument(
        "--encoding", default="auto", help="auto (UTF-8, else cp1256) or a codec name."
    )
    parser.add_argument("--experiment", default=DEFAULT_EXPERIMENT)
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="Reports, plots and quarantine (default: ./evaluations/<input>-<time>).",
    )
    parser.add_argument("--tracking-uri", default=None)
    parser.add_argument("--no-log", action="store_true", help="Print only; no MLflow run.")
    return parser


def _output_dir(requested: Path | None, input_path: Path) -> Path:
    """The output folder; created by whatever writes into it first (none on early errors)."""
    if requested is not None:
        return requested.absolute()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("evaluations") / f"{input_path.stem}-{stamp}"
    path, k = base, 2
    while path.exists():
        path, k = base.with_name(f"{base.name}-{k}"), k + 1
    return path.absolute()


def _cli_hint(message: str) -> str:
    """load_corpus speaks in config keys (``Set data.text_column=x``); this command in flags."""
    message = re.sub(r"Set data\.(text|labels)_column=", r"Pass --\1-column ", message)
    message = re.sub(r"Set data\.(text|labels)_column\b", r"Pass --\1-column", message)
    return re.sub(r"data\.encoding=", "--encoding ", message)


def _load_labelled(args: argparse.Namespace, out: Path) -> tuple[Any, int, int]:
    from arnews_ml.data.corpus import load_corpus

    path: Path = args.input
    corpus = load_corpus(
        path,
        text_column=args.text_column,
        labels_column=args.labels_column,
        encoding=args.encoding,
        quarantine_path=out / QUARANTINE_FILE,
    )
    frame = corpus.frame
    labelled = frame[frame["labels"].map(len) > 0]
    if labelled.empty:
        raise _UsageError(
            f"No row of {path} has labels in the column {args.labels_column!r} "
            f"({corpus.n_docs} rows read). Pass --labels-column with the column that holds "
            "the labels."
        )
    return labelled, corpus.report.n_bad, len(frame) - len(labelled)


def _summary(
    evaluation: ClassifierEvaluation,
    args: argparse.Namespace,
    out: Path,
    n_bad: int,
    n_unlabelled: int,
) -> list[str]:
    m = evaluation.metrics
    skipped = [f"{n_bad} quarantined"] * bool(n_bad) + [f"{n_unlabelled} unlabelled"] * bool(
        n_unlabelled
    )
    lines = [
        f"model            {args.model}",
        f"input            {args.input}: {evaluation.n_docs} labelled articles"
        + (f" ({', '.join(skipped)} left out)" if skipped else ""),
    ]
    if evaluation.unknown_labels:
        listed = ", ".join(f"{lab} ({n})" for lab, n in evaluation.unknown_labels.items())
        lines.append(
            f"unknown labels   {len(evaluation.unknown_labels)} not known to the model, in "
            f"{_articles(evaluation.n_docs_with_unknown_labels)}, ignored in the scores: "
            f"{listed}"
        )
    lines += [
        f"macro-F1         {m['test_f1_macro']:.4f}",
        f"micro-F1         {m['test_f1_micro']:.4f}",
        f"accuracy         {m['test_accuracy']:.4f}" + (" (subset)" * evaluation.multilabel),
    ]
    if "test_hamming_loss" in m:
        lines.append(f"hamming loss     {m['test_hamming_loss']:.4f}")
    per_label = ", ".join(
        f"{lab} {m[f'test_f1_{key}']:.2f}"
        for lab, key in zip(evaluation.labels, metric_label_names(evaluation.labels), strict=True)
    )
    lines += [f"per-label F1     {per_label}", f"outputs          {out}"]
    return lines


def _articles(n: int) -> str:
    return f"{n} article" if n == 1 else f"{n} articles"


def main(argv: list[str] | None = None) -> int:
    """Evaluate a classifier on a labelled file; print a summary and log a run. Exit status."""
    from mlflow.exceptions import MlflowException

    from arnews_ml.classify.model import TextClassifier

    args = _parser().parse_args(argv)
    try:
        uri = resolve_tracking_uri(args.tracking_uri)
        if not args.input.exists():
            raise _UsageError(
                f"The input file {args.input} does not exist. Pass --input with a labelled csv, "
                "jsonl, parquet file or <label>/*.txt folder."
            )
        out = _output_dir(args.output_dir, args.input)
        labelled, n_bad, n_unlabelled = _load_labelled(args, out)
        with tempfile.TemporaryDirectory(prefix="arnews-evaluate-") as download:
            model = load_model(
                args.model,
                download_dir=download if is_model_uri(args.model) else None,
                tracking_uri=uri,
            )
            if not isinstance(model, TextClassifier):
                raise _UsageError(
                    f"{args.model} is a {type(model).__name__}, not a classifier: "
                    "arnews-evaluate evaluates classifiers only (score topic models with "
                    "arnews-topics)."
                )
            evaluation = evaluate_classifier(
                model,
                labelled["text"].tolist(),
                labelled["labels"].tolist(),
                ids=labelled["id"].tolist(),
            )
        artifacts = write_evaluation_reports(evaluation, out)
        if (out / QUARANTINE_FILE).is_file():
            artifacts.append(out / QUARANTINE_FILE)
        lines = _summary(evaluation, args, out, n_bad, n_unlabelled)
        if not args.no_log:
            params = {
                "n_docs": evaluation.n_docs,
                "input": str(args.input.absolute()),
                "n_unknown_labels": len(evaluation.unknown_labels),
                "unknown_labels": ",".join(evaluation.unknown_labels),
                "n_docs_with_unknown_labels": evaluation.n_docs_with_unknown_labels,
                "n_quarantined": n_bad,
                "n_unlabelled": n_unlabelled,
                "n_labels": len(evaluation.labels),
                "text_column": args.text_column,
                "labels_column": args.labels_column,
            }
            run_id, origin = log_evaluation(
                evaluation,
                model=args.model,
                input_path=args.input,
                artifacts=artifacts,
                params=params,
                tracking_uri=uri,
                experiment=args.experiment,
            )
            link = f", metrics linked to model {origin.model_id}" if origin.model_id else ""
            lines.append(f"mlflow run       {run_id} in {args.experiment}{link}")
    except ArnewsError as err:
        print(f"error: {_cli_hint(str(err))}", file=sys.stderr)
        return 2
    except MlflowException as err:
        print(f"error: MLflow store {args.tracking_uri or uri}: {err.message}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
