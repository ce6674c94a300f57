"""ADA's colour transforms as one 4x4 matrix per image (docs/papers.md §3 "colour", ADA App. B).

Order (forward): brightness, contrast, lumaflip, hue, saturation; the composed
matrix acts on homogeneous RGB (r, g, b, 1).  Images live in [-1, 1], so
contrast scales about mid-grey 0 and brightness adds to all channels.
Greyscale images (or any channel count other than 3) use the luma part only:
a grey value g is the RGB point (g, g, g); its transformed luma is the mean of
the transformed channels, i.e. g * sum(M3)/3 + mean(t).  Hue and saturation
therefore leave greyscale untouched and lumaflip negates it, as they should.
"""

from __future__ import annotations

import math

import torch

from trainer.augment.matrices import householder_luma, rotate_about_luma, scale3d, scale_chroma, translate3d
from trainer.augment.random_draws import Draws

BRIGHTNESS_STD = 0.2    # add N(0, 0.2^2)
CONTRAST_STD = 0.5      # multiply by 2^N(0, 0.5^2)
SATURATION_STD = 1.0    # chroma scaled by 2^N(0, 1)


def color_matrices(d: Draws, n: int, probs: dict[str, float]) -> torch.Tensor:
    """[N, 4, 4] float32 colour matrices for the enabled colour transforms."""
    m = torch.eye(4, device=d.device).expand(n, 4, 4).clone()
    if probs.get("brightness", 0.0) > 0:
        on = d.gate(n, probs["brightness"]).float()
        m = translate3d(d.randn(n) * BRIGHTNESS_STD * on) @ m
    if probs.get("contrast", 0.0) > 0:
        on = d.gate(n, probs["contrast"]).float()
        m = scale3d(torch.exp2(d.randn(n) * CONTRAST_STD * on)) @ m
    if probs.get("lumaflip", 0.0) > 0:
        flip = d.gate(n, probs["lumaflip"]) & (d.rand(n) < 0.5)
        m = householder_luma(flip.float()) @ m
    if probs.get("hue", 0.0) > 0:
        on = d.gate(n, probs["hue"]).float()
        m = rotate_about_luma((d.rand(n) * 2.0 - 1.0) * math.pi * on) @ m
    if probs.get("saturation", 0.0) > 0:
        on = d.gate(n, probs["saturation"]).float()
        m = scale_chroma(torch.exp2(d.randn(n) * SATURATION_STD * on)) @ m
    return m


def apply_color(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """x [N, C, H, W] through per-image colour matrices m [N, 4, 4] (RGB, or luma only when C != 3)."""
    n, c, h, w = x.shape
    m = m.to(x.dtype)
    if c == 3:
        flat = torch.baddbmm(m[:, :3, 3:], m[:, :3, :3], x.reshape(n, 3, h * w))
        return flat.reshape(n, c, h, w)
    gain = m[:, :3, :3].sum(dim=(1, 2)) / 3.0
    offset = m[:, :3, 3].mean(dim=1)
    return x * gain[:, None, None, None] + offset[:, None, None, None]
