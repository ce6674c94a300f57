"""Data-parallel training of one run on `run.workers` processes (the reference's `--gpus`; docs/ray-notes.md "Data-parallel trials").

Every worker holds the whole model, trains on its own `run.batch / run.workers` images
and latents, and before every optimiser step the gradients are averaged over the
workers (one flat all-reduce per step), so all workers take the same step and stay
identical -- the step of one worker on the whole batch, up to float summation order.
What is reduced, and how:

- gradients: summed and divided by the worker count; without AMP loss scaling, NaN/inf
  become 0 (a worker's bad sample must not poison every worker's weights); with a
  GradScaler they are left for it to see, so every worker skips the step together;
- the ADA controller's inputs (r_t's signs, the probe's logits): reported tensors are gathered from every
  worker by the statistics channel (trainer/stats.py), so the controller sees the whole batch and computes
  the same p everywhere;
- G's BatchNorm statistics (DCGAN's G): the mean and variance of the whole batch, via a
  differentiable all-reduce, so a worker's fakes are those of the one-worker run;
- the tick's logged statistics (trainer/stats.py `reduce_window`): loss means averaged over the workers,
  gathered ones (r_t) already the whole batch's;
- "stop" (Ctrl-C, a scheduler) and "a loss became NaN/inf": one small all-reduce per step,
  so every worker stops or raises at the same step.

Random streams: network init, data order and latents are the run's (the same on every
worker); each worker takes its slice of the batch's indices and latents, so the workers
together see what one worker would.  Synthesis noise, augmentation, the r_v probe and
style mixing draw from per-worker streams: `stream_seed(seed, stream, index=rank)`, so
worker 0's streams are those of a one-worker run.  Those per-worker streams and the
path-length mean are gathered into worker 0's checkpoint (`ranks`), which worker 0 alone
reads and writes and broadcasts at resume, so resume is exact.

Minibatch-std groups stay within a worker (as in the reference), so with model.mbstd_group > 0
the workers' D differs from a one-worker D on the same images; everything else matches.

`Dist()` (one worker) makes every method a no-op, so single-process runs are unchanged.
This module never imports Ray: `trainer.spawn` starts local workers, sweeps/gang.py Ray's.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.distributed as tdist
from torch import nn

from trainer.device import DeviceSetup

PER_RANK_STREAMS = ("noise", "aug", "probe", "mixing")   # seeded with index=rank; the others are the run's
TIMEOUT = datetime.timedelta(minutes=30)                  # > the longest metrics tick worker 0 runs while the others wait


@dataclass(frozen=True)
class Dist:
    """This process's place among the workers of one run; `Dist()` is a single-worker run."""

    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def stream_index(self, stream: str) -> int:
        """The `index` word of `stream_seed` for STREAM on this worker."""
        return self.rank if stream in PER_RANK_STREAMS else 0

    def device_setup(self, setup: DeviceSetup) -> DeviceSetup:
        """CUDA runs pin worker r to GPU r of the ones it sees (Ray shows each worker only its own)."""
        if setup.device.type != "cuda" or not self.active:
            return setup
        index = self.rank % torch.cuda.device_count()
        torch.cuda.set_device(index)
        return replace(setup, device=torch.device("cuda", index))

    def shard(self, x: Any) -> Any:
        """This worker's contiguous slice of a whole-batch array or tensor (first dimension)."""
        if not self.active:
            return x
        n = len(x) // self.world
        return x[self.rank * n:(self.rank + 1) * n]

    @torch.no_grad()
    def average_grads(self, params: list[nn.Parameter], clean: bool) -> None:
        """Replace each gradient by its mean over the workers, in one flat all-reduce; CLEAN: NaN/inf -> 0."""
        if not self.active:
            return
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        tdist.all_reduce(flat)
        flat /= self.world
        if clean:
            torch.nan_to_num(flat, nan=0.0, posinf=0.0, neginf=0.0, out=flat)
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def gather(self, t: torch.Tensor) -> torch.Tensor:
        """Every worker's T concatenated in rank order (first dimension; equal shapes)."""
        if not self.active:
            return t
        parts = [torch.empty_like(t) for _ in range(self.world)]
        tdist.all_gather(parts, t.contiguous())
        return torch.cat(parts)

    def sum(self, values: list[float], device: torch.device) -> list[float]:
        """Element-wise sums over the workers of a short list of numbers."""
        if not self.active:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=device)
        tdist.all_reduce(t)
        return t.tolist()

    def any(self, flags: list[bool], device: torch.device) -> list[bool]:
        """Element-wise: whether any worker's flag is set."""
        if not self.active:
            return list(flags)
        t = torch.tensor([float(f) for f in flags], device=device)
        tdist.all_reduce(t, op=tdist.ReduceOp.MAX)
        return [bool(v) for v in t.tolist()]

    def gather_objects(self, obj: Any) -> list[Any]:
        """OBJ of every worker, in rank order (collective; small picklable objects only)."""
        if not self.active:
            return [obj]
        out: list[Any] = [None] * self.world
        tdist.all_gather_object(out, obj)
        return out

    def broadcast_object(self, obj: Any) -> Any:
        """Worker 0's OBJ on every worker (collective)."""
        if not self.active:
            return obj
        box = [obj if self.is_main else None]
        tdist.broadcast_object_list(box, src=0)
        return box[0]


