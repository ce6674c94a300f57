"""MetricSuite: everything measured at a metrics tick, in one call (docs/architecture.md "Metrics in every tick row").

The training loop hands over two callables, a generator of fresh images and
the raw discriminator, and gets back one dict with exactly the row keys of the
contract: FID/KID (and which detector made them), the D-output statistics of
ADA Fig 1b,c / DiffAugment Fig 1, and the leakage measures.

Cost control.  Generated images are produced in chunks of <= 256 and each chunk
serves every metric that still needs images (the first `fid_samples` feed the
detector, the first `dout_samples` the discriminator, the first `leak_samples`
the leakage measures), so images are generated max(...) times, not the sum.
Everything runs under torch.no_grad.  One-off costs (real statistics, detector
and rotation-classifier training, leakage references) are paid at the first
evaluate() and cached; `last_timings` splits the wall time of the last call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from resultsformat import TICK_COLUMNS, names
from trainer.metrics.cache import metrics_cache_dir
from trainer.metrics.d_outputs import dout_stats, score
from trainer.metrics.detectors import BATCH, make_detector
from trainer.metrics.fid_kid import StatsAccumulator, fid_from_stats, kid_from_features
from trainer.metrics.leakage import LeakageMeter, LeakCollector
from trainer.metrics.real_stats import RealStats, real_stats, uint8_to_float
from trainer.seeds import stream_seed

if TYPE_CHECKING:
    from trainer.config import MetricsConfig
    from trainer.data import DatasetBundle

# The row keys evaluate() returns: the results format's "metric" columns (resultsformat/columns.py).
RESULT_KEYS = names(TICK_COLUMNS, "metric")


def _choose(total: int, count: int, seed: int) -> np.ndarray:
    """A fixed seeded choice of reals, the same at every tick so the curves are not resampling noise."""
    if count >= total:
        return np.arange(total)
    return np.sort(np.random.default_rng(seed).choice(total, count, replace=False))


class MetricSuite:
    """FID/KID, D-output statistics and leakage for one run; see the module docstring."""

    def __init__(self, cfg: MetricsConfig, data: DatasetBundle, device: torch.device, cache_dir: Path | None = None,
                 seed: int = 0) -> None:
        self.cfg = cfg
        self.data = data
        self.device = torch.device(device)
        self.seed = seed
        self.metrics_dir = metrics_cache_dir(cache_dir)
        self.detector = make_detector(cfg.detector, dataset_name=data.name, resolution=data.resolution,
                                      device=self.device, metrics_dir=self.metrics_dir, detector_path=cfg.detector_path)
        self.detector_name: str = self.detector.name
        self.leakage = (LeakageMeter(tuple(cfg.leakage), data.full, dataset_name=data.name, metrics_dir=self.metrics_dir,
                                     device=self.device, n_ref=cfg.leak_samples) if cfg.leakage else None)
        self.train_idx = _choose(len(data.train), cfg.dout_samples, stream_seed(seed, "metric_reals", 0))
        self.val_idx = (_choose(len(data.val), cfg.dout_samples, stream_seed(seed, "metric_reals", 1))
                        if data.val is not None and len(data.val) else None)
        self._real: RealStats | None = None
        self.last_timings: dict[str, float] = {}

    def real_stats(self) -> RealStats:
        if self._real is None:
            self._real = real_stats(self.data.full, self.detector, dataset_name=self.data.name, resolution=self.data.resolution,
                                    count=self.cfg.fid_real, metrics_dir=self.metrics_dir)
        return self._real

    def _score_reals(self, discriminator: Callable[[torch.Tensor], torch.Tensor], images: Any, idx: np.ndarray) -> np.ndarray:
        parts = [score(discriminator, uint8_to_float(images.batch(idx[s:s + BATCH])).to(self.device)) for s in range(0, len(idx), BATCH)]
        return np.concatenate(parts)

    @torch.no_grad()
    def evaluate(self, generate: Callable[[int], torch.Tensor],
                 discriminator: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, Any]:
        """One metrics tick: the contract's keys (see RESULT_KEYS), None for what is disabled."""
        cfg, clock = self.cfg, {"fid": 0.0, "dout": 0.0, "leak": 0.0}
        with _Stopwatch(clock, "fid"):
            real = self.real_stats()
        if self.leakage is not None:
            with _Stopwatch(clock, "leak"):
                self.leakage.reference()
        gen = self._generated_pass(generate, discriminator, clock)
        with _Stopwatch(clock, "fid"):
            mu, sigma = gen.stats.result()
            fid = fid_from_stats(mu, sigma, real.mu, real.sigma)
            kid = (kid_from_features(np.concatenate(gen.kid_features), real.kid_features, cfg.kid_subsets,
                                     cfg.kid_subset_size, seed=stream_seed(self.seed, "kid")) if cfg.kid else None)
        with _Stopwatch(clock, "dout"):
            train_logits = self._score_reals(discriminator, self.data.train, self.train_idx)
            val_logits = self._score_reals(discriminator, self.data.val, self.val_idx) if self.val_idx is not None else None
            dout = dout_stats(train_logits, val_logits, np.concatenate(gen.fake_logits), cfg.hist_bins, cfg.hist_range)
        leaks: dict[str, Any] = {}
        if self.leakage is not None and gen.leak is not None:
            with _Stopwatch(clock, "leak"):
                leaks = self.leakage.result(gen.leak)
        self.last_timings = dict(clock)
        row: dict[str, Any] = dict.fromkeys(RESULT_KEYS)
        row.update(dout)
        row.update(leaks)
        row.update(fid=fid, kid=kid, detector=self.detector_name, fid_ref_size=int(real.count), time_fid_s=clock["fid"],
                   time_leak_s=clock["leak"] if self.leakage is not None else None)
        return row

    def _generated_pass(self, generate: Callable[[int], torch.Tensor],
                        discriminator: Callable[[torch.Tensor], torch.Tensor], clock: dict[str, float]) -> "_Generated":
        """Generate chunks of <= 256 images once; each chunk feeds every metric that still needs images."""
        cfg = self.cfg
        n_fid, n_dout = cfg.fid_samples, cfg.dout_samples
        n_leak = cfg.leak_samples if self.leakage is not None else 0
        out = _Generated(StatsAccumulator(self.detector.feature_dim), self.leakage.collector() if self.leakage else None)
        total = max(n_fid, n_dout, n_leak)
        for start in range(0, total, BATCH):
            n = min(BATCH, total - start)
            # generation time is charged to the first metric this chunk serves
            with _Stopwatch(clock, "fid" if start < n_fid else ("leak" if start < n_leak else "dout")):
                x = generate(n)
            if x.ndim != 4 or x.shape[0] != n:
                raise ValueError(f"generate({n}) returned shape {tuple(x.shape)}; expected [{n}, C, H, W]")
            if start < n_fid:
                with _Stopwatch(clock, "fid"):
                    feats = self.detector(x[:n_fid - start]).cpu().numpy()
                    out.stats.add(feats)
                    if cfg.kid:
                        out.kid_features.append(feats.astype(np.float32))
            if start < n_dout:
                with _Stopwatch(clock, "dout"):
                    out.fake_logits.append(score(discriminator, x[:n_dout - start]))
            if out.leak is not None and start < n_leak:
                with _Stopwatch(clock, "leak"):
                    out.leak.add(x[:n_leak - start])
        return out


@dataclass
class _Generated:
    """What one pass over generated images leaves for the summaries."""

    stats: StatsAccumulator
    leak: LeakCollector | None
    kid_features: list[np.ndarray] = field(default_factory=list)
    fake_logits: list[np.ndarray] = field(default_factory=list)


class _Stopwatch:
    """Adds the wall time of a `with` block to clock[key]."""

    def __init__(self, clock: dict[str, float], key: str) -> None:
        self.clock, self.key = clock, key

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.clock[self.key] += time.perf_counter() - self.t0
