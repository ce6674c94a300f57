"""The config's values in the config columns of every tick row and trial row (declared in resultsformat/columns.py).

A figure groups and filters on these columns (mode, augpipe, p, target, dataset
size) without parsing the config JSON each row also carries.
"""

from __future__ import annotations

from typing import Any

from resultsformat import SCHEMA_VERSION
from trainer.config.models import TrainConfig


def flat_columns(cfg: TrainConfig) -> dict[str, Any]:
    """The values of the config columns every tick row and trial row carries (declared in resultsformat/columns.py)."""
    a, dcfg = cfg.augment, cfg.data
    return {
        "schema_version": SCHEMA_VERSION,
        "seed": cfg.run.seed,
        "aug_mode": a.mode,
        "augpipe": getattr(a, "augpipe", None),
        "p_fixed": a.p if a.mode == "fixed" else None,   # in ada mode p is only the initial p
        "ada_target": a.target if a.mode == "ada" else None,
        "heuristic": getattr(a, "heuristic", None),
        "diffaug_policy": getattr(a, "diffaug_policy", None),
        "apply_to": getattr(a, "apply_to", None),
        "dataset": dcfg.source,
        "dataset_size": dcfg.dataset_size,
        "mirror": dcfg.mirror,
        "resolution": dcfg.resolution,
        "init_from": cfg.run.init_from,
        "init_sha256": cfg.run.init_sha256,
    }
