"""`python -m trainer.generate`: images from an NVlabs network pickle or one of our checkpoints, per seed.

    python -m trainer.generate network-snapshot-000400.pkl --seeds 0-7 --trunc 0.7 --out out/

Why: the field's networks are NVlabs pickles, and "the same pickle and seed give
the same picture" is how a port is checked against stylegan2-ada-pytorch.  So
latents are drawn as its generate.py draws them
(`numpy.random.RandomState(seed).randn(1, z_dim)`), G_ema is called with the
same truncation and noise mode (default `const`, as there), and each image is
written as its PNGs are: `(img * 127.5 + 128).clamp(0, 255)` to uint8, named
`seed0000.png`.  `--npz` also writes `images.npz` (`seeds` int64 [N], `images`
float32 [N, C, H, W] in G's output range) for comparisons finer than 1/255.

NETWORK is an NVlabs pickle (read without executing anything in it, see
trainer/nvlabs_pickle.py), a checkpoint directory, a `python -m trainer` run
directory or a Ray trial directory.  Bad input is one line on stderr and exit 2,
with nothing written; every file is written atomically.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainer.errors import OneLineArgumentParser, UserInputError, cli_main
from trainer.generator_source import check_network_path, load_generator

NOISE_MODES = ("const", "random", "none")
MAX_SEED = 2**32 - 1          # numpy.random.RandomState's limit
MAX_IMAGES = 100_000
NPZ_FILE = "images.npz"


def parse_seeds(text: str) -> list[int]:
    """'0-7' (inclusive range) or '1,3,5', as the reference's generate.py reads --seeds."""
    text = text.strip()
    m = re.fullmatch(r"(\d+)-(\d+)", text)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if hi < lo:
            raise UserInputError(f"--seeds {text}: empty range (write LOW-HIGH with LOW <= HIGH)")
        if hi - lo + 1 > MAX_IMAGES:
            raise UserInputError(f"--seeds {text}: {hi - lo + 1} seeds, at most {MAX_IMAGES} per call")
        seeds = list(range(lo, hi + 1))
    else:
        parts = text.split(",")
        if not all(re.fullmatch(r"\d+", p.strip()) for p in parts):
            raise UserInputError(f"--seeds {text!r}: expected a range like 0-7 or a list like 1,3,5 of non-negative integers")
        seeds = [int(p) for p in parts]
        if len(set(seeds)) != len(seeds):
            raise UserInputError(f"--seeds {text}: a seed is repeated (each seed names one output file)")
    if max(seeds) > MAX_SEED:
        raise UserInputError(f"--seeds {text}: seeds go up to {MAX_SEED} (numpy RandomState's limit)")
    return seeds


def build_parser() -> OneLineArgumentParser:
    p = OneLineArgumentParser(prog="python -m trainer.generate",
                              description="Write G_ema's image for each seed, as stylegan2-ada-pytorch's generate.py does.")
    p.add_argument("network", type=Path, metavar="NETWORK",
                   help="NVlabs network pickle, checkpoint dir, `python -m trainer` run dir, or Ray trial dir")
    p.add_argument("--seeds", type=str, required=True, help="seeds as a range 0-7 or a list 1,3,5")
    p.add_argument("--trunc", type=float, default=1.0, help="truncation psi (default 1: none)")
    p.add_argument("--noise-mode", choices=NOISE_MODES, default="const", help="synthesis noise (default const, as the reference)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory (created)")
    p.add_argument("--npz", action="store_true", help=f"also write {NPZ_FILE} with seeds and float32 images")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where G runs (default cpu)")
    return p


def check_args(args: Any) -> list[int]:
    """The seeds; every option and path is checked here, before any network is built or file written."""
    seeds = parse_seeds(args.seeds)
    if not math.isfinite(args.trunc):
        raise UserInputError(f"--trunc {args.trunc}: must be a finite number")
    if args.out.exists() and not args.out.is_dir():
        raise UserInputError(f"--out {args.out}: exists and is not a directory")
    existing = next(p for p in (args.out.absolute(), *args.out.absolute().parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UserInputError(f"--out {args.out}: cannot write under {existing}")
    check_network_path(args.network)
    if args.device == "cuda":
        if not torch.cuda.is_available():
            raise UserInputError("--device cuda: no CUDA device is available")
    return seeds


def generate_images(G: Any, arch: str, seeds: list[int], trunc: float, noise_mode: str, device: str = "cpu") -> np.ndarray:
    """float32 [N, C, H, W] images of G (eval mode, on DEVICE) for SEEDS, one latent per seed as the reference draws it."""
    if arch != "stylegan2" and trunc != 1:
        raise UserInputError(f"--trunc {trunc}: truncation needs a stylegan2 network (this one is {arch})")
    z_dim = int(G.z_dim)
    out = []
    with torch.no_grad():
        for seed in seeds:
            z = torch.from_numpy(np.random.RandomState(seed).randn(1, z_dim)).to(device=device, dtype=torch.float32)
            if arch == "stylegan2":       # noise_mode=random draws from the seed: the same seed gives the same picture
                noise = torch.Generator(device=device).manual_seed(seed)
                img = G(z, noise, truncation_psi=trunc, noise_mode=noise_mode)
            else:
                img = G(z)
            out.append(img.float().cpu())
    return torch.cat(out).numpy()


def to_uint8(images: np.ndarray) -> np.ndarray:
    """NHWC uint8 exactly as the reference's generate.py rounds: (img * 127.5 + 128).clamp(0, 255), truncated."""
    t = torch.from_numpy(images).permute(0, 2, 3, 1)
    return (t * 127.5 + 128).clamp(0, 255).to(torch.uint8).numpy()


def write_outputs(out_dir: Path, seeds: list[int], images: np.ndarray, npz: bool) -> list[Path]:
    """seedNNNN.png per seed (and images.npz), each written atomically."""
    from trainer.atomic import atomic_path, atomic_write_bytes, png_bytes
    written = []
    for seed, img in zip(seeds, to_uint8(images)):
        path = out_dir / f"seed{seed:04d}.png"
        atomic_write_bytes(path, png_bytes(img))
        written.append(path)
    if npz:
        path = out_dir / NPZ_FILE
        with atomic_path(path, suffix=".tmp.npz") as tmp:
            np.savez(tmp, seeds=np.asarray(seeds, dtype=np.int64), images=images.astype(np.float32))
        written.append(path)
    return written


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    seeds = check_args(args)
    loaded = load_generator(args.network)
    G = loaded.G.to(args.device)
    images = generate_images(G, loaded.cfg.model.arch, seeds, args.trunc, args.noise_mode, args.device)
    try:
        written = write_outputs(args.out, seeds, images, args.npz)
    except OSError as exc:   # full disk or a folder that became unwritable: each file is whole or absent
        raise UserInputError(f"--out {args.out}: cannot write images ({exc.strerror or type(exc).__name__})") from None
    print(f"{len(seeds)} images from {loaded.source} -> {args.out} ({', '.join(p.name for p in written[:3])}"
          f"{', ...' if len(written) > 3 else ''})")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
