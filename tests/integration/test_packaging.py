"""The wheel carries the configs, the sample corpus and the stop words; the import stays light."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "arnews_ml"


def test_import_is_light():
    code = (
        "import sys, arnews_ml, arnews_ml.text, arnews_ml.data, arnews_ml.embed, arnews_ml.topics, "
        "arnews_ml.tracking; heavy = {'torch', 'sentence_transformers', 'bertopic', 'umap', 'mlflow', "
        "'hdbscan', 'matplotlib'} & set(sys.modules); print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_wheel_contains_every_config_and_data_file(tmp_path: Path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("arnews_ml-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"arnews_ml/{p.relative_to(PACKAGE).as_posix()}"
        for pattern in ("conf/**/*.yaml", "data/sample/*.jsonl.gz", "text/*.txt")
        for p in PACKAGE.glob(pattern)
        if "local" not in p.parts
    }
    assert expected, "no package data found"
    assert expected <= names, sorted(expected - names)
    assert "arnews_ml/py.typed" in names
