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
    ],
    ids=["list", "tuple", "ndarray", "series", "dict", "frame"],
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
        ("just one string", "Cannot predict on a str"),
        (42, "Cannot predict on a int"),
        ({"text": 3}, "must be a list of strings"),
    ],
    ids=["frame-columns", "dict-keys", "str", "int", "dict-int"],
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


def test_a_row_that_is_no_text_gets_an_error_and_the_others_their_labels() -> None:
    from arnews_ml.classify import TextClassifier
    from arnews_ml.testing import FakeEmbedder, build_head

    texts = ["نفط وأسعار", "مباراة كرة", "قصف وعملية", "برلمان وقانون"] * 3
    labels = [["economy"], ["sports"], ["security"], ["politics"]] * 3
    clf = TextClassifier(FakeEmbedder(dim=16), build_head("logreg")).fit(texts, labels)
    wrapper = ArnewsPyfuncModel()
    wrapper.model = clf
    sent = ["نفط وأسعار", "", None, 5, ["a", "b"], float("nan"), "مباراة كرة"]
    out = wrapper.predict(None, pd.DataFrame({"text": sent}))
    assert len(out) == len(sent)
    assert out["error"].tolist() == [
        None,
        "text is empty",
        "text is missing",
        "text must be a string, got int",
        "text must be a string, got list",
        "text is missing",
        None,
    ]
    good = clf.predict_frame([sent[0], sent[6]])
    assert out["labels"][0] == good["labels"][0] and out["labels"][6] == good["labels"][1]
    assert out.loc[1:5, "labels"].isna().all() and out.loc[1:5, "score_sports"].isna().all()
    # the same through the model loaded in Python (load_model gives this object)
    assert clf.predict_frame(sent)["error"].tolist() == out["error"].tolist()
    assert "error" not in clf.predict_frame(["نفط وأسعار"]).columns


def test_one_record_whose_text_is_a_list_is_one_bad_row_not_several_texts() -> None:
    """What ``{"dataframe_records": [{"text": ["a", "b"]}]}`` becomes after MLflow's parsing."""
    wrapper = ArnewsPyfuncModel()
    wrapper.model = EchoModel()
    out = wrapper.predict(None, pd.DataFrame({"text": [["نفط", "مباراة"]]}))
    assert len(out) == 1
    assert out["error"].tolist() == ["text must be a string, got list"]
