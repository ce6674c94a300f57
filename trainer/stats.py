"""The statistics channel: training code reports a named value where it computes it, in one line, and every reader
takes its own window of the reports (docs/architecture.md "How to add a statistic").

    state.stats.report("pl_penalty", pl.penalty)

Readers attach a `Window` (all names, or the names it asks for):
- the tick (trainer/loop.py): the tick means of every name go to `TickReport.stats` (the trackers of `--log` and the
  progress line read them), and those of the names `resultsformat` declares `reported` become the tick row's columns;
- the ADA controller (trainer/augment/controller.py): r_t and the r_v probe's logits, its window carried in its
  checkpoint state.
A report is reduced once, to its moments (sum, count, sum of squares, in float64), and the moments go to every
window that wants the name; so r_t is summed in one place, and the controller's r_t over a window equals the tick
row's over the same minibatches.  A value is a tensor of observations (each element one: r_t's signs, the probe's
logits) or a scalar (a loss: one observation per step).

Several workers (trainer/distributed.py): a tensor of observations is gathered from every worker before any window
sees it, so the controller decides on the whole batch on every worker; a scalar stays the worker's, and the tick
averages the workers' sums at its end (`reduce_window`).  Each run builds its own channel (Ray reuses workers).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterator
from typing import Any

import torch

Moments = tuple[float, float, float]   # sum, count, sum of squares


def moments(value: torch.Tensor | float) -> Moments:
    """The moments of VALUE's elements (a scalar counts as one observation)."""
    if isinstance(value, torch.Tensor):
        v = value.detach().flatten().to(device="cpu", dtype=torch.float64)
        return float(v.sum()), float(v.numel()), float((v * v).sum())
    x = float(value)
    return x, 1.0, x * x


class Window:
    """Running moments of the names it collects (`names` None: every name) since it was made or reset."""

    def __init__(self, names: Collection[str] | None = None) -> None:
        self.names = frozenset(names) if names is not None else None
        self.acc: dict[str, list[float]] = {n: [0.0, 0.0, 0.0] for n in sorted(self.names or ())}

    def wants(self, name: str) -> bool:
        return self.names is None or name in self.names

    def add(self, name: str, m: Moments) -> None:
        acc = self.acc.setdefault(name, [0.0, 0.0, 0.0])
        acc[0] += m[0]
        acc[1] += m[1]
        acc[2] += m[2]

    def count(self, name: str) -> float:
        return self.acc[name][1] if name in self.acc else 0.0

    def sum(self, name: str) -> float:
        return self.acc[name][0] if name in self.acc else 0.0

    def mean(self, name: str) -> float | None:
        """The mean of NAME's observations; None when there were none."""
        count = self.count(name)
        return self.acc[name][0] / count if count > 0 else None

    def var_of_mean(self, name: str) -> float:
        """Sample variance of NAME's observations over their count: the squared standard error of their mean."""
        total, count, sq = self.acc.get(name, (0.0, 0.0, 0.0))
        if count < 2:
            return math.inf
        return max(sq - total * total / count, 0.0) / (count - 1) / count

    def means(self) -> dict[str, float | None]:
        return {name: self.mean(name) for name in self.acc}

    def reset(self, *names: str) -> None:
        """Empty NAMES (every name when none are given)."""
        for name in names or tuple(self.acc):
            if self.names is None:
                self.acc.pop(name, None)
            else:
                self.acc[name] = [0.0, 0.0, 0.0]


class Stats:
    """One run's channel: `report(name, value)` feeds every attached window; `gather` joins the workers' observations."""

    def __init__(self, gather: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        self.gather = gather if gather is not None else (lambda t: t)
        self.windows: list[Window] = []
        self.gathered: set[str] = set()          # names reported as tensors of observations (already whole-run)
        self.step: dict[str, float] = {}         # this step's scalar reports, in order (the divergence check)

    def attach(self, window: Window) -> Window:
        self.windows.append(window)
        return window

    def report(self, name: str, value: torch.Tensor | float) -> None:
        """Record one value of NAME: a scalar, or a tensor whose elements are each one observation."""
        if isinstance(value, torch.Tensor) and value.ndim > 0:
            value = self.gather(value.detach())
            self.gathered.add(name)
        m = moments(value)
        if not (isinstance(value, torch.Tensor) and value.ndim > 0):
            self.step[name] = m[0]
        for window in self.windows:
            if window.wants(name):
                window.add(name, m)

    def new_step(self) -> None:
        self.step = {}

    def first_nonfinite(self) -> str | None:
        """The first scalar reported this step that is NaN or infinite, else None."""
        return next(_nonfinite(self.step), None)


def _nonfinite(values: dict[str, float]) -> Iterator[str]:
    return (name for name, v in values.items() if not math.isfinite(v))


def reduce_window(window: Window, stats: Stats, extra: list[float], dist: Any, device: torch.device) -> list[float]:
    """Make a worker's tick window the whole run's, in one all-reduce (nothing for one worker): the sums of scalar
    names become the mean of the workers' sums (each worker's loss is the mean over its equal share of the batch),
    their counts stay (every worker runs the same steps); gathered names are whole-run already.  EXTRA's numbers
    are averaged over the workers and returned."""
    if not dist.active:
        return list(extra)
    local = sorted(n for n in window.acc if n not in stats.gathered)
    total = dist.sum([window.acc[n][k] for n in local for k in (0, 2)] + list(extra), device)
    for i, name in enumerate(local):
        window.acc[name][0], window.acc[name][2] = total[2 * i] / dist.world, total[2 * i + 1] / dist.world
    return [v / dist.world for v in total[2 * len(local):]]
