"""The one wrapper around Hydra: config composition, resolvers and checked instantiation."""

from __future__ import annotations

import functools
import inspect
import logging
import os
import re
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
    "EXTRA_PARTS",
    "buildable_part_names",
    "buildable_parts",
    "check_target",
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
    that must be tuples, which YAML lists cannot express. `${pid:}` gives this process's id, so
    runs started in the same second get folders of their own (`hydra/default.yaml`).
    """
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("tuple"):
        OmegaConf.register_new_resolver("tuple", _tuple_resolver)
    if not OmegaConf.has_resolver("pid"):
        OmegaConf.register_new_resolver("pid", os.getpid)


def to_container(cfg: Any) -> Any:
    """Return a plain, fully resolved Python structure for an OmegaConf object (others pass through)."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(cfg, DictConfig | ListConfig):
        return OmegaConf.to_container(cfg, resolve=True)
    return cfg


#: Parts a config may build besides those its own YAML files name: generic wrappers for code.
EXTRA_PARTS: tuple[str, ...] = ("arnews_ml.topics.parts.SklearnPart",)

_TARGET_LINE = re.compile(r"^\s*_target_:\s*([\w.]+)\s*$", re.M)


@functools.cache
def buildable_part_names() -> frozenset[str]:
    """The ``_target_`` names of the package's parts: every one its packaged YAML files name
    (heads, embedders, corpus loaders, topic parts, trackers, ...) and :data:`EXTRA_PARTS`."""
    names = set(EXTRA_PARTS)
    for path in CONFIG_DIR.rglob("*.yaml"):
        names.update(_TARGET_LINE.findall(path.read_text(encoding="utf-8")))
    return frozenset(name for name in names if name.startswith("arnews_ml."))


@functools.cache
def buildable_parts() -> frozenset[Any]:
    """The objects :func:`buildable_part_names` name (imports every part's module: slow)."""
    from hydra._internal.utils import _locate

    return frozenset(_locate(name) for name in buildable_part_names())


def check_target(target: str, where: str) -> None:
    """Refuse a ``_target_`` that is not one of the package's parts or a scikit-learn estimator.

    The name is resolved and what it resolves to is checked, not the string: a name that starts
    with an allowed prefix but walks through a module's imports (``arnews_ml.persist.shutil.copy``,
    ``sklearn.base.np.save``) is refused before anything is called.

    Raises:
        ConfigError: The target is outside the allowed prefixes, cannot be found, or is not a
            buildable part.
    """
    allowed = ", ".join(f"{p}*" for p in ALLOWED_TARGET_PREFIXES)
    if not target.startswith(ALLOWED_TARGET_PREFIXES):
        raise ConfigError(
            f"Config '{where}' names _target_ '{target}', which is not allowed. "
            f"Allowed targets: {allowed}. Point _target_ at one of the package's "
            "factories (for example arnews_ml.classify.heads.logreg)."
        )
    from hydra._internal.utils import _locate

    try:
        obj = _locate(target)
    except ImportError as err:
        raise ConfigError(
            f"Config '{where}' names _target_ '{target}', which cannot be found: "
            f"{str(err).splitlines()[0]}"
        ) from None
    if target.startswith("sklearn."):
        from sklearn.base import BaseEstimator

        ok = (
            inspect.isclass(obj)
            and issubclass(obj, BaseEstimator)
            and obj.__module__.startswith("sklearn.")
        )
    else:
        # a packaged target's own name needs no lookup; another path to one of them is fine
        ok = target in buildable_part_names() or obj in buildable_parts()
    if not ok:
        defined = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}"
        raise ConfigError(
            f"Config '{where}' names _target_ '{target}', which resolves to {defined}: not one "
            "of arnews_ml's buildable parts (the targets of its config files) nor a "
            "scikit-learn estimator class, so it is not run. Use a target from the package's "
            "conf/ folder or an sklearn estimator class."
        )


def _check_targets(node: Any, where: str) -> None:
    if isinstance(node, Mapping):
        target = node.get("_target_")
        if target is not None:
            check_target(str(target), where)
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

    The target (and every nested `_target_`) must resolve to one of the package's parts or a
    scikit-learn estimator class (:func:`check_target`);
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
