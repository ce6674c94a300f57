"""Bringing real images to the configured resolution, or refusing to.

docs/architecture.md "Datasets": real data is read at its own size.  With `data.resize` the
images are centre-cropped to a square and resampled with PIL's Lanczos filter
(the filter dataset_tool-style converters use); without it, a size mismatch is
a user error that names the expected and the found size, because silently
training at the wrong resolution would make FIDs incomparable.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from trainer.errors import UserInputError


def check_size(width: int, height: int, resolution: int, resize: bool, where: str) -> None:
    """Refuse non-square or wrong-size images unless resizing is on."""
    if resize:
        return
    if width != height:
        raise UserInputError(f"{where}: non-square images ({width}x{height}); expected {resolution}x{resolution} "
                             f"(set data.resize=true to crop and resize)")
    if width != resolution:
        raise UserInputError(f"{where}: expected {resolution}x{resolution} images, found {width}x{height} "
                             f"(set data.resize=true to resize, or data.resolution={width} if it is a power of two)")


def fit_pil(img: Image.Image, resolution: int, channels: int) -> np.ndarray:
    """One PIL image -> uint8 [R, R, C]: convert mode, centre-crop to square, Lanczos-resize when needed."""
    img = img.convert("L" if channels == 1 else "RGB")
    w, h = img.size
    if w != h:
        s = min(w, h)
        left, top = (w - s) // 2, (h - s) // 2
        img = img.crop((left, top, left + s, top + s))
    if img.size != (resolution, resolution):
        img = img.resize((resolution, resolution), Image.Resampling.LANCZOS)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr


def fit_array(images: np.ndarray, resolution: int, resize: bool, where: str) -> np.ndarray:
    """uint8 [N, H, W, C] -> uint8 [N, R, R, C], resizing each image only when the size differs."""
    n, h, w, c = images.shape
    check_size(w, h, resolution, resize, where)
    if (h, w) == (resolution, resolution):
        return images
    out = np.empty((n, resolution, resolution, c), dtype=np.uint8)
    for i in range(n):
        src = Image.fromarray(images[i, :, :, 0] if c == 1 else images[i])
        out[i] = fit_pil(src, resolution, c)
    return out
