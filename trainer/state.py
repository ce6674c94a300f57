"""Everything a training run owns and must carry across a checkpoint (docs/papers.md §4: resuming restores p and its counters).

`TrainState` holds the networks (G, D, G_ema), optimisers, the run's random
generators, the data order, the augmentation state, the statistics channel
(trainer/stats.py) and the progress counters.
No module-level state: Ray reuses worker processes between trials.  Its
`state_dict()` holds only tensors, numbers, strings, lists and dicts, so a
checkpoint loads with `torch.load(weights_only=True)`.

Random streams (each a `torch.Generator` seeded by `trainer.seeds.stream_seed` from run.seed):
data order (CPU), latents, synthesis noise, augmentation (on the device), the r_v
probe (CPU) and style mixing's crossovers (CPU; absent from older checkpoints, so
it starts fresh when one is resumed).  Metrics and sample grids use their own throwaway
generators so measuring never shifts training.
"""

from __future__ import annotations

import copy
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import torch
from torch import nn

from trainer.d_inputs import Augmenter
from trainer.config import TrainConfig
from trainer.device import DeviceSetup
from trainer.distributed import Dist, sync_batchnorm
from trainer.freeze import d_trainable_params
from trainer.mixing import StyleMixer
from trainer.networks import build_networks
from trainer.networks.stylegan2 import set_block_precision
from trainer.phases import adam_settings, reg_interval, schedule
from trainer.seeds import stream_seed
from trainer.stats import Stats

STREAMS = ("data", "latent", "noise", "aug", "probe", "mixing")   # the generators a checkpoint carries (trainer.seeds names)
_CPU_STREAMS = ("data", "probe", "mixing")


class DataOrder:
    """Seeded permutation epochs over the training set; the position survives checkpoints."""

    def __init__(self, size: int, generator: torch.Generator) -> None:
        self.size, self.generator = size, generator
        self.perm = torch.randperm(size, generator=generator)
        self.pos, self.epoch = 0, 0

    def next_indices(self, batch: int) -> np.ndarray:
        out: list[torch.Tensor] = []
        need = batch
        while need > 0:
            if self.pos >= self.size:
                self.perm = torch.randperm(self.size, generator=self.generator)
                self.pos, self.epoch = 0, self.epoch + 1
            take = min(need, self.size - self.pos)
            out.append(self.perm[self.pos:self.pos + take])
            self.pos += take
            need -= take
        return torch.cat(out).numpy()

    def state_dict(self) -> dict[str, Any]:
        return {"perm": self.perm.clone(), "pos": self.pos, "epoch": self.epoch}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        self.perm, self.pos, self.epoch = d["perm"].clone(), int(d["pos"]), int(d["epoch"])


def _adam(params: Any, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=lr, betas=betas, eps=1e-8)


