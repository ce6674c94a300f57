"""The presets a run starts from: one per scale (docs/architecture.md "Scales").

`smoke` proves the machinery in seconds per run, `tiny` shows the papers' shapes
on CPU in minutes, `paper` is ADA's paper256 setup (docs/paper-config.md).  A
scale changes budget, data and widths, never what an option means.
"""

from __future__ import annotations

from typing import Any

from trainer.config.models import TrainConfig
from trainer.errors import UserInputError

PRESETS = ("smoke", "tiny", "paper")


def _preset_dict(name: str) -> dict[str, Any]:
    if name == "smoke":
        return {
            "data": {"resolution": 16, "dataset_size": 2000, "val_size": 500, "procedural_count": 10_000},
            "model": {"arch": "dcgan", "z_dim": 64, "w_dim": 64, "channel_base": 1024, "channel_max": 64, "mbstd_group": 4},
            "loss": {"r1_gamma": 0.1, "g_lr": 0.0002, "d_lr": 0.0002, "beta1": 0.5, "beta2": 0.999, "ema_kimg": 0.5},
            "metrics": {"fid_samples": 1000, "fid_real": 5000, "kid_subsets": 20, "kid_subset_size": 500,
                        "dout_samples": 256, "leak_samples": 500, "sample_grid": 8, "every_ticks": 1},
            "run": {"total_kimg": 12.0, "batch": 64, "tick_kimg": 4.0, "checkpoint_ticks": 1, "threads": 1},
        }
    if name == "tiny":
        return {
            "data": {"resolution": 16, "dataset_size": 2000, "val_size": 1000, "procedural_count": 70_000},
            # A classic balanced DCGAN pair (widths 64/128/256 at 16/8/4 px), no R1 and no minibatch std: this D
            # memorises a 2k subset within 300 kimg on CPU (r_v ~0.3), the narrower, R1-regularised pair we had
            # first never got past r_v 0.13 -- see docs/tiny-results.md.
            "model": {"arch": "dcgan", "z_dim": 64, "w_dim": 64, "channel_base": 1024, "channel_max": 256, "mbstd_group": 0},
            "loss": {"r1_gamma": 0.0, "g_lr": 0.0002, "d_lr": 0.0002, "beta1": 0.5, "beta2": 0.999, "ema_kimg": 1.0},
            "metrics": {"fid_samples": 2000, "fid_real": 10_000, "kid_subsets": 50, "kid_subset_size": 1000,
                        "dout_samples": 1000, "leak_samples": 1000, "every_ticks": 5},
            "run": {"total_kimg": 300.0, "batch": 64, "tick_kimg": 4.0, "checkpoint_ticks": 10, "threads": 1},
        }
    if name == "paper":
        # ADA's paper256 configuration (docs/paper-config.md lists every number and its source; tests/trainer/
        # test_paper_preset.py checks them): FFHQ 256 from a dataset_tool zip, Inception FID over 50k.  ADA's
        # target 0.6, interval 4 and speed 500 kimg are AugmentConfig's defaults.
        return {
            "data": {"source": "zip:datasets/ffhq256.zip", "resolution": 256, "dataset_size": None, "val_size": 10_000},
            "model": {"arch": "stylegan2", "z_dim": 512, "w_dim": 512, "mapping_layers": 8, "channel_base": 16384, "channel_max": 512,
                      "mbstd_group": 8, "amp_blocks": 4, "conv_clamp": 256.0},
            "loss": {"r1_gamma": 1.0, "r1_interval": 16, "g_lr": 0.0025, "d_lr": 0.0025, "beta1": 0.0, "beta2": 0.99, "ema_kimg": 20.0,
                     "pl_weight": 2.0, "pl_interval": 4, "pl_batch_shrink": 2, "pl_decay": 0.01, "style_mixing": 0.9},
            "metrics": {"detector": "inception", "fid_samples": 50_000, "fid_real": None, "kid_subsets": 100, "kid_subset_size": 1000,
                        "dout_samples": 10_000, "leak_samples": 10_000, "every_ticks": 50},
            "run": {"total_kimg": 25_000.0, "batch": 64, "tick_kimg": 4.0, "checkpoint_ticks": 50},
        }
    raise UserInputError(f"unknown preset {name!r}; allowed: {', '.join(PRESETS)}")


def preset(name: str) -> TrainConfig:
    """The named preset as a validated config."""
    d = _preset_dict(name)
    d["preset"] = name
    return TrainConfig.model_validate(d)
