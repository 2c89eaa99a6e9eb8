"""How the jobs of a sweep find their parent run: a small record passed by environment or file.

The sweep callback (:mod:`arnews_ml.tracking.sweep`) opens the parent run in the process that
launches the sweep and publishes a :class:`SweepInfo` twice: in the environment variable
:data:`SWEEP_ENV_VAR` (inherited by jobs run in the same process, in joblib's worker processes
and in submitit's local processes) and as :data:`SWEEP_FILE` in the sweep folder (for jobs on
other machines that share it, such as SLURM nodes). A job reads it back with
:func:`read_sweep_info`. No mlflow import here.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = [
    "SWEEP_ENV_VAR",
    "SWEEP_FILE",
    "SweepInfo",
    "clear_sweep_info",
    "publish_sweep_info",
    "read_sweep_info",
    "short_override_name",
    "sweep_run_name",
]

SWEEP_ENV_VAR = "ARNEWS_SWEEP"
SWEEP_FILE = "arnews_sweep.json"


@dataclass(frozen=True)
class SweepInfo:
    """What every job of a sweep needs to know about the sweep.

    Attributes:
        sweep_id: Tag ``arnews_ml.sweep_id`` on the parent and every child.
        parent_run_id: The parent run's id, or None when the sweep is not tracked.
        swept_keys: Config keys whose value varies across the jobs (names the child runs).
        objective: The metric the sweep ranks its jobs by (and returns to a sweeper).
        direction: ``maximize`` or ``minimize``.
        register: The registration policy of the sweep (``auto``, ``always`` or ``never``).
    """

    sweep_id: str
    parent_run_id: str | None = None
    swept_keys: tuple[str, ...] = ()
    objective: str = ""
    direction: str = "maximize"
    register: str = "auto"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SweepInfo:
        data = json.loads(text)
        data["swept_keys"] = tuple(data.get("swept_keys") or ())
        return cls(**data)


def publish_sweep_info(info: SweepInfo, sweep_dir: str | Path | None) -> None:
    """Make ``info`` visible to the sweep's jobs (environment, and the sweep folder if given)."""
    os.environ[SWEEP_ENV_VAR] = info.to_json()
    if sweep_dir is not None:
        folder = Path(sweep_dir)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{SWEEP_FILE}.{os.getpid()}"
        tmp.write_text(info.to_json(), encoding="utf-8")
        tmp.replace(folder / SWEEP_FILE)


def clear_sweep_info() -> None:
    """Forget the sweep in this process (the next multirun publishes its own)."""
    os.environ.pop(SWEEP_ENV_VAR, None)


def read_sweep_info(sweep_dir: str | Path | None = None) -> SweepInfo | None:
    """The running sweep's info: from the environment, else from ``sweep_dir``; None if neither."""
    text = os.environ.get(SWEEP_ENV_VAR)
    if not text and sweep_dir is not None:
        path = Path(sweep_dir) / SWEEP_FILE
        text = path.read_text(encoding="utf-8") if path.is_file() else None
    if not text:
        return None
    try:
        return SweepInfo.from_json(text)
    except (ValueError, TypeError):
        return None


def short_override_name(key: str) -> str:
    """The last component of a dotted config key (``classifier.C`` -> ``C``)."""
    return key.lstrip("+~").rsplit(".", 1)[-1]


def sweep_run_name(overrides: list[str] | tuple[str, ...], swept_keys: tuple[str, ...]) -> str:
    """A sweep job's run name: its values of the swept keys, ``C=0.5,classifier=logreg``.

    Keys are shortened to their last component and sorted, long floats (a search's samples)
    to 4 significant digits; overrides of keys that do not vary
    across the sweep are left out (every job shares them). Falls back to all overrides when
    none of them is a swept key.
    """
    pairs: list[tuple[str, str]] = []
    chosen: list[tuple[str, str]] = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            continue
        bare = key.lstrip("+~")
        pairs.append((short_override_name(bare), value))
        if bare in swept_keys:
            chosen.append((short_override_name(bare), value))
    shown = chosen or pairs
    return ",".join(f"{k}={_short_value(v)}" for k, v in sorted(shown))


def _short_value(value: str) -> str:
    """A sampled float (``0.7556591402284708``) shortened to 4 significant digits for a name."""
    if "." not in value or len(value) <= 8:
        return value
    try:
        return f"{float(value):.4g}"
    except ValueError:
        return value
