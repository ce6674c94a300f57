"""ADA's blit and geom transforms, composed into one matrix per image (docs/papers.md §3, ADA App. B).

`geometry_matrices` draws every enabled transform per image, behind its own
gate, and composes them into one output->input 3x3 matrix in centred pixel
units.  Each factor is drawn directly as the inverse of the forward transform;
every distribution here is symmetric under inversion (flip, quarter turn,
+-shift, 2^N(0, s^2) scale, U(-pi, pi) angle), so this is the same law and saves
a matrix inverse.

`apply_geometry` then splits the batch three ways so that work is only spent
where it is needed:
  identity matrix  -> the image is passed through untouched (no resampling);
  integer matrix   -> exact gather (flip, rot90, whole-pixel shift) with the
                      same reflect semantics as the resampled path;
  anything else    -> one anti-aliased resampling (`resample.resample`).
"""

from __future__ import annotations

import math

import torch

from trainer.augment.matrices import rotate2d, rotate2d_cos_sin, scale2d, translate2d
from trainer.augment.random_draws import Draws
from trainer.augment.resample import gather_integer, is_identity_map, is_integer_map, resample

_F64 = torch.float64
XINT_MAX = 0.125     # xint: t ~ U(-0.125, 0.125) x size, rounded
SCALE_STD = 0.2      # scale and aniso: 2^N(0, 0.2^2)
XFRAC_STD = 0.125    # xfrac: t ~ N(0, 0.125^2) x size
_COS90 = (1.0, 0.0, -1.0, 0.0)
_SIN90 = (0.0, 1.0, 0.0, -1.0)


def _blit_factors(d: Draws, n: int, h: int, w: int, probs: dict[str, float]) -> list[torch.Tensor]:
    out = []
    if probs.get("xflip", 0.0) > 0:
        flip = d.gate(n, probs["xflip"]) & (d.rand(n) < 0.5)
        out.append(scale2d(1.0 - 2.0 * flip.to(_F64), torch.ones(n, dtype=_F64, device=d.device)))
    if probs.get("rotate90", 0.0) > 0:
        k = d.randint(0, 4, n) * d.gate(n, probs["rotate90"])
        cos = torch.tensor(_COS90, dtype=_F64, device=d.device)[k]
        sin = torch.tensor(_SIN90, dtype=_F64, device=d.device)[k]
        out.append(rotate2d_cos_sin(cos, sin))
    if probs.get("xint", 0.0) > 0:
        on = d.gate(n, probs["xint"]).to(_F64)
        t = (d.rand(n, 2).to(_F64) * 2.0 - 1.0) * XINT_MAX
        out.append(translate2d(torch.round(t[:, 0] * w) * on, torch.round(t[:, 1] * h) * on))
    return out


def _geom_factors(d: Draws, n: int, h: int, w: int, probs: dict[str, float]) -> list[torch.Tensor]:
    out = []
    if probs.get("scale", 0.0) > 0:
        on = d.gate(n, probs["scale"]).to(_F64)
        s = torch.exp2(d.randn(n).to(_F64) * SCALE_STD * on)
        out.append(scale2d(s, s))
    p_rot = 1.0 - math.sqrt(max(0.0, 1.0 - min(probs.get("rotate", 0.0), 1.0)))   # twice -> total prob p
    if p_rot > 0:
        on = d.gate(n, p_rot).to(_F64)
        out.append(rotate2d((d.rand(n).to(_F64) * 2.0 - 1.0) * math.pi * on))
    if probs.get("aniso", 0.0) > 0:
        on = d.gate(n, probs["aniso"]).to(_F64)
        s = torch.exp2(d.randn(n).to(_F64) * SCALE_STD * on)
        out.append(scale2d(s, 1.0 / s))
    if p_rot > 0:
        on = d.gate(n, p_rot).to(_F64)
        out.append(rotate2d((d.rand(n).to(_F64) * 2.0 - 1.0) * math.pi * on))
    if probs.get("xfrac", 0.0) > 0:
        on = d.gate(n, probs["xfrac"]).to(_F64)
        t = d.randn(n, 2).to(_F64) * XFRAC_STD * on[:, None]
        out.append(translate2d(t[:, 0] * w, t[:, 1] * h))
    return out


def geometry_matrices(d: Draws, n: int, h: int, w: int, probs: dict[str, float]) -> torch.Tensor:
    """[N, 3, 3] float64 output->input maps for the enabled transforms (gate probability per name)."""
    g = torch.eye(3, dtype=_F64, device=d.device).expand(n, 3, 3).clone()
    for factor in _blit_factors(d, n, h, w, probs) + _geom_factors(d, n, h, w, probs):
        g = g @ factor
    return g


def apply_geometry(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Warp each image by its matrix, spending work only on images that actually move."""
    identity = is_identity_map(g)
    if bool(identity.all()):
        return x
    integer = is_integer_map(g) & ~identity
    smooth = ~is_integer_map(g)
    out = x
    for mask, warp in ((integer, gather_integer), (smooth, resample)):
        if bool(mask.all()):                  # whole batch takes this path: no subset copies
            return warp(x, g)
        idx = mask.nonzero().flatten()
        if idx.numel() == 0:
            continue
        idx_x = idx.to(x.device)
        moved = warp(x.index_select(0, idx_x), g.index_select(0, idx))
        out = out.index_copy(0, idx_x, moved)
    return out
