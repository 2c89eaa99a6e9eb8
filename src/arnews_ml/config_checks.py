"""Checks of a composed config's values, run before a run is opened.

A bad value (``task=bogus``, ``seed=abc``, ``data.split.method=bogus``, a negative
``classifier.C``) is refused with one line that names the key, what was given, the allowed
values and the fix, instead of a traceback from deep inside a run (or a FAILED run in MLflow).
The allowed values come from the ``Literal`` types of the functions that use them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, get_args

from arnews_ml.exceptions import ConfigError

__all__ = ["check_config"]

_MISSING = object()


def _allowed_values() -> dict[str, tuple[str, ...]]:
    from arnews_ml.data.schema import LabelFormat
    from arnews_ml.data.split import SplitMethod
    from arnews_ml.topics.analysis import Frequency

    return {
        "task": ("auto", "multilabel", "multiclass"),
        "data.split.method": get_args(SplitMethod),
        "data.label_format": get_args(LabelFormat),
        "tracking.register": ("auto", "always", "never"),
        "analysis.time_bin": get_args(Frequency),
    }


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


#: key -> (test, what the value must be). Keys missing from a config are not checked.
_VALUE_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "seed": (_integer, "an integer, e.g. seed=13"),
    "n_jobs": (lambda v: v is None or (_integer(v) and v != 0), "a non-zero integer or null"),
    "data.split.val_size": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "data.split.test_size": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "classifier.C": (lambda v: _number(v) and v > 0, "a positive number, e.g. classifier.C=1.0"),
    "classifier.alpha": (lambda v: _number(v) and v > 0, "a positive number"),
    "classifier.C_grid": (
        lambda v: (
            v is None
            or (
                isinstance(v, Sequence)
                and not isinstance(v, str)
                and len(v) > 0
                and all(_number(c) and c > 0 for c in v)
            )
        ),
        "a list of positive numbers or null, e.g. classifier.C_grid=[0.3,1.0]",
    ),
    "multilabel.min_labels": (lambda v: _integer(v) and v >= 0, "an integer >= 0"),
    "tracking.experiment": (
        lambda v: v is None or (isinstance(v, str) and v.strip() != ""),
        "a non-empty experiment name",
    ),
}


def _lookup(cfg: Mapping[str, Any], key: str) -> Any:
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def check_config(cfg: Any) -> None:
    """Refuse a config whose values cannot run, with one line naming the key and the fix.

    Args:
        cfg: A composed config (DictConfig or plain mapping) of any primary config.

    Raises:
        ConfigError: The first bad value found, or an interpolation that cannot be resolved.
    """
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(cfg, DictConfig):
        try:
            plain = OmegaConf.to_container(cfg, resolve=True)
        except OmegaConfBaseException as err:
            key = getattr(err, "full_key", "") or "?"
            raise ConfigError(
                f"Config key '{key}' cannot be resolved: {err}".splitlines()[0]
            ) from err
    else:
        plain = cfg
    for key, allowed in _allowed_values().items():
        value = _lookup(plain, key)
        if value is not _MISSING and value not in allowed:
            raise ConfigError(
                f"Config key '{key}' is {value!r}; allowed values: {', '.join(allowed)}. "
                f"Set {key}={allowed[0]} (or another of those)."
            )
    for key, (test, expected) in _VALUE_RULES.items():
        value = _lookup(plain, key)
        if value is not _MISSING and not test(value):
            raise ConfigError(f"Config key '{key}' is {value!r}; it must be {expected}.")
