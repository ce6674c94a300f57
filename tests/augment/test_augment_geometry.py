"""Geometric invariants, the integer (gather) path vs the resampled path, and gradients (docs/papers.md §1, §3)."""

from __future__ import annotations

import pytest
import torch

from trainer.augment import make_pipe
from trainer.augment.geometric import apply_geometry
from trainer.augment.resample import gather_integer, resample

F64 = torch.float64


def _m(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=F64)[None]


FLIP = _m([[-1, 0, 0], [0, 1, 0], [0, 0, 1]])
ROT90 = _m([[0, -1, 0], [1, 0, 0], [0, 0, 1]])


def test_xflip_twice_and_rot90_four_times_are_identity(smooth) -> None:
    x = torch.rand(3, 3, 16, 16)
    assert torch.equal(gather_integer(gather_integer(x, FLIP.expand(3, 3, 3)), FLIP.expand(3, 3, 3)), x)
    y = x
    for _ in range(4):
        y = gather_integer(y, ROT90.expand(3, 3, 3))
    assert torch.equal(y, x)
    assert torch.equal(gather_integer(x, ROT90.expand(3, 3, 3)), torch.rot90(x, 1, dims=(2, 3)))
    assert torch.equal(gather_integer(x, FLIP.expand(3, 3, 3)), torch.flip(x, dims=(3,)))


def test_integer_shift_uses_reflect_padding() -> None:
    x = torch.arange(8.0).expand(1, 1, 8, 8).contiguous()
    y = gather_integer(x, _m([[1, 0, -3], [0, 1, 0], [0, 0, 1]]))       # sample 3 px to the left
    assert y[0, 0, 0].tolist() == [3.0, 2.0, 1.0, 0.0, 1.0, 2.0, 3.0, 4.0]
    ref = torch.nn.functional.pad(x, (3, 0, 0, 0), mode="reflect")[..., :8]
    assert torch.equal(y, ref)


