"""Reference statistics of the real data for FID/KID, computed once and cached (ADA's fid50k_full).

ADA measures FID against the *full* dataset whatever the training subset, and
computes those statistics once per dataset: at paper scale they cost as much
as the generated side, and every trial of a sweep shares them.  They are keyed
by (dataset name, detector cache key, resolution, number of reals, KID sample
size) and stored as one .npz (mu, sigma, and a sample of features for KID).

When `fid_real` is smaller than the dataset, the reals are a seeded choice
(independent of the run's seed) so every trial compares against the same images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainer.metrics.cache import cache_file, load_npz, save_npz
from trainer.metrics.detectors import BATCH, Detector
from trainer.metrics.fid_kid import StatsAccumulator

STATS_VERSION = 1
CHOICE_SEED = 0
KID_REAL_MAX = 10_000   # real features kept for KID (its subsets draw from these)


@dataclass(frozen=True)
class RealStats:
    mu: np.ndarray
    sigma: np.ndarray
    kid_features: np.ndarray   # float32 [min(n, KID_REAL_MAX), D]
    count: int


def uint8_to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], the generator's range (same map as trainer.data.to_float)."""
    return x.to(torch.float32) / 127.5 - 1.0


def choose_indices(total: int, count: int | None, seed: int = CHOICE_SEED) -> np.ndarray:
    """All indices, or a seeded choice of `count` of them (sorted, so file reads stay sequential)."""
    if count is None or count >= total:
        return np.arange(total)
    return np.sort(np.random.default_rng(seed).choice(total, count, replace=False))


def stats_path(metrics_dir: Path, dataset_name: str, detector: Detector, resolution: int, count: int, kid_max: int) -> Path:
    parts: tuple[Any, ...] = (dataset_name, detector.cache_key, f"r{resolution}", f"n{count}", f"k{kid_max}", f"v{STATS_VERSION}")
    return cache_file(Path(metrics_dir), "stats", parts, ".npz")


def compute_real_stats(images: Any, detector: Detector, indices: np.ndarray, kid_max: int = KID_REAL_MAX) -> RealStats:
    """Stream the chosen reals through the detector in batches of <= 256."""
    acc = StatsAccumulator(detector.feature_dim)
    keep = np.zeros(len(indices), dtype=bool)
    keep[np.random.default_rng(CHOICE_SEED + 1).choice(len(indices), min(len(indices), kid_max), replace=False)] = True
    kept: list[np.ndarray] = []
    for start in range(0, len(indices), BATCH):
        batch = images.batch(indices[start:start + BATCH])
        feats = detector(uint8_to_float(batch)).cpu().numpy()
        acc.add(feats)
        kept.append(feats[keep[start:start + BATCH]].astype(np.float32))
    mu, sigma = acc.result()
    return RealStats(mu=mu, sigma=sigma, kid_features=np.concatenate(kept), count=len(indices))


def real_stats(images: Any, detector: Detector, *, dataset_name: str, resolution: int, count: int | None,
               metrics_dir: Path, kid_max: int = KID_REAL_MAX) -> RealStats:
    """Cached reference statistics of `images` (the full dataset) under `detector`."""
    indices = choose_indices(len(images), count)
    path = stats_path(metrics_dir, dataset_name, detector, resolution, len(indices), kid_max)
    cached = load_npz(path)
    if cached is not None and {"mu", "sigma", "kid_features", "count"} <= cached.keys():
        return RealStats(cached["mu"], cached["sigma"], cached["kid_features"], int(cached["count"]))
    with torch.no_grad():
        stats = compute_real_stats(images, detector, indices, kid_max)
    save_npz(path, mu=stats.mu, sigma=stats.sigma, kid_features=stats.kid_features, count=np.array(stats.count))
    return stats
