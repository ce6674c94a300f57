"""ADA's image-space filter, noise and cutout (docs/papers.md §3 "filter", "noise", "cutout").

imgfilter: the spectrum is split into 4 bands -- [0, 1/8], [1/8, 1/4],
[1/4, 1/2], [1/2, 1] of Nyquist -- by differences of Hann-windowed sinc
low-passes (31 taps, our own design; the four kernels sum exactly to a unit
impulse, so unit gains are the identity).  Each band i gets, behind its own gate,
a gain t_i = 2^N(0, 1), normalised band by band as the reference implementation
does: the gain vector (1, .., t_i, .., 1) is divided by its power
sqrt(sum_j w_j v_j^2) = sqrt(1 + w_i (t_i^2 - 1)), with the expected band powers
w = (10, 1, 1, 1)/13 (most energy of natural images is at low frequencies), and
the four normalised vectors are multiplied.  One gated band keeps the expected
image power exactly; several gated bands keep it only approximately (a joint
normalisation, which we used before, would keep it exactly but is not what ADA
trained with).  The per-image 1-D
kernel is applied along x and then y (grouped convolution, reflect extension).

noise: add per-pixel N(0, sigma^2) with sigma = |N(0, 0.1^2)| per image.
cutout: zero a square of side size/2 whose centre is uniform over the image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from trainer.augment.random_draws import Draws
from trainer.augment.resample import mirror_index

BAND_EDGES = (1.0 / 8.0, 1.0 / 4.0, 1.0 / 2.0)     # fractions of Nyquist between the 4 bands
BAND_POWER = (10.0 / 13.0, 1.0 / 13.0, 1.0 / 13.0, 1.0 / 13.0)
FILTER_TAPS = 31
FILTER_MATMUL_MAX = 512     # banded matmul up to here (8x faster than 31 shifted passes at 256 px)
FILTER_STD = 1.0
NOISE_STD = 0.1
CUTOUT_SIZE = 0.5


def band_kernels(dtype: torch.dtype = torch.float32, device: torch.device | None = None) -> torch.Tensor:
    """[4, K] zero-phase band-pass kernels that sum to a unit impulse."""
    half = FILTER_TAPS // 2
    t = torch.arange(-half, half + 1, dtype=torch.float64)
    window = 0.5 + 0.5 * torch.cos(math.pi * t / (half + 1))
    lows = []
    for edge in BAND_EDGES:
        k = edge * torch.sinc(edge * t) * window       # cut-off `edge` x Nyquist
        lows.append(k / k.sum())
    delta = (t == 0).to(torch.float64)
    bands = [lows[0], lows[1] - lows[0], lows[2] - lows[1], delta - lows[2]]
    return torch.stack(bands).to(dtype=dtype, device=device)


def _reflect_shifts(size: int, taps: int, device: torch.device) -> torch.Tensor:
    """[K, S, S] one-hot: R[k] @ v = v shifted by k - K//2 with reflection at the borders."""
    src = mirror_index(torch.arange(size, device=device)[None, :] + torch.arange(taps, device=device)[:, None]
                       - taps // 2, size)                                           # [K, S]
    return F.one_hot(src, size)


def _filter_dim(x: torch.Tensor, kernels: torch.Tensor, dim: int) -> torch.Tensor:
    """Per-image 1-D filtering along `dim` (2 or 3) of x [N, C, H, W], kernels [N, K]."""
    size, taps = x.shape[dim], kernels.shape[1]
    if size <= FILTER_MATMUL_MAX:   # banded per-image matrix, reflection folded in: one batched matmul
        m = torch.einsum("nk,kij->nij", kernels, _reflect_shifts(size, taps, x.device).to(kernels.dtype))
        m = m.to(x.dtype)[:, None]
        return torch.matmul(x, m.transpose(2, 3)) if dim == 3 else torch.matmul(m, x)
    idx = mirror_index(torch.arange(-(taps // 2), size + taps // 2, device=x.device), size)
    xp = x.index_select(dim, idx)
    out = None
    for k in range(taps):        # large images: shifted multiply-adds, cost linear in size
        term = xp.narrow(dim, k, size) * kernels[:, k].to(x.dtype)[:, None, None, None]
        out = term if out is None else out + term
    return out


def _filter_separable(x: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """x [N, C, H, W] filtered along x then y with one 1-D kernel per image, kernels [N, K]."""
    return _filter_dim(_filter_dim(x, kernels, 3), kernels, 2)


def band_gains(d: Draws, n: int, prob: float) -> tuple[torch.Tensor, torch.Tensor]:
    """[N, 4] per-band gains normalised band by band (module docstring), and [N] bool "any band gated".

    Each band's raw gain t_i is 2^N(0, FILTER_STD^2) behind its own gate (1 when the gate is closed).  Band i's
    unit vector with t_i in place i has power 1 + w_i (t_i^2 - 1); dividing each by its root and multiplying
    the four gives g = t / prod_i sqrt(1 + w_i (t_i^2 - 1))."""
    gains, any_on = [], torch.zeros(n, dtype=torch.bool, device=d.device)
    for _ in range(4):
        on = d.gate(n, prob)
        gains.append(torch.exp2(d.randn(n) * FILTER_STD * on.float()))
        any_on |= on
    t = torch.stack(gains, dim=1)                                       # [N, 4]
    w = torch.tensor(BAND_POWER, device=t.device)
    norm = torch.sqrt(1.0 + w * (t.square() - 1.0)).prod(dim=1, keepdim=True)
    return t / norm, any_on


def apply_imgfilter(x: torch.Tensor, d: Draws, prob: float) -> torch.Tensor:
    """Random per-band gains; only images with at least one gated band are filtered."""
    g, any_on = band_gains(d, x.shape[0], prob)
    idx = any_on.nonzero().flatten()
    if idx.numel() == 0:
        return x
    kernels = g[idx] @ band_kernels(torch.float32, x.device)            # [M, K]
    return x.index_copy(0, idx, _filter_separable(x.index_select(0, idx), kernels))


def apply_noise(x: torch.Tensor, d: Draws, prob: float) -> torch.Tensor:
    n = x.shape[0]
    on = d.gate(n, prob)
    sigma = (d.randn(n) * NOISE_STD).abs() * on.float()
    if not bool(on.any()):
        return x
    return x + d.randn_like(x) * sigma.to(x.dtype)[:, None, None, None]


def cutout_mask(n: int, h: int, w: int, on: torch.Tensor, centre: torch.Tensor, size: float) -> torch.Tensor:
    """[N, 1, H, W] float mask, 0 inside each gated image's square (centre in [0, 1)^2, side `size`)."""
    dev = on.device
    xs = (torch.arange(w, device=dev, dtype=torch.float32) + 0.5) / w
    ys = (torch.arange(h, device=dev, dtype=torch.float32) + 0.5) / h
    inside_x = (xs[None, :] - centre[:, 0:1]).abs() < size / 2.0          # [N, W]
    inside_y = (ys[None, :] - centre[:, 1:2]).abs() < size / 2.0          # [N, H]
    inside = inside_y[:, :, None] & inside_x[:, None, :] & on[:, None, None]
    return (~inside).float()[:, None]


def apply_cutout(x: torch.Tensor, d: Draws, prob: float) -> torch.Tensor:
    n, _, h, w = x.shape
    on = d.gate(n, prob)
    centre = d.rand(n, 2)
    if not bool(on.any()):
        return x
    return x * cutout_mask(n, h, w, on, centre, CUTOUT_SIZE).to(x.dtype)
