"""DiffAugment ops (docs/papers.md §2): translation zero-fill, cutout size, colour ranges, policies, gradients."""

from __future__ import annotations

import pytest
import torch

from trainer.augment import diffaugment
from trainer.errors import UserInputError


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_translation_is_integer_shift_with_zero_fill() -> None:
    n, size = 400, 32
    x = torch.rand(n, 3, size, size) + 1.0                           # strictly positive: zeros mark the fill
    y = diffaugment(x, "translation", _gen(0))
    r = int(size / 8 + 0.5)
    shifts = set()
    for i in range(n):
        cols = (y[i, 0] != 0).any(dim=0).nonzero().flatten()
        rows = (y[i, 0] != 0).any(dim=1).nonzero().flatten()
        tx = int(cols[0]) if cols[0] > 0 else -(size - 1 - int(cols[-1]))
        ty = int(rows[0]) if rows[0] > 0 else -(size - 1 - int(rows[-1]))
        shifts.add((tx, ty))
        assert torch.equal(y[i][:, max(ty, 0):size + min(ty, 0), max(tx, 0):size + min(tx, 0)],
                           x[i][:, max(-ty, 0):size + min(-ty, 0), max(-tx, 0):size + min(-tx, 0)])
        assert (y[i] == 0).sum().item() == 3 * (size * size - (size - abs(tx)) * (size - abs(ty)))
    assert {s[0] for s in shifts} == set(range(-r, r + 1)) and {s[1] for s in shifts} == set(range(-r, r + 1))


def test_cutout_square_has_the_specified_side() -> None:
    n, size = 500, 32
    y = diffaugment(torch.ones(n, 1, size, size), "cutout", _gen(1))
    zeros = (y == 0).flatten(1).sum(dim=1)
    side = int(size / 2 + 0.5)
    assert zeros.max().item() == side * side
    assert zeros.min().item() > 0 and (zeros < side * side).any()      # clipped at the border sometimes
    full = y[zeros == side * side][:, 0] == 0
    assert torch.equal(full.any(dim=1).sum(dim=1), torch.full((full.shape[0],), side))


def test_cutout_centre_is_drawn_over_0_to_size_as_the_reference() -> None:
    """At 16 px the side is 8 (even): the centre is uniform over {0, .., 16}, so the square hangs over the left and
    the right border alike and the first and the last column are each covered 5/17 = 0.294 of the time (a centre
    over {0, .., 15} would give 5/16 = 0.31 and 4/16 = 0.25)."""
    n, size, half = 6000, 16, 4
    y = diffaugment(torch.ones(n, 1, size, size), "cutout", _gen(5))[:, 0]
    cols = (y == 0).any(dim=1)                                           # [N, W] columns the square covers
    first = cols.float().argmax(dim=1)
    last = size - 1 - cols.flip(1).float().argmax(dim=1)
    centre = torch.where(first > 0, first + half, last - half + 1)      # the square covers [c - 4, c + 4)
    assert set(centre.tolist()) == set(range(size + 1))
    counts = torch.bincount(centre, minlength=size + 1).float() / n
    assert (counts - 1 / 17).abs().max().item() < 0.012                 # uniform; ~4 standard errors
    for col in (0, size - 1):
        assert cols[:, col].float().mean().item() == pytest.approx(5 / 17, abs=0.025)


def test_colour_ranges() -> None:
    n = 4000
    b = diffaugment(torch.zeros(n, 3, 2, 2), ["color"], _gen(2))       # saturation/contrast of a flat image: no-op
    assert b.min().item() >= -0.5 and b.max().item() < 0.5 and b.std().item() == pytest.approx(12 ** -0.5, rel=0.05)
    x = torch.tensor([0.5, -0.5, 0.0]).expand(n, 3).reshape(n, 3, 1, 1).repeat(1, 1, 2, 2)
    y = diffaugment(x, "color", _gen(3))
    chroma = (y - y.mean(dim=1, keepdim=True))[:, 0, 0, 0] / 0.5        # = saturation s * contrast c
    assert chroma.min().item() >= 0.0 and chroma.max().item() < 3.0


def test_policy_string_with_spaces_sequence_and_unknown() -> None:
    x = torch.rand(4, 3, 8, 8)
    a = diffaugment(x, " color , translation,cutout ", _gen(4))
    b = diffaugment(x, ["color", "translation", "cutout"], _gen(4))
    assert torch.equal(a, b)
    with pytest.raises(UserInputError, match="valid: color, translation, cutout"):
        diffaugment(x, "color,flip")


def test_replayable_shape_dtype_and_greyscale() -> None:
    for c, dtype in ((1, torch.float64), (3, torch.float32)):
        x = (torch.rand(6, c, 16, 16) * 2 - 1).to(dtype)
        a, b, d = diffaugment(x, generator=_gen(5)), diffaugment(x, generator=_gen(5)), diffaugment(x, generator=_gen(6))
        assert torch.equal(a, b) and not torch.equal(a, d)
        assert a.shape == x.shape and a.dtype == dtype and a.device == x.device


def test_double_backward_reaches_input() -> None:
    x = (torch.rand(4, 3, 16, 16, dtype=torch.float64) * 2 - 1).requires_grad_()
    y = diffaugment(x, generator=_gen(7))
    (g,) = torch.autograd.grad(y.square().mean(), x, create_graph=True)
    g.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum().item() > 0


def test_fused_colour_equals_the_three_ops_in_order() -> None:
    """The fused colour map must equal brightness -> saturation -> contrast as docs/papers.md §2 defines them."""
    x = torch.rand(16, 3, 8, 8, dtype=torch.float64) * 2 - 1
    y = diffaugment(x, "color", _gen(8))
    g = _gen(8)
    b, s, c = (torch.rand(16, generator=g).double()[:, None, None, None] for _ in range(3))
    z = x + (b - 0.5)
    m = z.mean(dim=1, keepdim=True)
    z = (z - m) * (2.0 * s) + m
    m = z.mean(dim=(1, 2, 3), keepdim=True)
    z = (z - m) * (c + 0.5) + m
    assert torch.allclose(y, z, atol=1e-12)
