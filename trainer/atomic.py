"""Atomic file writes: a temp file in the target's directory, then `os.replace`.

Checkpoints, run directories, sample grids and metric caches all go through
this one function, so a crash or a full disk never leaves a half-written file
under a name that a later run (or a resumed trial) would trust.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` (creating its directory) via a same-directory temp file and os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
