"""The reference's training step, against numbers worked out by hand: the phase schedule, the interval-rescaled Adam,
R1's interval gain, the phase order and which logits each phase computes, the EMA rule, ADA's adjustment."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from fast_config import fast_overrides
from torch import nn

from trainer.augment import AdaController
from trainer.config.augment import augment_config
from trainer.d_inputs import Augmenter
from trainer.config import LossConfig, apply_overrides, preset
from trainer.device import resolve_device
from trainer.loss import r1_loss
from trainer.phases import adam_settings, ema_beta, phases_at, schedule
from trainer.state import TrainState
from trainer.step import minibatch_step

PAPER_LOSS = preset("paper").loss          # r1_interval 16, pl_interval 4, both regularisers on


def _names(lc: LossConfig, index: int) -> list[str]:
    return [p.name for p in phases_at(schedule(lc), index)]


def test_schedule_over_32_minibatches() -> None:
    ran = {i: _names(PAPER_LOSS, i) for i in range(32)}
    assert ran[0] == ran[16] == ["Gmain", "Greg", "Dmain", "Dreg"]
    assert [i for i in ran if "Greg" in ran[i]] == [0, 4, 8, 12, 16, 20, 24, 28]
    assert [i for i in ran if "Dreg" in ran[i]] == [0, 16]
    assert ran[4] == ["Gmain", "Greg", "Dmain"] and ran[5] == ["Gmain", "Dmain"]
    assert sum(len(v) for v in ran.values()) == 32 * 2 + 8 + 2
    # regulariser off (weight 0, as tiny has both): one 'both' phase per network, every minibatch
    tiny = preset("tiny").loss
    assert {tuple(_names(tiny, i)) for i in range(32)} == {("Gboth", "Dboth")}
    assert _names(LossConfig(pl_weight=2.0, r1_gamma=0.0), 0) == ["Gmain", "Greg", "Dboth"]


def test_adam_settings_are_rescaled_by_interval_over_interval_plus_one() -> None:
    assert adam_settings(0.0025, (0.0, 0.99), 4) == (0.0025 * 0.8, (0.0, 0.99 ** 0.8))      # G: 0.002
    lr, (b1, b2) = adam_settings(0.0025, (0.0, 0.99), 16)
    assert lr == pytest.approx(0.00235294117647, rel=1e-10) and b1 == 0.0 and b2 == pytest.approx(0.990585457, rel=1e-9)
    assert adam_settings(0.0002, (0.5, 0.999), None) == (0.0002, (0.5, 0.999))


def _small_paper(**extra: Any):
    o = fast_overrides(**{"model.arch": "stylegan2", "model.z_dim": 8, "model.w_dim": 8, "model.mapping_layers": 2,
                          "model.channel_base": 64, "model.channel_max": 8, "model.mbstd_group": 2, "data.resolution": 8,
                          "loss.r1_gamma": 1.0, "loss.r1_interval": 16, "loss.pl_weight": 2.0, "loss.pl_interval": 4,
                          "loss.g_lr": 0.0025, "loss.d_lr": 0.0025, "loss.beta1": 0.0, "loss.beta2": 0.99,
                          "run.batch": 4, **extra})
    return apply_overrides(preset("paper"), o)


def _state(cfg) -> tuple[TrainState, torch.Tensor]:
    st = TrainState(cfg, resolve_device(cfg.run), resolution=8, channels=3, train_size=4)
    return st, torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1


def _adam_steps(opt: torch.optim.Optimizer) -> int:
    return max(int(s["step"]) for s in opt.state.values()) if opt.state else 0


def test_the_run_takes_one_optimiser_step_per_phase_that_ran() -> None:
    st, reals = _state(_small_paper())
    assert st.opt_G.param_groups[0]["lr"] == 0.002 and st.opt_G.param_groups[0]["betas"] == (0.0, 0.99 ** 0.8)
    assert st.opt_D.param_groups[0]["lr"] == 0.0025 * 16 / 17
    g_steps, d_steps = [], []
    for _ in range(32):
        g0, d0 = _adam_steps(st.opt_G), _adam_steps(st.opt_D)
        minibatch_step(st, reals)
        g_steps.append(_adam_steps(st.opt_G) - g0)
        d_steps.append(_adam_steps(st.opt_D) - d0)
    assert [i for i, n in enumerate(g_steps) if n == 2] == [0, 4, 8, 12, 16, 20, 24, 28] and set(g_steps) == {1, 2}
    assert [i for i, n in enumerate(d_steps) if n == 2] == [0, 16] and set(d_steps) == {1, 2}
    assert st.d_steps == 32 and st.cur_nimg == 128


def test_adams_first_step_moves_every_weight_by_the_rescaled_lr() -> None:
    # Adam's first step is -lr * g / (|g| + eps) (m^ = g, v^ = g^2) whatever the betas: at minibatch 1 (no
    # regulariser) each network takes one step of its rescaled lr on the gradient its main phase left behind
    st, reals = _state(_small_paper())
    st.d_steps = 1
    before = {n: [p.detach().clone() for p in net.parameters()] for n, net in (("G", st.G), ("D", st.D))}
    minibatch_step(st, reals)
    for name, net, lr in (("G", st.G, 0.0025 * 4 / 5), ("D", st.D, 0.0025 * 16 / 17)):
        p0 = torch.cat([b.flatten() for b in before[name]]).double()
        p1 = torch.cat([p.detach().flatten() for p in net.parameters()]).double()
        g = torch.cat([p.grad.flatten() for p in net.parameters()]).double()
        ulp = 2 * torch.finfo(torch.float32).eps * torch.maximum(p0.abs(), p1.abs())   # float32 rounding of p - step
        assert bool(((p1 - (p0 - lr * g / (g.abs() + 1e-8))).abs() <= ulp + 1e-10).all()), name
        assert float((p1 - p0).abs().max()) > 0.999 * lr, name


class _LinearD(nn.Module):
    """D(x) = <w, x>: d D / d x = w for every sample, so R1 = gamma/2 ||w||^2 and its gradient is gamma w."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.linspace(-1.0, 1.0, 3 * 4 * 4).reshape(1, 3, 4, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.w).sum(dim=(1, 2, 3))


