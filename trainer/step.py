"""One training minibatch as the reference runs it: the phases Gmain, Greg, Dmain, Dreg, each an optimiser step of
its own when its interval divides the minibatch index, then the EMA update (docs/papers.md §1; StyleGAN2 §B, §3.2;
trainer/phases.py has the schedule and why).

Shared by the loop and `benchmarks/train_step.py`, so the benchmark times exactly what training runs.  Every
optimiser step goes through `_opt_step`: AMP loss scaling (fp16 on CUDA) and the reference's clean-up of
non-finite gradients (NaN -> 0, +-inf -> +-1e5) happen there, and nowhere else.  Each phase reports its
statistics to the run's channel (trainer/stats.py) where it computes them: the losses, the path-length penalty and
r_t's signs of every real logit D gives (Dmain and Dreg, as in the reference), which the tick row and the ADA
controller both read.
"""

from __future__ import annotations

import torch
from torch import nn

from trainer.loss import DStepLosses, d_step_loss, g_step_loss, r1_loss, update_ema
from trainer.path_length import path_length_penalty
from trainer.phases import Phase, ema_beta, phases_at
from trainer.state import TrainState


def _backward(state: TrainState, loss: torch.Tensor) -> None:
    (state.scaler.scale(loss) if state.scaler is not None else loss).backward()


def _opt_step(state: TrainState, opt: torch.optim.Optimizer) -> None:
    """Step `opt` on the gradients its phase accumulated: mean over workers (trainer/distributed.py; a no-op for
    one), unscale (AMP), zero non-finite entries, step.  Averaging first lets an fp16 overflow on any worker reach
    every worker's scaler, so all of them skip that step together."""
    state.dist.average_grads([p for g in opt.param_groups for p in g["params"]], clean=False)
    if state.scaler is not None:
        state.scaler.unscale_(opt)   # records inf/NaN first, so the scaler still skips an overflowed step
    for group in opt.param_groups:
        for p in group["params"]:
            if p.grad is not None:
                torch.nan_to_num(p.grad, nan=0.0, posinf=1e5, neginf=-1e5, out=p.grad)
    if state.scaler is None:
        opt.step()
    else:
        state.scaler.step(opt)
        state.scaler.update()


def minibatch_step(state: TrainState, reals: torch.Tensor, G_train: nn.Module | None = None) -> tuple[DStepLosses, torch.Tensor]:
    """Run minibatch `state.d_steps`'s phases on float reals; advances d_steps and cur_nimg.  Returns the detached
    losses: Dmain's (with Dreg's R1 penalty when it ran) and Gmain's.

    `G_train` may be a compiled G sharing G's parameters (D is never compiled: R1 needs double backward).
    Every real logit D gives in Dmain and Dreg is reported as r_t's signs (the tick's r_t and the ADA controller's).
    Every G pass (Gmain, Greg, Dmain's fakes) moves stylegan2's w_avg with its main latents, as the reference's run_G does.
    """
    st = state
    G = G_train if G_train is not None else st.G
    batch, index = reals.shape[0], st.d_steps
    loss_g = d = r1 = None
    for phase in phases_at(st.phases, index):
        opt = st.opt_G if phase.net == "G" else st.opt_D
        opt.zero_grad(set_to_none=True)
        if phase.net == "G":
            if phase.main:
                loss_g = g_step_loss(G, st.D, st.aug, st.latents(batch), noise_generator=st.gens["noise"],
                                     backward=lambda loss: _backward(st, loss), autocast=st.autocast(), mixer=st.mixer,
                                     update_emas=st.tracks_w_avg)
                st.stats.report("loss_G", loss_g)
            if phase.reg:
                _path_length_phase(st, G, batch, phase)
        else:
            if phase.main:
                d = d_step_loss(G, st.D, st.aug, reals, st.latents(batch), noise_generator=st.gens["noise"],
                                backward=lambda loss: _backward(st, loss), autocast=st.autocast(), mixer=st.mixer,
                                update_emas=st.tracks_w_avg)
                st.stats.report("loss_D", d.loss_D)
                st.stats.report("r_t", torch.sign(d.real_logits))
            if phase.reg:
                r1, real_logits = r1_loss(st.D, st.aug, reals, r1_gamma=st.cfg.loss.r1_gamma, gain=phase.interval,
                                          backward=lambda loss: _backward(st, loss), autocast=st.autocast())
                st.stats.report("loss_r1", r1)
                st.stats.report("r_t", torch.sign(real_logits))
        _opt_step(st, opt)
    lc = st.cfg.loss
    update_ema(st.G_ema, st.G, beta=ema_beta(batch * st.dist.world, lc.ema_kimg, lc.ema_rampup, st.cur_nimg))
    st.d_steps += 1
    st.cur_nimg += batch * st.dist.world      # the images of all workers
    assert d is not None and loss_g is not None   # Gmain/Gboth and Dmain/Dboth run every minibatch
    return DStepLosses(d.loss_D, r1, d.real_logits), loss_g


def _path_length_phase(st: TrainState, G: nn.Module, batch: int, phase: Phase) -> None:
    """Greg: the path-length penalty on batch // pl_batch_shrink fresh latents, x weight x interval; advances
    the running mean."""
    lc = st.cfg.loss
    with st.autocast():
        pl = path_length_penalty(G, st.latents(batch // lc.pl_batch_shrink), st.pl_mean, decay=lc.pl_decay,
                                 noise_generator=st.gens["noise"], mixer=st.mixer, update_emas=st.tracks_w_avg)
    _backward(st, pl.penalty * (lc.pl_weight * phase.interval))
    st.pl_mean = pl.new_mean
    st.stats.report("pl_penalty", pl.penalty)
