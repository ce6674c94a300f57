"""The seam between the training loop and whoever drives it (CLI, Ray Tune, tests).

The loop never imports Ray and never chooses file paths (hooks are the seam between
the trainer and whatever schedules it).  At every tick it hands a `TickReport` to `Hooks.on_tick`; when the
report carries `save_checkpoint`, the hook decides where the checkpoint goes
(a run directory for the CLI, a temp dir passed to `tune.report` for Ray).
`should_stop` is polled between steps, so Ctrl-C or a scheduler can end a run
cleanly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np


@dataclass(frozen=True)
class TickReport:
    """One tick's results.

    row: the tick row, with the column names of docs/architecture.md (nulls for metrics not computed).
    save_checkpoint: when not None, call it with an empty directory to write a
        complete, resumable checkpoint there (atomically per file).
    samples: when not None, a uint8 HxWxC image: the grid of samples of this
        metrics tick (fixed latents, so grids are comparable over training).
    is_last: True for the final tick of the run.
    stats: the tick's mean of every statistic reported to the run's channel (trainer/stats.py), declared as a
        column or not; the row holds the declared ones.
    """

    row: dict[str, Any]
    save_checkpoint: Callable[[Path], None] | None = None
    samples: np.ndarray | None = None
    is_last: bool = False
    stats: dict[str, float | None] = field(default_factory=dict)

    def tracked(self, row: dict[str, Any] | None = None) -> dict[str, Any]:
        """What trackers and progress lines show: every reported statistic, and the row (ROW: the hook's own)."""
        return {**self.stats, **(self.row if row is None else row)}


class Hooks(Protocol):
    """What a driver of `trainer.loop.train` provides."""

    def on_tick(self, report: TickReport) -> None: ...

    def should_stop(self) -> bool: ...


@dataclass
class CollectingHooks:
    """Hooks that keep rows in memory; for tests and notebooks."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    checkpoint_dir: Path | None = None
    stop_after_ticks: int | None = None
    samples: list[np.ndarray] = field(default_factory=list)

    def on_tick(self, report: TickReport) -> None:
        self.rows.append(dict(report.row))
        if report.samples is not None:
            self.samples.append(report.samples)
        if report.save_checkpoint is not None and self.checkpoint_dir is not None:
            target = self.checkpoint_dir / f"tick{int(report.row['tick']):06d}"
            target.mkdir(parents=True, exist_ok=True)
            report.save_checkpoint(target)

    def should_stop(self) -> bool:
        return self.stop_after_ticks is not None and len(self.rows) >= self.stop_after_ticks
