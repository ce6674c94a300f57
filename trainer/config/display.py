"""The settings a sweep's `--dry-run` shows once for every trial, instead of in each row of its table.

They are what makes a scale what it is (for `paper`, ADA's paper256 numbers;
docs/paper-config.md), so a user sees at a glance what every trial trains with.
"""

from __future__ import annotations

import json
from typing import Any

from trainer.config.models import TrainConfig


SUMMARY_KEYS = (
    "data.resolution", "run.batch", "run.workers", "run.total_kimg", "model.arch", "model.mapping_layers", "model.channel_base",
    "model.channel_max", "model.mbstd_group", "model.amp_blocks", "loss.g_lr", "loss.d_lr", "loss.beta1", "loss.beta2",
    "loss.r1_gamma", "loss.r1_interval", "loss.pl_weight", "loss.pl_interval", "loss.style_mixing", "loss.ema_kimg",
)


def shared_settings(configs: list[TrainConfig], skip: set[str] | frozenset[str] = frozenset()) -> str:
    """`key=value` for each SUMMARY_KEYS field that all `configs` share (and is not in `skip`), space-separated."""
    def get(cfg: TrainConfig, dotted: str) -> Any:
        section, _, name = dotted.partition(".")
        return getattr(getattr(cfg, section), name)
    parts = []
    for key in SUMMARY_KEYS:
        values = {json.dumps(get(c, key)) for c in configs}
        if key not in skip and len(values) == 1:
            v = get(configs[0], key)
            parts.append(f"{key}={v:g}" if isinstance(v, float) else f"{key}={v}")
    return " ".join(parts)
