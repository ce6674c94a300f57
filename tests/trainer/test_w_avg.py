"""The mapping network's w_avg is tracked in training as the reference tracks it: every main-latent mapping call of a
training G pass (Gmain, Greg's path-length batch, Dmain's fakes) moves it by w_avg <- mean(w) + 0.995 (w_avg - mean(w));
the style-mixing second latent never does.  G_ema carries it, and a resumed run continues it exactly."""

from __future__ import annotations

from typing import Any

import torch
from fast_config import fast_overrides
from torch import nn

from trainer.config import apply_overrides, preset
from trainer.device import resolve_device
from trainer.state import TrainState
from trainer.step import minibatch_step

BETA = 0.995


def _cfg(**extra: Any):
    o = fast_overrides(**{"model.arch": "stylegan2", "model.z_dim": 8, "model.w_dim": 8, "model.mapping_layers": 2,
                          "model.channel_base": 64, "model.channel_max": 8, "model.mbstd_group": 2, "data.resolution": 8,
                          "loss.r1_gamma": 1.0, "loss.r1_interval": 16, "loss.pl_weight": 2.0, "loss.pl_interval": 4,
                          "loss.style_mixing": 1.0, "run.batch": 4, **extra})
    return apply_overrides(preset("paper"), o)


def _state(cfg) -> tuple[TrainState, torch.Tensor]:
    st = TrainState(cfg, resolve_device(cfg.run), resolution=8, channels=3, train_size=4)
    return st, torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_one_minibatch_moves_w_avg_by_the_rule_over_main_latent_calls_only() -> None:
    st, reals = _state(_cfg())
    assert torch.count_nonzero(st.G.mapping.w_avg) == 0
    calls: list[tuple[torch.Tensor, torch.Tensor]] = []   # (z, w) of every mapping call, in order
    hook = st.G.mapping.register_forward_hook(lambda m, args, out: calls.append((args[0].detach().clone(),
                                                                                 out[:, 0].detach().clone())))
    try:
        minibatch_step(st, reals)    # minibatch 0: Gmain, Greg, Dmain, Dreg; mixing prob 1, so each G pass maps twice
    finally:
        hook.remove()
    # batch sizes: Gmain 4 (+4 mixing), Greg 2 (+2 mixing), Dmain 4 (+4 mixing); Dreg does not run G
    assert [z.shape[0] for z, _ in calls] == [4, 4, 2, 2, 4, 4]
    expected = torch.zeros(8)
    for _, w in calls[0::2]:         # the main latents; calls[1::2] are the mixing latents, which never count
        expected = BETA * expected + (1 - BETA) * w.mean(dim=0)
    assert torch.allclose(st.G.mapping.w_avg, expected, rtol=0, atol=1e-7)
    with_mixing = torch.zeros(8)
    for _, w in calls:
        with_mixing = BETA * with_mixing + (1 - BETA) * w.mean(dim=0)
    assert (st.G.mapping.w_avg - with_mixing).abs().max() > 1e-5   # the rule is told apart from counting all calls
    assert torch.equal(st.G_ema.mapping.w_avg, st.G.mapping.w_avg)


def test_w_avg_moves_towards_the_mean_w_and_resumes_exactly() -> None:
    cfg = _cfg(**{"loss.style_mixing": 0.9})
    st, reals = _state(cfg)
    for _ in range(3):
        minibatch_step(st, reals)
    saved = st.state_dict()
    for _ in range(3):
        minibatch_step(st, reals)
    with torch.no_grad():
        mean_w = st.G.mapping(torch.randn(4096, 8, generator=torch.Generator().manual_seed(1)))[:, 0].mean(dim=0)
    # 6 minibatches x 3 main calls: 1 - 0.995^18 = 8.6% of the way from 0 to the (drifting) mean w
    frac = 1 - BETA ** 18
    assert torch.allclose(st.G.mapping.w_avg, frac * mean_w, rtol=0.1, atol=0.02 * mean_w.abs().max().item())
    assert torch.equal(st.G_ema.mapping.w_avg, st.G.mapping.w_avg)
    resumed, _ = _state(cfg)
    resumed.load_state_dict(saved)
    for _ in range(3):
        minibatch_step(resumed, reals)
    assert torch.equal(resumed.G.mapping.w_avg, st.G.mapping.w_avg)
    assert torch.equal(resumed.G_ema.mapping.w_avg, st.G.mapping.w_avg)


def test_dcgan_training_is_unaffected() -> None:
    st, reals = _state(apply_overrides(preset("tiny"), fast_overrides(**{"data.resolution": 8, "run.batch": 4})))
    minibatch_step(st, reals)
    assert not any(isinstance(m, nn.Module) and hasattr(m, "w_avg") for m in st.G.modules())
