"""Bad input -> UserInputError with one line naming the culprit, and no cache file left behind."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datafiles import idx_bytes, png_bytes, random_images, write_cifar, write_folder, write_mnist, write_zip
from trainer.config import DataConfig
from trainer.data import load_dataset
from trainer.errors import UserInputError


def _fails(cfg: DataConfig, cache: Path, *needles: str, cached_ok: bool = False) -> str:
    """Assert the load fails with a one-line message containing the needles and leaves no (temp) cache file.

    cached_ok: the data itself is fine (e.g. only the split is impossible), so its complete cache file may stay.
    """
    with pytest.raises(UserInputError) as info:
        load_dataset(cfg, cache)
    msg = str(info.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    left = [p.name for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    assert not [n for n in left if ".tmp" in n], left
    assert cached_ok or not left, f"a failed load left files in the cache: {left}"
    return msg


def test_missing_path(tmp_path: Path, cache: Path) -> None:
    for kind in ("folder", "zip", "cifar10", "mnist", "npz"):
        _fails(DataConfig(source=f"{kind}:{tmp_path / 'nope'}"), cache, "nope", "does not exist")


def test_corrupt_image_in_folder(tmp_path: Path, cache: Path) -> None:
    write_folder(tmp_path / "f", random_images(3, 8))
    (tmp_path / "f" / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    _fails(DataConfig(source=f"folder:{tmp_path / 'f'}", resolution=8, val_size=0), cache, "broken.png")


def test_truncated_image_found_while_decoding(tmp_path: Path, cache: Path) -> None:
    write_folder(tmp_path / "f", random_images(3, 8))
    good = png_bytes(random_images(1, 8, seed=1)[0])
    (tmp_path / "f" / "b" / "cut.png").write_bytes(good[: len(good) // 2])   # header fine, data truncated
    _fails(DataConfig(source=f"folder:{tmp_path / 'f'}", resolution=8, val_size=0), cache, "cut.png")


def test_empty_folder_and_non_image_files(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "notes.txt").write_text("hello")
    _fails(DataConfig(source=f"folder:{tmp_path / 'e'}"), cache, str(tmp_path / "e"), "no images")


def test_zip_without_images(tmp_path: Path, cache: Path) -> None:
    with zipfile.ZipFile(tmp_path / "x.zip", "w") as zf:
        zf.writestr("dataset.json", "{}")
    _fails(DataConfig(source=f"zip:{tmp_path / 'x.zip'}"), cache, "x.zip", "no images")


def test_not_a_zip(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "y.zip").write_bytes(b"not a zip at all")
    _fails(DataConfig(source=f"zip:{tmp_path / 'y.zip'}"), cache, "y.zip")


def test_mixed_sizes(tmp_path: Path, cache: Path) -> None:
    write_zip(tmp_path / "m.zip", random_images(3, 16), with_json=False)
    with zipfile.ZipFile(tmp_path / "m.zip", "a") as zf:
        zf.writestr("00000/img00000099.png", png_bytes(random_images(1, 32)[0]))
    _fails(DataConfig(source=f"zip:{tmp_path / 'm.zip'}", resolution=16, val_size=0), cache,
           "img00000099.png", "mixed image sizes", "32x32", "16x16")


def test_wrong_resolution_names_both_sizes(tmp_path: Path, cache: Path) -> None:
    write_folder(tmp_path / "f", random_images(3, 16))
    _fails(DataConfig(source=f"folder:{tmp_path / 'f'}", resolution=32, val_size=0), cache, "32x32", "16x16")


def test_non_square_images(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "ns").mkdir()
    buf = io.BytesIO()
    Image.fromarray(np.zeros((16, 24, 3), np.uint8)).save(buf, format="PNG")
    (tmp_path / "ns" / "wide.png").write_bytes(buf.getvalue())
    _fails(DataConfig(source=f"folder:{tmp_path / 'ns'}", resolution=16, val_size=0), cache, "wide.png", "non-square", "24x16")
    b = load_dataset(DataConfig(source=f"folder:{tmp_path / 'ns'}", resolution=16, val_size=0, resize=True), cache)
    assert b.resolution == 16                                          # resize crops to a square instead


def test_non_power_of_two_data(tmp_path: Path, cache: Path) -> None:
    np.savez(tmp_path / "p.npz", images=random_images(4, 24))
    _fails(DataConfig(source=f"npz:{tmp_path / 'p.npz'}", resolution=32, val_size=0), cache, "p.npz", "24x24", "32x32")


def test_subset_larger_than_dataset(tmp_path: Path, cache: Path) -> None:
    np.savez(tmp_path / "s.npz", images=random_images(20, 8))
    _fails(DataConfig(source=f"npz:{tmp_path / 's.npz'}", resolution=8, dataset_size=15, val_size=10), cache,
           "data.dataset_size (15)", "data.val_size (10)", "20", cached_ok=True)
    _fails(DataConfig(procedural_count=100, dataset_size=200, resolution=8, val_size=0), cache, "200", "100", cached_ok=True)


def test_npz_without_image_array(tmp_path: Path, cache: Path) -> None:
    np.savez(tmp_path / "k.npz", a=np.zeros((2, 8, 8, 3), np.uint8), b=np.zeros(3))
    _fails(DataConfig(source=f"npz:{tmp_path / 'k.npz'}", resolution=8, val_size=0), cache, "k.npz", "'images'")
    np.savez(tmp_path / "v.npz", images=np.zeros((5, 7), np.uint8))
    _fails(DataConfig(source=f"npz:{tmp_path / 'v.npz'}", resolution=8, val_size=0), cache, "v.npz", "shape")
    np.savez(tmp_path / "f.npz", images=np.full((2, 8, 8, 3), 3.5, np.float32))
    _fails(DataConfig(source=f"npz:{tmp_path / 'f.npz'}", resolution=8, val_size=0), cache, "f.npz", "[0, 1]")
    (tmp_path / "g.npz").write_bytes(b"garbage")
    _fails(DataConfig(source=f"npz:{tmp_path / 'g.npz'}", resolution=8, val_size=0), cache, "g.npz")


def test_bad_mnist_and_cifar(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "bad-idx").write_bytes(b"\x00\x00\x08\x01" + bytes(20))      # labels file, not images
    _fails(DataConfig(source=f"mnist:{tmp_path / 'bad-idx'}"), cache, "bad-idx", "magic")
    (tmp_path / "short-idx").write_bytes(idx_bytes(random_images(3, 28, 1)[..., 0])[:-10])
    _fails(DataConfig(source=f"mnist:{tmp_path / 'short-idx'}", resize=True), cache, "short-idx", "bytes")
    d, _ = write_cifar(tmp_path / "c", per_batch=2)
    (d / "data_batch_3").unlink()
    _fails(DataConfig(source=f"cifar10:{d}"), cache, "data_batch_3")
    (d / "data_batch_3").write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")      # a hostile pickle
    _fails(DataConfig(source=f"cifar10:{d}"), cache, "data_batch_3", "refusing")


def _corrupt_stream(path: Path) -> None:
    """Flip bytes early in the compressed stream, keeping the headers: the file opens, then fails to inflate."""
    b = bytearray(path.read_bytes())
    for i in range(len(b) // 5, len(b) // 5 + 30):
        b[i] ^= 0x5A
    path.write_bytes(bytes(b))


def test_corrupt_compressed_streams(tmp_path: Path, cache: Path) -> None:
    # zlib.error is not an OSError: a corrupt .gz / compressed npz must still be one line naming the file.
    digits = random_images(50, 28, 1, seed=8)[..., 0] // 64 * 64          # compressible: deflate, not stored blocks
    gz = write_mnist(tmp_path / "m", digits, gz=True)
    _corrupt_stream(gz)
    _fails(DataConfig(source=f"mnist:{gz}", resize=True), cache, "train-images-idx3-ubyte.gz")
    np.savez_compressed(tmp_path / "c.npz", images=random_images(50, 8, seed=3) // 64 * 64)
    _corrupt_stream(tmp_path / "c.npz")
    _fails(DataConfig(source=f"npz:{tmp_path / 'c.npz'}", resolution=8, val_size=0), cache, "c.npz")
    tar, _ = write_cifar(tmp_path / "t", per_batch=20, as_tar=True)
    _corrupt_stream(tar)
    _fails(DataConfig(source=f"cifar10:{tar}"), cache, "cifar-10-python.tar.gz")
