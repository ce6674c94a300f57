"""`load_dataset`: a DataConfig -> the training subset, the validation reals and the full FID reference.

docs/architecture.md "Datasets" rules, implemented here:
- subset = seeded shuffle (PCG64(subset_seed), independent of the training seed,
  so every training seed of a sweep sees the same N images), then the first N;
- validation reals are disjoint from the subset: for real data the last
  `val_size` images of the same permutation; for the procedural data the
  indices just beyond the dataset (count .. count+val_size-1), which are not
  part of the FID reference;
- `mirror` doubles the training subset with x-flips;
- FID's reference `full` is always the whole dataset, without mirror.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from trainer.config import DataConfig
from trainer.data import array_files, image_files, procedural
from trainer.data.cache import cache_key, cached_array, default_cache_dir, load_cached
from trainer.data.imagesets import ArrayImageSet, ImageSet, MirroredImageSet, subset
from trainer.data.source import Source
from trainer.errors import UserInputError

if TYPE_CHECKING:  # torch only where tensors are made, so importing trainer.data does not pull it in
    import torch

READER_VERSION = "1"   # bump when a reader's output changes, to invalidate cached conversions

_READERS: dict[str, tuple[Callable[[str], tuple[object, ...]], Callable[[str], Source]]] = {
    "folder": (image_files.folder_fingerprint, image_files.open_folder),
    "zip": (image_files.zip_fingerprint, image_files.open_zip),
    "cifar10": (array_files.cifar_fingerprint, array_files.open_cifar10),
    "mnist": (array_files.mnist_fingerprint, array_files.open_mnist),
    "npz": (array_files.npz_fingerprint, array_files.open_npz),
}


@dataclass(frozen=True)
class DatasetBundle:
    """The three image sets a run needs, and the identity of the full dataset."""

    train: ImageSet
    val: ImageSet | None
    full: ImageSet
    name: str
    resolution: int
    channels: int
    num_unique: int


def to_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float32 in [-1, 1] (the range G outputs and D reads)."""
    import torch

    return x.to(torch.float32) / 127.5 - 1.0


def subset_permutation(total: int, subset_seed: int) -> np.ndarray:
    """The seeded shuffle behind every subset: deterministic across runs, machines and numpy versions (PCG64)."""
    return np.random.Generator(np.random.PCG64(subset_seed)).permutation(total)


def procedural_array(seed: int, start: int, count: int, resolution: int, cache_dir: Path, domain: str = "a") -> np.ndarray:
    """Procedural images start..start+count-1 of DOMAIN, cached as one memory-mapped .npy keyed by its parameters."""
    name = f"{_procedural_stem(domain)}-v{procedural.VERSION}-s{seed}-i{start}-n{count}-r{resolution}.npy"
    step = 8 * procedural.chunk_size(resolution)

    def chunks():
        for lo in range(0, count, step):
            yield procedural.generate(seed, start + lo, min(step, count - lo), resolution, domain)[0]

    return cached_array(cache_dir / "procedural" / name, (count, resolution, resolution, 3), chunks)


def _procedural_stem(domain: str) -> str:
    """'procedural' for domain a (the names every cache and FID statistic already has), 'procedural-b' for b."""
    return "procedural" if domain == "a" else f"procedural-{domain}"


def _procedural_split(cfg: DataConfig) -> int:
    count = cfg.procedural_count
    n = count if cfg.dataset_size is None else cfg.dataset_size
    if n > count:
        raise UserInputError(f"data.dataset_size ({n}) exceeds the procedural dataset's {count} images "
                             f"(data.procedural_count)")
    return n


def _load_procedural(cfg: DataConfig, cache_dir: Path) -> DatasetBundle:
    count, res = cfg.procedural_count, cfg.resolution
    n = _procedural_split(cfg)
    dom = cfg.procedural_domain
    full = ArrayImageSet(procedural_array(cfg.procedural_seed, 0, count, res, cache_dir, dom))
    train = subset(full, subset_permutation(count, cfg.subset_seed)[:n])
    val = None
    if cfg.val_size:
        val_all = ArrayImageSet(procedural_array(cfg.procedural_seed, count, cfg.val_size, res, cache_dir, dom))
        val = subset(val_all, np.arange(cfg.val_size))
    name = f"{_procedural_stem(dom)}-v{procedural.VERSION}-s{cfg.procedural_seed}-n{count}-r{res}"
    return _bundle(train, val, full, name, n, cfg.mirror)


