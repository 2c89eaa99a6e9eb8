"""RunContext: what the command layer knows about a run that the config itself does not say.

The command layer (``cli.py``) reads Hydra's global state once and builds a RunContext; the
tasks never read Hydra's state themselves. Outside a Hydra app (tests, notebooks,
:func:`arnews_ml.config.compose`) the context comes from the config alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arnews_ml.config import CHOICE_GROUPS, CHOICES_KEY
from arnews_ml.tracking.sweep_context import SweepInfo, sweep_run_name

__all__ = ["CHOICES_KEY", "CHOICE_GROUPS", "RunContext"]


@dataclass(frozen=True)
class RunContext:
    """The run's surroundings.

    Attributes:
        choices: Config group -> chosen option (``{"classifier": "svm", "embedder": "tfidf"}``).
        overrides: The job's command-line overrides.
        sweep: The sweep this run is a job of, or None for a single run.
        log_file: The job's log file (logged as an artifact when the run fails), if any.
        run_dir: Hydra's folder for this run (its outputs go there unless
            ``paths.output_dir`` says otherwise), if any.
    """

    choices: Mapping[str, str] = field(default_factory=dict)
    overrides: tuple[str, ...] = ()
    sweep: SweepInfo | None = None
    log_file: Path | None = None
    run_dir: Path | None = None

    def with_choices_from(self, cfg: Any) -> RunContext:
        """This context, with choices the config kept filling groups Hydra did not report."""
        kept = _plain_choices(cfg.get(CHOICES_KEY) if hasattr(cfg, "get") else None)
        merged = {**kept, **self.choices}
        return RunContext(merged, self.overrides, self.sweep, self.log_file, self.run_dir)

    def choice(self, group: str) -> str | None:
        """The chosen option of ``group``, or None when unknown."""
        value = self.choices.get(group)
        return str(value) if value not in (None, "null") else None

    def run_name(self, default: str) -> str:
        """Inside a sweep, the job's swept values (``C=0.5,classifier=logreg``); else ``default``."""
        if self.sweep is not None and self.overrides:
            return sweep_run_name(self.overrides, self.sweep.swept_keys) or default
        return default


def _plain_choices(choices: Any) -> dict[str, str]:
    if not choices or not hasattr(choices, "items"):
        return {}
    return {
        str(group): str(option)
        for group, option in choices.items()
        if group in CHOICE_GROUPS and option is not None
    }
