"""The pyfunc wrapper: accepted inputs, and 4xx-style errors for everything else."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from arnews_ml.persist import save_bundle
from arnews_ml.tracking._testing import EchoModel
from arnews_ml.tracking.pyfunc import ArnewsPyfuncModel, texts_from_input

TEXTS = ["ارتفعت أسعار النفط اليوم", "فاز فريق الزوراء", "النفط"]


@pytest.fixture(scope="module")
def wrapper(tmp_path_factory: pytest.TempPathFactory) -> ArnewsPyfuncModel:
    bundle = save_bundle(EchoModel(), tmp_path_factory.mktemp("pyfunc") / "bundle")
    model = ArnewsPyfuncModel()
    model.load_context(SimpleNamespace(artifacts={"bundle": str(bundle)}))
    return model


@pytest.mark.parametrize(
    "model_input",
    [
        TEXTS,
        tuple(TEXTS),
        np.array(TEXTS, dtype=object),
        pd.Series(TEXTS),
        {"text": TEXTS},
        pd.DataFrame({"text": TEXTS, "id": [1, 2, 3]}),
        pd.DataFrame({"text": [TEXTS]}),  # what MLflow makes of {"text": [...]} with a signature
    ],
    ids=["list", "tuple", "ndarray", "series", "dict", "frame", "frame-of-one-list"],
)
def test_accepted_inputs_give_the_bundle_predictions(
    wrapper: ArnewsPyfuncModel, model_input: object
) -> None:
    out = wrapper.predict(None, model_input)
    pd.testing.assert_frame_equal(out, EchoModel().predict_frame(TEXTS))


def test_a_single_text_in_a_dict_is_one_row() -> None:
    assert texts_from_input({"text": "النفط"}) == ["النفط"]


@pytest.mark.parametrize(
    ("model_input", "message"),
    [
        (
            pd.DataFrame({"body": ["x"], "title": ["y"]}),
            "no 'text' column; its columns are: body, title",
        ),
        ({"body": ["x"]}, "no 'text' key; its keys are: body"),
        (["ok", None], "Row 1 of 'text' is null"),
        (pd.DataFrame({"text": ["ok", "fine", float("nan")]}), "Row 2 of 'text' is null"),
        (["ok", 5], "Row 1 of 'text' is int"),
        ("just one string", "Cannot predict on a str"),
        (42, "Cannot predict on a int"),
        ({"text": 3}, "must be a list of strings"),
    ],
    ids=["frame-columns", "dict-keys", "none", "nan", "int-row", "str", "int", "dict-int"],
)
def test_bad_inputs_raise_invalid_parameter_value(
    wrapper: ArnewsPyfuncModel, model_input: object, message: str
) -> None:
    with pytest.raises(MlflowException) as err:
        wrapper.predict(None, model_input)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert message in err.value.message


def test_predict_loads_lazily_when_load_context_was_not_called(tmp_path: Path) -> None:
    bundle = save_bundle(EchoModel(), tmp_path / "bundle")
    model = ArnewsPyfuncModel()
    out = model.predict(SimpleNamespace(artifacts={"bundle": str(bundle)}), ["النفط"])
    assert list(out["labels"]) == [["a"]]