@pytest.mark.parametrize("rows", [
    [[-1, 0, 0], [0, 1, 0], [0, 0, 1]],
    [[0, -1, 0], [1, 0, 0], [0, 0, 1]],
    [[1, 0, 3], [0, 1, -2], [0, 0, 1]],
    [[0, 1, -2], [-1, 0, 1], [0, 0, 1]],
    [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
])
def test_integer_path_equals_resampled_path(smooth, rows) -> None:
    """Exact gather vs anti-aliased resampling of the same integer map: within 2e-3 everywhere
    >= 6 px from the border, and within 0.1 at the border (the low-pass sees the reflection's kink)."""
    x = smooth(4, 3, 32, F64)
    g = _m(rows).expand(4, 3, 3)
    a, b = gather_integer(x, g), resample(x, g)
    assert (a - b)[..., 6:-6, 6:-6].abs().max().item() < 2e-3
    assert (a - b).abs().max().item() < 0.1


@pytest.mark.parametrize("shift", [(0, 0), (3, -2), (-5, 4)])
def test_non_square_images_resample_like_the_gather(shift: tuple[int, int]) -> None:
    """H != W (the resampler stores its canvas x-major): integer shifts agree with the exact gather."""
    yy, xx = torch.meshgrid(torch.arange(20, dtype=F64), torch.arange(28, dtype=F64), indexing="ij")
    x = torch.stack([torch.sin(xx / 5.0 + k) * torch.cos(yy / 4.0 - k) for k in range(2)])[None]
    g = _m([[1, 0, shift[0]], [0, 1, shift[1]], [0, 0, 1]])
    a, b = gather_integer(x, g), resample(x, g)
    assert b.shape == x.shape
    rows, cols = torch.arange(20) + shift[1], torch.arange(28) + shift[0]        # source row / column
    far = ((rows >= 3) & (rows <= 16))[:, None] & ((cols >= 3) & (cols <= 24))[None, :]   # >= 3 px from a kink
    assert (a - b).abs()[..., far].max().item() < 2e-3 and (a - b).abs().max().item() < 0.1


def test_grid_fold_equals_grid_sample_reflection() -> None:
    """Our in-place fold + 'zeros' sampling equals torch's own 'reflection' padding, near and far (|u| > 2 size)."""
    from trainer.augment.resample import _fold_
    g = torch.Generator().manual_seed(3)
    size = 10
    canvas = torch.rand(1, 2, 7, size, generator=g, dtype=F64)
    u = (torch.rand(1, 7, 400, generator=g, dtype=F64) * 14.0 - 7.0) * size     # index + 0.5, to +-7 sizes
    u[..., :200] /= 5.0                                                           # half within the cheap branch
    for part in (u[..., :200], u):
        y = ((torch.arange(7, dtype=F64)[None, :, None] + 0.5) * 2.0 / 7 - 1.0).expand_as(part)   # row centres
        raw = torch.stack([part * 2.0 / size - 1.0, y], dim=-1)
        ref = torch.nn.functional.grid_sample(canvas, raw, padding_mode="reflection", align_corners=False)
        folded = torch.stack([_fold_(part.clone(), size), y], dim=-1)
        ours = torch.nn.functional.grid_sample(canvas, folded, padding_mode="zeros", align_corners=False)
        assert torch.allclose(ours, ref, atol=1e-12)


def test_far_shift_is_periodic_like_the_reflect_padded_image() -> None:
    """The reflect-padded 16 px image has period 30: shifting by +-60 more (the fold's modulo branch,
    |u| > 2 x canvas) gives the same result as the near shift, on both the gather and the resampled path."""
    x = torch.rand(2, 3, 16, 16, dtype=F64)
    near = _m([[0.8, -0.6, 2.5], [0.6, 0.8, -1.25], [0, 0, 1]]).expand(2, 3, 3).clone()
    far = near.clone()
    far[:, 0, 2] += 60.0
    far[:, 1, 2] -= 60.0
    assert torch.allclose(resample(x, far), resample(x, near), atol=1e-9)
    shift, shift_far = _m([[1, 0, 2], [0, 1, -3], [0, 0, 1]]), _m([[1, 0, 62], [0, 1, -63], [0, 0, 1]])
    assert torch.equal(gather_integer(x, shift_far.expand(2, 3, 3)), gather_integer(x, shift.expand(2, 3, 3)))


def test_identity_images_are_not_resampled() -> None:
    x = torch.rand(3, 3, 8, 8)
    g = torch.eye(3, dtype=F64).expand(3, 3, 3).clone()
    g[1] = FLIP[0]
    y = apply_geometry(x, g)
    assert torch.equal(y[0], x[0]) and torch.equal(y[2], x[2])
    assert torch.equal(y[1], torch.flip(x[1], dims=(2,)))


def test_rotation_by_small_angle_is_smooth_and_close(smooth) -> None:
    """A 2-degree rotation of a smooth image moves pixels < 0.6 px near the centre: small change."""
    x = smooth(2, 3, 32, F64)
    t = torch.tensor(0.035, dtype=F64)
    g = torch.eye(3, dtype=F64).expand(2, 3, 3).clone()
    g[:, 0, 0], g[:, 0, 1], g[:, 1, 0], g[:, 1, 1] = t.cos(), -t.sin(), t.sin(), t.cos()
    y = resample(x, g)
    diff = (y - x)[..., 12:20, 12:20].abs().max().item()
    assert 1e-4 < diff < 0.1


@pytest.mark.parametrize("spec", ["bgcfnc", "blit", "geom"])
def test_gradients_and_double_backward_reach_the_input(spec: str) -> None:
    x = (torch.rand(6, 3, 16, 16, dtype=F64) * 2 - 1).requires_grad_()
    y = make_pipe(spec, 0.9)(x, torch.Generator().manual_seed(0))
    (grad,) = torch.autograd.grad(y.square().mean(), x, create_graph=True)
    assert grad.abs().sum().item() > 0
    grad.square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum().item() > 0


def test_resample_gradcheck_and_gradgradcheck() -> None:
    g = torch.eye(3, dtype=F64).expand(2, 3, 3).clone()
    g[0, 0, 0], g[0, 0, 1], g[0, 1, 0], g[0, 1, 1], g[0, 0, 2] = 0.8, -0.6, 0.6, 0.8, 0.4
    g[1, 0, 0], g[1, 1, 1], g[1, 1, 2] = 1.3, 0.7, -2.2
    x = torch.rand(2, 1, 4, 5, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: resample(a, g), (x,))
    assert torch.autograd.gradgradcheck(lambda a: resample(a, g), (x,))


def test_pure_blits_through_the_pipe_are_exact_index_operations() -> None:
    """xflip / rotate90 never resample: every output is exactly one of the 8 flips/turns of its input."""
    x = torch.rand(64, 3, 12, 12)
    for name in ("xflip", "rotate90"):
        y = make_pipe(name, 1.0)(x, torch.Generator().manual_seed(1))
        for xi, yi in zip(x, y):
            cands = [torch.rot90(v, k, dims=(1, 2)) for v in (xi, torch.flip(xi, dims=(2,))) for k in range(4)]
            assert any(torch.equal(yi, cand) for cand in cands)
        assert not torch.equal(y, x)


def test_large_image_code_paths_match_the_matmul_paths(monkeypatch, smooth) -> None:
    """Above a size threshold the separable filters switch from matmul to shifted slices; same maths."""
    import trainer.augment.filters as filters
    import trainer.augment.resample as rs
    x = smooth(3, 3, 12, F64)
    g = torch.eye(3, dtype=F64).expand(3, 3, 3).clone()
    g[:, 0, 0], g[:, 0, 1], g[:, 1, 0], g[:, 1, 1], g[:, 0, 2] = 0.9, -0.3, 0.3, 0.9, 0.7
    kernels = torch.rand(3, filters.FILTER_TAPS, dtype=F64)
    a, fa = rs.resample(x, g), filters._filter_separable(x, kernels)
    monkeypatch.setattr(rs, "MATMUL_MAX", 4)
    monkeypatch.setattr(filters, "FILTER_MATMUL_MAX", 4)
    b, fb = rs.resample(x, g), filters._filter_separable(x, kernels)
    assert torch.allclose(a, b, atol=1e-12) and torch.allclose(fa, fb, atol=1e-12)
