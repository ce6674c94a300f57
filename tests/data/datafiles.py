"""Writers of small real-format datasets for the data tests (PNG folder, dataset_tool zip, CIFAR-10 batches, MNIST IDX, npz).

The files are produced in the real on-disk formats, from random arrays whose
pixels the tests compare against what the readers return.
"""

from __future__ import annotations

import gzip
import io
import json
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


def random_images(n: int, res: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, res, res, channels), dtype=np.uint8)


def png_bytes(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(buf, format="PNG")
    return buf.getvalue()


def write_folder(root: Path, images: np.ndarray) -> list[str]:
    """PNGs spread over two sub-folders; returns the relative names in sorted order."""
    names = []
    for i, img in enumerate(images):
        rel = f"{'ab'[i % 2]}/img{i:04d}.png"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(png_bytes(img))
        names.append(rel)
    return sorted(names)


def write_zip(path: Path, images: np.ndarray, with_json: bool) -> list[str]:
    """dataset_tool layout: 00000/img00000000.png ..., optional dataset.json with labels."""
    names = [f"{i // 1000:05d}/img{i:08d}.png" for i in range(len(images))]
    with zipfile.ZipFile(path, "w") as zf:
        for name, img in zip(names, images):
            zf.writestr(name, png_bytes(img))
        if with_json:
            zf.writestr("dataset.json", json.dumps({"labels": [[n, 0] for n in names]}))
    return names


def write_cifar(root: Path, per_batch: int = 20, as_tar: bool = False) -> tuple[Path, np.ndarray]:
    """The cifar-10-batches-py layout (5 train batches + test batch); returns (source path, train images NHWC)."""
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    train = []
    for b in range(1, 7):
        imgs = random_images(per_batch, 32, 3, seed=100 + b)
        data = imgs.transpose(0, 3, 1, 2).reshape(per_batch, 3072)   # row = R plane, G plane, B plane
        name = f"data_batch_{b}" if b <= 5 else "test_batch"
        with open(d / name, "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"labels": [0] * per_batch, b"data": data,
                         b"filenames": [b"x.png"] * per_batch}, f, protocol=2)
        if b <= 5:
            train.append(imgs)
    if not as_tar:
        return d, np.concatenate(train)
    tar_path = root / "cifar-10-python.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(d, arcname="cifar-10-batches-py")
    return tar_path, np.concatenate(train)


def idx_bytes(images: np.ndarray) -> bytes:
    n, h, w = images.shape[:3]
    header = b"\x00\x00\x08\x03" + b"".join(int(v).to_bytes(4, "big") for v in (n, h, w))
    return header + images.astype(np.uint8).tobytes()


def write_mnist(root: Path, images: np.ndarray, gz: bool) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    raw = idx_bytes(images)
    path = root / ("train-images-idx3-ubyte" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path
