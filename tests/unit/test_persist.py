"""Bundles: atomic save, checked load (format_version, checksums, class), skops allow-list."""

from __future__ import annotations

import ast
import datetime
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer, MultiLabelBinarizer

import arnews_ml.persist as persist
from arnews_ml.exceptions import ArtifactError
from arnews_ml.persist import (
    FORMAT_VERSION,
    MANIFEST_FILE,
    dump_skops,
    load_bundle,
    load_skops,
    read_manifest,
    save_bundle,
)
from arnews_ml.persist_integrity import MANIFEST_SHA256_KEY, manifest_sha256, seal_manifest
from arnews_ml.tracking._testing import ECHO_FILE, EchoModel

TEXTS = [
    "ارتفعت أسعار النفط إلى 85 دولاراً للبرميل",
    "فاز فريق الزوراء على الشرطة بهدفين",
    "صوّت البرلمـــان على قرار جديد",
    "",
]


class FailingModel(EchoModel):
    """Writes one part, then fails: nothing may stay on disk."""

    def _write_bundle_parts(self, directory: Path) -> dict:
        (Path(directory) / "half.json").write_text("{}", encoding="utf-8")
        raise RuntimeError("disk full while writing the head")


class ReservedKeyModel(EchoModel):
    def _write_bundle_parts(self, directory: Path) -> dict:
        super()._write_bundle_parts(directory)
        return {"files": ["mine"]}


class NestedPartsModel(EchoModel):
    """Writes parts in subfolders and numpy metadata."""

    def _write_bundle_parts(self, directory: Path) -> dict:
        meta = super()._write_bundle_parts(directory)
        (Path(directory) / "embedder").mkdir()
        (Path(directory) / "embedder" / "vocab.txt").write_text("نفط\nدوري\n", encoding="utf-8")
        return {**meta, "thresholds": np.array([0.5, 0.25]), "n_features": np.int64(7)}


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name != path.name)


