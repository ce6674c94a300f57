"""Batched homogeneous matrices: 3x3 for 2-D geometry, 4x4 for colour (docs/papers.md §3 "one matrix").

ADA composes every geometric transform of an image into one 3x3 matrix (so the
image is resampled once) and every colour transform into one 4x4 matrix.  These
builders take one parameter per image (tensors of shape [N]) and return [N, 3, 3]
or [N, 4, 4].  Geometric matrices use float64 so that compositions of exact
blits (flip, quarter turn, whole-pixel shift) stay exactly integer and are
recognised as such.
"""

from __future__ import annotations

import math

import torch


def _eye(n: int, size: int, like: torch.Tensor) -> torch.Tensor:
    return torch.eye(size, dtype=like.dtype, device=like.device).expand(n, size, size).clone()


def translate2d(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    m = _eye(tx.shape[0], 3, tx)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def scale2d(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    m = _eye(sx.shape[0], 3, sx)
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def rotate2d_cos_sin(c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Rotation given cos and sin directly (quarter turns pass exact 0/1 here)."""
    m = _eye(c.shape[0], 3, c)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
    return m


def rotate2d(theta: torch.Tensor) -> torch.Tensor:
    return rotate2d_cos_sin(torch.cos(theta), torch.sin(theta))


def luma_axis(like: torch.Tensor) -> torch.Tensor:
    """Unit vector (1, 1, 1)/sqrt(3): ADA's colour transforms act about this axis."""
    return torch.full((3,), 1.0 / math.sqrt(3.0), dtype=like.dtype, device=like.device)


def translate3d(t: torch.Tensor) -> torch.Tensor:
    """Add t to all three channels (brightness)."""
    m = _eye(t.shape[0], 4, t)
    m[:, :3, 3] = t[:, None]
    return m


def scale3d(s: torch.Tensor) -> torch.Tensor:
    """Multiply all three channels by s (contrast about mid-grey 0)."""
    m = _eye(s.shape[0], 4, s)
    for i in range(3):
        m[:, i, i] = s
    return m


def householder_luma(flip: torch.Tensor) -> torch.Tensor:
    """I - 2 v v^T where flip is 1, identity where 0: reflects luma, keeps chroma."""
    v = luma_axis(flip)
    m = _eye(flip.shape[0], 4, flip)
    m[:, :3, :3] -= 2.0 * flip[:, None, None] * torch.outer(v, v)
    return m


def rotate_about_luma(theta: torch.Tensor) -> torch.Tensor:
    """Rodrigues rotation about the luma axis: a hue rotation that keeps luma."""
    v = luma_axis(theta)
    cross = torch.tensor([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]],
                         dtype=theta.dtype, device=theta.device)
    c, s = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    eye3 = torch.eye(3, dtype=theta.dtype, device=theta.device)
    m = _eye(theta.shape[0], 4, theta)
    m[:, :3, :3] = c * eye3 + s * cross + (1.0 - c) * torch.outer(v, v)
    return m


def scale_chroma(s: torch.Tensor) -> torch.Tensor:
    """Keep the luma component, scale the chroma (the part orthogonal to luma) by s."""
    v = luma_axis(s)
    vv = torch.outer(v, v)
    eye3 = torch.eye(3, dtype=s.dtype, device=s.device)
    m = _eye(s.shape[0], 4, s)
    m[:, :3, :3] = vv + (eye3 - vv) * s[:, None, None]
    return m
