"""Tampered TextClassifier bundles are refused with one clear ArtifactError (issue 10).

Every field of manifest.json is covered by ``manifest_sha256``, ``package_version`` included: an
edited version string is refused like an edited threshold (re-save instead of editing). Only
reformatting the file (indentation, key order) is harmless. ``verify=False`` skips the checksums
(manifest and files) at the caller's risk; the path checks and the skops format check always run.
"""

from __future__ import annotations

import json
import logging
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from arnews_ml.classify import TextClassifier
from arnews_ml.exceptions import ArtifactError
from arnews_ml.persist import MANIFEST_FILE, load_bundle, load_skops, save_bundle
from arnews_ml.persist_integrity import (
    MANIFEST_SHA256_KEY,
    check_part_location,
    loading_bundle,
    seal_manifest,
)
from arnews_ml.testing import FakeEmbedder, build_head

HEAD = "head.skops"
TEXTS = [
    "صوّت البرلمان على الدستور",
    "فاز الفريق في المباراة",
    "ارتفعت أسعار النفط",
    "الوزير والنواب في البرلمان",
    "اللاعب سجل الهدف في الملعب",
    "الدولار والبنك والسوق",
]
LABELS = [["politics"], ["sports"], ["economy"], ["politics"], ["sports"], ["economy"]]
UNTRUSTED = "not trusted"
REEXPORT = "arnews_ml.persist.save_bundle"


@pytest.fixture(scope="module")
def classifier() -> TextClassifier:
    # k-nearest neighbours: a head saved with skops (linear heads are plain arrays, see
    # tests/unit/classify/test_linear_io.py), so the skops checks are exercised here.
    clf = TextClassifier(FakeEmbedder(dim=16), build_head("knn", n_neighbors=2))
    return clf.fit(TEXTS, LABELS)


@pytest.fixture
def bundle(tmp_path: Path, classifier: TextClassifier) -> Path:
    return save_bundle(classifier, tmp_path / "bundle")


def _manifest(bundle: Path) -> dict:
    return json.loads((bundle / MANIFEST_FILE).read_text(encoding="utf-8"))


def _write(bundle: Path, manifest: dict, *, reseal: bool = False) -> None:
    """Write ``manifest``; ``reseal=True`` recomputes manifest_sha256 as a forger could."""
    if reseal:
        manifest = seal_manifest(manifest)
    (bundle / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")


def _refused(bundle: Path, *needles: str, verify: bool = True) -> str:
    with pytest.raises(ArtifactError) as err:
        load_bundle(bundle, verify=verify)
    message = str(err.value)
    for needle in (UNTRUSTED, REEXPORT, *needles):
        assert needle in message, message
    return message


def _same_scores(loaded: TextClassifier, clf: TextClassifier) -> None:
    assert np.array_equal(
        loaded.predict_scores(TEXTS).to_numpy(), clf.predict_scores(TEXTS).to_numpy()
    )


# ----------------------------------------------------------------------------- manifest edits


def test_sealed_bundle_loads_and_reformatting_is_harmless(bundle, classifier) -> None:
    manifest = _manifest(bundle)
    assert len(manifest[MANIFEST_SHA256_KEY]) == 64
    _same_scores(load_bundle(bundle), classifier)
    reordered = dict(reversed(list(manifest.items())))
    (bundle / MANIFEST_FILE).write_text(
        json.dumps(reordered, indent=4, ensure_ascii=True), encoding="utf-8"
    )
    _same_scores(load_bundle(bundle), classifier)


def test_edited_threshold_is_refused(bundle) -> None:
    manifest = _manifest(bundle)
    manifest["thresholds"]["politics"] = 0.01
    _write(bundle, manifest)
    message = _refused(bundle, "was edited after export", MANIFEST_FILE)
    assert str(bundle) in message


def test_renamed_label_is_refused(bundle) -> None:
    manifest = _manifest(bundle)
    manifest["labels"] = ["economy", "politics", "sport"]
    manifest["thresholds"]["sport"] = manifest["thresholds"].pop("sports")
    _write(bundle, manifest)
    _refused(bundle, "was edited after export")


def test_edited_package_version_is_refused(bundle) -> None:
    manifest = _manifest(bundle)
    manifest["package_version"] = "9.9.9"
    _write(bundle, manifest)
    _refused(bundle, "was edited after export")


@pytest.mark.parametrize("value", ["", "0" * 64, 42])
def test_damaged_manifest_checksum_is_refused(bundle, value) -> None:
    manifest = _manifest(bundle)
    manifest[MANIFEST_SHA256_KEY] = value
    _write(bundle, manifest)
    _refused(bundle, "was edited after export")


def test_verify_false_skips_the_manifest_checksum(bundle) -> None:
    manifest = _manifest(bundle)
    manifest["thresholds"]["politics"] = 0.25
    _write(bundle, manifest)
    assert load_bundle(bundle, verify=False).thresholds_[1] == 0.25


def test_bundle_without_manifest_checksum_loads_with_a_warning(bundle, classifier, caplog) -> None:
    manifest = _manifest(bundle)
    del manifest[MANIFEST_SHA256_KEY]
    _write(bundle, manifest)
    with caplog.at_level(logging.WARNING, logger="arnews_ml.persist_integrity"):
        loaded = load_bundle(bundle)
    _same_scores(loaded, classifier)
    assert any("before manifests were checksummed" in r.getMessage() for r in caplog.records)


# ----------------------------------------------------------------------------- paths


@pytest.mark.parametrize(
    ("relpath", "reason"),
    [("/etc/passwd", "an absolute path"), ("../escape.skops", "'..'"), ("a/../../x", "'..'")],
)
@pytest.mark.parametrize("verify", [True, False])
def test_files_entry_outside_the_bundle_is_refused(bundle, relpath, reason, verify) -> None:
    manifest = _manifest(bundle)
    manifest["files"][relpath] = "0" * 64
    _write(bundle, manifest, reseal=True)
    _refused(bundle, "outside the bundle", reason, repr(relpath), verify=verify)


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda m: m["head"].update(file="/tmp/evil.skops"), "an absolute path"),
        (lambda m: m["head"].update(file="../evil.skops"), "'..'"),
        (lambda m: m.update(embedder_dir="../../elsewhere"), "'..'"),
        (lambda m: m["head"].update(file="C:\\evil.skops"), "an absolute path"),
    ],
)
@pytest.mark.parametrize("verify", [True, False])
def test_part_path_outside_the_bundle_is_refused(bundle, edit, reason, verify) -> None:
    manifest = _manifest(bundle)
    edit(manifest)
    _write(bundle, manifest, reseal=True)
    _refused(bundle, "outside the bundle", reason, verify=verify)


