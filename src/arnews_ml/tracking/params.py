"""Config as MLflow params: flattened to dotted keys, values as strings, long ones cut."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from arnews_ml.exceptions import ConfigError
from arnews_ml.jsonable import to_jsonable

__all__ = ["MAX_PARAM_VALUE_LENGTH", "FlatConfig", "flatten_config", "truncate_params"]

MAX_PARAM_VALUE_LENGTH = 6000
"""MLflow 3 rejects (file store) or truncates (SQL store) param values longer than this."""

_ELLIPSIS = "…"


class FlatConfig(dict[str, str]):
    """The dict :func:`flatten_config` returns; ``truncated`` names the shortened keys."""

    def __init__(self, items: Mapping[str, str], truncated: frozenset[str] = frozenset()) -> None:
        super().__init__(items)
        self.truncated = truncated


def flatten_config(
    cfg: Mapping[str, Any], sep: str = ".", max_length: int = MAX_PARAM_VALUE_LENGTH
) -> FlatConfig:
    """Flatten a nested config into ``{"dotted.key": "string value"}`` params.

    Nested mappings become dotted keys; lists and tuples stay whole as JSON strings
    (``'["a", "b"]'``); an empty mapping is kept as ``"{}"``; scalars go through ``str``
    (``None`` -> ``"None"``). Values longer than ``max_length`` characters are cut to
    ``max_length`` (ending in "…"), and their keys are listed in the result's ``truncated``.

    Args:
        cfg: A (resolved) config: dicts, lists and scalars; OmegaConf containers work too.
        sep: The key separator.
        max_length: The longest value kept whole.

    Returns:
        A :class:`FlatConfig` (a ``dict[str, str]`` with a ``truncated`` frozenset).

    Raises:
        ConfigError: Two paths flatten to the same key (e.g. ``{"a.b": 1, "a": {"b": 2}}``).
    """
    flat: dict[str, str] = {}

    def visit(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping) and value:
            for key, child in value.items():
                visit(f"{prefix}{sep}{key}" if prefix else str(key), child)
            return
        if prefix in flat:
            raise ConfigError(
                f"Two config entries flatten to the param key '{prefix}'. Rename one of them "
                f"(keys must not contain '{sep}' where a nested key has the same path)."
            )
        flat[prefix] = _param_string(value)

    if not isinstance(cfg, Mapping):
        raise ConfigError(
            f"flatten_config expects a mapping (the resolved config), got {type(cfg).__name__}."
        )
    for key, value in cfg.items():
        visit(str(key), value)
    limited, truncated = truncate_params(flat, max_length=max_length)
    return FlatConfig(limited, truncated)


def truncate_params(
    params: Mapping[str, Any], max_length: int = MAX_PARAM_VALUE_LENGTH
) -> tuple[dict[str, str], frozenset[str]]:
    """Stringify param values and cut the ones longer than ``max_length``.

    Args:
        params: Param name -> value.
        max_length: The longest value kept whole; longer ones end in "…" at this length.

    Returns:
        The string params and the set of keys that were truncated (plus any ``truncated``
        already recorded on a :class:`FlatConfig` input).
    """
    out: dict[str, str] = {}
    truncated = set(getattr(params, "truncated", ()))
    for key, value in params.items():
        text = value if isinstance(value, str) else _param_string(value)
        if len(text) > max_length:
            text = text[: max_length - len(_ELLIPSIS)] + _ELLIPSIS
            truncated.add(str(key))
        out[str(key)] = text
    return out, frozenset(truncated)


def _param_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "{}" if not value else json.dumps(to_jsonable(value), ensure_ascii=False)
    if isinstance(value, list | tuple | set | frozenset) or _is_list_like(value):
        return json.dumps(to_jsonable(value), ensure_ascii=False)
    return str(value)


def _is_list_like(value: Any) -> bool:
    # OmegaConf ListConfig and similar sequences (but not str/bytes)
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)
