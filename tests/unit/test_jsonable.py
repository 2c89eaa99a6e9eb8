"""to_jsonable: the one conversion to JSON types (bundles, predictions, MLflow params)."""

from __future__ import annotations

import json

import numpy as np
from omegaconf import OmegaConf

from arnews_ml.jsonable import to_jsonable


def test_every_kind_of_value_becomes_plain_json():
    value = {
        1: (np.int64(3), np.float32(0.5), float("nan")),
        "a": np.array([[1, 2], [3, 4]]),
        "s": {"b", "a"},
        "cfg": OmegaConf.create({"r": [1, 2]}).r,
        "none": None,
        "obj": object,
    }
    out = to_jsonable(value)
    assert out == {
        "1": [3, 0.5, None],
        "a": [[1, 2], [3, 4]],
        "s": ["a", "b"],
        "cfg": [1, 2],
        "none": None,
        "obj": str(object),
    }
    assert json.loads(json.dumps(out, allow_nan=False)) == out
