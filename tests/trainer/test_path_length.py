"""Path-length regularisation: the penalty against an explicit Jacobian, the running mean, laziness, exact resume."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from fast_config import fast_overrides

from trainer.checkpoint import STATE_FILE
from trainer.config import ModelConfig, apply_overrides, preset
from trainer.device import resolve_device
from trainer.hooks import CollectingHooks
from trainer.loop import train
from trainer.networks import build_networks
from trainer.path_length import path_length_penalty
from trainer.state import TrainState
from trainer.step import minibatch_step

DECAY = 0.01


def _tiny_G() -> torch.nn.Module:
    G, _ = build_networks(ModelConfig(arch="stylegan2", z_dim=8, w_dim=8, mapping_layers=2, channel_base=64, channel_max=8),
                          resolution=8, channels=3, seed=0)
    with torch.no_grad():   # noise on, so the fixed noise inputs matter to the check
        for m in G.modules():
            if hasattr(m, "noise_strength"):
                m.noise_strength.fill_(0.3)
    return G


def _hand_lengths(G: torch.nn.Module, z: torch.Tensor, seed: int) -> torch.Tensor:
    """a_n = sqrt(mean_l ||J_n,l^T y_n||^2) from the full Jacobian d img / d ws, with the same noise and y draws."""
    gen = torch.Generator().manual_seed(seed)
    ws = G.mapping_ws(z).detach()
    noises = G.draw_noise(z.shape[0], gen, z.device)
    img_shape = (z.shape[0], 3, 8, 8)
    y = torch.randn(img_shape, generator=gen) / math.sqrt(8 * 8)
    J = torch.autograd.functional.jacobian(lambda w: G.synthesis(w, noises=noises), ws)  # [N,3,8,8, N,L,W]
    out = []
    for n in range(z.shape[0]):
        g = (J[n] * y[n].reshape(3, 8, 8, 1, 1, 1)).sum(dim=(0, 1, 2))[n]     # [L, W]: y_n^T d img_n / d ws_n
        out.append(g.square().sum(dim=1).mean().sqrt())
    return torch.stack(out)


def test_penalty_matches_a_hand_computation_from_the_jacobian() -> None:
    G = _tiny_G()
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(1))
    mean0 = torch.tensor(0.5)
    res = path_length_penalty(G, z, mean0, decay=DECAY, noise_generator=torch.Generator().manual_seed(7))
    a = _hand_lengths(G, z, seed=7)
    torch.testing.assert_close(res.lengths, a, rtol=1e-4, atol=1e-6)
    a_bar = 0.5 + DECAY * (a.mean() - 0.5)
    torch.testing.assert_close(res.new_mean, a_bar, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(res.penalty.detach(), (a - a_bar).square().mean(), rtol=1e-4, atol=1e-8)
    assert 0.01 < float(a.mean()) < 100     # a real, non-degenerate length
    res.penalty.backward()                   # double backward reaches G, the mapping included
    assert all(p.grad is not None for p in G.mapping.parameters())
    assert sum(float(p.grad.abs().sum()) for p in G.parameters() if p.grad is not None) > 0


def test_running_mean_moves_by_decay_toward_each_batch_mean() -> None:
    G = _tiny_G()
    mean = torch.zeros(())
    gen = torch.Generator().manual_seed(3)
    seen = []
    for i in range(3):
        z = torch.randn(4, 8, generator=torch.Generator().manual_seed(10 + i))
        res = path_length_penalty(G, z, mean, decay=DECAY, noise_generator=gen)
        expected = mean + DECAY * (res.lengths.mean() - mean)
        torch.testing.assert_close(res.new_mean, expected)
        seen.append(float(res.lengths.mean()))
        mean = res.new_mean
    # from 0: a_bar_3 = sum_k d (1-d)^(3-k) mean_k
    closed = sum(DECAY * (1 - DECAY) ** (2 - k) * m for k, m in enumerate(seen))
    assert math.isclose(float(mean), closed, rel_tol=1e-5)


def _cfg(**extra: Any):
    o = fast_overrides(**{"model.arch": "stylegan2", "model.z_dim": 16, "model.w_dim": 16, "model.mbstd_group": 4,
                          "loss.pl_weight": 2.0, "loss.pl_interval": 2, "loss.style_mixing": 0.9, "loss.r1_interval": 4,
                          **extra})
    return apply_overrides(preset("smoke"), o)


def test_lazy_penalty_runs_every_interval_on_the_shrunk_batch() -> None:
    cfg = _cfg(**{"loss.pl_interval": 4})
    st = TrainState(cfg, resolve_device(cfg.run), resolution=16, channels=3, train_size=16)
    reals = torch.rand(16, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    means = []
    for _ in range(6):
        minibatch_step(st, reals)
        means.append(float(st.pl_mean))
    assert means[0] > 0 and means[1:4] == [means[0]] * 3 and means[4] > means[0] and means[5] == means[4]


def test_resume_is_exact_with_path_length_and_style_mixing(tmp_path: Path) -> None:
    cfg = _cfg(**{"run.checkpoint_ticks": 1})
    full = train(cfg, CollectingHooks(checkpoint_dir=tmp_path))
    ckpt = tmp_path / "tick000002"
    state = torch.load(ckpt / STATE_FILE, weights_only=True)
    assert float(state["path_length"]["mean"]) > 0 and "mixing" in state["rng"]
    resumed = train(cfg, CollectingHooks(checkpoint_dir=tmp_path / "again"), resume=ckpt)
    for k in ("loss_G", "loss_D", "loss_r1", "r_t", "kimg", "fid"):
        assert resumed[0][k] == full[2][k], k
    end_a = torch.load(tmp_path / "tick000003" / STATE_FILE, weights_only=True)
    end_b = torch.load(tmp_path / "again" / "tick000003" / STATE_FILE, weights_only=True)
    assert torch.equal(end_a["path_length"]["mean"], end_b["path_length"]["mean"])
    assert torch.equal(end_a["rng"]["mixing"], end_b["rng"]["mixing"])


def test_a_checkpoint_without_path_length_state_still_loads(tmp_path: Path) -> None:
    # checkpoints written before path-length regularisation and style mixing existed lack both entries
    cfg = _cfg(**{"loss.pl_weight": 0.0, "loss.style_mixing": 0.0})
    st = TrainState(cfg, resolve_device(cfg.run), resolution=16, channels=3, train_size=16)
    old = st.state_dict()
    del old["path_length"], old["rng"]["mixing"]
    fresh = TrainState(cfg, resolve_device(cfg.run), resolution=16, channels=3, train_size=16)
    fresh.load_state_dict(old)
    assert float(fresh.pl_mean) == 0.0


def test_the_penalty_reaches_the_pl_penalty_column_as_the_mean_over_greg_phases() -> None:
    from trainer.stats import Window
    cfg = _cfg()   # pl_interval 2: Greg runs on minibatches 0 and 2 of 4
    st = TrainState(cfg, resolve_device(cfg.run), resolution=16, channels=3, train_size=16)
    reals = torch.rand(16, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    tick, seen = st.stats.attach(Window()), []
    for _ in range(4):
        step = st.stats.attach(Window(["pl_penalty"]))   # this minibatch's report, if it has one
        minibatch_step(st, reals)
        if step.count("pl_penalty"):
            seen.append(step.sum("pl_penalty"))
    assert len(seen) == 2 and all(v > 0 for v in seen)
    assert math.isclose(tick.mean("pl_penalty"), sum(seen) / 2, rel_tol=1e-12)
    rows = train(cfg, CollectingHooks())
    assert all(math.isfinite(r["pl_penalty"]) and r["pl_penalty"] > 0 for r in rows)
    assert all(r["pl_penalty"] is None for r in train(_cfg(**{"loss.pl_weight": 0.0}), CollectingHooks()))
