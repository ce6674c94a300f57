"""Readers of real data on small files written in the real formats: the pixels come back exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from datafiles import png_bytes, random_images, write_cifar, write_folder, write_mnist, write_zip
from trainer.config import DataConfig
from trainer.data import load_dataset, to_float


def _all(imageset) -> np.ndarray:
    """Every image of a set as NHWC uint8."""
    return imageset.batch(np.arange(len(imageset))).numpy().transpose(0, 2, 3, 1)


def _sorted_rows(a: np.ndarray) -> list[bytes]:
    return sorted(row.tobytes() for row in a.reshape(len(a), -1))


def test_folder_of_pngs(tmp_path: Path, cache: Path) -> None:
    imgs = random_images(12, 16)
    names = write_folder(tmp_path / "imgs", imgs)
    b = load_dataset(DataConfig(source=f"folder:{tmp_path / 'imgs'}", resolution=16, val_size=2), cache)
    full = _all(b.full)
    order = [int(n.split("img")[1][:4]) for n in names]           # files are read in sorted path order
    assert np.array_equal(full, imgs[order])
    assert (b.channels, b.resolution, b.num_unique, len(b.train), len(b.val)) == (3, 16, 10, 10, 2)
    assert b.name.startswith("folder-imgs-") and b.name.endswith("-r16")


def test_folder_mixed_grey_and_rgb_becomes_rgb(tmp_path: Path, cache: Path) -> None:
    root = tmp_path / "mixed"
    root.mkdir()
    grey = random_images(1, 8, 1)[0]
    (root / "a.png").write_bytes(png_bytes(grey))
    (root / "b.jpg").write_bytes(b"")                               # replaced below by a real JPEG
    Image.fromarray(random_images(1, 8)[0]).save(root / "b.jpg", quality=95)
    b = load_dataset(DataConfig(source=f"folder:{root}", resolution=8, val_size=0), cache)
    assert b.channels == 3
    assert np.array_equal(_all(b.full)[0], np.repeat(grey, 3, axis=-1))


def test_folder_all_grey_is_one_channel(tmp_path: Path, cache: Path) -> None:
    imgs = random_images(4, 8, 1)
    write_folder(tmp_path / "g", imgs)
    b = load_dataset(DataConfig(source=f"folder:{tmp_path / 'g'}", resolution=8, val_size=0), cache)
    assert b.channels == 1 and b.train.batch(np.array([0])).shape == (1, 1, 8, 8)
    assert _sorted_rows(_all(b.full)) == _sorted_rows(imgs)


@pytest.mark.parametrize("with_json", [True, False])
def test_dataset_tool_zip(tmp_path: Path, cache: Path, with_json: bool) -> None:
    imgs = random_images(10, 16, seed=3)
    write_zip(tmp_path / "d.zip", imgs, with_json)
    b = load_dataset(DataConfig(source=f"zip:{tmp_path / 'd.zip'}", resolution=16, val_size=3), cache)
    assert np.array_equal(_all(b.full), imgs)
    assert (len(b.train), len(b.val), b.num_unique) == (7, 3, 7)


@pytest.mark.parametrize("as_tar", [False, True])
def test_cifar10_batches(tmp_path: Path, cache: Path, as_tar: bool) -> None:
    path, train = write_cifar(tmp_path, per_batch=8, as_tar=as_tar)
    b = load_dataset(DataConfig(source=f"cifar10:{path}", resolution=32, val_size=5), cache)
    assert len(b.full) == 40                                         # the 5 training batches, not test_batch
    assert np.array_equal(_all(b.full), train)


def test_cifar10_parent_folder_and_resize(tmp_path: Path, cache: Path) -> None:
    _, train = write_cifar(tmp_path, per_batch=4)
    b = load_dataset(DataConfig(source=f"cifar10:{tmp_path}", resolution=16, resize=True, val_size=0), cache)
    assert b.resolution == 16 and len(b.full) == 20
    want = np.asarray(Image.fromarray(train[3]).resize((16, 16), Image.Resampling.LANCZOS))
    assert np.array_equal(_all(b.full)[3], want)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx(tmp_path: Path, cache: Path, gz: bool) -> None:
    digits = random_images(9, 28, 1, seed=5)[..., 0]
    path = write_mnist(tmp_path / "mnist", digits, gz)
    for source in (path, path.parent):                                # the file itself or its folder
        b = load_dataset(DataConfig(source=f"mnist:{source}", resolution=32, resize=True, val_size=0), cache)
        assert b.channels == 1 and len(b.full) == 9
        want = np.asarray(Image.fromarray(digits[4]).resize((32, 32), Image.Resampling.LANCZOS))
        assert np.array_equal(_all(b.full)[4, :, :, 0], want)


@pytest.mark.parametrize("layout", ["nhwc", "nchw", "nhw", "float01", "float11", "single_key"])
def test_npz(tmp_path: Path, cache: Path, layout: str) -> None:
    imgs = random_images(6, 8, 1 if layout == "nhw" else 3, seed=9)
    arr = {"nhwc": imgs, "nchw": imgs.transpose(0, 3, 1, 2), "nhw": imgs[..., 0],
           "float01": imgs.astype(np.float32) / 255.0, "float11": imgs.astype(np.float64) / 127.5 - 1.0,
           "single_key": imgs}[layout]
    path = tmp_path / "d.npz"
    if layout == "single_key":
        np.savez(path, whatever=arr)
    else:
        np.savez_compressed(path, images=arr, labels=np.zeros(6))
    b = load_dataset(DataConfig(source=f"npz:{path}", resolution=8, val_size=1), cache)
    assert np.array_equal(_all(b.full), imgs)


def test_to_float_range() -> None:
    x = torch.tensor([0, 255, 128], dtype=torch.uint8)
    y = to_float(x)
    assert y.dtype == torch.float32
    assert torch.allclose(y, torch.tensor([-1.0, 1.0, 128 / 127.5 - 1.0]), atol=1e-6)


def test_dataset_count_checks_before_launch_and_reuses_the_cache(tmp_path: Path, cache: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from trainer.data import check_split, dataset_count
    from trainer.data import loader
    from trainer.errors import UserInputError

    write_folder(tmp_path / "imgs", random_images(12, 16))
    cfg = DataConfig(source=f"folder:{tmp_path / 'imgs'}", resolution=16, val_size=2, dataset_size=10)
    assert dataset_count(cfg, cache) == 12 and not (cache / "real").exists()     # headers only, nothing cached
    assert check_split(cfg, 12) == 10
    with pytest.raises(UserInputError, match=r"= 13 exceeds the 12 images"):
        check_split(cfg.model_copy(update={"dataset_size": 11, "val_size": 2}), 12)
    load_dataset(cfg, cache)
    # Once converted, the count comes from the cache: the image headers are not read a second time.
    monkeypatch.setitem(loader._READERS, "folder", (loader._READERS["folder"][0], lambda path: 1 / 0))
    assert dataset_count(cfg, cache) == 12
