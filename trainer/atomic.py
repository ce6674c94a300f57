"""Atomic file writes: a temp file in the target's directory, then `os.replace`.

Checkpoints, run directories, sample grids, the augmentation preview, dataset and
metric caches and detector downloads all go through `atomic_path`, so a crash or a
full disk never leaves a half-written file under a name that a later run (or a
resumed trial) would trust.  (`analysis` cannot import trainer, and the sweep store
writes through pyarrow filesystems that also reach object stores: those keep their
own, see docs/architecture.md "Results store".)
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


@contextmanager
def atomic_path(path: Path, *, prefix: str | None = None, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temp path beside `path` (its directory created) to write; on success it replaces `path`, on error it goes.

    `prefix`/`suffix` name the temp file (default `.<name>.…tmp`), so cache cleaners can recognise leftovers.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix if prefix is not None else f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` (creating its directory) via a same-directory temp file and os.replace."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def png_bytes(image: np.ndarray) -> bytes:
    """PNG encoding of a uint8 HxW, HxWx1 or HxWx3 image (the one encoder of sample grids and previews)."""
    from PIL import Image
    arr = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()
