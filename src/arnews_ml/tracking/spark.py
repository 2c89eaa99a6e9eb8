"""Batch scoring on Spark: registered arnews_ml models as ``mlflow.pyfunc.spark_udf`` columns."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from arnews_ml.exceptions import ConfigError, DataError

__all__ = ["local_spark_session", "score_dataframe", "score_parquet"]

log = logging.getLogger(__name__)

ERROR_COLUMN = "error"
"""The column that says why a row got no prediction (as in arnews-predict and the pyfunc)."""

_PLACEHOLDER = "-"  # sent to the model in place of a row that is no text; its answer is dropped
_INSTALL_HINT = (
    "Spark scoring needs pyspark and Java: pip install 'arnews-ml[spark]' and a Java runtime "
    "(Debian: apt-get install default-jre-headless)."
)


def _require_pyspark() -> Any:
    try:
        import pyspark
    except ImportError:
        raise ConfigError(f"pyspark is not installed. {_INSTALL_HINT}") from None
    return pyspark


def local_spark_session(
    master: str = "local[2]", *, memory: str = "1g", app_name: str = "arnews-predict"
) -> Any:
    """A Spark session on this machine only: loopback addresses, small memory, no web UI.

    Python workers run this interpreter (``PYSPARK_PYTHON``), so they import the same
    arnews_ml and MLflow (``env_manager="local"``).

    Args:
        master: ``local[N]`` (N worker threads).
        memory: Driver memory (``spark.driver.memory``).
        app_name: The Spark application name.

    Returns:
        A ``pyspark.sql.SparkSession`` (the caller stops it).
    """
    _require_pyspark()
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", memory)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    return builder.getOrCreate()


def score_dataframe(
    spark: Any,
    frame: Any,
    model_uris: Sequence[str],
    *,
    text_column: str = "text",
    tracking_uri: str | None = None,
) -> Any:
    """Add each model's output columns to a Spark DataFrame of articles.

    Every model is applied through ``mlflow.pyfunc.spark_udf`` (its return type is the logged
    signature's output: ``labels`` as an array of strings and ``score_<label>`` for a
    classifier, ``topic``, ``topic_label``, ``topic_score`` for a topic model), so the work
    runs on the executors in batches. A row whose text is null or blank gets an ``error``
    (``text is missing`` / ``text is empty``) and null predictions, like arnews-predict.

    Args:
        spark: The ``SparkSession``.
        frame: A Spark DataFrame with a string column ``text_column``.
        model_uris: MLflow model URIs (``models:/arnews-classifier@champion``, ...).
        text_column: The column holding the article text.
        tracking_uri: The store that resolves ``models:/`` URIs (default:
            ``MLFLOW_TRACKING_URI``, else ``./mlflow.db``).

    Returns:
        The DataFrame with the models' columns and ``error`` added (same rows).

    Raises:
        DataError: ``text_column`` is missing or is not a string column.
        ConfigError: No model URI, or one that is a bundle folder rather than an MLflow URI.
    """
    import mlflow
    import mlflow.pyfunc
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    from arnews_ml.tracking.store import _scoped_tracking_uri, resolve_tracking_uri

    if not model_uris:
        raise ConfigError("Give at least one model URI (models:/arnews-classifier@champion).")
    if text_column not in frame.columns:
        raise DataError(
            f"The text column {text_column!r} is not in the DataFrame; columns are: "
            f"{', '.join(frame.columns)}. Pass --text-column <name>."
        )
    if not isinstance(frame.schema[text_column].dataType, StringType):
        raise DataError(
            f"The text column {text_column!r} is {frame.schema[text_column].dataType.simpleString()}"
            ", not a string column. Cast it to string first."
        )
    store = resolve_tracking_uri(tracking_uri)
    text = F.col(text_column)
    error = (
        F.when(text.isNull(), F.lit("text is missing"))
        .when(F.trim(text) == "", F.lit("text is empty"))
        .otherwise(F.lit(None).cast("string"))
    )
    scored = frame.withColumn(ERROR_COLUMN, error)
    model_input = F.struct(
        F.when(F.col(ERROR_COLUMN).isNull(), text).otherwise(F.lit(_PLACEHOLDER)).alias("text")
    )
    for i, uri in enumerate(model_uris):
        if "://" not in uri and not uri.startswith(("models:/", "runs:/")):
            raise ConfigError(
                f"Spark scoring needs an MLflow model URI (models:/<name>@<alias>, runs:/...), "
                f"got {uri!r}. Register the bundle first (arnews-train registers it)."
            )
        # the driver fetches the model now; MLflow's global URI points at the store meanwhile only
        with _scoped_tracking_uri(store):
            predict = mlflow.pyfunc.spark_udf(spark, uri, env_manager="local")
        holder = f"_arnews_prediction_{i}"
        scored = scored.withColumn(holder, predict(model_input))
        fields = scored.schema[holder].dataType.fieldNames()
        taken = [f for f in fields if f in scored.columns and f != holder]
        if taken:
            raise DataError(
                f"The input already has column(s) {', '.join(taken)} that the model {uri} "
                "writes. Rename or drop them first."
            )
        outputs = [
            F.when(F.col(ERROR_COLUMN).isNull(), F.col(f"{holder}.{name}")).alias(name)
            for name in fields
        ]
        scored = scored.select(*[c for c in scored.columns if c != holder], *outputs)
        log.info("spark scoring model=%s columns=%s", uri, ",".join(fields))
    columns = [c for c in scored.columns if c != ERROR_COLUMN] + [ERROR_COLUMN]
    return scored.select(*columns)


def score_parquet(
    model_uris: Sequence[str],
    input_path: str,
    output_path: str,
    *,
    text_column: str = "text",
    spark: Any = None,
    tracking_uri: str | None = None,
) -> int:
    """Read Parquet, add the models' columns (see :func:`score_dataframe`), write Parquet.

    Args:
        model_uris: MLflow model URIs.
        input_path: A Parquet file or folder (any path Spark reads: local, hdfs://, s3a://).
        output_path: The Parquet folder to write (must not exist).
        text_column: The column holding the article text.
        spark: A session; default: the active one, else a new one (``local[*]`` unless
            ``spark-submit`` set a master).
        tracking_uri: The store that resolves ``models:/`` URIs.

    Returns:
        The number of rows written.
    """
    _require_pyspark()
    from pyspark.errors import AnalysisException
    from pyspark.sql import SparkSession

    own = spark is None and SparkSession.getActiveSession() is None
    if spark is None:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        spark = SparkSession.builder.appName("arnews-predict").getOrCreate()
    try:
        try:
            frame = spark.read.parquet(input_path)
        except AnalysisException as exc:
            raise DataError(f"Cannot read {input_path} as Parquet on Spark: {exc}") from None
        scored = score_dataframe(
            spark, frame, model_uris, text_column=text_column, tracking_uri=tracking_uri
        )
        try:
            scored.write.mode("errorifexists").parquet(output_path)
        except AnalysisException as exc:
            raise DataError(f"Cannot write {output_path}: {exc}") from None
        return spark.read.parquet(output_path).count()
    finally:
        if own:
            spark.stop()
