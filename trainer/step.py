"""One training minibatch: a D step (lazy R1), a G step (lazy path-length regularisation), the EMA update
(docs/papers.md §1; StyleGAN2 §B, §3.2).

Shared by the loop and `benchmarks/train_step.py`, so the benchmark times
exactly what training runs.  AMP loss scaling (fp16 on CUDA) is handled here.
"""

from __future__ import annotations

import torch
from torch import nn

from trainer.loss import DStepLosses, d_step_loss, g_step_loss, update_ema
from trainer.path_length import path_length_penalty
from trainer.state import TrainState


def _backward(state: TrainState, loss: torch.Tensor) -> None:
    (state.scaler.scale(loss) if state.scaler is not None else loss).backward()


def _opt_step(state: TrainState, opt: torch.optim.Optimizer) -> None:
    # several workers: every worker steps on the mean gradient (a no-op for one; trainer/distributed.py)
    state.dist.average_grads([p for g in opt.param_groups for p in g["params"]], clean=state.scaler is None)
    if state.scaler is None:
        opt.step()
    else:
        state.scaler.step(opt)
        state.scaler.update()


def minibatch_step(state: TrainState, reals: torch.Tensor, G_train: nn.Module | None = None) -> tuple[DStepLosses, torch.Tensor]:
    """Train D then G on one minibatch of float reals; advances d_steps and cur_nimg.  Returns the detached losses.

    R1 runs when `d_steps % r1_interval == 0`, path-length regularisation (when
    loss.pl_weight > 0) when `d_steps % pl_interval == 0` of the same minibatch
    index, added to that G step's gradient (not a separate optimiser step; README
    lists this among the differences from the reference).  `G_train` may be a
    compiled G sharing G's parameters (D is never compiled: R1 needs double backward).
    """
    cfg, st = state.cfg, state
    G = G_train if G_train is not None else st.G
    lc, batch, index = cfg.loss, reals.shape[0], st.d_steps
    r1_scale = lc.r1_interval if index % lc.r1_interval == 0 else 0
    st.opt_D.zero_grad(set_to_none=True)
    d = d_step_loss(G, st.D, st.aug, reals, st.latents(batch), noise_generator=st.gens["noise"],
                    r1_gamma=lc.r1_gamma, r1_scale=r1_scale, backward=lambda loss: _backward(st, loss), autocast=st.autocast(),
                    mixer=st.mixer)
    _opt_step(st, st.opt_D)
    st.d_steps += 1
    st.aug.observe(real_logits=d.real_logits)
    st.opt_G.zero_grad(set_to_none=True)
    loss_g = g_step_loss(G, st.D, st.aug, st.latents(batch), noise_generator=st.gens["noise"],
                         backward=lambda loss: _backward(st, loss), autocast=st.autocast(), mixer=st.mixer)
    if lc.pl_weight > 0 and index % lc.pl_interval == 0:
        _path_length_step(st, G, batch)
    _opt_step(st, st.opt_G)
    update_ema(st.G_ema, st.G, batch=batch * st.dist.world, ema_kimg=lc.ema_kimg)   # the images of all workers
    st.cur_nimg += batch * st.dist.world
    return d, loss_g


def _path_length_step(st: TrainState, G: nn.Module, batch: int) -> None:
    """Accumulate the lazy path-length penalty's gradient into G's and advance the running mean."""
    lc = st.cfg.loss
    with st.autocast():
        pl = path_length_penalty(G, st.latents(batch // lc.pl_batch_shrink), st.pl_mean, decay=lc.pl_decay,
                                 noise_generator=st.gens["noise"], mixer=st.mixer)
    _backward(st, pl.penalty * (lc.pl_weight * lc.pl_interval))
    st.pl_mean = pl.new_mean
    st.last_pl_penalty = pl.penalty.detach()
