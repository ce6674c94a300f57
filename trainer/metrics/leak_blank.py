"""Blank-region leak: generated images with cutout squares or translation borders (beyond the papers).

DiffAugment's cutout and translation, and ADA's cutout, fill part of the image
with a constant (zero, i.e. mid-grey).  When such augmentations leak, G paints
constant squares or constant strips along the border.  An image is flagged when
it contains

* a near-constant square of side >= size/4 (every channel's max - min within
  `tol` in [-1, 1] units; ADA's and DiffAugment's cutouts are size/2 squares, of
  which at least a size/4 square survives even at a corner), or
* a near-constant strip along a whole edge, of width >= max(2, size/16)
  (a translation by t pixels leaves a t-pixel strip).

leak_blank = fraction flagged among generated images - fraction among reals.
A fraction q of blanked images among otherwise real ones gives q (1 - f_real):
= q when reals are never flagged (tested, together with ~0 for clean reals).

What it detects: constant fills (cutout squares, zero-filled translation
strips) in generated images.  What it does not: cutout-like regions that are
textured, or strips narrower than size/16; it can false-alarm on images with
large flat areas (zooming procedural reals 1.25x reads 0.03: smooth skies become
flat squares), which is why the reals' own rate is subtracted.  Blur, noise,
reflect-filled translation, colour jitter and a weak generator read <= 0.04
(tested).

Above 32 px the square test runs on 32x32 blocks (block max and block min), so
squares are found to within one block of the nominal side; that keeps it cheap
at 256 px.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

BLANK_TOL = 0.02   # 2.5 uint8 levels: flat fills pass; the procedural data's smooth skies (3+ levels per size/4 window) do not
BLOCKS = 32


def _window_range(hi: torch.Tensor, lo: torch.Tensor, k: int) -> torch.Tensor:
    """max - min over every k x k window (separable pooling), worst channel."""
    top = F.max_pool2d(F.max_pool2d(hi, (k, 1), stride=1), (1, k), stride=1)
    bottom = -F.max_pool2d(F.max_pool2d(-lo, (k, 1), stride=1), (1, k), stride=1)
    return (top - bottom).amax(dim=1)


def constant_square(x: torch.Tensor, tol: float = BLANK_TOL) -> torch.Tensor:
    """bool [N]: the image holds a near-constant square of side >= size/4."""
    size = x.shape[-1]
    side = max(2, size // 4)
    block = max(1, size // BLOCKS)
    hi = F.max_pool2d(x, block) if block > 1 else x
    lo = -F.max_pool2d(-x, block) if block > 1 else x
    k = max(1, (side - block + 1) // block)   # aligned blocks that any side-`side` square must contain
    return (_window_range(hi, lo, k) <= tol).flatten(1).any(dim=1)


def constant_border(x: torch.Tensor, tol: float = BLANK_TOL) -> torch.Tensor:
    """bool [N]: a near-constant strip of width >= max(2, size/16) runs along some whole edge."""
    width = max(2, x.shape[-1] // 16)
    strips = (x[:, :, :width, :], x[:, :, -width:, :], x[:, :, :, :width], x[:, :, :, -width:])
    flags = [(s.amax(dim=(1, 2, 3)) - s.amin(dim=(1, 2, 3))) <= tol for s in strips]
    return torch.stack(flags, dim=1).any(dim=1)


def blank_flags(x: torch.Tensor, tol: float = BLANK_TOL) -> torch.Tensor:
    """bool [N] on CPU: cutout-like square or translation-like border present."""
    x = x.to(torch.float32)
    return (constant_square(x, tol) | constant_border(x, tol)).cpu()
