"""The lazy-regularisation schedule: which training phases exist, when each runs, and the Adam settings they imply
(StyleGAN2 App. B; the schedule ADA's reference training loop runs, docs/paper-config.md).

Why a schedule: R1 and path-length regularisation are expensive (double backward) and need not run every
minibatch.  Run each as its own optimiser step every `interval` minibatches, with its loss multiplied by
the interval, and the expected regularisation per minibatch is unchanged.  A network with a lazy
regulariser therefore takes interval + 1 optimiser steps per interval minibatches, so its Adam runs with
lr x ratio and betas ** ratio, ratio = interval / (interval + 1), to keep the same effective step size
and momentum horizon per minibatch.

Per minibatch the phases run in this order, each when its interval divides the minibatch index:
  Gmain (1)  G's non-saturating loss             Greg (pl_interval)  path length, x pl_interval
  Dmain (1)  D's logistic loss on fakes and reals Dreg (r1_interval)  R1, x r1_interval
A network whose regulariser is off (weight 0) has one phase, Gboth / Dboth, every minibatch, and its Adam
keeps the configured settings.  This module is pure arithmetic (no torch), so tests check it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from trainer.config import LossConfig

Net = Literal["G", "D"]


@dataclass(frozen=True)
class Phase:
    """One optimiser step of one network: its name, what it computes and how often it runs."""

    name: str          # Gmain | Greg | Gboth | Dmain | Dreg | Dboth
    net: Net
    main: bool         # computes the network's adversarial loss
    reg: bool          # computes the network's regulariser (its loss multiplied by `interval`)
    interval: int      # runs when interval divides the minibatch index


def reg_interval(lc: LossConfig, net: Net) -> int | None:
    """The lazy interval of the network's regulariser, or None when it is off (then no separate phase)."""
    if net == "G":
        return lc.pl_interval if lc.pl_weight > 0 else None
    return lc.r1_interval if lc.r1_gamma > 0 else None


def schedule(lc: LossConfig) -> tuple[Phase, ...]:
    """Every phase of a run in the order they run within a minibatch: G's, then D's."""
    out: list[Phase] = []
    for net in ("G", "D"):
        interval = reg_interval(lc, net)
        if interval is None:
            out.append(Phase(f"{net}both", net, main=True, reg=False, interval=1))
        else:
            out += [Phase(f"{net}main", net, main=True, reg=False, interval=1),
                    Phase(f"{net}reg", net, main=False, reg=True, interval=interval)]
    return tuple(out)


def phases_at(phases: tuple[Phase, ...], index: int) -> list[Phase]:
    """The phases minibatch `index` (0-based, counted over the whole run) runs, in order."""
    return [p for p in phases if index % p.interval == 0]


def adam_settings(lr: float, betas: tuple[float, float], interval: int | None) -> tuple[float, tuple[float, float]]:
    """Adam's lr and betas for a network whose regulariser runs every `interval` minibatches (None: unchanged)."""
    if interval is None:
        return lr, betas
    ratio = interval / (interval + 1)
    return lr * ratio, (betas[0] ** ratio, betas[1] ** ratio)


def ema_beta(batch: int, ema_kimg: float, rampup: float | None, cur_nimg: int) -> float:
    """G_ema's decay for one minibatch: half-life ema_kimg thousand images, shortened to cur_nimg x rampup
    early in training when a ramp-up is set; 0 (a copy of G) when the half-life is 0."""
    ema_nimg = ema_kimg * 1000.0
    if rampup is not None:
        ema_nimg = min(ema_nimg, cur_nimg * rampup)
    return 0.5 ** (batch / max(ema_nimg, 1e-8))
