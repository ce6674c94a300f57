"""trainer.atomic: the one atomic writer and the one PNG encoder."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trainer.atomic import atomic_path, atomic_write_bytes, png_bytes


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.bin"
    atomic_write_bytes(target, b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old" and sorted(p.name for p in target.parent.iterdir()) == ["f.bin"]


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 1), (5, 7, 3)])
def test_png_bytes_round_trip(shape: tuple[int, ...]) -> None:
    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    back = np.asarray(Image.open(io.BytesIO(png_bytes(img))))
    assert np.array_equal(back, img.reshape(back.shape))
