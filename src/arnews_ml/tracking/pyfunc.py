"""The MLflow pyfunc wrapper around an arnews_ml bundle (logged from code, never cloudpickled)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

__all__ = ["BUNDLE_ARTIFACT", "TEXT_COLUMN", "ArnewsPyfuncModel", "texts_from_input"]

BUNDLE_ARTIFACT = "bundle"
"""The key of the bundle directory in the pyfunc model's ``artifacts``."""

TEXT_COLUMN = "text"
"""The one input column the served model expects."""

_ACCEPTED = (
    "a DataFrame with a 'text' column, a list of strings, a dict {'text': [...]} or a Series "
    'of strings (served: {"dataframe_records": [{"text": "..."}]} or '
    '{"inputs": {"text": ["..."]}})'
)


class ArnewsPyfuncModel(mlflow.pyfunc.PythonModel):
    """Serves any arnews_ml bundle: texts in, ``model.predict_frame(texts)`` out."""

    def __init__(self) -> None:
        self.model: Any = None

    def load_context(self, context: Any) -> None:
        """Load the bundle from ``context.artifacts["bundle"]`` (checksums verified)."""
        from arnews_ml.persist import load_bundle

        self.model = load_bundle(context.artifacts[BUNDLE_ARTIFACT])

    # The pd.DataFrame hint is one MLflow accepts without building a schema from it (the logged
    # signature does the validation); no hint, or a hint it cannot parse, warns on every load.
    # Direct callers may still pass a list, dict or Series (see texts_from_input).
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Predict for a batch of texts.

        Args:
            context: The MLflow context (unused after load_context).
            model_input: See :func:`texts_from_input` for the accepted forms.
            params: Unused.

        Returns:
            The bundle's ``predict_frame`` DataFrame, one row per text.

        Raises:
            MlflowException: (INVALID_PARAMETER_VALUE, so a served model answers 400) for input
                that is not a batch of strings.
        """
        if self.model is None:
            self.load_context(context)
        return self.model.predict_frame(texts_from_input(model_input))


def texts_from_input(model_input: Any) -> list[Any]:
    """Turn any accepted pyfunc input into a list of texts (one per row, as sent).

    Args:
        model_input: A DataFrame with a ``text`` column, a list/tuple/1-d array of strings, a
            dict ``{"text": [...]}`` or a Series of strings.

    Returns:
        The texts, in order; a row that is not a non-empty string is kept as sent (the model
        answers it with an ``error``).

    Raises:
        MlflowException: INVALID_PARAMETER_VALUE naming what is wrong (type, column).
    """
    if isinstance(model_input, pd.DataFrame):
        if TEXT_COLUMN not in model_input.columns:
            columns = ", ".join(str(c) for c in model_input.columns) or "(none)"
            _invalid(
                f"The input has no '{TEXT_COLUMN}' column; its columns are: {columns}. "
                f"Send {_ACCEPTED}."
            )
        # One row per record as sent: a record whose text is a list is one bad row. MLflow 3's
        # server already turns {"inputs": {"text": [...]}} into one row per text; in Python,
        # its schema enforcement makes pyfunc.predict({"text": [...]}) one row holding the
        # list, which cannot be told from a bad record: pass a DataFrame there.
        values = list(model_input[TEXT_COLUMN])
    elif isinstance(model_input, pd.Series):
        values = list(model_input)
    elif isinstance(model_input, Mapping):
        if TEXT_COLUMN not in model_input:
            keys = ", ".join(str(k) for k in model_input) or "(none)"
            _invalid(
                f"The input has no '{TEXT_COLUMN}' key; its keys are: {keys}. Send {_ACCEPTED}."
            )
        raw = model_input[TEXT_COLUMN]
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list | tuple | np.ndarray | pd.Series):
            _invalid(f"input['{TEXT_COLUMN}'] must be a list of strings, got {type(raw).__name__}.")
        values = list(raw)
    elif isinstance(model_input, list | tuple) or (
        isinstance(model_input, np.ndarray) and model_input.ndim == 1
    ):
        values = list(model_input)
    else:
        _invalid(f"Cannot predict on a {type(model_input).__name__}. Send {_ACCEPTED}.")
    # a row whose text is not a non-empty string is answered with an `error`, not refused
    # whole: the model's predict_frame does it row by row (arnews_ml.text.rows)
    return values


def _invalid(message: str) -> None:
    raise MlflowException(message, error_code=INVALID_PARAMETER_VALUE)
