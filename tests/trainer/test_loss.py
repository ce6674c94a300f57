"""Loss and augmentation placement: gradient paths through T (docs/papers.md §1), R1 through T, EMA, mode none."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import nn

from trainer.d_inputs import Augmenter
from trainer.config.augment import augment_config
from trainer.config import ModelConfig
from trainer.loss import d_step_loss, g_step_loss, r1_loss, update_ema
from trainer.phases import ema_beta
from trainer.networks import build_networks


class RecordingPipe(nn.Module):
    """A differentiable T (x -> 0.5 x + 0.1) that records its inputs, retaining their gradient."""

    def __init__(self, spec: str, p: float) -> None:
        super().__init__()
        self.p, self.inputs = p, []

    def forward(self, x: torch.Tensor, generator: Any = None) -> torch.Tensor:
        if x.requires_grad:
            x.retain_grad()
        self.inputs.append(x)
        return 0.5 * x + 0.1


def _setup(apply_to: str, mode: str = "fixed") -> tuple[nn.Module, nn.Module, Augmenter, RecordingPipe | None]:
    G, D = build_networks(ModelConfig(arch="dcgan", z_dim=16, channel_base=128, channel_max=16), resolution=16, channels=3, seed=0)
    made: list[RecordingPipe] = []

    def make(spec: str, p: float) -> RecordingPipe:
        made.append(RecordingPipe(spec, p))
        return made[-1]
    aug = Augmenter(augment_config(mode=mode, apply_to=apply_to, **({"p": 0.5} if mode != "diffaugment" else {})), 8, torch.Generator(), torch.device("cpu"), make_pipe=make)
    return G, D, aug, made[0] if made else None


def _g_step(G: nn.Module, D: nn.Module, aug: Augmenter) -> torch.Tensor:
    z = torch.randn(8, 16, generator=torch.Generator().manual_seed(0))
    return g_step_loss(G, D, aug, z, noise_generator=None, backward=lambda loss: loss.backward())


def test_g_step_gradient_flows_through_augmentation_when_apply_to_both() -> None:
    G, D, aug, pipe = _setup("both")
    _g_step(G, D, aug)
    assert len(pipe.inputs) == 1
    fakes = pipe.inputs[0]
    assert fakes.grad is not None and fakes.grad.abs().sum() > 0      # dL/dT-input exists: the path goes through T
    assert all(p.grad is not None for p in G.parameters())
    assert sum(p.grad.abs().sum() for p in G.parameters()) > 0
    assert all(p.grad is None for p in D.parameters())                 # D frozen in the G step
    assert all(p.requires_grad for p in D.parameters())                # ... and unfrozen afterwards


@pytest.mark.parametrize("apply_to", ["d_only", "reals_only"])
def test_g_step_sees_unaugmented_fakes_for_ablations(apply_to: str) -> None:
    G, D, aug, pipe = _setup(apply_to)
    _g_step(G, D, aug)
    assert pipe.inputs == []                                           # T never runs in the G step
    assert sum(p.grad.abs().sum() for p in G.parameters()) > 0


@pytest.mark.parametrize(("apply_to", "calls"), [("both", 2), ("d_only", 2), ("reals_only", 1)])
def test_d_step_augments_per_apply_to(apply_to: str, calls: int) -> None:
    G, D, aug, pipe = _setup(apply_to)
    reals = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    z = torch.randn(8, 16, generator=torch.Generator().manual_seed(2))
    out = d_step_loss(G, D, aug, reals, z, noise_generator=None, backward=lambda loss: loss.backward())
    assert len(pipe.inputs) == calls
    assert out.loss_r1 is None and out.real_logits.shape == (8,)
    assert all(p.grad is None for p in G.parameters())                 # fakes made under no_grad in the D step


def test_r1_is_taken_on_unaugmented_reals_through_augmentation() -> None:
    G, D, aug, pipe = _setup("both")
    reals = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    r1, logits = r1_loss(D, aug, reals, r1_gamma=2.0, gain=4, backward=lambda loss: loss.backward())
    # T(x) = 0.5x + 0.1, so d D(T(x))/dx = 0.5 * D'(T(x)); R1 = gamma/2 * E||.||^2
    x = reals.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(D(0.5 * x + 0.1).sum(), x)
    expected = 2.0 / 2 * g.square().sum(dim=(1, 2, 3)).mean()
    assert math.isclose(r1.item(), expected.item(), rel_tol=1e-4) and logits.shape == (8,)
    assert len(pipe.inputs) == 1 and pipe.inputs[0].requires_grad    # reals entered T with requires_grad (grad through T)
    assert all(p.grad is not None for p in D.parameters() if p.ndim > 1)   # double backward reached D's weights
    assert all(p.grad is None for p in G.parameters())                # no G in D's regularisation phase


def test_mode_none_builds_and_calls_nothing() -> None:
    made: list[Any] = []
    aug = Augmenter(augment_config(mode="none"), 8, torch.Generator(), torch.device("cpu"), make_pipe=lambda s, p: made.append(s))
    x = torch.randn(2, 3, 4, 4)
    assert made == [] and aug.p is None and aug.controller is None
    assert aug.real_d(x) is x and aug.fake_d(x) is x and aug.fake_g(x) is x


def test_ema_half_life() -> None:
    G, _ = build_networks(ModelConfig(arch="dcgan", z_dim=8, channel_base=64, channel_max=8), resolution=8, channels=1, seed=0)
    G_ema, _ = build_networks(ModelConfig(arch="dcgan", z_dim=8, channel_base=64, channel_max=8), resolution=8, channels=1, seed=1)
    before = [p.detach().clone() for p in G_ema.parameters()]
    update_ema(G_ema, G, beta=ema_beta(500, 0.5, None, 0))   # one half-life: beta = 0.5
    for b, pe, p in zip(before, G_ema.parameters(), G.parameters()):
        torch.testing.assert_close(pe, 0.5 * b + 0.5 * p)


class _DiffAugRecorder:
    """Stands in for trainer.augment.diffaugment: records each call's batch and returns a differentiable T(x)."""

    def __init__(self) -> None:
        self.inputs: list[torch.Tensor] = []

    def __call__(self, x: torch.Tensor, policy: Any = None, generator: Any = None) -> torch.Tensor:
        self.inputs.append(x)
        return 0.5 * x + 0.1


