"""Where the metrics keep their expensive one-off results, written atomically.

Real-data feature statistics, trained detector weights and rotation classifiers
are computed once and reused by every trial (ADA computes fid50k_full's real
statistics once per dataset for the same reason).  Ray may run several trials
of one sweep at the same time on one machine, so every file is written to a
temporary name in its final directory and moved into place with `os.replace`:
a reader sees either nothing or a complete file, never half of one, and two
writers racing produce the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainer.atomic import atomic_path, atomic_write_bytes


def metrics_cache_dir(cache_dir: Path | None) -> Path:
    """The metrics' sub-directory of the project cache (trainer.data's default when None)."""
    if cache_dir is None:
        from trainer.data import default_cache_dir  # late: only needed when the caller gave no dir

        cache_dir = default_cache_dir()
    return Path(cache_dir) / "metrics"


def cache_file(cache_dir: Path, kind: str, parts: tuple[Any, ...], suffix: str) -> Path:
    """A file name that is readable (slug of the parts) and unique (hash of their full repr).

    Dataset names may contain path separators or be long, so the slug is
    sanitised and truncated while the hash keeps distinct keys apart.
    """
    digest = hashlib.sha1(repr(parts).encode()).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(str(p) for p in parts))[:80]
    return cache_dir / kind / f"{slug}-{digest}{suffix}"


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Write arrays as one .npz, atomically."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a cached .npz, or None when absent or unreadable (then it is recomputed)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError):
        return None


def save_torch(path: Path, obj: dict[str, Any]) -> None:
    """torch.save a dict of tensors and plain values, atomically."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_torch(path: Path) -> dict[str, Any] | None:
    """A cached torch dict (weights_only), or None when absent or unreadable."""
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError):
        return None


def atomic_download(url: str, path: Path, timeout: float) -> None:
    """Fetch `url` into `path` via a temp file in the same directory (no partial file on failure)."""
    import urllib.request

    with atomic_path(path, suffix=".part") as tmp:
        with open(tmp, "wb") as fh, urllib.request.urlopen(url, timeout=timeout) as resp:
            while chunk := resp.read(1 << 20):
                fh.write(chunk)
        if os.path.getsize(tmp) == 0:
            raise OSError("empty download")
