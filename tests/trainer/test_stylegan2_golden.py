"""Our stylegan2 G and D against the reference's own outputs (tests/data/nvlabs/README.md says where they come from).

Each fixture's weights are made by tests/trainer/golden_weights.py's recipe under
the reference's names (the npz keeps only the buffer its outputs set,
`G.mapping.w_avg`); inputs are regenerated from their seed; the npz holds the
reference's outputs at fp32 on CPU.  Loading through trainer/networks/
reference_names.py and running our networks must give the same ws, images
(1e-4 max abs) and D logits (1e-4 relative).  small32 keeps every output whole;
paper256_narrow keeps w (every slot of ws holds it), and of the first two images
per noise mode every 4th pixel plus every row's and column's mean (each pixel
counts); D's fakes are all 8 rendered by our G from the stored w, so D sees its
whole minibatch-std group of 8.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from golden_weights import FILES, FIXTURES, image_views, index, inputs, weights

from trainer.config import ModelConfig
from trainer.networks import build_networks
from trainer.networks.reference_names import load_reference_state, reference_state
from trainer.networks.stylegan2 import W_AVG_BETA

INDEX = index()
IMG_TOL = 1e-4     # max abs, images and ws in [-10, 10]
LOGIT_RTOL = 1e-4  # relative, D logits


def _model_config(name: str) -> ModelConfig:
    c = INDEX[name]["config"]
    clamp = INDEX[name]["G_kwargs"]["synthesis_kwargs"]["conv_clamp"]
    return ModelConfig(arch="stylegan2", z_dim=c["zdim"], w_dim=c["zdim"], mapping_layers=c["map"], channel_base=c["cbase"],
                       channel_max=c["cmax"], mbstd_group=c["mbstd"], amp_blocks=c["fp16"], conv_clamp=clamp)


def _inputs(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """z and reals as the fixture drew them: RandomState(42).randn(N, z_dim), then uniform(-1, 1) images."""
    z, reals = inputs(name)
    return torch.from_numpy(z), torch.from_numpy(reals)


def _load(name: str):
    npz = np.load(FIXTURES / FILES[name])
    G, D = build_networks(_model_config(name), resolution=INDEX[name]["config"]["res"], channels=3, seed=0)
    for net, given in zip((G, D), weights(name)):
        state = reference_state(net)
        # the recipe covers every tensor of ours, filters included, and nothing else
        assert sorted(given) == sorted(state), sorted(set(given) ^ set(state))
        load_reference_state(net, {k: torch.from_numpy(v) for k, v in given.items()})
        net.eval()
    return G, D, {k[4:]: torch.from_numpy(npz[k]) for k in npz.files if k.startswith("out.")}


@pytest.fixture(scope="module", params=list(FILES))
def fixture(request):
    return request.param, *_load(request.param)


def _ws(name: str, out: dict[str, torch.Tensor], G) -> tuple[torch.Tensor, torch.Tensor]:
    if "ws" in out:
        return out["ws"], out["ws_trunc0.7"]
    return (out["w"].unsqueeze(1).expand(-1, G.num_ws, -1), out["w_trunc0.7"].unsqueeze(1).expand(-1, G.num_ws, -1))


def _image_error(out: dict[str, torch.Tensor], mode: str, img: torch.Tensor) -> float:
    """Max abs difference between our images IMG and what the fixture keeps of the reference's (asserting shapes)."""
    if f"img_{mode}" in out:
        ref = out[f"img_{mode}"]
        assert img.shape == ref.shape, (img.shape, ref.shape)
        return float((img - ref).abs().max())
    errors = []
    for view, got in image_views(img[:_kept(out)]).items():
        ref = out[f"img_{mode}.{view}"]
        assert got.shape == ref.shape, (view, got.shape, ref.shape)
        errors.append(float((got - ref).abs().max()))
    return max(errors)


def _kept(out: dict[str, torch.Tensor]) -> int:
    """How many images per noise mode the fixture keeps."""
    return len(out["img_const"] if "img_const" in out else out["img_const.rowmean"])


def test_parameter_counts_equal_the_reference(fixture) -> None:
    name, G, D, _ = fixture
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert (count(G), count(D)) == (INDEX[name]["G_params"], INDEX[name]["D_params"])


@pytest.mark.parametrize("name", list(FILES))
def test_mapping_ws_truncation_and_w_avg_tracking(name: str) -> None:
    G, _, out = _load(name)
    z, _ = _inputs(name)
    want, want_trunc = _ws(name, out, G)
    with torch.no_grad():
        ws = G.mapping(z)
        assert (ws - want).abs().max() < IMG_TOL
        # the stored w_avg is the mean of ws[:, 0], as when the reference computed ws_trunc0.7
        assert (G.mapping(z, truncation_psi=0.7) - want_trunc).abs().max() < IMG_TOL
        cut = G.mapping(z, truncation_psi=0.7, truncation_cutoff=3)
        assert torch.equal(cut[:, 3:], ws[:, 3:]) and (cut[:, :3] - want_trunc[:, :3]).abs().max() < IMG_TOL
        before = G.mapping.w_avg.clone()
        G.mapping(z)
        assert torch.equal(G.mapping.w_avg, before)          # no update unless asked
        G.mapping(z, update_emas=True)
    expected = before * W_AVG_BETA + ws[:, 0].mean(dim=0) * (1 - W_AVG_BETA)
    torch.testing.assert_close(G.mapping.w_avg, expected, rtol=0, atol=1e-6)


@torch.no_grad()
@pytest.mark.parametrize("mode", ["const", "none"])
def test_images_match_the_reference(fixture, mode: str) -> None:
    name, G, _, out = fixture
    ws, _ = _ws(name, out, G)
    img = G.synthesis(ws[:_kept(out)], noise_mode=mode)
    assert _image_error(out, mode, img) < IMG_TOL


@torch.no_grad()
def test_whole_generator_with_truncation(fixture) -> None:
    # G(z, truncation_psi) = synthesis(truncated ws), and G(z) gives the reference's images
    name, G, _, out = fixture
    z, _ = _inputs(name)
    n = _kept(out)
    _, wst = _ws(name, out, G)
    a = G(z[:n], truncation_psi=0.7, noise_mode="const")
    b = G.synthesis(wst[:n], noise_mode="const")
    assert float((a - b).abs().max()) < IMG_TOL and _image_error(out, "const", G(z[:n], noise_mode="const")) < IMG_TOL


@torch.no_grad()
def test_d_logits_match_the_reference(fixture) -> None:
    name, G, D, out = fixture
    _, reals = _inputs(name)
    torch.testing.assert_close(D(reals), out["d_real"].squeeze(1), rtol=LOGIT_RTOL, atol=1e-6)
    if _kept(out) == len(reals):
        fakes = out["img_const"]
    else:
        # paper256 keeps views of 2 of the 8 fakes; minibatch std needs the whole group, so our G (checked
        # against those views here too) renders all 8 from the stored w
        ws, _ = _ws(name, out, G)
        fakes = G.synthesis(ws, noise_mode="const")
        assert _image_error(out, "const", fakes) < IMG_TOL
    torch.testing.assert_close(D(fakes), out["d_fake"].squeeze(1), rtol=LOGIT_RTOL, atol=1e-6)