def init_process_group(dist: Dist, *, addr: str, port: int, cuda: bool) -> None:
    """Join the run's process group: NCCL for CUDA runs, gloo on CPU; worker 0 hosts the rendezvous at ADDR:PORT."""
    if not dist.active:
        return
    os.environ.setdefault("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1")   # a dead peer ends NCCL collectives at TIMEOUT
    tdist.init_process_group("nccl" if cuda else "gloo", init_method=f"tcp://{addr}:{port}", rank=dist.rank,
                             world_size=dist.world, timeout=TIMEOUT)


def close_process_group() -> None:
    """Leave the process group (idempotent): closing the sockets tells the other workers at their next collective."""
    if tdist.is_available() and tdist.is_initialized():
        tdist.destroy_process_group()


class _SumOverWorkers(torch.autograd.Function):
    """Differentiable all-reduce: y = sum over workers of x, so dL/dx = sum over workers of dL/dy."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        tdist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        g = grad.clone()
        tdist.all_reduce(g)
        return g


class SyncedBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training-mode statistics are those of the whole batch over `world` workers.

    torch's SyncBatchNorm is CUDA-only; this one runs on gloo too.  Installed by swapping the class of an
    existing layer (`sync_batchnorm`), so parameter names, state dicts and checkpoints are unchanged."""

    world: int = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.world == 1:
            return super().forward(x)
        n = x.shape[0] * x.shape[2] * x.shape[3] * self.world
        moments = _SumOverWorkers.apply(torch.stack([x.sum(dim=(0, 2, 3)), x.square().sum(dim=(0, 2, 3))]))
        mean = moments[0] / n
        var = (moments[1] / n - mean.square()).clamp_min(0.0)
        if self.track_running_stats and self.running_mean is not None and self.running_var is not None:
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.detach(), m)
                self.running_var.lerp_(var.detach() * (n / max(n - 1, 1)), m)
        y = (x - mean[None, :, None, None]) * torch.rsqrt(var[None, :, None, None] + self.eps)
        if self.affine:
            y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return y


def sync_batchnorm(net: nn.Module, dist: Dist) -> None:
    """Give NET's BatchNorm2d layers whole-batch statistics in training mode (nothing for one worker)."""
    if not dist.active:
        return
    for module in net.modules():
        if type(module) is nn.BatchNorm2d:
            module.__class__ = SyncedBatchNorm2d
            module.world = dist.world


def rank_state(state: Any) -> dict[str, Any]:
    """What differs between the workers of a TrainState: its per-worker random streams and path-length mean."""
    return {"rng": {s: state.gens[s].get_state().cpu() for s in PER_RANK_STREAMS if s in state.gens},
            "pl_mean": state.pl_mean.detach().to("cpu", copy=True),
            "augment": state.aug.state_dict()}   # not restored (worker 0's is): the same on every worker, kept to show it


def load_rank_state(state: Any, saved: dict[str, Any]) -> None:
    """Restore this worker's part of a checkpoint written by worker 0 (`ranks`, one entry per worker)."""
    if not state.dist.active:
        return
    mine = saved["ranks"][state.dist.rank]
    for s, rng in mine["rng"].items():
        state.gens[s].set_state(rng)
    state.pl_mean = mine["pl_mean"].to(state.setup.device)
