"""``arnews-runs``: compare the runs of an MLflow store, and promote one as champion.

    arnews-runs                                    # classifier and topic runs, best first
    arnews-runs --sweep 20250101-120000-ab12       # the jobs of one sweep
    arnews-runs --metric test_f1_macro --top 5 --filter "params.classifier = 'logreg'"
    arnews-runs --format markdown                  # also csv, json
    arnews-runs --promote 1a2b3c4d --alias champion
    arnews-runs --clear-cache                      # empty the local model cache

Runs are listed per task (classifier and topic runs never share a table), ranked by the
task's metric (validation macro-F1 for classifiers, NPMI for topics; losses, seconds and the
outlier ratio rank ascending), with the params that differ between the listed runs. Sweep
parent runs are left out (they summarise their jobs), and so are unfinished runs unless
``--all-statuses``. ``--clear-cache`` empties the local copies of models loaded from
``models:/`` and ``runs:/`` URIs ($ARNEWS_MODEL_CACHE_DIR, default ~/.cache/arnews_ml/models).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from arnews_ml.exceptions import ArnewsError, ConfigError
from arnews_ml.tracking.promote import promote
from arnews_ml.tracking.runs_table import (
    TAG_SWEEP_ID,
    TAG_SWEEP_PARENT,
    build_table,
    group_by_task,
    render_tables,
)
from arnews_ml.tracking.store import _sqlite_path, resolve_tracking_uri

__all__ = ["DEFAULT_EXPERIMENTS", "main", "open_store", "search_listed_runs"]

#: The experiments searched when neither --experiment nor --sweep is given.
DEFAULT_EXPERIMENTS = ("arnews-classifier", "arnews-topics")

_PAGE = 1000


class _UsageError(ArnewsError):
    """A bad argument or an unknown name: one line on stderr, exit status 2."""


def open_store(tracking_uri: str | None) -> MlflowClient:
    """A client on the store, refusing to create a SQLite file that does not exist.

    Raises:
        ConfigError: A folder path was given, or the SQLite file is missing.
    """
    uri = resolve_tracking_uri(tracking_uri)
    db = _sqlite_path(uri)
    if db is not None and not db.is_file():
        raise ConfigError(
            f"No MLflow tracking store at {uri} (the file {db} does not exist). Run from the "
            "folder holding mlflow.db, or pass --tracking-uri / set MLFLOW_TRACKING_URI."
        )
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _experiment_ids(client: MlflowClient, names: Sequence[str], *, strict: bool) -> list[str]:
    ids: list[str] = []
    for name in names:
        experiment = client.get_experiment_by_name(name)
        if experiment is None or experiment.lifecycle_stage == "deleted":
            if strict:
                known = ", ".join(e.name for e in client.search_experiments()) or "none"
                raise _UsageError(
                    f"No experiment named {name!r} in {client.tracking_uri} (experiments: "
                    f"{known}). Pass one of them with --experiment."
                )
            continue
        ids.append(experiment.experiment_id)
    return ids


def _search(client: MlflowClient, ids: list[str], filter_string: str) -> list[Any]:
    runs: list[Any] = []
    token = None
    while True:
        page = client.search_runs(
            ids, filter_string=filter_string, max_results=_PAGE, page_token=token
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def search_listed_runs(
    client: MlflowClient,
    *,
    experiments: Sequence[str] | None = None,
    sweep: str | None = None,
    filter_string: str | None = None,
    all_statuses: bool = False,
) -> tuple[list[Any], str]:
    """The runs to list, and a description of where they were looked for.

    Args:
        client: A client on the store.
        experiments: Experiment names; default: the sweep's experiments (with ``sweep``),
            else those of :data:`DEFAULT_EXPERIMENTS` that exist.
        sweep: Only the jobs of this sweep (tag ``arnews_ml.sweep_id``), never its parent.
        filter_string: An MLflow search filter, ANDed with the sweep's.
        all_statuses: Keep FAILED, RUNNING and KILLED runs too.

    Raises:
        _UsageError: An unknown experiment or sweep id, or an invalid filter.
    """
    if experiments:
        ids = _experiment_ids(client, experiments, strict=True)
        where = ", ".join(experiments)
    elif sweep:
        ids = [e.experiment_id for e in client.search_experiments()]
        where = "all experiments"
    else:
        ids = _experiment_ids(client, DEFAULT_EXPERIMENTS, strict=False)
        where = ", ".join(DEFAULT_EXPERIMENTS)
    if not ids:
        return [], where
    sweep_clause = f"tags.`{TAG_SWEEP_ID}` = '{_quote(sweep)}'" if sweep else ""
    clauses = [c for c in (sweep_clause, (filter_string or "").strip()) if c]
    try:
        runs = _search(client, ids, " and ".join(clauses))
    except MlflowException as err:
        if filter_string:
            raise _UsageError(
                f"Invalid --filter {filter_string!r}: {err.message} Example: "
                "--filter \"params.classifier = 'logreg' and metrics.val_f1_macro > 0.8\"."
            ) from err
        raise
    if sweep and not runs and (not filter_string or not _search(client, ids, sweep_clause)):
        raise _UsageError(
            f"No run has the sweep id {sweep!r} ({TAG_SWEEP_ID}) in {client.tracking_uri}. "
            "The sweep id is printed when the sweep starts and is a tag of its parent run."
        )
    runs = [run for run in runs if run.data.tags.get(TAG_SWEEP_PARENT, "").lower() != "true"]
    if not all_statuses:
        runs = [run for run in runs if run.info.status == "FINISHED"]
    where = f"sweep {sweep} in {where}" if sweep else where
    return runs, where


def _quote(value: str) -> str:
    return value.replace("'", "\\'")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arnews-runs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--experiment",
        action="append",
        default=None,
        help="Experiment name (repeatable); default: arnews-classifier and arnews-topics.",
    )
    parser.add_argument("--sweep", default=None, help="Only the jobs of this sweep id.")
    parser.add_argument(
        "--metric", default=None, help="Rank by this metric (default: val_f1_macro / npmi)."
    )
    parser.add_argument("--top", type=int, default=None, help="Show the best N runs per task.")
    parser.add_argument(
        "--filter",
        default=None,
        help="MLflow search filter, e.g. \"params.classifier = 'logreg'\".",
    )
    parser.add_argument("--format", choices=("table", "csv", "markdown", "json"), default="table")
    parser.add_argument("--tracking-uri", default=None)
    parser.add_argument(
        "--all-statuses",
        action="store_true",
        help="Also FAILED, RUNNING and KILLED runs, with an 'error' column.",
    )
    parser.add_argument(
        "--promote",
        metavar="RUN_ID_OR_VERSION",
        default=None,
        help="Set --alias on this run's model (registered if needed), or on NAME/VERSION.",
    )
    parser.add_argument("--alias", default=None, help="The alias to set, e.g. champion.")
    parser.add_argument(
        "--name", default=None, help="Registered model name (default: from the run)."
    )
    parser.add_argument(
        "--clear-cache",
        action="store_true",
        help="Empty the local model cache (copies of models loaded from models:/ and runs:/ "
        "URIs) and say what that freed; no store needed.",
    )
    return parser


def _list(client: MlflowClient, args: argparse.Namespace) -> int:
    if args.top is not None and args.top < 1:
        raise _UsageError(f"--top must be 1 or more; got {args.top}.")
    runs, where = search_listed_runs(
        client,
        experiments=args.experiment,
        sweep=args.sweep,
        filter_string=args.filter,
        all_statuses=args.all_statuses,
    )
    if not runs:
        statuses = "" if args.all_statuses else "finished "
        print(
            f"No {statuses}runs in {where} ({client.tracking_uri})"
            + (f" matching --filter {args.filter!r}" if args.filter else "")
            + "."
        )
        return 0
    tables = [
        build_table(group, task, metric=args.metric, top=args.top, with_errors=args.all_statuses)
        for task, group in group_by_task(runs).items()
    ]
    print(render_tables(tables, args.format))
    return 0


def main(argv: list[str] | None = None) -> int:
    """List ranked runs, or promote a run's model to an alias. Returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.promote is not None and not args.alias:
        parser.error("--promote needs --alias, e.g. --alias champion")
    if args.alias and args.promote is None:
        parser.error("--alias goes with --promote RUN_ID_OR_VERSION")
    if args.clear_cache:
        if args.promote is not None:
            parser.error("--clear-cache goes alone, not with --promote")
        from arnews_ml.tracking.model_cache import clear_model_cache

        print(clear_model_cache().describe())
        return 0
    try:
        client = open_store(args.tracking_uri)
        if args.promote is not None:
            ids = _experiment_ids(
                client, args.experiment or DEFAULT_EXPERIMENTS, strict=bool(args.experiment)
            )
            result = promote(client, args.promote, args.alias, name=args.name, experiment_ids=ids)
            print(result.describe())
            return 0
        return _list(client, args)
    except ArnewsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except MlflowException as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