def _edit_manifest(bundle: Path, *, reseal: bool = False, **changes: object) -> None:
    """Edit manifest.json; ``reseal=True`` also recomputes manifest_sha256, as a forger could, so
    the checks behind the manifest checksum are reached."""
    manifest = json.loads((bundle / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest.update(changes)
    if reseal:
        manifest = seal_manifest(manifest)
    (bundle / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return save_bundle(EchoModel(keyword="النفط"), tmp_path / "models" / "echo")


def test_round_trip_gives_identical_predictions(bundle: Path) -> None:
    model = EchoModel(keyword="النفط")
    loaded = load_bundle(bundle)

    assert isinstance(loaded, EchoModel)
    pd.testing.assert_frame_equal(loaded.predict_frame(TEXTS), model.predict_frame(TEXTS))
    assert loaded.predict(TEXTS) == model.predict(TEXTS)


def test_manifest_describes_the_bundle(bundle: Path) -> None:
    manifest = read_manifest(bundle)

    assert manifest["format_version"] == FORMAT_VERSION == 1
    assert manifest["kind"] == "classifier"
    assert manifest["class"] == "arnews_ml.tracking._testing:EchoModel"
    assert manifest["package_version"] == persist.package_version()
    datetime.datetime.strptime(manifest["created_utc"], "%Y-%m-%dT%H:%M:%SZ")
    expected = hashlib.sha256((bundle / ECHO_FILE).read_bytes()).hexdigest()
    assert manifest["files"] == {ECHO_FILE: expected}
    assert manifest["labels"] == ["a", "b"]  # the model's own metadata, merged in
    assert manifest[MANIFEST_SHA256_KEY] == manifest_sha256(manifest)
    assert read_manifest(bundle / MANIFEST_FILE) == manifest


def test_save_returns_absolute_path_and_creates_parents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = save_bundle(EchoModel(), Path("deep/er/bundle"))
    assert path == tmp_path / "deep" / "er" / "bundle"
    assert path.is_absolute() and (path / MANIFEST_FILE).is_file()


def test_subfolders_and_numpy_metadata_are_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = save_bundle(NestedPartsModel(), tmp_path / "nested")
    manifest = read_manifest(path)
    assert set(manifest["files"]) == {ECHO_FILE, "embedder/vocab.txt"}
    assert manifest["thresholds"] == [0.5, 0.25]
    assert manifest["n_features"] == 7

    # a class defined in a test module is refused until its module is allow-listed
    with pytest.raises(ArtifactError, match="only classes under arnews_ml"):
        load_bundle(path)
    monkeypatch.setattr(
        persist, "TRUSTED_CLASS_PREFIXES", ("arnews_ml.", NestedPartsModel.__module__)
    )
    assert isinstance(load_bundle(path), NestedPartsModel)


def test_existing_empty_directory_is_filled(tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    save_bundle(EchoModel(), target)
    assert (target / MANIFEST_FILE).is_file()


def test_existing_bundle_needs_overwrite(bundle: Path) -> None:
    with pytest.raises(ArtifactError, match="overwrite=True") as err:
        save_bundle(EchoModel(keyword="دوري"), bundle)
    assert str(bundle) in str(err.value)
    assert load_bundle(bundle).keyword == "النفط"  # untouched

    save_bundle(EchoModel(keyword="دوري"), bundle, overwrite=True)
    assert load_bundle(bundle).keyword == "دوري"
    assert _siblings(bundle) == []  # no temp or parked old folder left behind


def test_overwrite_never_replaces_a_folder_that_is_not_a_bundle(tmp_path: Path) -> None:
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("...", encoding="utf-8")
    with pytest.raises(ArtifactError, match="not an arnews_ml bundle"):
        save_bundle(EchoModel(), precious, overwrite=True)
    assert (precious / "chapter1.tex").is_file()


def test_failed_save_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "out" / "model"
    with pytest.raises(RuntimeError, match="disk full"):
        save_bundle(FailingModel(), target)
    assert not target.exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_failed_overwrite_keeps_the_old_bundle(bundle: Path) -> None:
    with pytest.raises(RuntimeError, match="disk full"):
        save_bundle(FailingModel(), bundle, overwrite=True)
    assert load_bundle(bundle).keyword == "النفط"
    assert _siblings(bundle) == []


def test_reserved_manifest_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="reserved manifest key"):
        save_bundle(ReservedKeyModel(), tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_objects_that_are_not_bundleable_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="_write_bundle_parts"):
        save_bundle(LogisticRegression(), tmp_path / "m")


def test_missing_manifest_is_not_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ArtifactError, match=r"not an arnews_ml bundle \(no manifest.json in"):
        load_bundle(tmp_path)
    with pytest.raises(ArtifactError, match="does not exist"):
        load_bundle(tmp_path / "nowhere")


def test_newer_format_version_asks_to_upgrade(bundle: Path) -> None:
    _edit_manifest(bundle, format_version=FORMAT_VERSION + 98)
    with pytest.raises(ArtifactError) as err:
        load_bundle(bundle)
    message = str(err.value)
    assert "format_version 99" in message
    assert "reads format_version 1" in message
    assert "upgrade arnews_ml" in message


@pytest.mark.parametrize("version", [0, "1", None])
def test_unknown_format_versions_are_refused(bundle: Path, version: object) -> None:
    _edit_manifest(bundle, format_version=version)
    with pytest.raises(ArtifactError, match="reads format_version 1"):
        load_bundle(bundle)


def test_tampered_file_fails_the_checksum(bundle: Path) -> None:
    (bundle / ECHO_FILE).write_text(
        json.dumps({"keyword": "x", "labels": ["a", "b"]}), encoding="utf-8"
    )
    with pytest.raises(ArtifactError) as err:
        load_bundle(bundle)
    message = str(err.value)
    assert ECHO_FILE in message and "corrupt" in message and "Re-export" in message
    assert load_bundle(bundle, verify=False).keyword == "x"


def test_missing_file_is_named(bundle: Path) -> None:
    (bundle / ECHO_FILE).unlink()
    with pytest.raises(ArtifactError, match=f"missing {ECHO_FILE}"):
        load_bundle(bundle)


def test_manifest_paths_outside_the_bundle_are_refused(bundle: Path) -> None:
    _edit_manifest(bundle, files={"../outside.json": "0" * 64}, reseal=True)
    with pytest.raises(ArtifactError, match="outside the bundle"):
        load_bundle(bundle)


@pytest.mark.parametrize("cls", ["collections:OrderedDict", "os:system", "arnews_mlx.evil:Model"])
def test_classes_outside_arnews_ml_are_refused(bundle: Path, cls: str) -> None:
    _edit_manifest(bundle, reseal=True, **{"class": cls})
    with pytest.raises(ArtifactError, match="only classes under arnews_ml"):
        load_bundle(bundle)


def test_unknown_arnews_ml_class_says_which_version_wrote_it(bundle: Path) -> None:
    _edit_manifest(bundle, reseal=True, **{"class": "arnews_ml.tracking._testing:GoneModel"})
    with pytest.raises(ArtifactError, match="does not have"):
        load_bundle(bundle)


def test_damaged_manifest_is_reported(bundle: Path) -> None:
    (bundle / MANIFEST_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ArtifactError, match="damaged"):
        read_manifest(bundle)


def test_skops_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    features = rng.random((20, 4))
    head = LogisticRegression().fit(features, [0, 1] * 10)
    parts = {
        "head": head,
        "binarizer": MultiLabelBinarizer().fit([["سياسة"], ["رياضة"]]),
        "thresholds": np.array([0.5, 0.3]),
        "labels": ("سياسة", "رياضة"),
    }
    path = dump_skops(parts, tmp_path / "parts" / "head.skops")
    loaded = load_skops(path)

    np.testing.assert_array_equal(
        loaded["head"].predict_proba(features), head.predict_proba(features)
    )
    assert list(loaded["binarizer"].classes_) == ["رياضة", "سياسة"]
    assert loaded["labels"] == ("سياسة", "رياضة")


@pytest.mark.parametrize(
    ("obj", "type_name"),
    [
        (datetime.date(2020, 1, 1), "datetime.date"),
        (FunctionTransformer(func=eval), "builtins.eval"),
    ],
)
def test_skops_untrusted_types_are_refused(tmp_path: Path, obj: object, type_name: str) -> None:
    path = dump_skops(obj, tmp_path / "evil.skops")
    with pytest.raises(ArtifactError, match="does not trust") as err:
        load_skops(path)
    assert type_name in str(err.value)


def test_skops_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="does not exist"):
        load_skops(tmp_path / "nope.skops")


def test_persist_never_uses_pickle() -> None:
    assert "pickle" not in Path(persist.__file__).read_text(encoding="utf-8")
    import arnews_ml.persist_integrity as integrity

    tree = ast.parse(Path(integrity.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name and "pickle" in name}


def test_package_version_is_a_version_string() -> None:
    version = persist.package_version()
    assert version and version[0].isdigit()
