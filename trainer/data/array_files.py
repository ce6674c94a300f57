"""Readers for array formats: CIFAR-10 python batches, MNIST IDX files, npz arrays.

docs/architecture.md "Datasets" (and the `tiny` scale's "MNIST-like or CIFAR-like" data).
These formats are decoded whole into RAM (they are small: CIFAR-10 is 150 MB),
validated, and handed to the loader, which caches them at the configured
resolution like any other source.

- CIFAR-10: the 50k training images (data_batch_1..5, as ADA's CIFAR-10 runs),
  from the `cifar-10-batches-py` folder or the `cifar-10-python.tar.gz` archive.
  The batches are pickles; they are read with an unpickler that only admits
  numpy array reconstruction, so a hostile file cannot run code.
- MNIST: `train-images-idx3-ubyte` (raw or .gz), or a folder holding it; 1 channel.
- npz: the array under key `images`, or the only array; NHWC or NCHW (or NHW);
  uint8, or float in [0, 1] or [-1, 1] (converted to uint8).
"""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from trainer.data.fit import check_size, fit_array
from trainer.data.source import CHUNK, Source, file_fingerprint, require_path
from trainer.errors import UserInputError

CIFAR_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
MNIST_FILE = "train-images-idx3-ubyte"
_SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def array_source(images: np.ndarray, where: str) -> Source:
    """A Source over an in-RAM uint8 [N, H, W, C] array."""
    n, h, w, c = images.shape

    def check(resolution: int, resize: bool) -> None:
        check_size(w, h, resolution, resize, where)

    def chunks(resolution: int, resize: bool):
        for lo in range(0, n, CHUNK):
            yield fit_array(images[lo:lo + CHUNK], resolution, resize, where)

    return Source(count=n, channels=c, check=check, chunks=chunks)


def _cifar_batch(data: bytes, where: str) -> np.ndarray:
    try:
        d = _ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()
        arr = np.asarray(d[b"data"] if b"data" in d else d["data"], dtype=np.uint8)
    except Exception as exc:  # any malformed pickle is the user's file problem
        raise UserInputError(f"{where}: not a CIFAR-10 python batch ({type(exc).__name__}: {exc})") from None
    if arr.ndim != 2 or arr.shape[1] != 3 * 32 * 32:
        raise UserInputError(f"{where}: CIFAR-10 batch 'data' must be [N, 3072], found {list(arr.shape)}")
    return arr.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def cifar_fingerprint(path: str) -> tuple[object, ...]:
    p = require_path(path, "cifar10")
    if p.is_dir():
        d = p / "cifar-10-batches-py" if (p / "cifar-10-batches-py").is_dir() else p
        return tuple(file_fingerprint(d / b) if (d / b).exists() else (str(d / b), None) for b in CIFAR_BATCHES)
    return file_fingerprint(p)


def open_cifar10(path: str) -> Source:
    p = require_path(path, "cifar10")
    parts = []
    if p.is_dir():
        d = p / "cifar-10-batches-py" if (p / "cifar-10-batches-py").is_dir() else p
        for b in CIFAR_BATCHES:
            if not (d / b).is_file():
                raise UserInputError(f"data.source cifar10:{path}: missing batch file {d / b}")
            parts.append(_cifar_batch((d / b).read_bytes(), str(d / b)))
    else:
        try:
            with tarfile.open(p) as tar:
                members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
                for b in CIFAR_BATCHES:
                    if b not in members:
                        raise UserInputError(f"data.source cifar10:{path}: archive has no {b}")
                    parts.append(_cifar_batch(tar.extractfile(members[b]).read(), f"{p}:{members[b].name}"))
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise UserInputError(f"data.source cifar10:{path}: not a readable CIFAR-10 folder or .tar.gz ({exc})") from None
    return array_source(np.concatenate(parts), f"cifar10:{path}")


