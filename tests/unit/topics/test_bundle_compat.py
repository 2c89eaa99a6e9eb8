"""Topic bundles saved before the backend protocol (flat manifest params) still load and give
new articles the topics they gave at save time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from arnews_ml.persist import load_bundle, read_manifest, save_bundle
from arnews_ml.topics.baselines import LdaBackend, NmfBackend
from arnews_ml.topics.bertopic_backend import BertopicBackend
from arnews_ml.topics.parts import KmeansClusterer, PcaReducer

BUNDLES = Path(__file__).resolve().parents[2] / "data" / "topic_bundles_v1"
EXPECTED = json.loads((BUNDLES / "expected.json").read_text(encoding="utf-8"))
BACKENDS = {"lda": LdaBackend, "nmf": NmfBackend, "bertopic_kmeans": BertopicBackend}


@pytest.mark.parametrize("option", sorted(BACKENDS))
def test_a_v1_bundle_loads_and_predicts_as_at_save_time(option: str, tmp_path: Path):
    manifest = read_manifest(BUNDLES / option)
    assert "backend_class" not in manifest and isinstance(manifest["params"]["backend"], str)
    model = load_bundle(BUNDLES / option)
    assert type(model.backend_) is BACKENDS[option]
    assert model.transform_mode == manifest["transform_mode"] == "parity"
    frame = model.predict_frame(EXPECTED["articles"])
    assert frame["topic"].tolist() == EXPECTED["topics"][option]
    assert frame["topic_label"].tolist() == EXPECTED["topic_labels"][option]
    assert np.allclose(frame["topic_score"], EXPECTED["scores"][option], atol=1e-5)
    # saved again in the new format, it reloads to the same predictions
    again = load_bundle(save_bundle(model, tmp_path / "v2"))
    assert read_manifest(tmp_path / "v2")["backend_class"].endswith(type(model.backend_).__name__)
    assert again.predict_frame(EXPECTED["articles"]).equals(frame)


def test_v1_flat_params_become_typed_options():
    model = load_bundle(BUNDLES / "bertopic_kmeans")
    options = model.backend_.options
    assert options.reducer == PcaReducer(n_components=10)
    assert options.clusterer == KmeansClusterer(n_clusters=5)
    assert (options.svd_components, options.term_weighting) == (32, "documents")
    assert model.vocabulary.min_df == 5 and model.top_n_words == 25
    lda = load_bundle(BUNDLES / "lda").backend_.options
    assert (lda.n_topics, lda.max_iter) == (5, 20)  # max_iter null in v1: LDA's 20


def test_an_unknown_v1_backend_is_refused_with_a_hint(tmp_path: Path):
    from arnews_ml.exceptions import ArtifactError

    copy = shutil.copytree(BUNDLES / "nmf", tmp_path / "nmf")
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["backend"] = "plsa"
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ArtifactError, match="plsa"):
        load_bundle(copy)
