"""Synthetic stand-ins for trainer.data in the metrics tests: a factor source and in-memory image sets.

They mimic what the metrics rely on in the embedded procedural data (docs/architecture.md
"Datasets"): a canonical "up" (sky above ground), a limited colour gamut,
per-pixel texture (no flat regions), and known generative factors.  They let
the metrics be tested on data whose properties the test controls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

FACTORS = {"shape": 3, "palette": 4, "ground": 3}
_PALETTES = np.array([[200, 60, 40], [230, 180, 40], [60, 160, 70], [150, 70, 160]], dtype=np.float64)


def _one_image(rng: np.random.Generator, res: int) -> tuple[np.ndarray, tuple[int, int, int]]:
    shape, palette, ground = int(rng.integers(3)), int(rng.integers(4)), int(rng.integers(3))
    yy, xx = np.mgrid[0:res, 0:res] / (res - 1)
    img = np.empty((res, res, 3))
    img[:] = np.array([90, 140, 220]) * (0.6 + 0.4 * yy[..., None])          # sky, lighter towards the horizon
    horizon = (0.55 + 0.12 * ground) + 0.08 * np.sin(xx * 6.0 + rng.uniform(0, 6))
    img[yy > horizon] = np.array([110, 85, 50]) + 30 * ground                   # ground band at the bottom
    cx, cy, r = rng.uniform(0.3, 0.7), rng.uniform(0.2, 0.45), rng.uniform(0.12, 0.2)
    if shape == 0:
        mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
    elif shape == 1:
        mask = (abs(xx - cx) < r) & (abs(yy - cy) < r)
    else:
        mask = (yy - cy > -r) & (abs(xx - cx) < (yy - cy + r) / 2) & (yy - cy < r)
    img[mask] = _PALETTES[palette]
    img += rng.normal(0.0, 8.0, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), (shape, palette, ground)


class StandInSource:
    """Same signature as trainer.data.procedural.generate / FACTORS, deterministic in (seed, index)."""

    FACTORS = FACTORS

    def generate(self, seed: int, start: int, count: int, resolution: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        images, labels = [], []
        for i in range(start, start + count):
            img, lab = _one_image(np.random.default_rng([seed, i]), resolution)
            images.append(img)
            labels.append(lab)
        lab_arr = np.array(labels, dtype=np.int64).reshape(-1, 3)
        return np.stack(images), {name: lab_arr[:, j] for j, name in enumerate(FACTORS)}


class ArrayImageSet:
    """ImageSet protocol over an in-memory uint8 [N, C, H, W] array; counts batch() calls."""

    def __init__(self, images: np.ndarray) -> None:
        self.images = images
        self.resolution = images.shape[-1]
        self.channels = images.shape[1]
        self.calls = 0

    def __len__(self) -> int:
        return self.images.shape[0]

    def batch(self, indices: np.ndarray) -> torch.Tensor:
        self.calls += 1
        return torch.from_numpy(self.images[np.asarray(indices)].copy())


@dataclass(frozen=True)
class Bundle:
    """DatasetBundle's fields (trainer.data's contract)."""

    train: ArrayImageSet
    val: ArrayImageSet | None
    full: ArrayImageSet
    name: str
    resolution: int
    channels: int
    num_unique: int


def standin_bundle(n_full: int = 3000, n_train: int = 500, n_val: int = 500, res: int = 16, seed: int = 0,
                   name: str = "standin") -> Bundle:
    """full = indices [0, n_full); train = its first n_train; val = n_val images beyond full."""
    images, _ = StandInSource().generate(seed, 0, n_full + n_val, res)
    chw = np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    full = ArrayImageSet(chw[:n_full])
    return Bundle(train=ArrayImageSet(chw[:n_train]), val=ArrayImageSet(chw[n_full:]) if n_val else None, full=full,
                  name=f"{name}-s{seed}-n{n_full}-r{res}", resolution=res, channels=3, num_unique=n_train)