def test_r1_phase_gradient_and_two_adam_steps_by_hand() -> None:
    D, gamma, interval = _LinearD(), 0.5, 16
    aug = Augmenter(augment_config(mode="none"), 4, torch.Generator(), torch.device("cpu"))
    reals = torch.randn(4, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    lr, betas = adam_settings(0.0025, (0.0, 0.99), interval)
    opt = torch.optim.Adam(D.parameters(), lr=lr, betas=betas, eps=1e-8)
    w0 = D.w.detach().clone()
    r1, _ = r1_loss(D, aug, reals, r1_gamma=gamma, gain=interval, backward=lambda loss: loss.backward())
    assert float(r1) == pytest.approx(gamma / 2 * float(w0.square().sum()), rel=1e-6)
    torch.testing.assert_close(D.w.grad, interval * gamma * w0)            # the penalty x the interval
    opt.step()
    g1 = interval * gamma * w0
    w1 = w0 - lr * g1 / (g1.abs() + 1e-8)                                  # Adam step 1: m^ = g, v^ = g^2
    torch.testing.assert_close(D.w.detach(), w1)
    opt.zero_grad()
    r1_loss(D, aug, reals, r1_gamma=gamma, gain=interval, backward=lambda loss: loss.backward())
    opt.step()
    b2, g2 = betas[1], interval * gamma * w1
    v_hat = (b2 * g1.square() + g2.square()) / (1 + b2)                    # beta1 = 0: m^ = g2
    torch.testing.assert_close(D.w.detach(), w1 - lr * g2 / (v_hat.sqrt() + 1e-8))


def test_path_length_phase_is_the_penalty_times_weight_times_interval() -> None:
    import trainer.step as step_mod
    from trainer.path_length import path_length_penalty
    from trainer.phases import Phase
    st, _ = _state(_small_paper(**{"loss.pl_interval": 4, "loss.pl_weight": 2.0}))
    streams = {k: st.gens[k].get_state() for k in ("latent", "noise", "mixing")}
    step_mod._path_length_phase(st, st.G, 4, Phase("Greg", "G", main=False, reg=True, interval=4))
    got = [p.grad.clone() if p.grad is not None else None for p in st.G.parameters()]
    new_mean = float(st.pl_mean)
    st.G.zero_grad(set_to_none=True)
    for k, state in streams.items():          # the same draws again, by hand: batch 4 // shrink 2 latents
        st.gens[k].set_state(state)
    pl = path_length_penalty(st.G, st.latents(2), torch.zeros(()), decay=0.01, noise_generator=st.gens["noise"], mixer=st.mixer)
    pl.penalty.backward()
    assert new_mean == pytest.approx(0.01 * float(pl.lengths.mean()), rel=1e-6)   # from 0: a_bar = decay x mean length
    for g, p in zip(got, st.G.parameters()):
        if p.grad is None:
            assert g is None
        else:
            torch.testing.assert_close(g, 2.0 * 4 * p.grad, rtol=1e-5, atol=1e-8)


def test_phase_order_and_the_logits_each_phase_computes() -> None:
    st, reals = _state(_small_paper(**{"augment.mode": "none", "loss.style_mixing": 0.0}))
    seen: list[tuple[str, bool, float]] = []

    def spy(module: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        x = args[0]
        seen.append(("real" if torch.equal(x.detach(), reals) else "fake", x.requires_grad, float(st.pl_mean)))
    st.D.register_forward_hook(spy)
    minibatch_step(st, reals)
    # Gmain: D on fakes with G's graph; Greg moves the PL mean (no D); Dmain: reals and fakes without a graph (the
    # reference scores the fakes first: only the order of the augmentation's draws differs); Dreg: reals that
    # carry a gradient (R1)
    assert [(k, g) for k, g, _ in seen] == [("fake", True), ("real", False), ("fake", False), ("real", True)]
    assert seen[0][2] == 0.0 and all(m > 0 for _, _, m in seen[1:])
    seen.clear()
    minibatch_step(st, reals)
    assert [(k, g) for k, g, _ in seen] == [("fake", True), ("real", False), ("fake", False)]


def test_ema_beta_by_hand() -> None:
    assert ema_beta(64, 20.0, None, 0) == 0.5 ** (64 / 20_000)
    assert ema_beta(64, 20.0, None, 10**6) == 0.5 ** (64 / 20_000)
    assert ema_beta(64, 20.0, 0.05, 100_000) == 0.5 ** (64 / 5_000)       # ramp-up: min(20 000, 100 000 x 0.05)
    assert ema_beta(64, 20.0, 0.05, 10**6) == 0.5 ** (64 / 20_000)        # past the ramp-up: the half-life
    assert ema_beta(64, 20.0, 0.05, 0) == 0.0 and ema_beta(64, 0.0, None, 0) == 0.0   # a copy of G


def test_ema_rampup_makes_the_first_update_a_copy() -> None:
    st, reals = _state(_small_paper(**{"loss.ema_rampup": 0.05}))
    minibatch_step(st, reals)
    assert all(torch.equal(pe, p) for pe, p in zip(st.G_ema.parameters(), st.G.parameters()))
    plain, _ = _state(_small_paper())
    minibatch_step(plain, reals)
    assert not all(torch.equal(pe, p) for pe, p in zip(plain.G_ema.parameters(), plain.G.parameters()))


def test_ada_adjustment_is_the_references() -> None:
    # adjust = sign(r_t - target) * batch * interval / (ada_kimg * 1000) every interval-th minibatch, floored at 0
    ctl = AdaController(0.6, interval=4, speed_kimg=500.0, heuristic="rt", p_init=0.0)
    step = 64 * 4 / 500_000
    for k in range(1, 9):
        ctl.observe(real_logits=torch.tensor([1.0, 1.0, 1.0, 1.0, -1.0]))   # r_t 0.6: sign 0, p stays
        ctl.update(64)
    assert ctl.p == 0.0
    ps = []
    for k in range(8):
        ctl.observe(real_logits=torch.tensor([1.0, 2.0, 3.0, -1.0]))        # r_t 0.5 < 0.6: down, held at 0
        ps.append(ctl.update(64))
    assert ps == [0.0] * 8
    for k in range(8):
        ctl.observe(real_logits=torch.tensor([1.0] * 9 + [-1.0]))           # r_t 0.8 > 0.6: up by one step
        ps.append(ctl.update(64))
    assert ps[8:] == pytest.approx([0, 0, 0, step, step, step, step, 2 * step], abs=1e-15)
