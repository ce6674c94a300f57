"""The reference-facing parts of our stylegan2 networks: name mapping, noise modes, truncation, FIR, pre-normalisation."""

from __future__ import annotations

import pytest
import torch

from trainer.config import ModelConfig
from trainer.errors import UserInputError
from trainer.networks import build_networks
from trainer.networks.fir import downsample2d, fir_filter, upsample2d
from trainer.networks.layers import modulated_conv2d
from trainer.networks.reference_names import load_reference_state, reference_state
from trainer.networks.stylegan2 import set_block_precision

CFG = ModelConfig(arch="stylegan2", z_dim=16, w_dim=16, mapping_layers=2, channel_base=128, channel_max=16, mbstd_group=2,
                  conv_clamp=256.0)


def _nets(seed: int = 0):
    G, D = build_networks(CFG, resolution=16, channels=3, seed=seed)
    with torch.no_grad():
        for m in G.modules():
            if hasattr(m, "noise_strength"):
                m.noise_strength.fill_(0.5)
    return G.eval(), D.eval()


def _z(n: int = 4) -> torch.Tensor:
    return torch.randn(n, 16, generator=torch.Generator().manual_seed(7))


def test_reference_state_round_trips_and_names_the_reference_keys() -> None:
    G, D = _nets(0)
    G2, D2 = _nets(1)
    for src, dst in ((G, G2), (D, D2)):
        state = reference_state(src)
        load_reference_state(dst, state)
        assert all(torch.equal(v, dst.state_dict()[k]) for k, v in src.state_dict().items())
    keys = set(reference_state(G)) | {"D." + k for k in reference_state(D)}
    for k in ("mapping.w_avg", "mapping.fc1.bias", "synthesis.b4.const", "synthesis.b16.conv0.noise_const",
              "synthesis.b16.resample_filter", "synthesis.b8.torgb.affine.weight", "D.b16.fromrgb.weight",
              "D.b16.resample_filter", "D.b8.skip.weight", "D.b4.conv.resample_filter", "D.b4.out.bias"):
        assert k in keys, k


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s.pop("synthesis.b8.conv1.weight"), "missing keys synthesis.b8.conv1.weight"),
    (lambda s: s.__setitem__("mapping.embed.weight", torch.zeros(16, 4)), "unexpected keys mapping.embed.weight"),
    (lambda s: s.__setitem__("synthesis.b4.const", torch.zeros(8, 4, 4)), "synthesis.b4.const has shape [8, 4, 4], ours [16, 4, 4]"),
    (lambda s: s.__setitem__("synthesis.b8.resample_filter", torch.ones(4, 4) / 16), "not the [1, 3, 3, 1] FIR filter"),
])
def test_a_state_that_does_not_fit_is_one_line_naming_the_key(change, message: str) -> None:
    G, _ = _nets()
    state = reference_state(G)
    change(state)
    before = {k: v.clone() for k, v in G.state_dict().items()}
    with pytest.raises(UserInputError, match=r"StyleGAN2Generator") as info:
        load_reference_state(G, state)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert all(torch.equal(v, G.state_dict()[k]) for k, v in before.items())   # nothing half-loaded


@torch.no_grad()
def test_noise_modes() -> None:
    G, _ = _nets()
    z = _z()
    const = [G(z, noise_generator=torch.Generator().manual_seed(s), noise_mode="const") for s in (1, 2)]
    assert torch.equal(*const)                                         # const ignores the noise stream
    rnd = [G(z, noise_generator=torch.Generator().manual_seed(s)) for s in (1, 1, 2)]
    assert torch.equal(rnd[0], rnd[1]) and not torch.equal(rnd[0], rnd[2])
    none = G(z, noise_mode="none")
    for m in G.modules():
        if hasattr(m, "noise_strength"):
            m.noise_strength.zero_()
    assert torch.equal(none, G(z, noise_mode="const"))                 # none = no noise input at all
    with pytest.raises(UserInputError, match="noise_mode 'off'"):
        G(z, noise_mode="off")


