"""Per-tick accumulators of the training loop and the metric columns of a tick row (docs/architecture.md "Metrics in every tick row").

r_t here is the paper's E[sign(D(augmented real))] over all D steps of the
tick (docs/papers.md §4), independent of whether ADA is on, so every run's rows show
how confidently D separates its training reals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from resultsformat import TICK_COLUMNS, names

# Keys of MetricSuite.evaluate(): the format's "metric" columns; null on ticks without metrics.
METRIC_KEYS = names(TICK_COLUMNS, "metric")


@dataclass
class TickStats:
    """Sums over the minibatches of one tick."""

    images: int = 0
    steps: int = 0
    r1_steps: int = 0
    sum_loss_D: float = 0.0
    sum_loss_G: float = 0.0
    sum_loss_r1: float = 0.0
    pl_steps: int = 0
    sum_pl_penalty: float = 0.0
    sum_sign: float = 0.0
    n_logits: int = 0
    time_data: float = 0.0
    time_total: float = 0.0
    last: dict[str, float] = field(default_factory=dict)

    def add(self, *, loss_D: torch.Tensor, loss_G: torch.Tensor, loss_r1: torch.Tensor | None,
            real_logits: torch.Tensor, images: int, pl_penalty: torch.Tensor | None = None) -> None:
        self.last = {"loss_D": float(loss_D), "loss_G": float(loss_G)}
        self.sum_loss_D += self.last["loss_D"]
        self.sum_loss_G += self.last["loss_G"]
        if loss_r1 is not None:
            self.last["loss_r1"] = float(loss_r1)
            self.sum_loss_r1 += self.last["loss_r1"]
            self.r1_steps += 1
        if pl_penalty is not None:
            self.sum_pl_penalty += float(pl_penalty)
            self.pl_steps += 1
        self.sum_sign += float(torch.sign(real_logits).sum())
        self.n_logits += real_logits.numel()
        self.images += images
        self.steps += 1

    def first_nonfinite(self) -> str | None:
        """Name of the first loss of the last step that is NaN or infinite, else None."""
        for name, value in self.last.items():
            if not math.isfinite(value):
                return name
        return None

    def r_t(self) -> float | None:
        return self.sum_sign / self.n_logits if self.n_logits else None

    def loss_means(self) -> dict[str, float | None]:
        return {
            "loss_G": self.sum_loss_G / self.steps if self.steps else None,
            "loss_D": self.sum_loss_D / self.steps if self.steps else None,
            "loss_r1": self.sum_loss_r1 / self.r1_steps if self.r1_steps else None,
            "pl_penalty": self.sum_pl_penalty / self.pl_steps if self.pl_steps else None,
        }
