"""Shared test settings for the trainer tests: a seconds-long config variant and DESIGN's tick-row columns."""

from __future__ import annotations

from typing import Any

DESIGN_COLUMNS = (
    "schema_version", "scale", "seed", "aug_mode", "augpipe", "p_fixed", "ada_target", "heuristic", "diffaug_policy", "apply_to",
    "dataset", "dataset_size", "mirror", "resolution", "tick", "kimg", "wall_s", "img_per_s", "time_train_s", "time_metrics_s",
    "time_ckpt_s", "p", "r_t", "r_v", "loss_G", "loss_D", "loss_r1", "D_real_train", "D_real_val", "D_fake", "acc_real_train",
    "acc_real_val", "acc_fake", "fid", "kid", "detector", "leak_rot", "leak_color", "leak_blank",
)


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