@pytest.mark.parametrize("verify", [True, False])
def test_symlinked_part_leading_outside_is_refused(bundle, tmp_path, verify) -> None:
    outside = tmp_path / "outside.skops"
    shutil.copy(bundle / HEAD, outside)  # same bytes: the file checksum alone would pass
    (bundle / HEAD).unlink()
    (bundle / HEAD).symlink_to(outside)
    _refused(bundle, "outside the bundle", "a link that leads outside it", HEAD, verify=verify)


def test_symlinked_folder_leading_outside_is_refused(bundle, tmp_path) -> None:
    shutil.move(bundle / "embedder", tmp_path / "embedder")
    (bundle / "embedder").symlink_to(tmp_path / "embedder", target_is_directory=True)
    _refused(bundle, "a link that leads outside it", "embedder")


def test_symlink_inside_the_bundle_is_fine(bundle, classifier) -> None:
    (bundle / "alias.skops").symlink_to(bundle / HEAD)
    _same_scores(load_bundle(bundle), classifier)


def test_skops_part_outside_the_loading_bundle_is_refused(bundle, tmp_path) -> None:
    outside = tmp_path / "outside.skops"
    shutil.copy(bundle / HEAD, outside)
    with loading_bundle(bundle), pytest.raises(ArtifactError, match="outside the bundle"):
        load_skops(outside)
    with loading_bundle(bundle):
        check_part_location(bundle / HEAD)  # inside: fine
    load_skops(outside)  # outside any bundle load: a plain skops file loads


# ----------------------------------------------------------------------------- part formats


def test_pickle_in_place_of_a_skops_part_is_refused(bundle) -> None:
    (bundle / HEAD).write_bytes(pickle.dumps({"head": [1, 2, 3]}))
    _refused(bundle, "does not match its checksum")  # verify=True: the checksum catches it first
    message = _refused(bundle, "not a valid skops file", "a pickle", HEAD, verify=False)
    assert "BadZipFile" not in message


def test_truncated_skops_part_is_refused(bundle) -> None:
    data = (bundle / HEAD).read_bytes()
    (bundle / HEAD).write_bytes(data[: len(data) // 2])
    _refused(bundle, "does not match its checksum")
    _refused(bundle, "not a valid skops file", HEAD, verify=False)


def test_corrupt_member_in_a_skops_part_is_refused(bundle) -> None:
    data = bytearray((bundle / HEAD).read_bytes())
    data[60:80] = bytes(20)  # inside the first member's compressed data; the zip index survives
    (bundle / HEAD).write_bytes(bytes(data))
    _refused(bundle, "not a valid skops file", HEAD, verify=False)


@pytest.mark.parametrize("content", [b"", b"plain text, not a zip", b"PK\x03\x04garbage"])
def test_load_skops_refuses_files_that_are_not_skops(tmp_path, content) -> None:
    path = tmp_path / "part.skops"
    path.write_bytes(content)
    with pytest.raises(ArtifactError, match="not a valid skops file") as err:
        load_skops(path)
    assert str(path) in str(err.value) and UNTRUSTED in str(err.value)
