"""Statistics of the discriminator's raw outputs: the overfitting picture of ADA Fig 1b,c and DiffAugment Fig 1.

When D overfits, its outputs on held-out validation reals drift away from those
on training reals towards those on generated images.  This module scores the
three sets without augmentation and summarises each by its mean raw logit, its
accuracy (a real counts as correct when its logit is > 0, a fake when < 0), and
a fixed-bin histogram (so histograms of different ticks and runs line up), plus
ADA's validation heuristic

    r_v = (E[D_train] - E[D_val]) / (E[D_train] - E[D_fake])

which is 0 when validation reals look like training reals and 1 when they look
like fakes (docs/papers.md §4).  It is None without a validation set, and None when the
denominator is not clearly above its own noise: |E[D_train] - E[D_fake]| must
exceed R_V_MIN_Z standard errors of that difference of means (computed from the
same logits).  A ratio of two small noisy differences reads anything (a run on
real data read r_v 0.30 from a train-validation gap of 0.006 logits), so the
row also carries the numerator alone, `d_gap_train_val` = E[D_train] - E[D_val]
in logits, which is what to read when r_v is null.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from trainer.metrics.detectors import BATCH

R_V_EPS = 1e-6
R_V_MIN_Z = 3.0   # r_v needs |E[D_train] - E[D_fake]| > 3 standard errors of that difference


@torch.no_grad()
def score(discriminator: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor) -> np.ndarray:
    """Raw logits [N] (float64) of `images`, fed in batches of <= 256."""
    outs = []
    for start in range(0, images.shape[0], BATCH):
        logits = discriminator(images[start:start + BATCH])
        outs.append(logits.detach().reshape(-1).to("cpu", torch.float64).numpy())
    return np.concatenate(outs) if outs else np.zeros(0)


def histogram(logits: np.ndarray, bins: int, half_range: float) -> list[float]:
    """Probability mass per bin on [-half_range, half_range]; values outside land in the end bins."""
    clipped = np.clip(logits, -half_range, half_range)
    counts, _ = np.histogram(clipped, bins=bins, range=(-half_range, half_range))
    return (counts / max(len(logits), 1)).tolist()


def histogram_edges(bins: int, half_range: float) -> list[float]:
    return np.linspace(-half_range, half_range, bins + 1).tolist()


def accuracy(logits: np.ndarray, real: bool) -> float:
    """Fraction D gets right: reals need a logit > 0, fakes < 0 (a logit of exactly 0 is wrong for both)."""
    return float(np.mean(logits > 0) if real else np.mean(logits < 0))


def r_v(mean_train: float, mean_val: float | None, mean_fake: float, denom_se: float = 0.0) -> float | None:
    """ADA's r_v, or None without validation reals or when |denominator| <= max(R_V_EPS, R_V_MIN_Z * DENOM_SE)."""
    if mean_val is None:
        return None
    denom = mean_train - mean_fake
    if not np.isfinite(denom) or abs(denom) <= max(R_V_EPS, R_V_MIN_Z * denom_se):
        return None
    return float((mean_train - mean_val) / denom)


def diff_se(a: np.ndarray, b: np.ndarray) -> float:
    """Standard error of mean(a) - mean(b) for independent samples (0 when either has fewer than 2 values)."""
    if len(a) < 2 or len(b) < 2:
        return 0.0
    return float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))


def dout_stats(train: np.ndarray, val: np.ndarray | None, fake: np.ndarray, bins: int, half_range: float) -> dict[str, Any]:
    """The D-output keys of a metrics row from the three sets of logits."""
    m_train, m_fake = float(train.mean()), float(fake.mean())
    m_val = float(val.mean()) if val is not None else None
    return {
        "D_real_train": m_train,
        "D_real_val": m_val,
        "D_fake": m_fake,
        "acc_real_train": accuracy(train, real=True),
        "acc_real_val": accuracy(val, real=True) if val is not None else None,
        "acc_fake": accuracy(fake, real=False),
        "D_hist_real_train": histogram(train, bins, half_range),
        "D_hist_real_val": histogram(val, bins, half_range) if val is not None else None,
        "D_hist_fake": histogram(fake, bins, half_range),
        "D_hist_edges": histogram_edges(bins, half_range),
        "r_v": r_v(m_train, m_val, m_fake, diff_se(train, fake)),
        "d_gap_train_val": m_train - m_val if m_val is not None else None,
    }
