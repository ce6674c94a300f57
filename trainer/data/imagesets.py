"""Views over uint8 image arrays: the whole set, a subset, and an x-flip-doubled set.

docs/architecture.md "Datasets" rules: subset = seeded shuffle then the first N; `mirror`
doubles the set with x-flips (ADA's "140k = 70k + flips").  These small classes
implement the `ImageSet` protocol on top of an NHWC uint8 array that is either
in RAM (small sets) or memory-mapped from the cache (large sets); `batch`
copies only the requested images and returns them as NCHW uint8 tensors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:  # torch is imported where tensors are made: `import trainer.data` stays light for the sweep driver
    import torch

# Subsets up to this size are copied into RAM: gathering random minibatches from
# RAM is cheapest, and 1 GiB holds the papers' small-data regimes (5k images at
# 256 px RGB is 0.98 GB); anything larger stays a view of the memory-mapped set.
RAM_LIMIT_BYTES = 1 << 30


@runtime_checkable
class ImageSet(Protocol):
    """A set of images, uint8, never loaded whole when large."""

    resolution: int
    channels: int

    def __len__(self) -> int: ...

    def batch(self, indices: np.ndarray) -> torch.Tensor: ...


def _to_tensor(nhwc: np.ndarray) -> torch.Tensor:
    import torch

    return torch.from_numpy(np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2)))


def _check(indices: np.ndarray, n: int) -> np.ndarray:
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"image index out of range [0, {n}): min {idx.min()}, max {idx.max()}")
    return idx


class ArrayImageSet:
    """All images of an NHWC uint8 array (in RAM or memory-mapped)."""

    def __init__(self, array: np.ndarray) -> None:
        if array.ndim != 4 or array.dtype != np.uint8 or array.shape[1] != array.shape[2]:
            raise ValueError(f"expected uint8 [N, R, R, C], got {array.dtype} {array.shape}")
        self.array = array
        self.resolution = int(array.shape[1])
        self.channels = int(array.shape[3])

    def __len__(self) -> int:
        return int(self.array.shape[0])

    def batch(self, indices: np.ndarray) -> torch.Tensor:
        idx = _check(indices, len(self))
        if isinstance(self.array, np.memmap) and idx.size > 1:
            # Sorted reads are sequential on disk; restore the requested order afterwards.
            order = np.argsort(idx, kind="stable")
            out = np.empty((idx.size,) + self.array.shape[1:], dtype=np.uint8)
            out[order] = self.array[idx[order]]
            return _to_tensor(out)
        return _to_tensor(self.array[idx])


class IndexedImageSet:
    """The images base[indices[i]]: a subset in a fixed order."""

    def __init__(self, base: ArrayImageSet, indices: np.ndarray) -> None:
        self.base = base
        self.indices = np.asarray(indices, dtype=np.int64)
        self.resolution = base.resolution
        self.channels = base.channels

    def __len__(self) -> int:
        return int(self.indices.size)

    def batch(self, indices: np.ndarray) -> torch.Tensor:
        return self.base.batch(self.indices[_check(indices, len(self))])


class MirroredImageSet:
    """2N images: indices < N are the base images, indices >= N their x-flipped copies."""

    def __init__(self, base: ImageSet) -> None:
        self.base = base
        self.resolution = base.resolution
        self.channels = base.channels

    def __len__(self) -> int:
        return 2 * len(self.base)

    def batch(self, indices: np.ndarray) -> torch.Tensor:
        idx = _check(indices, len(self))
        n = len(self.base)
        flip = idx >= n
        out = self.base.batch(np.where(flip, idx - n, idx))
        if flip.any():
            import torch

            sel = torch.from_numpy(np.nonzero(flip)[0])
            out[sel] = out[sel].flip(-1)
        return out


def subset(full: ArrayImageSet, indices: np.ndarray) -> ImageSet:
    """The images full[indices]: copied into RAM when small, else a view of the (memory-mapped) full set."""
    idx = np.asarray(indices, dtype=np.int64)
    per_image = full.resolution * full.resolution * full.channels
    if idx.size * per_image <= RAM_LIMIT_BYTES:
        order = np.argsort(idx, kind="stable")
        arr = np.empty((idx.size,) + full.array.shape[1:], dtype=np.uint8)
        arr[order] = full.array[idx[order]]
        return ArrayImageSet(arr)
    return IndexedImageSet(full, idx)
