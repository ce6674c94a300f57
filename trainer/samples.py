"""Sample grids from the EMA generator on fixed latents, so grids of one run are comparable over training.

The latents (and synthesis noise) come from a generator seeded by run.seed
alone, separate from the training streams: drawing a grid never shifts
training, and a resumed run draws the same grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from trainer.seeds import stream_seed



@torch.no_grad()
def sample_grid(G_ema: nn.Module, *, side: int, z_dim: int, seed: int, device: torch.device, chunk: int = 64) -> np.ndarray:
    """uint8 [side*H, side*W, C] grid of G_ema(z) for `side**2` fixed latents (row-major)."""
    gen = torch.Generator(device=device).manual_seed(stream_seed(seed, "samples"))
    n = side * side
    z = torch.randn((n, z_dim), generator=gen, device=device)
    imgs = torch.cat([G_ema(z[i:i + chunk], noise_generator=gen).float() for i in range(0, n, chunk)])
    imgs = ((imgs.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()
    _, c, h, w = imgs.shape
    grid = imgs.reshape(side, side, c, h, w).permute(0, 3, 1, 4, 2).reshape(side * h, side * w, c)
    return grid.numpy()


def save_png(grid: np.ndarray, path: Path) -> None:
    """Write a uint8 HxWxC (C = 1 or 3) grid as PNG, atomically."""
    from trainer.atomic import atomic_write_bytes, png_bytes
    atomic_write_bytes(Path(path), png_bytes(grid))