def _real_cached(cfg: DataConfig, cache_dir: Path) -> tuple[Path, str, np.ndarray | None]:
    """(cache path, cache key, the cached array if a valid one is there) of a real dataset at cfg.resolution."""
    key = cache_key(cfg.kind, _READERS[cfg.kind][0](cfg.path), cfg.resolution, cfg.resize, READER_VERSION)
    path = cache_dir / "real" / f"{cfg.kind}-{key}-r{cfg.resolution}.npy"
    arr = load_cached(path)
    ok = arr is not None and arr.ndim == 4 and arr.shape[1:3] == (cfg.resolution, cfg.resolution) and arr.dtype == np.uint8
    return path, key, arr if ok else None


def _real_array(cfg: DataConfig, cache_dir: Path) -> tuple[np.ndarray, str]:
    """The real dataset at cfg.resolution, materialised once into the cache; and its cache key."""
    path, key, arr = _real_cached(cfg, cache_dir)
    if arr is not None:
        return arr, key
    src = _READERS[cfg.kind][1](cfg.path)
    src.check(cfg.resolution, cfg.resize)
    shape = (src.count, cfg.resolution, cfg.resolution, src.channels)
    return cached_array(path, shape, lambda: src.chunks(cfg.resolution, cfg.resize)), key


def _real_split(cfg: DataConfig, total: int) -> int:
    """The training-subset size of a real dataset of `total` images, or a UserInputError if the split does not fit."""
    v = cfg.val_size
    n = total - v if cfg.dataset_size is None else cfg.dataset_size
    if n < 1:
        raise UserInputError(f"data.val_size ({v}) leaves no training images of the {total} images of {cfg.source}")
    if n + v > total:
        raise UserInputError(f"data.dataset_size ({n}) + data.val_size ({v}) = {n + v} exceeds the {total} images "
                             f"of {cfg.source}")
    return n


def _load_real(cfg: DataConfig, cache_dir: Path) -> DatasetBundle:
    arr, key = _real_array(cfg, cache_dir)
    total, v = int(arr.shape[0]), cfg.val_size
    n = _real_split(cfg, total)
    full = ArrayImageSet(arr)
    perm = subset_permutation(total, cfg.subset_seed)
    train = subset(full, perm[:n])
    val = subset(full, perm[total - v:]) if v else None
    stem = Path(cfg.path.rstrip("/")).name.replace(".", "_") or cfg.kind
    name = f"{cfg.kind}-{stem}-{key[:10]}-r{cfg.resolution}"
    return _bundle(train, val, full, name, n, cfg.mirror)


def _bundle(train: ImageSet, val: ImageSet | None, full: ImageSet, name: str, n: int, mirror: bool) -> DatasetBundle:
    return DatasetBundle(train=MirroredImageSet(train) if mirror else train, val=val, full=full, name=name,
                         resolution=full.resolution, channels=full.channels, num_unique=n)


def load_dataset(cfg: DataConfig, cache_dir: Path | None = None) -> DatasetBundle:
    """Build the train/val/full sets of `cfg`; raises UserInputError on bad input (path, file, sizes)."""
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if cfg.kind == "procedural":
        return _load_procedural(cfg, cache_dir)
    return _load_real(cfg, cache_dir)


def dataset_count(cfg: DataConfig, cache_dir: Path | None = None) -> int:
    """The number of images in `cfg`'s source, validated without caching anything.

    The sweep driver calls this before Ray starts, so a missing, corrupt,
    mixed-size or wrongly sized dataset stops the launch with one line instead
    of failing every trial (and its retries) on the workers.  A source already
    converted into the cache (same files, resolution and reader) is counted from
    there; otherwise it is opened and its image headers read.  No pixels are
    decoded and nothing is written.
    """
    if cfg.kind == "procedural":
        return cfg.procedural_count
    _, _, arr = _real_cached(cfg, Path(cache_dir) if cache_dir is not None else default_cache_dir())
    if arr is not None:
        return int(arr.shape[0])
    src = _READERS[cfg.kind][1](cfg.path)
    src.check(cfg.resolution, cfg.resize)
    return src.count


def check_split(cfg: DataConfig, total: int) -> int:
    """The unique training images of `cfg` on a source of `total` images, or a UserInputError if the split does not fit."""
    return _procedural_split(cfg) if cfg.kind == "procedural" else _real_split(cfg, total)
