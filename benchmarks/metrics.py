"""Cost of one metrics tick at smoke settings, split into FID / leakage / D outputs, and of the one-off training.

    python -m benchmarks.metrics [--threads N]

Smoke preset metrics (16 px procedural data, fid_samples 1000, fid_real 5000,
KID 20 x 500, dout_samples 256, leak_samples 500) on a fresh cache directory:

* one-off costs, paid once per machine and dataset and then cached: training
  the offline detector, training the rotation classifier, the real-data
  statistics (5000 reals through the detector);
* the first evaluate() (pays the leakage references too) and a second one (the
  steady-state cost of every later metrics tick), split by `last_timings`;
* the same steady-state evaluate() with the `random` detector, side by side;
* fid_from_stats alone at the feature sizes of the offline (128), random (256)
  and Inception (2048) detectors (the last is a fixed CPU cost of every
  paper-scale metrics tick), and scipy.linalg.sqrtm of the 2048-d product,
  the reference's route, for comparison.

The "generator" serves held-out reals, so G's own cost is not in the figures;
the discriminator is a smoke-sized DCGAN D (random weights), whose cost is.
Prints one JSON object (seconds).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from trainer.config import preset
from trainer.data import load_dataset, to_float
from trainer.metrics import MetricSuite
from trainer.metrics.fid_kid import feature_stats, fid_from_stats
from trainer.metrics.offline_detector import OfflineDetector
from trainer.metrics.real_stats import real_stats


def _discriminator(channels: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(channels, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(128 * 4 * 4, 1), nn.Flatten(0),
    ).eval()


def _served_reals(images):
    state = {"next": 0}

    def generate(n: int) -> torch.Tensor:
        idx = np.arange(state["next"], state["next"] + n) % len(images)
        state["next"] += n
        return to_float(images.batch(idx))
    return generate


def _timed(fn) -> tuple[object, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _fid_cost(dim: int, n: int = 4000, scipy_too: bool = False) -> dict[str, float]:
    """Seconds of one fid_from_stats at `dim` features (ReLU-like random features, full-rank covariances)."""
    rng = np.random.default_rng(dim)
    a, b = np.maximum(rng.normal(size=(n, dim)), 0), np.maximum(rng.normal(size=(n, dim)) + 0.05, 0)
    sa, sb = feature_stats(a), feature_stats(b)
    out = {f"d{dim}": _timed(lambda: fid_from_stats(*sa, *sb))[1]}
    if scipy_too:
        import scipy.linalg

        out[f"d{dim}_scipy_sqrtm"] = _timed(lambda: scipy.linalg.sqrtm(sa[1] @ sb[1]))[1]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (the smoke preset uses 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = preset("smoke")
    device = torch.device("cpu")
    out: dict[str, object] = {"settings": {"resolution": cfg.data.resolution, **cfg.metrics.model_dump(include={
        "fid_samples", "fid_real", "kid_subsets", "kid_subset_size", "dout_samples", "leak_samples"}), "threads": args.threads}}
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as tmp:
        cache = Path(tmp)
        data, out["data_load_s"] = _timed(lambda: load_dataset(cfg.data, cache_dir=cache))
        suite = MetricSuite(cfg.metrics, data, device, cache_dir=cache)
        det = suite.detector
        assert isinstance(det, OfflineDetector)
        _, out["offline_detector_train_s"] = _timed(det.network)
        _, out["rotation_classifier_train_s"] = _timed(suite.leakage.rotation.network)
        _, out["real_stats_s"] = _timed(lambda: real_stats(data.full, det, dataset_name=data.name, resolution=data.resolution,
                                                         count=cfg.metrics.fid_real, metrics_dir=suite.metrics_dir))
        d = _discriminator(data.channels)
        _, first = _timed(lambda: suite.evaluate(_served_reals(data.val), d))
        out["first_evaluate"] = {"total_s": first, **{f"{k}_s": v for k, v in suite.last_timings.items()}}
        row, total = _timed(lambda: suite.evaluate(_served_reals(data.val), d))
        out["evaluate"] = {"total_s": total, **{f"{k}_s": v for k, v in suite.last_timings.items()}}
        out["values"] = {k: row[k] for k in ("fid", "kid", "leak_rot", "leak_color", "leak_blank", "detector")}
        rand = MetricSuite(cfg.metrics.model_copy(update={"detector": "random"}), data, device, cache_dir=cache)
        rand.evaluate(_served_reals(data.val), d)
        _, total_r = _timed(lambda: rand.evaluate(_served_reals(data.val), d))
        out["evaluate_random_detector"] = {"total_s": total_r, **{f"{k}_s": v for k, v in rand.last_timings.items()}}
    out["fid_from_stats_s"] = {**_fid_cost(128), **_fid_cost(256), **_fid_cost(2048, scipy_too=True)}
    print(json.dumps(out, indent=2, default=float))


if __name__ == "__main__":
    main()
