"""Can a cluster config place a trial's gang of bundles? (sweeps/gang.py; `python -m sweeps.check_cluster --workers N`)

A trial with run.workers=N asks Ray for N identical bundles at once.  Offline, from the node types of a
cluster config (their `resources` and `max_workers`, the cluster's `max_workers`, plus the head), this
counts how many such bundles the largest cluster the autoscaler may build holds, the way Ray's strategies
would place them: PACK and SPREAD may use any nodes (PACK prefers few), STRICT_PACK needs one node that
holds all N, STRICT_SPREAD N distinct nodes with one bundle each.  The answer is a one-line reason or None.
"""

from __future__ import annotations

import math
from typing import Any


def _fits(node: dict[str, float], cpu: float, gpu: float) -> int:
    """Bundles of CPU/GPU one node holds."""
    k = math.floor(node.get("CPU", 0) / cpu + 1e-9) if cpu > 0 else 10**6
    if gpu > 0:
        k = min(k, math.floor(node.get("GPU", 0) / gpu + 1e-9))
    return max(0, k)


def _nodes(cfg: dict[str, Any]) -> tuple[dict[str, float], list[dict[str, float]]]:
    """(the head's resources, every worker node the autoscaler may start, at most the cluster's max_workers)."""
    types = cfg.get("available_node_types") or {}
    head = dict((types.get(cfg.get("head_node_type")) or {}).get("resources") or {})
    workers = [dict(spec.get("resources") or {}) for spec in types.values() for _ in range(int(spec.get("max_workers", 0) or 0))]
    return head, workers


def gang_problem(cfg: dict[str, Any], *, cpu: float, gpu: float, workers: int, strategy: str = "PACK") -> str | None:
    """Why CFG's largest cluster cannot place WORKERS bundles of CPU/GPU under STRATEGY, or None when it can."""
    head, workers_nodes = _nodes(cfg)
    need = f"{workers} bundle(s) of {{CPU: {cpu:g}, GPU: {gpu:g}}} ({strategy})"
    fits = sorted((_fits(r, cpu, gpu) for r in workers_nodes), reverse=True)[:int(cfg.get("max_workers", len(workers_nodes)))]
    fits = [f for f in [_fits(head, cpu, gpu), *fits] if f > 0]
    if strategy == "STRICT_PACK":
        best = max(fits, default=0)
        return None if best >= workers else f"{need}: no node holds all of them (the largest holds {best})"
    if strategy == "STRICT_SPREAD":
        return None if len(fits) >= workers else f"{need}: only {len(fits)} node(s) can hold one"
    return None if sum(fits) >= workers else f"{need}: the largest cluster this config allows holds {sum(fits)}"


def check_worker_gpus(trials: list[Any]) -> None:
    """Refuse run.workers > 1 with a fractional GPU per worker: two NCCL workers of one trial may not share a card."""
    from trainer.errors import UserInputError
    for t in trials:
        if t.config.run.workers > 1 and 0 < t.resources.gpu < 1:
            raise UserInputError(f"trial {t.index}: run.workers={t.config.run.workers} needs whole GPUs per worker, but the "
                                 f"sweep gives {t.resources.gpu:g} GPU each (two workers of one trial could share a card, "
                                 f"which NCCL refuses); use a sweep file with resources gpu: 1, or run.workers=1")
