"""Metrics at every metrics tick: FID/KID with pluggable detectors, D-output statistics, leakage.

Public surface (the row keys are `RESULT_KEYS`; the tick-row columns of docs/architecture.md):
`MetricSuite(cfg, data, device, cache_dir=None, seed=0).evaluate(generate, discriminator) -> dict`.
The building blocks are importable on their own for analysis and tests.
"""

from __future__ import annotations

from trainer.metrics.d_outputs import dout_stats
from trainer.metrics.detectors import Detector, RandomDetector, make_detector, resolve_detector_name
from trainer.metrics.fid_kid import feature_stats, fid_from_stats, kid_from_features
from trainer.metrics.suite import RESULT_KEYS, MetricSuite

__all__ = [
    "MetricSuite", "RESULT_KEYS", "Detector", "RandomDetector", "make_detector", "resolve_detector_name",
    "feature_stats", "fid_from_stats", "kid_from_features", "dout_stats",
]
