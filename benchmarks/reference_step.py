"""The reference's own training minibatch (NVlabs stylegan2-ada-pytorch), driven at the size of one of our configs,
so `benchmarks/train_step.py --reference PATH` can time both on the same machine in the same run.

Nothing of the reference lives in this repository: PATH is a checkout (e.g. a `fetch`ed one) whose `training`,
`torch_utils` and `dnnlib` packages are imported from there at run time.  What runs is the reference's own
classes -- `training.networks.Generator` / `Discriminator`, `training.augment.AugmentPipe`,
`training.loss.StyleGAN2Loss.accumulate_gradients` -- scheduled as its training loop schedules them: the phases
Gmain, Greg, Dmain, Dreg by interval, each network's Adam at lr x N/(N+1) and betas ** (N/(N+1)), non-finite
gradients cleaned before each step, then the EMA update and ADA's adjustment every `ada_interval` minibatches.
Equal work to ours: same resolution, widths, mapping depth, batch, minibatch-std group, regularisers, style
mixing, augmentation pipe and p.  Its CUDA kernels are not used on CPU (its ops fall back to plain PyTorch);
reduced precision is off on both sides (our CPU runs are float32).
"""

from __future__ import annotations

import copy
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import torch

from trainer.config import TrainConfig
from trainer.phases import adam_settings, reg_interval

# the pipe's op names that our `bgc` spec switches on (ADA's augpipe 'bgc': blit, geometric, colour)
_BGC = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac", "brightness", "contrast", "lumaflip", "hue",
        "saturation")


def _refuse(message: str) -> None:
    print(message, file=sys.stderr)
    raise SystemExit(2)


def import_reference(path: str) -> dict[str, Any]:
    """The reference's modules, imported from the checkout at PATH; a bad path is a one-line error."""
    root = Path(path).expanduser().resolve()
    if not (root / "training" / "loss.py").is_file() or not (root / "torch_utils").is_dir():
        _refuse(f"--reference {path}: not a stylegan2-ada-pytorch checkout (no training/loss.py, torch_utils/)")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from torch_utils import misc, training_stats   # noqa: I001  (the reference's packages)
    from torch_utils.ops import conv2d_gradfix, grid_sample_gradfix
    from training import augment, loss, networks
    conv2d_gradfix.enabled = True        # as its training loop sets them (they only act on CUDA)
    # on torch >= 1.10 its grid_sample op warns at every call that it falls back to torch's own (what CPU uses anyway)
    warnings.filterwarnings("ignore", message="grid_sample_gradfix not supported")
    grid_sample_gradfix.enabled = True
    return {"misc": misc, "stats": training_stats, "augment": augment, "loss": loss, "networks": networks}


