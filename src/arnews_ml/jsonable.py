"""One conversion of Python, numpy and OmegaConf values to what JSON (and YAML) can hold."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON types, recursively.

    Mappings become dicts with string keys; lists, tuples, numpy arrays and other sequences
    (OmegaConf's ListConfig) become lists; sets become sorted lists; numpy scalars become
    Python numbers; NaN becomes None (JSON has no NaN); anything else unknown becomes its
    ``str``.
    """
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return [to_jsonable(v) for v in sorted(value, key=str)]
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):  # numpy array/scalar
        return to_jsonable(value.tolist())
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return [to_jsonable(v) for v in value]
    return str(value)
