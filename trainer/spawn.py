"""A data-parallel run on this machine without Ray (`python -m trainer --set run.workers=N`; trainer/distributed.py).

The calling process is worker 0: it keeps the caller's hooks (run directory, Ctrl-C), reads the
checkpoint to resume and writes everything.  Workers 1..N-1 are child processes started with
torch.multiprocessing's "spawn" (a fresh interpreter each: no CUDA state is forked), which join a
process group whose rendezvous worker 0 hosts on a free port of 127.0.0.1.  A child that dies ends
worker 0's next collective with an error; an error in worker 0 terminates the children.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import torch.multiprocessing as mp

from trainer.config import TrainConfig
from trainer.device import resolve_device
from trainer.distributed import Dist, close_process_group, init_process_group
from trainer.hooks import Hooks, TickReport


class WorkerLost(RuntimeError):
    """A worker process other than 0 died mid-run (killed, out of memory); the message names it."""


class WorkerHooks:
    """The hooks of workers 1..N-1: they never report (worker 0 does) and never decide to stop."""

    def on_tick(self, report: TickReport) -> None:
        return None

    def should_stop(self) -> bool:
        return False


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1 (the rendezvous binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_worker(cfg: TrainConfig, dist: Dist, addr: str, port: int, cache_dir: Path | None) -> None:
    """Body of a worker other than 0 (here a child process, under Ray an actor): join, train, leave."""
    from trainer.loop import TrainingDiverged, train
    try:
        init_process_group(dist, addr=addr, port=port, cuda=resolve_device(cfg.run).device.type == "cuda")
        train(cfg, WorkerHooks(), cache_dir=cache_dir, dist=dist)
    except TrainingDiverged:
        pass   # every worker raises at the same step; worker 0 reports it
    finally:
        close_process_group()


def _exit_with_parent(parent: int) -> None:
    """A worker whose worker 0 died (killed, or its test timed out) would wait 30 minutes in a collective: leave."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _child(index: int, cfg_json: str, world: int, port: int, cache_dir: str | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is worker 0's to handle: it stops every worker at one step
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    cfg = TrainConfig.from_json(cfg_json)
    run_worker(cfg, Dist(rank=index + 1, world=world), "127.0.0.1", port, Path(cache_dir) if cache_dir else None)


def train_workers(cfg: TrainConfig, hooks: Hooks, resume: Path | None = None,
                  cache_dir: Path | None = None) -> list[dict[str, Any]]:
    """`trainer.loop.train` on `cfg.run.workers` local processes; the same call as `train` for one worker."""
    from trainer.loop import train
    world = cfg.run.workers
    if world == 1:
        return train(cfg, hooks, resume=resume, cache_dir=cache_dir)
    port = free_port()
    ctx = mp.start_processes(_child, args=(cfg.to_json(), world, port, str(cache_dir) if cache_dir else None),
                             nprocs=world - 1, join=False, start_method="spawn")
    dist = Dist(rank=0, world=world)
    try:
        init_process_group(dist, addr="127.0.0.1", port=port, cuda=resolve_device(cfg.run).device.type == "cuda")
        rows = train(cfg, hooks, resume=resume, cache_dir=cache_dir, dist=dist)
    except BaseException as exc:
        close_process_group()
        dead = [f"worker {i + 1} (exit code {p.exitcode})" for i, p in enumerate(ctx.processes) if p.exitcode not in (None, 0)]
        for p in ctx.processes:
            if p.is_alive():
                p.terminate()
        try:
            ctx.join()   # reap them
        except mp.ProcessExitedException:
            pass         # terminated here, or failed after worker 0: worker 0's error is the one to report
        if dead and isinstance(exc, RuntimeError):   # worker 0's collective failed because a worker had died
            raise WorkerLost(f"{', '.join(dead)} died; the last checkpoint is intact: continue with --resume") from exc
        raise
    close_process_group()
    while not ctx.join():
        pass
    return rows
