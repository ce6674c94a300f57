"""Networks: shapes, seeded init, equalised learning rate, modulated conv formulations, minibatch std."""

from __future__ import annotations

import math

import pytest
import torch

from trainer.config import ModelConfig
from trainer.networks import build_networks, channels_at
from trainer.networks.layers import EqLinear, minibatch_std, modulated_conv2d


def _cfg(arch: str) -> ModelConfig:
    return ModelConfig(arch=arch, z_dim=32, w_dim=32, channel_base=512, channel_max=32, mbstd_group=4)


@pytest.mark.parametrize("arch", ["stylegan2", "dcgan"])
@pytest.mark.parametrize(("res", "channels"), [(16, 3), (32, 1)])
def test_shapes_and_logits(arch: str, res: int, channels: int) -> None:
    G, D = build_networks(_cfg(arch), resolution=res, channels=channels, seed=0)
    x = G(torch.randn(6, 32, generator=torch.Generator().manual_seed(1)), noise_generator=torch.Generator().manual_seed(2))
    assert x.shape == (6, channels, res, res)
    assert torch.isfinite(x).all() and 0.05 < x.std().item() < 5.0
    logits = D(x)
    assert logits.shape == (6,) and torch.isfinite(logits).all()


@pytest.mark.parametrize("arch", ["stylegan2", "dcgan"])
def test_init_depends_on_seed_only(arch: str) -> None:
    a = build_networks(_cfg(arch), resolution=16, channels=3, seed=5)
    torch.manual_seed(123)   # global RNG must not matter
    b = build_networks(_cfg(arch), resolution=16, channels=3, seed=5)
    c = build_networks(_cfg(arch), resolution=16, channels=3, seed=6)
    for na, nb, nc in zip(a, b, c):
        sa, sb, sc = na.state_dict(), nb.state_dict(), nc.state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
        assert any(not torch.equal(sa[k], sc[k]) for k in sa if sa[k].is_floating_point() and sa[k].numel() > 1)


def test_equalised_lr_storage_and_mapping_multiplier() -> None:
    G, D = build_networks(_cfg("stylegan2"), resolution=16, channels=3, seed=0)
    mapping = [m for m in G.mapping.modules() if isinstance(m, EqLinear)]
    assert len(mapping) == 2 and all(m.lr_mul == 0.01 for m in mapping)
    # stored N(0,1)/lr_mul, scaled at run time by lr_mul/sqrt(fan_in)
    w = mapping[0].weight
    assert 80 < w.std().item() < 120
    assert math.isclose(mapping[0].weight_gain, 0.01 / math.sqrt(32))
    conv = D.fromrgb.weight
    assert 0.7 < conv.std().item() < 1.3


def test_widths_follow_channel_base_and_max() -> None:
    assert [channels_at(r, 16384, 512) for r in (4, 32, 64, 128, 256)] == [512, 512, 256, 128, 64]


def test_fused_and_unfused_modulated_conv_agree() -> None:
    g = torch.Generator().manual_seed(0)
    x, w, s = torch.randn(3, 5, 8, 8, generator=g), torch.randn(7, 5, 3, 3, generator=g), torch.randn(3, 5, generator=g)
    for demod in (True, False):
        a = modulated_conv2d(x, w, s, demodulate=demod, padding=1, fused=False)
        b = modulated_conv2d(x, w, s, demodulate=demod, padding=1, fused=True)
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    out = modulated_conv2d(x, w, s, demodulate=True, padding=1)
    assert 0.3 < out.std().item() < 3.0   # demodulation keeps unit-ish scale whatever the style magnitude
    out_big = modulated_conv2d(x, w, s * 100, demodulate=True, padding=1)
    torch.testing.assert_close(out, out_big, rtol=1e-3, atol=1e-3)


def test_minibatch_std_groups_and_odd_batches() -> None:
    x = torch.randn(8, 4, 4, 4, generator=torch.Generator().manual_seed(0))
    y = minibatch_std(x, 4)
    assert y.shape == (8, 5, 4, 4)
    assert torch.equal(y[:, :4], x)
    assert y[:, 4].std() > 0   # two groups, different stds
    z = minibatch_std(x[:7], 4)  # 7 is not a multiple of 4: falls back to groups of one
    assert z.shape == (7, 5, 4, 4) and torch.isfinite(z).all()
    # groups are strided (sample i with i + N/G, ...): repeating two samples makes every group constant
    same = minibatch_std(x[[0, 1, 0, 1, 0, 1, 0, 1]], 4)
    assert same[:, 4].abs().max() < 1e-3


def test_stylegan2_paper_size_builds() -> None:
    cfg = ModelConfig()  # paper256 widths
    G, D = build_networks(cfg, resolution=256, channels=3, seed=0)
    n_g = sum(p.numel() for p in G.parameters()) / 1e6
    n_d = sum(p.numel() for p in D.parameters()) / 1e6
    assert 20 < n_g < 30 and 20 < n_d < 30   # ADA paper256: G and D of ~23-24M parameters


def test_synthesis_noise_is_seeded_per_layer_and_compiles_without_graph_breaks() -> None:
    G, _ = build_networks(_cfg("stylegan2"), resolution=8, channels=3, seed=0)
    with torch.no_grad():
        for m in G.modules():
            if hasattr(m, "noise_strength"):
                m.noise_strength.fill_(1.0)
    z = torch.randn(2, 32, generator=torch.Generator().manual_seed(1))
    noises = G.draw_noise(2, torch.Generator().manual_seed(3), z.device)
    assert [tuple(n.shape) for n in noises] == [(2, 1, 4, 4), (2, 1, 8, 8), (2, 1, 8, 8)]   # one per synthesis layer
    a, b = (G(z, noise_generator=torch.Generator().manual_seed(3)) for _ in range(2))
    c = G(z, noise_generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    # the seeded draws sit outside the traced graph, so torch.compile sees the whole synthesis as one graph
    explained = torch._dynamo.explain(G)(z, noise_generator=torch.Generator().manual_seed(3))
    assert explained.graph_break_count == 0 and explained.graph_count == 1
