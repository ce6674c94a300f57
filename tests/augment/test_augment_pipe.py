"""ADA pipe: identity at p=0, gate rates, parameter moments, replayability, shapes (docs/papers.md §3)."""

from __future__ import annotations

import math

import pytest
import torch

from trainer.augment import SPECS, TRANSFORMS, make_pipe
from trainer.augment.color import color_matrices
from trainer.augment.geometric import geometry_matrices
from trainer.augment.random_draws import Draws
from trainer.errors import UserInputError

CPU = torch.device("cpu")


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("spec", ["bgcfnc", "blit", "geom", "hue"])
def test_p_zero_is_exact_identity(spec: str) -> None:
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    pipe = make_pipe(spec, 0.0)
    assert pipe(x) is x
    pipe.p = 0.5
    pipe.p = 0.0
    assert pipe(x, _gen(0)) is x


def test_p_is_clamped_and_settable() -> None:
    pipe = make_pipe("bgc", 0.3)
    assert pipe.p == pytest.approx(0.3)
    pipe.p = 7.0
    assert pipe.p == 1.0
    pipe.p = -2.0
    assert pipe.p == 0.0
    assert make_pipe("bgc", 21.8).p == 1.0


def test_unknown_spec_and_transform_name_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="bgcfnc") as err:
        make_pipe("bgcx")
    assert isinstance(err.value, UserInputError)
    with pytest.raises(UserInputError, match="saturation"):
        make_pipe("bgc").force("tilt")


def test_single_transform_specs_enable_exactly_one() -> None:
    for name in ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
                 "brightness", "contrast", "lumaflip", "hue", "saturation"):
        probs = make_pipe(name, 1.0).gate_probs()
        assert {t for t, q in probs.items() if q > 0} == {name}
    assert set(SPECS["bgcfnc"]) == set(TRANSFORMS)


# transform -> probability that a fired gate visibly changes the test image
# (xflip, lumaflip: 1/2 flip; rotate90: k != 0; imgfilter: 4 band gates, any one fires).
# (xint at 8 px: round(U(-1, 1)) is 0 on each axis with prob 1/2, so the image moves with prob 3/4;
# rotate: two slots, 1 - sqrt(1 - p) each, so at least one fires with prob p.)
GATE_CASES = {"brightness": 1.0, "contrast": 1.0, "hue": 1.0, "saturation": 1.0, "lumaflip": 0.5,
              "scale": 1.0, "aniso": 1.0, "xfrac": 1.0, "xflip": 0.5, "rotate90": 0.75, "noise": 1.0,
              "cutout": 1.0, "imgfilter": None, "xint": 0.75, "rotate": 1.0}


@pytest.mark.parametrize("name", sorted(GATE_CASES))
def test_gate_fires_at_rate_p(name: str) -> None:
    """One gate per image: fraction of changed images ~ p x factor (n=3000; binomial sd <= 0.009, tol 0.035)."""
    n, p = 3000, 0.3
    ramp = torch.linspace(-0.5, 0.5, 8)
    base = ramp[None, :] * ramp[:, None] + 0.3 * ramp[None, :]
    x = torch.stack([base, base.flip(0) * 0.5, -base + 0.2]).expand(n, 3, 8, 8).contiguous()
    y = make_pipe("bgc", 0.0).force(name, p)(x, _gen(1))
    changed = (y - x).abs().flatten(1).amax(dim=1) > 1e-5
    factor = GATE_CASES[name]
    expected = 1.0 - (1.0 - p) ** 4 if factor is None else p * factor
    assert changed.float().mean().item() == pytest.approx(expected, abs=0.035)
    spec = {"imgfilter": "filter"}.get(name, name)
    assert torch.equal(make_pipe(spec, p)(x, _gen(1)), y)      # the spec path gates exactly like force()


def test_rotate_fires_with_total_probability_p() -> None:
    """Two rotation slots each with 1 - sqrt(1 - p): at least one fires with probability p."""
    n, p = 4000, 0.5
    g = geometry_matrices(Draws(CPU, _gen(2)), n, 32, 32, {"rotate": p})
    moved = (g - torch.eye(3, dtype=g.dtype)).abs().flatten(1).amax(dim=1) > 0
    assert moved.float().mean().item() == pytest.approx(p, abs=0.03)


