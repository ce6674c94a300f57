"""On-disk cache of materialised datasets: uint8 .npy files, written atomically, read memory-mapped.

docs/architecture.md "Datasets": the procedural set and any real set are turned, once, into
one uint8 [N, H, W, C] .npy file under the cache dir, keyed by everything that
determines its content.  Why a cache file rather than decoding on demand:
a GAN reads every image thousands of times, PNG decoding in the training loop
would dominate a CPU step, and a memory-mapped .npy is shared through the page
cache by every trial on the node (Ray runs several at once), so a 27 GB set
(140k at 256 px) is never loaded whole by anyone.

Writers fill a temp file in the same directory and `os.replace` it into place,
so a reader never sees a half-written file and two processes building the
same entry at once both succeed (the last rename wins; both files are equal).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from trainer.atomic import atomic_path


def default_cache_dir() -> Path:
    """$GANAUG_CACHE, else ~/.cache/ganaug."""
    env = os.environ.get("GANAUG_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "ganaug"


def cache_key(*parts: object) -> str:
    """A short stable hash of the parts (their repr), for file names."""
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def load_cached(path: Path) -> np.ndarray | None:
    """The cached array memory-mapped read-only, or None when absent or unreadable.

    Our writers never leave a partial file at `path`, but a power loss before the
    data reached the disk, a full disk or a hand-copied cache can; such a file is
    treated as absent, so the caller rebuilds it (os.replace overwrites it).
    """
    if not path.is_file():
        return None
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError):
        return None


def build_cached(path: Path, shape: tuple[int, ...], chunks: Callable[[], Iterator[np.ndarray]]) -> np.ndarray:
    """Write the chunks (uint8, concatenated along axis 0 they fill `shape`) to `path` atomically; return it mmapped.

    On any exception the temp file is removed and nothing appears at `path`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path.parent)
    with atomic_path(path, prefix=path.stem + ".", suffix=".tmp.npy") as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        pos = 0
        for chunk in chunks():
            out[pos:pos + len(chunk)] = chunk
            pos += len(chunk)
        if pos != shape[0]:
            raise RuntimeError(f"cache builder for {path.name} produced {pos} of {shape[0]} images")
        out.flush()
        del out
        _fsync(tmp)   # the data is on disk before the name is: a power loss cannot leave a short file at `path`
    return np.load(path, mmap_mode="r")


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale_temps(directory: Path, max_age_s: float = 24 * 3600.0) -> None:
    """Delete temp files of builders killed (SIGKILL, OOM) more than a day ago; live builders' temps are younger."""
    now = time.time()
    for tmp in directory.glob("*.tmp.npy"):
        try:
            if now - tmp.stat().st_mtime > max_age_s:
                tmp.unlink()
        except OSError:
            pass   # another process removed or replaced it first


def cached_array(path: Path, shape: tuple[int, ...], chunks: Callable[[], Iterator[np.ndarray]]) -> np.ndarray:
    """Load `path` if it exists, is readable and has the expected shape, else (re)build it."""
    arr = load_cached(path)
    if arr is not None and arr.shape == shape and arr.dtype == np.uint8:
        return arr
    return build_cached(path, shape, chunks)
