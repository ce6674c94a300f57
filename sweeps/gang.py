"""A sweep trial with `run.workers=N`: one placement group of N bundles, the trial itself worker 0 (docs/ray-notes.md "Data-parallel trials").

The trial reserves `tune.PlacementGroupFactory([bundle] * N, strategy)`: bundle 0 holds the trial's own
process, which is worker 0 (it keeps SweepHooks, so rows, checkpoints and status go exactly where a
one-worker trial's go), and bundles 1..N-1 hold one Ray actor each, workers 1..N-1, which only train.
Ray admits the trial when all N bundles fit at once (a gang): PACK puts them on as few nodes as it can,
SPREAD over as many, STRICT_PACK on one node or not at all.  A trial's resources are therefore N times
the per-worker bundle, which is what `--dry-run` shows and `sweeps.check_cluster` checks.

Failure: the worker actors share the trial's fate.  A worker that dies closes its sockets, worker 0's
next collective raises, the trial fails and Ray retries it from its last checkpoint (the store keeps
the newest attempt's rows, so nothing is doubled); worker 0 kills its actors on every way out.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import ray
from ray import tune
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from trainer.config import TrainConfig
from trainer.distributed import Dist, close_process_group, init_process_group
from trainer.hooks import Hooks

PLACEMENTS = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")


def placement(cpu: float, gpu: float, workers: int, strategy: str = "PACK") -> tune.PlacementGroupFactory:
    """The placement group of one trial: WORKERS bundles of CPU/GPU each, placed together under STRATEGY."""
    bundle = {"CPU": cpu, **({"GPU": gpu} if gpu > 0 else {})}
    return tune.PlacementGroupFactory([dict(bundle) for _ in range(workers)], strategy=strategy)


def _trial_placement(config: dict[str, Any], cpu: float, gpu: float, strategy: str) -> tune.PlacementGroupFactory:
    # a trial Ray restored without our config (its state cut short: sweeps.ray_state) gets one bundle, so the
    # trainable, not Ray's scheduler, is where it stops, with our message
    run = ((config.get("trial") or {}).get("config") or {}).get("run") or {}
    return placement(cpu, gpu, int(run.get("workers", 1)), strategy)


def trial_resources(cpu: float, gpu: float, strategy: str = "PACK") -> Any:
    """What `tune.with_resources` takes: each trial's placement group, from its own run.workers."""
    return functools.partial(_trial_placement, cpu=cpu, gpu=gpu, strategy=strategy)


@ray.remote(max_restarts=0, max_task_retries=0)
class GangWorker:
    """Workers 1..N-1 of one trial, each in its own bundle of the trial's placement group."""

    def train(self, cfg_json: str, rank: int, world: int, addr: str, port: int) -> None:
        from trainer.spawn import run_worker
        run_worker(TrainConfig.from_json(cfg_json), Dist(rank=rank, world=world), addr, port, None)


def _free_port() -> int:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def train_gang(cfg: TrainConfig, hooks: Hooks, resume: Path | None = None) -> list[dict[str, Any]]:
    """`trainer.loop.train` as worker 0 of `cfg.run.workers`, the others started in this trial's placement group."""
    from trainer.device import resolve_device
    from trainer.loop import train
    world = cfg.run.workers
    if world == 1:
        return train(cfg, hooks, resume=resume)
    group = ray.util.get_current_placement_group()
    if group is None or len(group.bundle_specs) < world:
        raise RuntimeError(f"run.workers={world} needs a placement group of {world} bundles (sweeps.gang.trial_resources)")
    addr, port = ray.util.get_node_ip_address(), _free_port()
    spec = group.bundle_specs[1]
    actors = [GangWorker.options(num_cpus=spec.get("CPU", 0), num_gpus=spec.get("GPU", 0),
                                 scheduling_strategy=PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=r))
              .remote() for r in range(1, world)]
    refs = [a.train.remote(cfg.to_json(), r, world, addr, port) for r, a in enumerate(actors, start=1)]
    try:
        init_process_group(Dist(rank=0, world=world), addr=addr, port=port, cuda=resolve_device(cfg.run).device.type == "cuda")
        rows = train(cfg, hooks, resume=resume, dist=Dist(rank=0, world=world))
        close_process_group()
        ray.get(refs)   # a worker's own error, if it had one
        return rows
    finally:
        close_process_group()
        for a in actors:
            ray.kill(a)
