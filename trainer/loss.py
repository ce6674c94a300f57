"""The GAN objective: non-saturating logistic loss, lazy R1 through the augmentation (docs/papers.md §1; StyleGAN2 §B; ADA §2).

Dmain:   softplus(D(T(G(z)))) + softplus(-D(T(x)))   (-log(1 - sigmoid) and -log sigmoid)
Gmain:   softplus(-D(T(G(z))))                         (non-saturating: strong gradients early)
Dreg:    R1, gamma/2 * E ||d D(T(x)) / d x||^2 on UN-augmented reals x, the gradient
         passing through T (T must support double backward), in a D step of its own
         every `r1_interval` minibatches, multiplied by the interval so its expected
         weight is unchanged (StyleGAN2 §B "lazy regularisation"; trainer/phases.py).
Which of T's applications happen is decided by `Augmenter` (`apply_to`).
G's training calls go through `trainer.mixing.generate`, which style-mixes when
the run has a mixer (loss.style_mixing > 0); path-length regularisation, G's
lazy regulariser (Greg), is in trainer/path_length.py.

The functions compute losses and call backward; stepping optimisers and AMP
scaling stay in trainer/step.py, so these are easy to test in isolation.
"""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from trainer.d_inputs import Augmenter
from trainer.mixing import StyleMixer, generate

Backward = Callable[[torch.Tensor], None]


@dataclass(frozen=True)
class DStepLosses:
    """Detached results of one D step."""

    loss_D: torch.Tensor          # adversarial part, scalar
    loss_r1: torch.Tensor | None  # R1 penalty E||grad||^2 * gamma/2 (not x interval), or None when Dreg did not run
    real_logits: torch.Tensor     # D(T(x)) on this step's reals, [N], for r_t


def d_step_loss(G: nn.Module, D: nn.Module, aug: Augmenter, reals: torch.Tensor, z: torch.Tensor, *,
                noise_generator: torch.Generator | None, backward: Backward,
                autocast: AbstractContextManager | None = None, mixer: StyleMixer | None = None,
                update_emas: bool = False) -> DStepLosses:
    """D's main phase (Dmain): softplus(D(T(G(z)))) + softplus(-D(T(x))), means over the batch; calls `backward`.

    Fakes are made without a graph (only D learns here).  R1 is not part of it: see `r1_loss`.
    `update_emas` (stylegan2): making the fakes moves G's w_avg, as every training G pass does in the reference."""
    ctx = autocast if autocast is not None else nullcontext()
    with torch.no_grad(), ctx:
        fakes = generate(G, z, noise_generator, mixer, update_emas)
    # T runs in full precision outside autocast (its resampling and R1's double backward
    # through it are the numerically delicate part); only G and D run under AMP.
    real_in, fake_in = aug.real_d(reals.detach()), aug.fake_d(fakes.float())
    with ctx:
        real_logits = D(real_in).float()
        fake_logits = D(fake_in).float()
    loss_d = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
    backward(loss_d)
    return DStepLosses(loss_d.detach(), None, real_logits.detach())


def r1_loss(D: nn.Module, aug: Augmenter, reals: torch.Tensor, *, r1_gamma: float, gain: float, backward: Backward,
            autocast: AbstractContextManager | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """D's regularisation phase (Dreg): gamma/2 E||d D(T(x)) / d x||^2 on un-augmented reals x, T freshly drawn
    and differentiated through; calls `backward(penalty * gain)` (gain: the lazy interval).

    Returns the detached penalty (gamma/2 included, gain not) and the real logits, which, as in the reference,
    also count towards ADA's r_t."""
    ctx = autocast if autocast is not None else nullcontext()
    reals = reals.detach().requires_grad_(True)
    real_in = aug.real_d(reals)
    with ctx:
        real_logits = D(real_in).float()
    (grad,) = torch.autograd.grad(real_logits.sum(), reals, create_graph=True)
    r1 = grad.float().square().sum(dim=(1, 2, 3)).mean() * (r1_gamma / 2)
    backward(r1 * gain)
    return r1.detach(), real_logits.detach()


def g_step_loss(G: nn.Module, D: nn.Module, aug: Augmenter, z: torch.Tensor, *,
                noise_generator: torch.Generator | None, backward: Backward,
                autocast: AbstractContextManager | None = None, mixer: StyleMixer | None = None,
                update_emas: bool = False) -> torch.Tensor:
    """One G step's non-saturating loss; D's parameters are frozen so only G accumulates gradients.
    `update_emas` (stylegan2): the pass moves G's w_avg."""
    ctx = autocast if autocast is not None else nullcontext()
    requires = [p.requires_grad for p in D.parameters()]
    for p in D.parameters():
        p.requires_grad_(False)
    try:
        with ctx:
            fakes = generate(G, z, noise_generator, mixer, update_emas)
        fake_in = aug.fake_g(fakes.float())   # full-precision T, as in the D step
        with ctx:
            logits = D(fake_in).float()
        loss = F.softplus(-logits).mean()
        backward(loss)
    finally:
        for p, r in zip(D.parameters(), requires):
            p.requires_grad_(r)
    return loss.detach()


@torch.no_grad()
def update_ema(G_ema: nn.Module, G: nn.Module, *, beta: float) -> None:
    """G_ema <- beta G_ema + (1 - beta) G (beta from trainer.phases.ema_beta); buffers are copied."""
    for pe, p in zip(G_ema.parameters(), G.parameters()):
        pe.copy_(p.detach().lerp(pe, beta))
    for be, b in zip(G_ema.buffers(), G.buffers()):
        be.copy_(b)