def test_force_switch_runs_one_transform_at_given_probability() -> None:
    pipe = make_pipe("bgc", 0.0).force("brightness", 0.5)
    x = torch.zeros(4000, 3, 2, 2)
    y = pipe(x, _gen(3))
    assert (y.flatten(1).abs().amax(dim=1) > 0).float().mean().item() == pytest.approx(0.5, abs=0.03)
    assert torch.equal(pipe.force(None)(x), x)


def test_colour_moments_match_papers() -> None:
    """brightness b ~ N(0, 0.2^2); contrast log2 c ~ N(0, 0.5^2); saturation log2 s ~ N(0, 1) (n=20000, 5%)."""
    n = 20000
    b = make_pipe("bgc").force("brightness")(torch.zeros(n, 3, 1, 1), _gen(4))
    assert torch.equal(b[:, 0], b[:, 1]) and b.mean().item() == pytest.approx(0.0, abs=0.01)
    assert b.std().item() == pytest.approx(0.2, rel=0.05)
    c = make_pipe("bgc").force("contrast")(torch.full((n, 1, 1, 1), 0.5), _gen(5))
    log2c = torch.log2(c / 0.5).flatten()
    assert log2c.mean().item() == pytest.approx(0.0, abs=0.02) and log2c.std().item() == pytest.approx(0.5, rel=0.05)
    chroma = torch.tensor([0.3, -0.15, -0.15]).expand(n, 3)[:, :, None, None]
    s = make_pipe("bgc").force("saturation")(chroma, _gen(6))
    log2s = torch.log2(s.flatten(1).norm(dim=1) / chroma.flatten(1).norm(dim=1))
    assert log2s.std().item() == pytest.approx(1.0, rel=0.05)
    assert s.flatten(1).mean(dim=1).abs().max().item() < 1e-5        # luma kept


def test_hue_and_lumaflip_act_about_the_luma_axis() -> None:
    n = 20000
    m = color_matrices(Draws(CPU, _gen(7)), n, {"hue": 1.0})
    axis = torch.ones(3) / math.sqrt(3.0)
    assert torch.allclose(m[:, :3, :3] @ axis, axis.expand(n, 3), atol=1e-6)
    cos = ((torch.diagonal(m[:, :3, :3], dim1=1, dim2=2).sum(1) - 1.0) / 2.0).clamp(-1, 1)
    angle = torch.acos(cos)                                    # |theta|, uniform on [0, pi] if theta ~ U(-pi, pi)
    assert angle.mean().item() == pytest.approx(math.pi / 2, rel=0.03)
    assert angle.std().item() == pytest.approx(math.pi / math.sqrt(12.0), rel=0.05)
    f = make_pipe("lumaflip", 1.0)(torch.full((n, 3, 1, 1), 0.4), _gen(8))
    assert ((f + 0.4).abs() < 1e-6).float().mean().item() == pytest.approx(0.5, abs=0.02)


def test_geometry_moments_match_papers() -> None:
    """scale 2^N(0, 0.2^2); aniso (s, 1/s); xfrac N(0, 0.125^2) x size; xint within 0.125 x size."""
    n, size = 20000, 32
    d = Draws(CPU, _gen(9))
    s = geometry_matrices(d, n, size, size, {"scale": 1.0})
    assert torch.log2(s[:, 0, 0]).std().item() == pytest.approx(0.2, rel=0.05)
    assert torch.equal(s[:, 0, 0], s[:, 1, 1])
    a = geometry_matrices(d, n, size, size, {"aniso": 1.0})
    assert torch.allclose(a[:, 0, 0] * a[:, 1, 1], torch.ones(n, dtype=a.dtype))
    t = geometry_matrices(d, n, size, size, {"xfrac": 1.0})[:, :2, 2] / size
    assert t.std(dim=0).tolist() == pytest.approx([0.125, 0.125], rel=0.05)
    i = geometry_matrices(d, n, size, size, {"xint": 1.0})[:, :2, 2]
    assert torch.equal(i, torch.round(i)) and i.abs().max().item() == 4 and i.std().item() > 1.5
    r = geometry_matrices(d, n, size, size, {"rotate90": 1.0})
    k = torch.atan2(r[:, 1, 0], r[:, 0, 0])
    counts = torch.stack([(torch.isclose(k, torch.tensor(a, dtype=k.dtype))).sum() for a in (0, math.pi / 2, math.pi, -math.pi / 2)])
    assert counts.sum() == n and (counts.float() / n - 0.25).abs().max().item() < 0.02


