"""Refuse a config whose ``hydra`` node would run code outside Hydra and the package.

Hydra builds its own parts before our task sees the config: ``hydra.callbacks.*``, the
launcher and the sweeper are instantiated from their ``_target_`` as Hydra starts. A config
folder from a colleague or a download (``--config-dir``), or an override such as
``+hydra.callbacks.x._target_=os.system``, could name anything there. The packaged configs are
trusted; when the command line brings a config folder or overrides a ``hydra`` part, the
composed ``hydra`` node is checked first, and each of those targets must resolve to:

- a callback: :class:`hydra.experimental.callback.Callback` subclass defined in ``hydra`` or
  ``arnews_ml``;
- a launcher or sweeper: a Hydra ``Launcher``/``Sweeper`` plugin class defined in ``hydra`` or
  ``hydra_plugins`` (the basic, joblib, submitit and Optuna plugins).

Names outside those packages are refused before anything is imported.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from arnews_ml.exceptions import ConfigError

__all__ = [
    "check_command_line",
    "check_hydra_targets",
    "hydra_targets",
    "untrusted_hydra_source",
]

_CALLBACK_PACKAGES = ("hydra.", "arnews_ml.")
_PLUGIN_PACKAGES = ("hydra.", "hydra_plugins.")
_CONFIG_DIR_FLAGS = ("--config-dir", "-cd", "--config-path", "-cp")


def untrusted_hydra_source(argv: Sequence[str]) -> bool:
    """Whether the command line brings config from outside the package, or overrides a part
    of ``hydra`` that Hydra instantiates (callbacks, launcher, sweeper)."""
    for arg in argv:
        if arg.split("=", 1)[0] in _CONFIG_DIR_FLAGS:
            return True
        key = arg.split("=", 1)[0].lstrip("+~")
        if key.startswith(
            ("hydra.callbacks", "hydra/callbacks", "hydra.launcher", "hydra.sweeper")
        ):
            return True
    return False


def hydra_targets(hydra_node: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """``(kind, key, target)`` for every ``_target_`` Hydra will instantiate from the node."""
    callbacks = hydra_node.get("callbacks") or {}
    for name, spec in callbacks.items():
        if isinstance(spec, Mapping) and spec.get("_target_") is not None:
            yield "callback", f"hydra.callbacks.{name}", str(spec["_target_"])
    for kind in ("launcher", "sweeper"):
        spec = hydra_node.get(kind)
        if isinstance(spec, Mapping) and spec.get("_target_") is not None:
            yield kind, f"hydra.{kind}", str(spec["_target_"])


def _refuse(key: str, target: str, why: str) -> ConfigError:
    return ConfigError(
        f"Config '{key}' names _target_ '{target}', {why}, so it is not run. A config's hydra "
        "node may name Hydra's own callbacks, launchers and sweepers (hydra/launcher=joblib, "
        "slurm, submitit_local; hparams_search=...) and arnews_ml's callbacks only."
    )


def _check_one(kind: str, key: str, target: str) -> None:
    from hydra._internal.utils import _locate

    packages = _CALLBACK_PACKAGES if kind == "callback" else _PLUGIN_PACKAGES
    if not target.startswith(packages):
        raise _refuse(key, target, f"which is outside {', '.join(p + '*' for p in packages)}")
    try:
        obj = _locate(target)
    except ImportError as err:
        raise _refuse(key, target, f"which cannot be found ({str(err).splitlines()[0]})") from None
    if kind == "callback":
        from hydra.experimental.callback import Callback as base
    elif kind == "launcher":
        from hydra.plugins.launcher import Launcher as base
    else:
        from hydra.plugins.sweeper import Sweeper as base
    module = getattr(obj, "__module__", "") or ""
    if not (inspect.isclass(obj) and issubclass(obj, base) and module.startswith(packages)):
        defined = f"{module}.{getattr(obj, '__qualname__', obj)}"
        raise _refuse(key, target, f"which resolves to {defined}, not a Hydra {kind} class")


def check_hydra_targets(hydra_node: Mapping[str, Any]) -> None:
    """Check every target of a composed ``hydra`` node (see the module docstring).

    Raises:
        ConfigError: One line naming the key, the target and why it is refused.
    """
    for kind, key, target in hydra_targets(hydra_node):
        _check_one(kind, key, target)


def check_command_line(config_name: str, argv: Sequence[str]) -> None:
    """Compose the app's config as the command line asks and check its ``hydra`` node, when
    the command line brings an untrusted source (:func:`untrusted_hydra_source`); else nothing.

    Raises:
        ConfigError: As :func:`check_hydra_targets`, or the config cannot be composed.
    """
    if not untrusted_hydra_source(argv):
        return
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from arnews_ml.config import CONFIG_DIR, register_resolvers

    name, extra_dirs, overrides = _split_command_line(config_name, argv)
    # as Hydra's command line does: the given folders first, then the packaged configs
    search = [*extra_dirs, str(CONFIG_DIR)]
    primary = next((d for d in search if (Path(d) / f"{name}.yaml").is_file()), str(CONFIG_DIR))
    if extra_dirs:
        paths = ",".join(f"file://{d}" for d in search if d != primary)
        overrides.append(f"hydra.searchpath=[{paths}]")
    register_resolvers()
    for variant in _sweep_variants(overrides, search):
        GlobalHydra.instance().clear()
        try:
            with initialize_config_dir(config_dir=primary, version_base="1.3"):
                cfg = compose(config_name=name, overrides=variant, return_hydra_config=True)
        except Exception as err:
            # what cannot be composed here cannot be checked: refuse, never let Hydra build it
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ConfigError(
                f"The config '{name}' with {' '.join(argv)} cannot be composed for its safety "
                f"check ({first}). Check --config-dir/--config-name and the overrides."
            ) from None
        finally:
            GlobalHydra.instance().clear()
        hydra_node = OmegaConf.to_container(cfg.hydra, resolve=False)
        assert isinstance(hydra_node, dict)
        check_hydra_targets(hydra_node)


#: Hydra's command-line flags that take a value (the value is not an override).
_VALUE_FLAGS = ("--package", "-p", "--cfg", "-c", "--experimental-rerun")


def _split_command_line(config_name: str, argv: Sequence[str]) -> tuple[str, list[str], list[str]]:
    """The config name, the extra config folders and the overrides of a Hydra command line."""
    name, extra_dirs, overrides = config_name, [], []
    args = list(argv)
    i = 0
    while i < len(args):
        flag, has_value, inline = args[i].partition("=")
        takes_value = flag in (*_CONFIG_DIR_FLAGS, "--config-name", "-cn", *_VALUE_FLAGS)
        if flag in ("--info", "-i"):  # an optional value, never an override
            takes_value = i + 1 < len(args) and "=" not in args[i + 1]
        if takes_value and flag.startswith("-"):
            value = inline if has_value else (args[i + 1] if i + 1 < len(args) else "")
            i += 1 if has_value else 2
            if flag in ("--config-name", "-cn"):
                name = value
            elif flag in _CONFIG_DIR_FLAGS and value:
                extra_dirs.append(str(Path(value).expanduser().absolute()))
            continue
        if not args[i].startswith("-"):
            overrides.append(args[i])
        i += 1
    return name, extra_dirs, overrides


def _sweep_variants(overrides: list[str], search: list[str]) -> list[list[str]]:
    """Override lists to compose so that every hydra node a sweep's jobs can get is checked.

    A sweep over a config group (``data=file,sample``) can change the hydra node: each of its
    values is composed once. A sweep over a plain key (``classifier.C=0.1,1``,
    ``interval(...)``) cannot, and is left out. A sweep over a ``hydra`` target or group is
    refused.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    fixed: list[str] = []
    group_sweeps: list[list[str]] = []
    for override in OverridesParser.create().parse_overrides(overrides):
        if not override.is_sweep_override():
            fixed.append(override.input_line)
            continue
        key = override.key_or_group
        is_group = any((Path(folder) / key).is_dir() for folder in search)
        if key.startswith("hydra") and (is_group or key.endswith("_target_")):
            raise ConfigError(
                f"'{override.input_line}' sweeps over a part Hydra builds itself; choose one "
                "value (a sweep runs one launcher, sweeper and set of callbacks)."
            )
        if is_group:
            element = override.get_key_element()
            try:
                values = list(override.sweep_string_iterator())
            except Exception as err:  # glob(...) needs Hydra's loader: name the options
                raise ConfigError(
                    f"'{override.input_line}': list the options of a group sweep by name for "
                    f"the config safety check ({err})."
                ) from None
            group_sweeps.append([f"{element}={value}" for value in values])
    variants = [fixed]
    for options in group_sweeps:
        variants += [[*fixed, option] for option in options]
    return variants
