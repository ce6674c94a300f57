"""What every real-data reader returns: a lazily readable, validated source of images.

docs/architecture.md "Datasets" lists five real formats (folder, dataset_tool zip, CIFAR-10,
MNIST IDX, npz).  Each reader turns its format into a `Source`; the loader then
materialises the source once into the cache (trainer/data/cache.py).  Readers
do all their validation in `check` before any image is written, so a bad file
never leaves a half-built cache entry.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from trainer.errors import UserInputError

CHUNK = 1024   # images per chunk while materialising a real dataset


@dataclass(frozen=True)
class Source:
    """A real dataset before caching.

    count/channels: number of images and 1 (grey) or 3 (RGB), decided by the data.
    check(resolution, resize): raises UserInputError if the images cannot be brought to that size.
    chunks(resolution, resize): uint8 [n, R, R, C] chunks in a fixed order, covering all `count` images.
    """

    count: int
    channels: int
    check: Callable[[int, bool], None]
    chunks: Callable[[int, bool], Iterator[np.ndarray]]


def require_path(path: str, kind: str) -> Path:
    """The existing path of a `kind:PATH` source, or a UserInputError naming it."""
    p = Path(os.path.expanduser(path))
    if not p.exists():
        raise UserInputError(f"data.source {kind}:{path}: path does not exist")
    return p


def file_fingerprint(p: Path) -> tuple[object, ...]:
    """Identity of a file's content for cache keys: absolute path, size, mtime."""
    st = p.stat()
    return (str(p.resolve()), st.st_size, st.st_mtime_ns)