def test_geometry_moments_xint_aniso_rotate() -> None:
    """xint: round(U(-4, 4)) at 32 px (P(k) = 1/8 for |k| < 4, 1/16 for |k| = 4); aniso log2 s ~ N(0, 0.2^2);
    rotate: a pure rotation (det 1) whose angle, when it moves, is U(-pi, pi) (so |theta| ~ U(0, pi)).
    Small p, so nearly every move is a single slot (two slots would sum to uniform whatever one slot drew)."""
    n, size = 40000, 32
    d = Draws(CPU, _gen(19))
    t = geometry_matrices(d, n, size, size, {"xint": 1.0})[:, :2, 2].flatten()
    freq = torch.stack([(t == k).double().mean() for k in range(-4, 5)])
    expected = torch.tensor([1 / 16] + [1 / 8] * 7 + [1 / 16], dtype=torch.float64)
    assert freq.sum().item() == pytest.approx(1.0) and (freq - expected).abs().max().item() < 0.006
    a = geometry_matrices(d, n, size, size, {"aniso": 1.0})
    log2s = torch.log2(a[:, 0, 0])
    assert log2s.mean().item() == pytest.approx(0.0, abs=0.005) and log2s.std().item() == pytest.approx(0.2, rel=0.03)
    r = geometry_matrices(d, n, size, size, {"rotate": 0.1})      # each slot 5.1%: both fire in 2.6% of moves
    assert torch.allclose(torch.linalg.det(r[:, :2, :2]), torch.ones(n, dtype=r.dtype))
    theta = torch.atan2(r[:, 1, 0], r[:, 0, 0])
    theta = theta[theta != 0]                                       # ~4000 moved images
    assert theta.mean().item() == pytest.approx(0.0, abs=0.06)
    assert theta.abs().mean().item() == pytest.approx(math.pi / 2, rel=0.03)
    assert theta.abs().std().item() == pytest.approx(math.pi / math.sqrt(12.0), rel=0.04)


def test_imgfilter_gains_are_normalised_band_by_band() -> None:
    """As the reference: each band's vector (1, .., t_i, .., 1) is divided by its power sqrt(sum_j w_j v_j^2) and the
    four are multiplied (w = expected band powers).  A band's log2 raw gain is N(0, 1), so the log2 ratio of two
    always-gated bands has std sqrt(2); with one gated band the image power is kept exactly, with four it is not."""
    from trainer.augment.filters import BAND_POWER, band_gains
    n = 20000
    g, any_on = band_gains(Draws(CPU, _gen(20)), n, 1.0)
    d = Draws(CPU, _gen(20))                                      # replay the same draws, normalise band by band
    want = torch.ones(n, 4)
    w = torch.tensor(BAND_POWER)
    for i in range(4):
        on = d.gate(n, 1.0)
        v = torch.ones(n, 4)
        v[:, i] = torch.exp2(d.randn(n) * on.float())
        want = want * v / torch.sqrt((w * v.square()).sum(dim=1, keepdim=True))
    assert torch.allclose(g, want, rtol=1e-5) and bool(any_on.all())
    ratio = torch.log2(g[:, 1] / g[:, 2])
    assert ratio.mean().item() == pytest.approx(0.0, abs=0.03) and ratio.std().item() == pytest.approx(2 ** 0.5, rel=0.03)
    power = (g.square() * w).sum(dim=1)
    assert (power - 1).abs().max().item() > 0.1                   # not a joint normalisation (that would give 1)
    g0, on0 = band_gains(Draws(CPU, _gen(21)), n, 0.0)
    assert torch.equal(g0, torch.ones(n, 4)) and not bool(on0.any())
    g1, on1 = band_gains(Draws(CPU, _gen(22)), n, 0.1)            # images with exactly one gated band: power 1
    one = (g1 != 1).sum(dim=1) == 1
    assert torch.allclose((g1[one].square() * w).sum(dim=1), torch.ones(int(one.sum())), atol=1e-5)


