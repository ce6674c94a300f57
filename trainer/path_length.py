"""Path-length regularisation of G (StyleGAN2 §3.2; ADA's paper256 uses weight 2, batch shrink 2, decay 0.01, every 4th G step).

Why: it asks that a fixed-size step in w change the image by a fixed amount
in every direction, which makes the mapping from w to images smoother and
better conditioned (StyleGAN2 reports better PPL and easier inversion, and
ADA keeps it on in paper256).

For images g(w) of size H x W and y ~ N(0, I) / sqrt(H W), the length of one
sample is a = sqrt(mean over layers l of ||d(g . y) / d w_l||^2), the
gradient taken per layer slot of ws [N, num_ws, w_dim].  A running mean
a_bar <- a_bar + decay (mean(a) - a_bar) sets the target, and the penalty is
mean((a - a_bar)^2) with a_bar still carrying its gradient through this
batch's mean (as the reference does).  Lazy: it is G's own optimiser step
(the Greg phase, trainer/phases.py) every `pl_interval` minibatches, multiplied
by the interval, like R1.  The running mean is part of the run's state
(checkpointed; exact resume).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from trainer.mixing import StyleMixer


@dataclass(frozen=True)
class PathLengthResult:
    """One evaluation of the penalty: the loss to back-propagate and the detached statistics."""

    penalty: torch.Tensor   # mean((a - a_bar)^2), with its graph (not yet weighted)
    lengths: torch.Tensor   # a per sample, detached
    new_mean: torch.Tensor  # the running mean after this batch, detached


def path_lengths(G: nn.Module, ws: torch.Tensor, noise_generator: torch.Generator | None) -> torch.Tensor:
    """a per sample for ws [N, num_ws, w_dim], with the graph kept (double backward)."""
    img = G.synthesis(ws, noise_generator).float()
    y = torch.randn(img.shape, generator=noise_generator, device=img.device) / math.sqrt(img.shape[2] * img.shape[3])
    (grad,) = torch.autograd.grad((img * y).sum(), ws, create_graph=True)
    return grad.float().square().sum(dim=2).mean(dim=1).sqrt()


def path_length_penalty(G: nn.Module, z: torch.Tensor, mean: torch.Tensor, *, decay: float,
                        noise_generator: torch.Generator | None, mixer: StyleMixer | None = None,
                        update_emas: bool = False) -> PathLengthResult:
    """The penalty on latents z (already shrunk to the PL batch) against running mean `mean` (a 0-d tensor);
    `update_emas` lets this batch's main latents move G's w_avg, as the reference's Greg pass does."""
    ws = mixer.ws(G, z, update_emas) if mixer is not None else G.mapping_ws(z, update_emas=update_emas)
    lengths = path_lengths(G, ws, noise_generator)
    target = mean.to(lengths.device).lerp(lengths.mean(), decay)
    penalty = (lengths - target).square().mean()
    return PathLengthResult(penalty=penalty, lengths=lengths.detach(), new_mean=target.detach())
