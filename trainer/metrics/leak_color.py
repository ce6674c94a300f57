"""Colour leak: how far generated images' colour statistics drift from the reals' (beyond the papers).

ADA Fig 3 shows that colour augmentation applied with p -> 1 "leaks": G learns
to produce recoloured images.  The papers only show this through FID; here it
gets its own number.  Each image is summarised by three statistics, all
measured relative to the grey axis (the axis ADA's hue rotation and saturation
ops turn and scale around):

* hue   - the angle of the image's mean chroma vector, in turns (circular, [0, 1));
* sat   - the length of that mean chroma vector (the saturation of the image's mean colour: blur, noise and
          shifts leave a mean unchanged, while the mean per-pixel chroma used before fell under blur and rose
          under noise, and read 0.3 on blurred stand-in reals);
* luma  - the mean grey-axis intensity (R+G+B)/3, in [0, 1].

    leak_color = (W_circ(hue) + W1(sat) + W1(luma)) / Z

with 1-D Wasserstein-1 distances between the generated and real per-image
values (the hue one on the circle).  The scale Z is the hue distance between
the reals and the same reals each turned by a uniform random hue rotation.

Calibration (tested): if a fraction q of otherwise real images are recoloured
by a uniform random hue rotation, the hue distance is exactly q * Z in
expectation (W1 of a mixture is linear in the mixing weight: F_mix - F_real =
q (F_rot - F_real)), and sat and luma are unchanged up to clipping, so
leak_color ~ q; clean reals give only the sampling floor (~0.05 at 500 samples).
On data whose per-image hue is already spread out, or grey, a hue rotation is
invisible and Z is floored at Z_MIN turns; leak_color is then the raw distance
in units of Z_MIN.

What it detects: a shift of the distribution of image-level colour (hue
rotation, saturation, brightness), i.e. recoloured samples.  What it does not
tell apart from a leak: any other change of the images' mean colour.  Measured
negative controls (tests/metrics/test_metrics_leakage.py): blur, noise and a
weak generator read <= 0.18, but re-framing moves the mean colour (more sky,
less ground): translation by 1/8 and a 1.25x zoom read up to 0.27 on the
stand-in data; cutout and zero-filled translation read 0.2-0.27 (black fills
darken the mean: read leak_blank beside it).  So below ~0.3 leak_color is no
evidence of a colour leak.  Contrast changes around the image's own mean are
invisible to it.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.stats
import torch

Z_MIN = 0.02
_C1 = torch.tensor([1.0, -1.0, 0.0]) / math.sqrt(2.0)   # orthonormal basis of the plane normal to grey
_C2 = torch.tensor([1.0, 1.0, -2.0]) / math.sqrt(6.0)


def color_stats(x: torch.Tensor) -> np.ndarray:
    """Per-image (hue turns, saturation, luma) [N, 3] of float images in [-1, 1]."""
    x01 = ((x.to(torch.float32) + 1.0) / 2.0).clamp(0.0, 1.0)
    luma = x01.mean(dim=(1, 2, 3))
    if x01.shape[1] == 1:
        zeros = torch.zeros_like(luma)
        return torch.stack([zeros, zeros, luma], dim=1).cpu().double().numpy()
    c1 = torch.einsum("nchw,c->nhw", x01, _C1.to(x01.device))
    c2 = torch.einsum("nchw,c->nhw", x01, _C2.to(x01.device))
    m1, m2 = c1.mean(dim=(1, 2)), c2.mean(dim=(1, 2))
    hue = torch.atan2(m2, m1) / (2 * math.pi) % 1.0
    sat = torch.sqrt(m1 * m1 + m2 * m2)     # of the mean colour: blur, noise and shifts leave a mean unchanged
    return torch.stack([hue, sat, luma], dim=1).cpu().double().numpy()


def hue_rotate(x: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotate each image's colours by `angle[n]` radians around the grey axis (Rodrigues), clipped to [-1, 1]."""
    v = torch.full((3,), 1.0 / math.sqrt(3.0), device=x.device)
    cross = torch.tensor([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]], device=x.device)
    cos, sin = torch.cos(angle).view(-1, 1, 1), torch.sin(angle).view(-1, 1, 1)
    rot = cos * torch.eye(3, device=x.device) + sin * cross + (1 - cos) * torch.outer(v, v)
    return torch.einsum("nij,njhw->nihw", rot.to(x.dtype), x).clamp(-1.0, 1.0)


def circular_w1(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Wasserstein-1 between two empirical distributions on the unit circle (values in turns).

    On a circle W1 = min_alpha integral |F_a - F_b - alpha|, minimised by the
    length-weighted median of the CDF difference over the arcs between points.
    """
    pts = np.concatenate([np.mod(a, 1.0), np.mod(b, 1.0)])
    w = np.concatenate([np.full(len(a), 1.0 / len(a)), np.full(len(b), -1.0 / len(b))])
    order = np.argsort(pts, kind="stable")
    p, diff = pts[order], np.cumsum(w[order])
    arcs = np.diff(np.append(p, p[0] + 1.0))
    by_value = np.argsort(diff, kind="stable")
    cum = np.cumsum(arcs[by_value])
    alpha = diff[by_value][min(np.searchsorted(cum, cum[-1] / 2.0), len(cum) - 1)]
    return float(np.sum(arcs * np.abs(diff - alpha)))


def color_distance(gen: np.ndarray, real: np.ndarray) -> float:
    """Unnormalised distance between per-image (hue, sat, luma) samples."""
    return (circular_w1(gen[:, 0], real[:, 0])
            + scipy.stats.wasserstein_distance(gen[:, 1], real[:, 1])
            + scipy.stats.wasserstein_distance(gen[:, 2], real[:, 2]))


def color_scale(real: np.ndarray, seed: int = 0) -> float:
    """Z: hue distance of the reals to themselves under uniform random hue rotations (floored at Z_MIN)."""
    shift = np.random.default_rng(seed).uniform(0.0, 1.0, len(real))
    return max(circular_w1(real[:, 0], real[:, 0] + shift), Z_MIN)


def leak_color(gen: np.ndarray, real: np.ndarray, scale: float) -> float:
    return color_distance(gen, real) / scale
