"""Picture grid of ADA's augmentations, for the docs (docs/papers.md §3; compare ADA Fig. 2/3 examples).

    python -m trainer.augment.preview --spec bgc --p 0.8 --out grid.png [--seed N] [--resolution 64]

Rows: the categories blit, geom, color, filter, noise, cutout, then the spec
itself; the first column is the untouched image, the others are independent
draws at probability p.  The source image is the project's procedural scene
(trainer.data.procedural) when available, otherwise a small built-in scene with
a clear "up" (sky, sun, ground, a red house with a roof), so rotations, flips
and colour changes are obvious at a glance.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from trainer.augment.pipe import make_pipe
from trainer.atomic import atomic_write_bytes, png_bytes
from trainer.augment.specs import CATEGORIES, SPECS
from trainer.errors import OneLineArgumentParser, UserInputError

DRAWS = 8
GAP = 2


def builtin_scene(resolution: int) -> np.ndarray:
    """[H, W, 3] uint8: blue sky, yellow sun top-left, green ground, a red house with a dark roof."""
    r = resolution
    v, u = np.mgrid[0:r, 0:r].astype(np.float32) + 0.5
    u, v = u / r, v / r
    img = np.empty((r, r, 3), np.float32)
    img[...] = np.stack([0.35 + 0.3 * v, 0.55 + 0.3 * v, np.full_like(v, 0.95)], axis=-1)
    img[(u - 0.2) ** 2 + (v - 0.18) ** 2 < 0.01] = (1.0, 0.85, 0.1)
    img[v > 0.7] = (0.2, 0.6, 0.15)
    house = (u > 0.5) & (u < 0.8) & (v > 0.45) & (v <= 0.7)
    img[house] = (0.8, 0.15, 0.1)
    roof = (v > 0.25) & (v <= 0.45) & (np.abs(u - 0.65) < (v - 0.25) * 1.0)
    img[roof] = (0.25, 0.15, 0.1)
    return (img * 255.0 + 0.5).astype(np.uint8)


def source_image(resolution: int, seed: int) -> torch.Tensor:
    """[1, 3, H, W] float in [-1, 1]: a procedural dataset image if that module exists, else the built-in scene."""
    try:
        from trainer.data.procedural import generate
        arr = generate(seed, 0, 1, resolution)[0][0]
    except Exception:   # optional dependency (another area); any failure falls back to our own scene
        arr = builtin_scene(resolution)
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1)[None].float() / 127.5 - 1.0


def make_grid(spec: str, p: float, seed: int, resolution: int) -> tuple[np.ndarray, list[str]]:
    """[rows*(H+GAP), cols*(W+GAP), 3] uint8 grid and the row names."""
    x = source_image(resolution, seed)
    rows = list(CATEGORIES) + [spec]
    gen = torch.Generator().manual_seed(seed)
    tiles = []
    for name in rows:
        pipe = make_pipe(name, p)
        with torch.no_grad():
            y = pipe(x.expand(DRAWS, -1, -1, -1).contiguous(), generator=gen)
        tiles.append(torch.cat([x, y]))
    grid = torch.stack(tiles)                                         # [R, 1+D, 3, H, W]
    grid = torch.nn.functional.pad(grid, (0, GAP, 0, GAP), value=1.0)
    r, c, _, h, w = grid.shape
    img = grid.permute(0, 3, 1, 4, 2).reshape(r * h, c * w, 3)
    return ((img.clamp(-1, 1) + 1.0) * 127.5 + 0.5).to(torch.uint8).numpy(), rows


def save_png(img: np.ndarray, out: Path) -> None:
    """Write the grid as PNG, atomically (trainer.atomic)."""
    atomic_write_bytes(out, png_bytes(img))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = OneLineArgumentParser(prog="python -m trainer.augment.preview", description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="bgc", help=f"pipeline spec, one of: {', '.join(SPECS)}")
    ap.add_argument("--p", type=float, default=0.8, help="augmentation probability in [0, 1]")
    ap.add_argument("--out", type=Path, required=True, help="output PNG path")
    ap.add_argument("--seed", type=int, default=0, help="seed of the draws (and of the procedural image)")
    ap.add_argument("--resolution", type=int, default=64, help="image size in pixels (8..1024)")
    return ap.parse_args(argv)


def _check(a: argparse.Namespace) -> None:
    if a.spec not in SPECS:
        raise UserInputError(f"--spec {a.spec!r} is unknown; valid: {', '.join(SPECS)}")
    if not 0.0 <= a.p <= 1.0:
        raise UserInputError(f"--p must be in [0, 1], got {a.p}")
    if not 8 <= a.resolution <= 1024:
        raise UserInputError(f"--resolution must be in 8..1024, got {a.resolution}")
    if a.seed < 0:
        raise UserInputError(f"--seed must be >= 0, got {a.seed}")
    if not a.out.parent.is_dir():
        raise UserInputError(f"--out directory {str(a.out.parent)!r} does not exist")


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parse(argv)
        _check(args)
        img, rows = make_grid(args.spec, args.p, args.seed, args.resolution)
        save_png(img, args.out)
    except UserInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} (rows: {', '.join(rows)}; {DRAWS} draws at p={args.p})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