@torch.no_grad()
def test_truncation_pulls_towards_w_avg_and_w_avg_moves_only_when_asked() -> None:
    G, _ = _nets()
    z = _z()
    G.mapping.w_avg.copy_(torch.randn(16, generator=torch.Generator().manual_seed(3)))
    ws = G.mapping(z)
    assert ws.shape == (4, G.num_ws, 16)
    torch.testing.assert_close(G.mapping(z, truncation_psi=0.0), G.mapping.w_avg.expand_as(ws))
    half = G.mapping(z, truncation_psi=0.5, truncation_cutoff=2)
    torch.testing.assert_close(half[:, :2], (ws[:, :2] + G.mapping.w_avg) / 2)
    assert torch.equal(half[:, 2:], ws[:, 2:])
    before = G.mapping.w_avg.clone()
    G(z, noise_mode="none", truncation_psi=0.7)
    assert torch.equal(G.mapping.w_avg, before)
    G(z, noise_mode="none", update_emas=True)
    torch.testing.assert_close(G.mapping.w_avg, before + (ws[:, 0].mean(0) - before) * 0.005)


def test_fir_resampling_keeps_constants_and_sizes() -> None:
    f = fir_filter()
    assert torch.equal(f, torch.outer(torch.tensor([1.0, 3, 3, 1]), torch.tensor([1.0, 3, 3, 1])) / 64)
    x = torch.full((1, 2, 8, 8), 3.0)
    up, down = upsample2d(x, f), downsample2d(x, f)
    assert up.shape == (1, 2, 16, 16) and down.shape == (1, 2, 4, 4)
    torch.testing.assert_close(up[..., 2:-2, 2:-2], torch.full((1, 2, 12, 12), 3.0))     # DC gain 1 away from the border
    torch.testing.assert_close(down[..., 1:-1, 1:-1], torch.full((1, 2, 2, 2), 3.0))
    # an impulse upsampled spreads as the filter (times the gain 4) on the zero-inserted grid
    imp = torch.zeros(1, 1, 4, 4)
    imp[0, 0, 1, 1] = 1.0
    torch.testing.assert_close(upsample2d(imp, f)[0, 0, 1:5, 1:5], f * 4)


def test_fused_and_unfused_upsampling_modconv_agree_and_prenorm_changes_nothing() -> None:
    g = torch.Generator().manual_seed(0)
    x, w, s = torch.randn(3, 5, 8, 8, generator=g), torch.randn(7, 5, 3, 3, generator=g), torch.randn(3, 5, generator=g) * 9
    f = fir_filter()
    a = modulated_conv2d(x, w, s, up=True, resample_filter=f, fused=False)
    b = modulated_conv2d(x, w, s, up=True, resample_filter=f, fused=True)
    assert a.shape == (3, 7, 16, 16)
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    c = modulated_conv2d(x, w, s, padding=1, prenorm=True)
    torch.testing.assert_close(c, modulated_conv2d(x, w, s, padding=1), rtol=1e-4, atol=1e-5)


@torch.no_grad()
def test_a_reduced_precision_block_pre_normalises_its_modulated_convs() -> None:
    # fp16 overflows at 65504: weights 300x their size and styles 300x theirs would overflow x * s and the conv's sums;
    # pre-normalised (the reference's fp16 rule), the 16 px block gives the float32 image to fp16 rounding
    G, D = _nets()
    for conv in G.blocks[-1].convs:
        conv.weight.mul_(300.0)
        conv.affine.weight.mul_(300.0)
        conv.affine.bias.mul_(300.0)
    ws = G.mapping(_z())
    ref = G.synthesis(ws, noise_mode="const")
    set_block_precision(G, D, torch.float16, 1)
    low = G.synthesis(ws, noise_mode="const")
    assert torch.isfinite(low).all() and float((low - ref).abs().max()) < 0.05 * float(ref.abs().max())