def _mnist_path(p: Path) -> Path:
    if p.is_file():
        return p
    for name in (MNIST_FILE, MNIST_FILE + ".gz", "train-images.idx3-ubyte"):
        if (p / name).is_file():
            return p / name
    raise UserInputError(f"data.source mnist:{p}: no {MNIST_FILE} or {MNIST_FILE}.gz in the folder")


def mnist_fingerprint(path: str) -> tuple[object, ...]:
    return file_fingerprint(_mnist_path(require_path(path, "mnist")))


def open_mnist(path: str) -> Source:
    f = _mnist_path(require_path(path, "mnist"))
    try:
        raw = gzip.decompress(f.read_bytes()) if f.name.endswith(".gz") else f.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:   # a corrupt deflate stream raises zlib.error, not OSError
        raise UserInputError(f"{f}: cannot read gzip data ({exc})") from None
    if len(raw) < 16 or raw[:4] != b"\x00\x00\x08\x03":
        raise UserInputError(f"{f}: not an MNIST IDX image file (magic must be 0x00000803 for ubyte images, 3 dims)")
    n, h, w = (int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
    if len(raw) != 16 + n * h * w:
        raise UserInputError(f"{f}: IDX header says {n}x{h}x{w} images ({16 + n * h * w} bytes), file has {len(raw)} bytes")
    images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, h, w, 1)
    return array_source(images, str(f))


def npz_fingerprint(path: str) -> tuple[object, ...]:
    return file_fingerprint(require_path(path, "npz"))


def to_uint8(arr: np.ndarray, where: str) -> np.ndarray:
    """uint8 as is; float in [0,1] or [-1,1] scaled; integers in 0..255 cast; anything else refused."""
    if arr.dtype == np.uint8:
        return arr
    if arr.size == 0:
        raise UserInputError(f"{where}: the image array is empty")
    lo, hi = float(arr.min()), float(arr.max())
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite([lo, hi]).all() or lo < -1.0 - 1e-6 or hi > 1.0 + 1e-6:
            raise UserInputError(f"{where}: float images must lie in [0, 1] or [-1, 1], found [{lo:g}, {hi:g}]")
        scaled = (arr + 1.0) * 127.5 if lo < 0 else arr * 255.0
        return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer) and lo >= 0 and hi <= 255:
        return arr.astype(np.uint8)
    raise UserInputError(f"{where}: images must be uint8 or float in [0,1]/[-1,1], found {arr.dtype} in [{lo:g}, {hi:g}]")


def to_nhwc(arr: np.ndarray, where: str) -> np.ndarray:
    """NHWC, NCHW or NHW -> NHWC with 1 or 3 channels."""
    if arr.ndim == 3:
        return arr[..., None]
    if arr.ndim == 4 and arr.shape[3] in (1, 3):
        return arr
    if arr.ndim == 4 and arr.shape[1] in (1, 3):
        return arr.transpose(0, 2, 3, 1)
    raise UserInputError(f"{where}: expected images as [N, H, W, C], [N, C, H, W] or [N, H, W] with C in (1, 3), "
                         f"found shape {list(arr.shape)}")


def _npz_array(p: Path) -> np.ndarray:
    """The image array of an .npz (key 'images' or the only array); a plain .npy is accepted too."""
    try:
        obj = np.load(p, allow_pickle=False)
        if isinstance(obj, np.ndarray):
            return obj
        with obj as z:
            keys = list(z.files)
            key = "images" if "images" in keys else (keys[0] if len(keys) == 1 else None)
            arr = z[key] if key is not None else None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise UserInputError(f"{p}: not a readable .npz file ({type(exc).__name__}: {exc})") from None
    if arr is None:
        raise UserInputError(f"{p}: no image array: expected key 'images' or a single array, found keys {keys}")
    return arr


def open_npz(path: str) -> Source:
    p = require_path(path, "npz")
    arr = _npz_array(p)
    if arr.dtype.kind not in "uif":
        raise UserInputError(f"{p}: the image array has dtype {arr.dtype}, not numeric")
    images = np.ascontiguousarray(to_uint8(to_nhwc(arr, str(p)), str(p)))
    return array_source(images, str(p))
