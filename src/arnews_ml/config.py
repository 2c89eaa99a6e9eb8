"""The one wrapper around Hydra: config composition, resolvers and checked instantiation."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from arnews_ml.exceptions import ArnewsError, ConfigError

__all__ = [
    "ALLOWED_TARGET_PREFIXES",
    "CHOICES_KEY",
    "CHOICE_GROUPS",
    "CONFIG_DIR",
    "compose",
    "instantiate",
    "register_resolvers",
    "to_container",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Modules whose callables a config may name in `_target_`. Anything else is refused, so a
#: config file can never make the package import and call arbitrary code.
ALLOWED_TARGET_PREFIXES: tuple[str, ...] = ("arnews_ml.", "sklearn.")

#: The packaged config folder (`conf/` in a checkout is a link to it), so an installed wheel
#: carries its configs.
CONFIG_DIR = Path(str(resources.files("arnews_ml") / "conf"))


#: The config groups whose chosen option is logged as a param (``classifier=logreg``).
CHOICE_GROUPS: tuple[str, ...] = (
    "data",
    "text",
    "embedder",
    "classifier",
    "topic_model",
    "tracking",
    "experiment",
    "hparams_search",
)

#: Top-level key that keeps the group choices in a config composed outside a Hydra app and in
#: a logged config.yaml, so such a run is named and logged like one from the command line.
CHOICES_KEY = "choices"


def _tuple_resolver(*items: Any) -> tuple[Any, ...]:
    return tuple(items)


def register_resolvers() -> None:
    """Register the package's OmegaConf resolvers (idempotent).

    `${tuple:1,2}` gives the tuple `(1, 2)`, for scikit-learn parameters such as `ngram_range`
    that must be tuples, which YAML lists cannot express.
    """
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("tuple"):
        OmegaConf.register_new_resolver("tuple", _tuple_resolver)


def to_container(cfg: Any) -> Any:
    """Return a plain, fully resolved Python structure for an OmegaConf object (others pass through)."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(cfg, DictConfig | ListConfig):
        return OmegaConf.to_container(cfg, resolve=True)
    return cfg


def _check_targets(node: Any, where: str) -> None:
    if isinstance(node, Mapping):
        target = node.get("_target_")
        if target is not None:
            target = str(target)
            if not target.startswith(ALLOWED_TARGET_PREFIXES):
                allowed = ", ".join(f"{p}*" for p in ALLOWED_TARGET_PREFIXES)
                raise ConfigError(
                    f"Config '{where}' names _target_ '{target}', which is not allowed. "
                    f"Allowed targets: {allowed}. Point _target_ at one of the package's "
                    "factories (for example arnews_ml.classify.heads.logreg)."
                )
        for key, value in node.items():
            _check_targets(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, Sequence) and not isinstance(node, str | bytes):
        for i, value in enumerate(node):
            _check_targets(value, f"{where}[{i}]")


def instantiate(
    cfg: Any,
    *,
    expected_type: type[T] | tuple[type, ...] | None = None,
    name: str = "",
    **kwargs: Any,
) -> T | Any:
    """Build an object from a config node that has a `_target_`.

    The target (and every nested `_target_`) must start with one of `ALLOWED_TARGET_PREFIXES`;
    containers are converted to plain lists/dicts (`_convert_="all"`, scikit-learn rejects
    ListConfig); the result's type is checked against `expected_type`.

    Args:
        cfg: A DictConfig or mapping with `_target_`.
        expected_type: Type(s) the built object must be an instance of.
        name: Config key used in messages and the log line (e.g. "classifier").
        **kwargs: Extra keyword arguments passed to the target, overriding the config.

    Returns:
        The built object.

    Raises:
        ConfigError: Missing or disallowed `_target_`, a failing constructor, or a wrong type.
    """
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate as hydra_instantiate

    register_resolvers()
    plain = to_container(cfg)
    if not isinstance(plain, Mapping) or "_target_" not in plain:
        raise ConfigError(
            f"Config '{name or '<root>'}' has no _target_; cannot build an object from it. "
            f"Got: {plain!r}"
        )
    _check_targets(plain, name)
    try:
        obj = hydra_instantiate(plain, _convert_="all", **kwargs)
    except InstantiationException as err:
        # A package error raised by the target itself (a missing corpus file, say) is the real
        # message; Hydra's wrapper would bury it.
        if isinstance(err.__cause__, ArnewsError):
            raise err.__cause__ from None
        raise ConfigError(f"Could not build '{name or plain['_target_']}': {err}") from err
    if expected_type is not None and not isinstance(obj, expected_type):
        expected = (
            expected_type.__name__
            if isinstance(expected_type, type)
            else " or ".join(t.__name__ for t in expected_type)
        )
        raise ConfigError(
            f"Config '{name}' built a {type(obj).__name__} from _target_ {plain['_target_']}, "
            f"but a {expected} is required here."
        )
    log.info("built %s=%s", name or "object", type(obj).__name__)
    return obj


def compose(config_name: str, overrides: Sequence[str] = ()) -> Any:
    """Compose a primary config (`train`, `topics`, `corpus`) outside a Hydra app.

    Used by tests and notebooks; the command-line entry points use `@hydra.main` instead.

    Args:
        config_name: Name of a primary config in `CONFIG_DIR` without `.yaml`.
        overrides: Hydra override strings, e.g. `["classifier=linear_svc"]`.

    Returns:
        The composed DictConfig (interpolations unresolved), with the chosen option of each
        config group under ``choices`` (what Hydra reports to a command-line run).
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import open_dict

    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = hydra_compose(
            config_name=config_name, overrides=list(overrides), return_hydra_config=True
        )
    choices = {
        str(group): str(option)
        for group, option in cfg.hydra.runtime.choices.items()
        if group in CHOICE_GROUPS and option is not None
    }
    with open_dict(cfg):
        del cfg["hydra"]
        cfg[CHOICES_KEY] = choices
    return cfg