def test_filter_and_noise_and_cutout_statistics() -> None:
    n = 4000
    x = torch.zeros(n, 1, 16, 16)
    y = make_pipe("noise", 1.0)(x, _gen(10))
    sigma = y.flatten(1).std(dim=1)
    assert sigma.mean().item() == pytest.approx(0.1 * math.sqrt(2.0 / math.pi), rel=0.05)   # E|N(0, 0.1^2)|
    ones = torch.ones(n, 1, 16, 16)
    cut = make_pipe("cutout", 1.0)(ones, _gen(11))
    zeros = (cut == 0).flatten(1).sum(dim=1)
    assert zeros.max().item() == 64                            # side size/2 = 8 -> 64 pixels when fully inside
    assert 0 < zeros.min().item() < 64                         # clipped at the border sometimes
    impulse = torch.zeros(1, 1, 33, 33)
    impulse[..., 16, 16] = 1.0
    unit = make_pipe("filter", 0.0).force("imgfilter", 1.0)
    outs = unit(impulse.expand(2000, -1, -1, -1).contiguous(), _gen(12))
    power = outs.square().flatten(1).sum(dim=1)
    # band-by-band normalisation (as the reference): E[power] of the 2-D impulse response is ~5.9 (joint: ~3.5)
    assert power.std().item() > 0.01 and 0.05 < power.mean().item() < 12.0


def test_same_generator_same_output_different_differs() -> None:
    x = torch.rand(8, 3, 16, 16) * 2 - 1
    pipe = make_pipe("bgcfnc", 0.8)
    a, b, c = pipe(x, _gen(13)), pipe(x, _gen(13)), pipe(x, _gen(14))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_dtype_device_kept(channels: int, dtype: torch.dtype) -> None:
    x = (torch.rand(5, channels, 12, 12) * 2 - 1).to(dtype)
    for spec in ("bgcfnc", "blit", "color"):
        y = make_pipe(spec, 0.9)(x, _gen(15))
        assert y.shape == x.shape and y.dtype == dtype and y.device == x.device
        assert torch.isfinite(y).all()


def test_greyscale_colour_uses_luma_only() -> None:
    x = torch.full((2000, 1, 2, 2), 0.3)
    assert torch.allclose(make_pipe("hue", 1.0)(x, _gen(16)), x, atol=1e-6)
    assert torch.allclose(make_pipe("saturation", 1.0)(x, _gen(17)), x, atol=1e-6)
    flipped = make_pipe("lumaflip", 1.0)(x, _gen(18))
    assert set(torch.round(flipped.flatten() * 10).unique().tolist()) == {-3.0, 3.0}


def test_specs_and_policies_agree_with_the_config() -> None:
    """The config validates `augpipe` / `diffaug_policy` against its own lists; they must match ours."""
    from trainer.augment.diffaugment import OPS
    from trainer.config import AUGPIPE_SPECS, DIFFAUG_OPS
    assert set(AUGPIPE_SPECS) == set(SPECS)
    assert set(DIFFAUG_OPS) == set(OPS)


def test_filter_bands_partition_the_spectrum() -> None:
    """The 4 band kernels sum to a unit impulse (unit gains = identity); each band's response peaks in its band."""
    from trainer.augment.filters import BAND_EDGES, band_kernels
    bands = band_kernels(torch.float64)
    delta = torch.zeros(bands.shape[1], dtype=torch.float64)
    delta[bands.shape[1] // 2] = 1.0
    assert torch.allclose(bands.sum(dim=0), delta, atol=1e-12)
    response = torch.fft.rfft(bands, n=512).abs()                     # frequency 0 .. Nyquist over 257 bins
    centres = [0.0, (BAND_EDGES[0] + BAND_EDGES[1]) / 2, (BAND_EDGES[1] + BAND_EDGES[2]) / 2, 0.9]
    for i, f in enumerate(centres):
        assert int(response[:, round(f * 256)].argmax()) == i