class TrainState:
    """The mutable state of one run."""

    def __init__(self, cfg: TrainConfig, setup: DeviceSetup, *, resolution: int, channels: int, train_size: int,
                 dist: Dist | None = None) -> None:
        self.cfg, self.setup, self.dist = cfg, setup, dist or Dist()
        dev = setup.device
        G, D = build_networks(cfg.model, resolution=resolution, channels=channels, seed=stream_seed(cfg.run.seed, "init"))
        sync_batchnorm(G, self.dist)   # several workers: G's BatchNorm sees the whole batch (trainer/distributed.py)
        self.G, self.D = G.to(dev), D.to(dev)
        # per-block precision (model.amp_blocks, the reference's num_fp16_res) replaces the whole-network autocast
        self.block_precision = cfg.model.arch == "stylegan2" and cfg.model.amp_blocks is not None
        self.tracks_w_avg = cfg.model.arch == "stylegan2"   # the mapping's w_avg moves on training G passes
        if self.block_precision:
            set_block_precision(self.G, self.D, setup.amp_dtype, cfg.model.amp_blocks)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        if setup.channels_last:
            for net in (self.G, self.D, self.G_ema):
                net.to(memory_format=torch.channels_last)
        lc = cfg.loss
        # lazy regularisation runs as separate optimiser steps (trainer/phases.py), so a network with a
        # regulariser gets the reference's interval-rescaled lr and betas; Freeze-D's layers get no optimiser state
        self.phases = schedule(lc)
        self.adam = {net: adam_settings(lr, (lc.beta1, lc.beta2), reg_interval(lc, net))
                     for net, lr in (("G", lc.g_lr), ("D", lc.d_lr))}
        self.opt_G = _adam(self.G.parameters(), *self.adam["G"])
        self.opt_D = _adam(d_trainable_params(self.D, cfg.model.freeze_d), *self.adam["D"])
        self.gens = {s: torch.Generator(device="cpu" if s in _CPU_STREAMS else dev)
                     .manual_seed(stream_seed(cfg.run.seed, s, self.dist.stream_index(s))) for s in STREAMS}
        self.order = DataOrder(train_size, self.gens["data"])
        self.aug = Augmenter(cfg.augment, cfg.run.batch, self.gens["aug"], dev)
        # the statistics channel: training code reports to it, the tick and the ADA controller read windows of it;
        # gathered over the workers, so a data-parallel run's controller sees the whole batch (trainer/distributed.py)
        self.stats = Stats(gather=self.dist.gather)
        if self.aug.controller is not None:
            self.stats.attach(self.aug.controller.window)
        self.scaler = torch.amp.GradScaler(dev.type) if setup.needs_scaler else None
        self.mixer = StyleMixer(cfg.loss.style_mixing, self.gens["mixing"], self.latents) if cfg.loss.style_mixing > 0 else None
        self.pl_mean = torch.zeros((), device=dev)        # path-length regularisation's running mean length
        self.cur_nimg = 0
        self.tick = 0
        self.d_steps = 0                 # minibatches done: the index trainer.phases schedules by
        self.wall_s = 0.0

    def latents(self, n: int) -> torch.Tensor:
        """N latents; with several workers, this worker's slice of the whole batch's draw (the same stream everywhere)."""
        z = torch.randn((n * self.dist.world, self.cfg.model.z_dim), generator=self.gens["latent"], device=self.setup.device)
        return self.dist.shard(z)

    def autocast(self) -> AbstractContextManager:
        """The context G and D run under: the whole-network autocast, or none when the blocks set their own."""
        return nullcontext() if self.block_precision else self.setup.autocast()

    def nets(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D, "G_ema": self.G_ema}

    def state_dict(self) -> dict[str, Any]:
        def cpu(sd: dict[str, Any]) -> dict[str, Any]:
            return {k: v.detach().to("cpu", copy=True) for k, v in sd.items()}
        return {
            "nets": {k: cpu(m.state_dict()) for k, m in self.nets().items()},
            "opt_G": _opt_to_cpu(self.opt_G.state_dict()),
            "opt_D": _opt_to_cpu(self.opt_D.state_dict()),
            "rng": {k: g.get_state().cpu() for k, g in self.gens.items()},
            "order": self.order.state_dict(),
            "augment": self.aug.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else {},
            "path_length": {"mean": self.pl_mean.detach().to("cpu", copy=True)},
            "progress": {"cur_nimg": self.cur_nimg, "tick": self.tick, "d_steps": self.d_steps, "wall_s": self.wall_s},
        }

    def load_state_dict(self, d: dict[str, Any]) -> None:
        for k, m in self.nets().items():
            m.load_state_dict(d["nets"][k])
        for net, opt in (("G", self.opt_G), ("D", self.opt_D)):
            opt.load_state_dict(d[f"opt_{net}"])
            lr, betas = self.adam[net]       # the config's settings, also for a checkpoint written before the
            for group in opt.param_groups:   # lazy rescaling (Adam's state_dict carries lr and betas)
                group["lr"], group["betas"] = lr, betas
        for k, g in self.gens.items():
            if k in d["rng"]:            # a checkpoint from before a stream existed keeps the fresh seed
                g.set_state(d["rng"][k])
        self.order.load_state_dict(d["order"])
        self.aug.load_state_dict(d["augment"])
        if self.scaler is not None and d["scaler"]:
            self.scaler.load_state_dict(d["scaler"])
        if "path_length" in d:           # older checkpoints have no path-length state: it starts at 0
            self.pl_mean = d["path_length"]["mean"].to(self.setup.device)
        prog = d["progress"]
        self.cur_nimg, self.tick, self.d_steps = int(prog["cur_nimg"]), int(prog["tick"]), int(prog["d_steps"])
        self.wall_s = float(prog["wall_s"])


def _opt_to_cpu(sd: dict[str, Any]) -> dict[str, Any]:
    state = {k: {n: (v.detach().to("cpu", copy=True) if torch.is_tensor(v) else v) for n, v in s.items()}
             for k, s in sd["state"].items()}
    return {"state": state, "param_groups": copy.deepcopy(sd["param_groups"])}
