"""Shared test settings for the trainer tests: a seconds-long config variant and the tick-row columns of docs/architecture.md."""

from __future__ import annotations

from typing import Any

from resultsformat import TICK_COLUMNS, names

# every column the training loop produces (the results format's config, progress, training and metric groups)
DESIGN_COLUMNS = names(TICK_COLUMNS, "config", "progress", "training", "metric")


def fast_overrides(**extra: Any) -> dict[str, Any]:
    """A seconds-long smoke variant: 16 px DCGAN, tiny batches, cheap metrics (random detector, no leakage)."""
    o: dict[str, Any] = {
        "data.dataset_size": 200, "data.val_size": 64, "data.procedural_count": 1000,
        "model.channel_base": 256, "model.channel_max": 32,
        "metrics.detector": "random", "metrics.fid_samples": 32, "metrics.fid_real": 64, "metrics.kid": False,
        "metrics.dout_samples": 16, "metrics.leakage": [], "metrics.sample_grid": 2, "metrics.every_ticks": 1000,
        "run.total_kimg": 0.384, "run.tick_kimg": 0.128, "run.batch": 16, "run.checkpoint_ticks": 1000, "run.threads": 1,
        "augment.mode": "none",
    }
    o.update(extra)
    return o
