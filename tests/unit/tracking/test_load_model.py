"""arnews_ml.inference.load_model on folders (never importing MLflow) and its error messages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from arnews_ml.exceptions import ArtifactError
from arnews_ml.inference import is_model_uri, load_model
from arnews_ml.persist import save_bundle
from arnews_ml.tracking._testing import EchoModel

TEXTS = ["ارتفعت أسعار النفط", "فاز الفريق"]


def test_bundle_folder_loads(tmp_path: Path) -> None:
    bundle = save_bundle(EchoModel(), tmp_path / "bundle")
    model = load_model(bundle)
    pd.testing.assert_frame_equal(model.predict_frame(TEXTS), EchoModel().predict_frame(TEXTS))
    assert load_model(str(bundle)).predict(TEXTS) == [["a"], ["b"]]


def test_mlflow_model_folder_loads(tmp_path: Path) -> None:
    bundle = save_bundle(EchoModel(), tmp_path / "bundle")
    model_dir = tmp_path / "downloaded"
    (model_dir / "artifacts").mkdir(parents=True)
    (model_dir / "MLmodel").write_text("flavors: {}\n", encoding="utf-8")
    shutil.copytree(bundle, model_dir / "artifacts" / "bundle")
    assert load_model(model_dir).predict(TEXTS) == [["a"], ["b"]]


def test_loading_a_folder_never_imports_mlflow(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from arnews_ml.persist import save_bundle\n"
        "from arnews_ml.inference import load_model\n"
        "from arnews_ml.tracking._testing import EchoModel\n"
        f"path = save_bundle(EchoModel(), {str(tmp_path / 'b')!r})\n"
        "assert load_model(path).predict(['النفط']) == [['a']]\n"
        "assert 'mlflow' not in sys.modules, 'mlflow was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_path_lists_the_accepted_forms(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError) as err:
        load_model(tmp_path / "nope")
    message = str(err.value)
    assert "no such file or folder" in message
    assert "models:/<name>/<version>" in message and "models:/<name>@<alias>" in message


def test_folder_that_is_not_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ArtifactError, match=r"not an arnews_ml bundle \(no manifest.json"):
        load_model(tmp_path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("models:/news/3", True),
        ("models:/news@champion", True),
        ("models:/m-0123", True),
        ("runs:/abc/model", True),
        ("s3://bucket/model", True),
        ("outputs/2026-01-01/model", False),
        (Path("/tmp/model"), False),
    ],
)
def test_is_model_uri(value: str | Path, expected: bool) -> None:
    assert is_model_uri(value) is expected
