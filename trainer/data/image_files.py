"""Readers for encoded image files: a folder tree, or a stylegan2-ada dataset_tool zip.

docs/architecture.md "Datasets": `folder:PATH` (recursive; png/jpg/jpeg/bmp/webp) and
`zip:PATH` (ADA's paper256 input; images at any depth, `dataset.json` with
labels optional and ignored, since these GANs are unconditional here).
A first pass reads only the image headers -- sizes and modes -- so mixed sizes,
wrong sizes and undecodable files are reported before anything is cached.
Channels come from the data: all-greyscale files give 1 channel, otherwise
every image is converted to RGB.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

from trainer.data.fit import check_size, fit_pil
from trainer.data.source import CHUNK, Source, file_fingerprint, require_path
from trainer.errors import UserInputError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)


def _is_image(name: str) -> bool:
    return name.lower().endswith(EXTENSIONS) and "__MACOSX" not in name


def _folder_files(root: Path) -> list[str]:
    names = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in filenames:
            if _is_image(f) and not f.startswith("."):
                names.append(os.path.relpath(os.path.join(dirpath, f), root))
    return sorted(names)


def folder_fingerprint(path: str) -> tuple[object, ...]:
    root = require_path(path, "folder")
    if not root.is_dir():
        raise UserInputError(f"data.source folder:{path}: not a directory")
    files = _folder_files(root)
    stats = [(n, (root / n).stat().st_size, (root / n).stat().st_mtime_ns) for n in files]
    return (str(root.resolve()), tuple(stats))


def zip_fingerprint(path: str) -> tuple[object, ...]:
    return file_fingerprint(require_path(path, "zip"))


def _headers(names: list[str], opener: Callable[[str], io.IOBase], where: Callable[[str], str]
             ) -> tuple[list[tuple[int, int]], int]:
    """Sizes of all images and the channel count (1 if all greyscale, else 3), from headers only."""
    sizes, grey = [], True
    for name in names:
        try:
            with opener(name) as f, Image.open(f) as img:
                sizes.append(img.size)
                grey = grey and img.mode in _GREY_MODES
        except _DECODE_ERRORS as exc:
            raise UserInputError(f"{where(name)}: not a readable image ({type(exc).__name__}: {exc})") from None
    return sizes, (1 if grey else 3)


def _make_source(names: list[str], opener: Callable[[str], io.IOBase], where: Callable[[str], str]) -> Source:
    sizes, channels = _headers(names, opener, where)

    def check(resolution: int, resize: bool) -> None:
        if resize:
            return
        first = sizes[0]
        for name, size in zip(names, sizes):
            if size != first:
                raise UserInputError(f"{where(name)}: mixed image sizes: {size[0]}x{size[1]} here, "
                                     f"{first[0]}x{first[1]} in {names[0]} (set data.resize=true to resize all)")
        check_size(first[0], first[1], resolution, resize, where(names[0]))

    def chunks(resolution: int, resize: bool) -> Iterator[np.ndarray]:
        for lo in range(0, len(names), CHUNK):
            part = names[lo:lo + CHUNK]
            out = np.empty((len(part), resolution, resolution, channels), dtype=np.uint8)
            for i, name in enumerate(part):
                try:
                    with opener(name) as f, Image.open(f) as img:
                        out[i] = fit_pil(img, resolution, channels)
                except _DECODE_ERRORS as exc:
                    raise UserInputError(f"{where(name)}: cannot decode image ({type(exc).__name__}: {exc})") from None
            yield out

    return Source(count=len(names), channels=channels, check=check, chunks=chunks)


def open_folder(path: str) -> Source:
    root = require_path(path, "folder")
    if not root.is_dir():
        raise UserInputError(f"data.source folder:{path}: not a directory")
    names = _folder_files(root)
    if not names:
        raise UserInputError(f"data.source folder:{path}: no images ({'/'.join(e[1:] for e in EXTENSIONS)}) found")
    return _make_source(names, lambda n: open(root / n, "rb"), lambda n: str(root / n))


def open_zip(path: str) -> Source:
    p = require_path(path, "zip")
    try:
        zf = zipfile.ZipFile(p)
        names = sorted(n for n in zf.namelist() if _is_image(n) and not n.endswith("/"))
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserInputError(f"data.source zip:{path}: not a readable zip file ({exc})") from None
    if not names:
        raise UserInputError(f"data.source zip:{path}: the zip contains no images ({'/'.join(e[1:] for e in EXTENSIONS)})")

    def opener(name: str) -> io.IOBase:
        # Read the member fully: PIL seeks, and ZipExtFile seeking is slow.
        try:
            return io.BytesIO(zf.read(name))
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            raise OSError(f"corrupt zip member: {exc}") from None

    return _make_source(names, opener, lambda n: f"{p}:{n}")