# (apply_to, T calls in the D step, T calls in the G step): docs/papers.md §1 and DiffAugment Table 1's three variants
PLACEMENT = [("both", 2, 1), ("d_only", 2, 0), ("reals_only", 1, 0)]


@pytest.mark.parametrize(("apply_to", "d_calls", "g_calls"), PLACEMENT)
def test_diffaugment_mode_placement(monkeypatch: pytest.MonkeyPatch, apply_to: str, d_calls: int, g_calls: int) -> None:
    import trainer.augment as augment_pkg
    rec = _DiffAugRecorder()
    monkeypatch.setattr(augment_pkg, "diffaugment", rec)
    G, D, aug, pipe = _setup(apply_to, mode="diffaugment")
    assert pipe is None and aug.p is None                              # DiffAugment has no pipe and no p
    reals = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    z = torch.randn(8, 16, generator=torch.Generator().manual_seed(2))
    d_step_loss(G, D, aug, reals, z, noise_generator=None, backward=lambda loss: loss.backward())
    assert len(rec.inputs) == d_calls
    assert torch.equal(rec.inputs[0].detach(), reals)                  # T's first input is exactly the batch of reals
    rec.inputs.clear()
    r1_loss(D, aug, reals, r1_gamma=1.0, gain=1, backward=lambda loss: loss.backward())
    assert len(rec.inputs) == 1 and rec.inputs[0].requires_grad       # R1's reals go into T un-augmented, with grad
    rec.inputs.clear()
    _g_step(G, D, aug)
    assert len(rec.inputs) == g_calls


@pytest.mark.parametrize(("apply_to", "d_calls", "g_calls"), PLACEMENT)
def test_real_t_transforms_d_inputs_exactly_where_placed(apply_to: str, d_calls: int, g_calls: int) -> None:
    # With the real ADA pipe at p=1 (xflip/rot90/shift always drawn), record what D actually sees.
    G, D0 = build_networks(ModelConfig(arch="dcgan", z_dim=16, channel_base=128, channel_max=16), resolution=16, channels=3, seed=0)
    aug = Augmenter(augment_config(mode="fixed", augpipe="blit", p=1.0, apply_to=apply_to), 8,
                    torch.Generator().manual_seed(3), torch.device("cpu"))
    seen: list[torch.Tensor] = []

    class SpyD(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = D0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(x.detach().clone())
            return self.inner(x)
    D = SpyD()
    G.eval()                                                           # BatchNorm on running stats: G(z) is reproducible below
    reals = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    z = torch.randn(8, 16, generator=torch.Generator().manual_seed(2))
    d_step_loss(G, D, aug, reals, z, noise_generator=None, backward=lambda loss: loss.backward())
    with torch.no_grad():
        fakes = G(z)
    real_changed, fake_changed = not torch.allclose(seen[0], reals), not torch.allclose(seen[1], fakes, atol=1e-6)
    assert (real_changed, fake_changed) == (True, d_calls == 2)
    seen.clear()
    zg = torch.randn(8, 16, generator=torch.Generator().manual_seed(0))
    g_step_loss(G, D, aug, zg, noise_generator=None, backward=lambda loss: loss.backward())
    with torch.no_grad():
        fakes_g = G(zg)
    assert (not torch.allclose(seen[0], fakes_g, atol=1e-6)) == (g_calls == 1)


class _DtypePipe(RecordingPipe):
    def forward(self, x: torch.Tensor, generator: Any = None) -> torch.Tensor:
        self.autocast_on = getattr(self, "autocast_on", []) + [torch.is_autocast_enabled("cpu")]
        return super().forward(x, generator)


def test_augmentation_runs_in_full_precision_outside_autocast() -> None:
    G, D = build_networks(ModelConfig(arch="dcgan", z_dim=16, channel_base=128, channel_max=16), resolution=16, channels=3, seed=0)
    made: list[_DtypePipe] = []
    aug = Augmenter(augment_config(mode="fixed", p=0.5, apply_to="both"), 8, torch.Generator(), torch.device("cpu"),
                    make_pipe=lambda s, p: made.append(_DtypePipe(s, p)) or made[-1])
    reals = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    z = torch.randn(8, 16, generator=torch.Generator().manual_seed(2))
    bf16 = torch.autocast("cpu", dtype=torch.bfloat16)
    out = d_step_loss(G, D, aug, reals, z, noise_generator=None, backward=lambda loss: loss.backward(), autocast=bf16)
    r1, _ = r1_loss(D, aug, reals, r1_gamma=1.0, gain=4, backward=lambda loss: loss.backward(), autocast=bf16)
    g_step_loss(G, D, aug, z, noise_generator=None, backward=lambda loss: loss.backward(), autocast=bf16)
    pipe = made[0]
    assert len(pipe.inputs) == 4 and all(x.dtype == torch.float32 for x in pipe.inputs)
    assert pipe.autocast_on == [False] * 4
    assert torch.isfinite(out.loss_D) and torch.isfinite(r1) and r1 > 0