class ReferenceStep:
    """The reference's networks, loss, optimisers and phases for `cfg`'s sizes; `minibatch(reals)` runs one."""

    def __init__(self, cfg: TrainConfig, ref: dict[str, Any], device: torch.device, p: float) -> None:
        m, lc, res = cfg.model, cfg.loss, cfg.data.resolution
        self.ref, self.cfg, self.device = ref, cfg, device
        common = {"c_dim": 0, "img_resolution": res, "img_channels": 3}
        net = ref["networks"]
        self.G = net.Generator(z_dim=m.z_dim, w_dim=m.w_dim, **common, mapping_kwargs={"num_layers": m.mapping_layers},
                               synthesis_kwargs={"channel_base": m.channel_base, "channel_max": m.channel_max,
                                                 "num_fp16_res": 0, "conv_clamp": 256}).train().requires_grad_(False).to(device)
        self.D = net.Discriminator(**common, channel_base=m.channel_base, channel_max=m.channel_max, num_fp16_res=0,
                                   conv_clamp=256, epilogue_kwargs={"mbstd_group_size": m.mbstd_group}
                                   ).train().requires_grad_(False).to(device)
        self.G_ema = copy.deepcopy(self.G).eval()
        self.pipe = None
        if cfg.augment.mode in ("ada", "fixed"):
            if cfg.augment.augpipe != "bgc":
                _refuse(f"--reference drives the 'bgc' pipe only, not {cfg.augment.augpipe!r}")
            self.pipe = ref["augment"].AugmentPipe(**dict.fromkeys(_BGC, 1)).train().requires_grad_(False).to(device)
            self.pipe.p.copy_(torch.as_tensor(p))
        self.ada_stats = ref["stats"].Collector(regex="Loss/signs/real") if cfg.augment.mode == "ada" else None
        self.loss = ref["loss"].StyleGAN2Loss(device=device, G_mapping=self.G.mapping, G_synthesis=self.G.synthesis, D=self.D,
                                              augment_pipe=self.pipe, style_mixing_prob=lc.style_mixing, r1_gamma=lc.r1_gamma,
                                              pl_batch_shrink=lc.pl_batch_shrink, pl_decay=lc.pl_decay, pl_weight=lc.pl_weight)
        self.phases: list[tuple[str, torch.nn.Module, torch.optim.Optimizer, int]] = []
        for name, module, lr in (("G", self.G, lc.g_lr), ("D", self.D, lc.d_lr)):
            interval = reg_interval(lc, name)   # type: ignore[arg-type]
            lr_n, betas = adam_settings(lr, (lc.beta1, lc.beta2), interval)
            opt = torch.optim.Adam(module.parameters(), lr=lr_n, betas=betas, eps=1e-8)
            if interval is None:
                self.phases.append((name + "both", module, opt, 1))
            else:
                self.phases += [(name + "main", module, opt, 1), (name + "reg", module, opt, interval)]
        self.batch_idx, self.cur_nimg = 0, 0

    def minibatch(self, reals: torch.Tensor) -> None:
        batch, z_dim = reals.shape[0], self.G.z_dim
        c = torch.zeros([batch, 0], device=self.device)
        for name, module, opt, interval in self.phases:
            if self.batch_idx % interval != 0:
                continue
            opt.zero_grad(set_to_none=True)
            module.requires_grad_(True)
            z = torch.randn([batch, z_dim], device=self.device)
            self.loss.accumulate_gradients(phase=name, real_img=reals, real_c=c, gen_z=z, gen_c=c, sync=True, gain=interval)
            module.requires_grad_(False)
            for param in module.parameters():
                if param.grad is not None:
                    self.ref["misc"].nan_to_num(param.grad, nan=0, posinf=1e5, neginf=-1e5, out=param.grad)
            opt.step()
        self._ema_and_ada(batch)

    @torch.no_grad()
    def _ema_and_ada(self, batch: int) -> None:
        lc, aug = self.cfg.loss, self.cfg.augment
        ema_nimg = lc.ema_kimg * 1000
        if lc.ema_rampup is not None:
            ema_nimg = min(ema_nimg, self.cur_nimg * lc.ema_rampup)
        beta = 0.5 ** (batch / max(ema_nimg, 1e-8))
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.copy_(p.lerp(p_ema, beta))
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)
        self.cur_nimg += batch
        self.batch_idx += 1
        if self.ada_stats is not None and self.batch_idx % aug.ada_interval == 0:
            self.ada_stats.update()
            r_t = self.ada_stats["Loss/signs/real"]
            adjust = (1.0 if r_t > aug.target else -1.0 if r_t < aug.target else 0.0) * batch * aug.ada_interval / (aug.ada_kimg * 1000)
            self.pipe.p.copy_((self.pipe.p + adjust).clamp(min=0))


def reference_images_per_s(cfg: TrainConfig, ref: dict[str, Any], reals: torch.Tensor, seconds: float, chunk: int,
                           p: float, timer: Callable[..., tuple[float, float, int]]) -> tuple[float, float, int]:
    """`timer`'s figures (train_step.timed: images/s, CPU-seconds per kimg, minibatches) for the reference's minibatch
    on `reals`, in whole chunks of `chunk` minibatches after one warm-up minibatch -- as ours are timed."""
    torch.manual_seed(0)
    step = ReferenceStep(cfg, ref, reals.device, p)
    step.minibatch(reals)
    step.batch_idx = 0

    def run() -> None:
        for _ in range(chunk):
            step.minibatch(reals)
    return timer(run, chunk, reals.shape[0], seconds)


def reference_flops_per_image(cfg: TrainConfig, ref: dict[str, Any], reals: torch.Tensor, p: float,
                              count: Callable[[TrainConfig, Callable[[int], None]], float]) -> float:
    """The reference's FLOPs per image over a lazy cycle, counted by `count` (train_step.cycle_flops_per_image)
    exactly as ours are: the equal-work check (its FIR resampling costs FLOPs our bilinear one does not)."""
    torch.manual_seed(0)
    step = ReferenceStep(cfg, ref, reals.device, p)

    def run_at(index: int) -> None:
        step.batch_idx = index
        step.minibatch(reals)
    return count(cfg, run_at)
