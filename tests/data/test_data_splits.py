"""Subsets, validation splits, mirror and the on-disk cache of `load_dataset`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from datafiles import random_images
from trainer.config import DataConfig, TrainConfig
from trainer.data import load_dataset, subset_permutation
from trainer.data import procedural
from trainer.data.procedural import generate

SMALL = dict(procedural_count=600, resolution=16, dataset_size=100, val_size=50)


def _all(imageset) -> np.ndarray:
    return imageset.batch(np.arange(len(imageset))).numpy()


def _rows(a: np.ndarray) -> set[bytes]:
    return {r.tobytes() for r in a.reshape(len(a), -1)}


def test_procedural_subset_is_seeded_shuffle_then_first_n(cache: Path) -> None:
    b = load_dataset(DataConfig(**SMALL, subset_seed=3), cache)
    perm = np.random.Generator(np.random.PCG64(3)).permutation(600)
    want = generate(0, 0, 600, 16)[0][perm[:100]].transpose(0, 3, 1, 2)
    assert np.array_equal(_all(b.train), want)
    assert np.array_equal(_all(b.full), generate(0, 0, 600, 16)[0].transpose(0, 3, 1, 2))
    assert (b.num_unique, len(b.full), len(b.val), b.name) == (100, 600, 50, f"procedural-v{procedural.VERSION}-s0-n600-r16")


def test_procedural_validation_is_beyond_the_dataset(cache: Path) -> None:
    b = load_dataset(DataConfig(**SMALL), cache)
    assert np.array_equal(_all(b.val), generate(0, 600, 50, 16)[0].transpose(0, 3, 1, 2))
    assert not (_rows(_all(b.val)) & _rows(_all(b.full)))          # disjoint from train and from FID's reference


def test_subset_depends_on_subset_seed_only(cache: Path) -> None:
    a = TrainConfig(data=DataConfig(**SMALL), run={"seed": 1})
    c = TrainConfig(data=DataConfig(**SMALL), run={"seed": 2})
    assert np.array_equal(_all(load_dataset(a.data, cache).train), _all(load_dataset(c.data, cache).train))
    other = load_dataset(DataConfig(**SMALL, subset_seed=1), cache)
    assert not np.array_equal(_all(other.train), _all(load_dataset(a.data, cache).train))


def test_subset_identical_in_another_process(cache: Path) -> None:
    cfg = DataConfig(**SMALL, subset_seed=11)
    here = hashlib.sha256(_all(load_dataset(cfg, cache).train).tobytes()).hexdigest()
    code = ("import hashlib, numpy as np; from trainer.config import DataConfig; from trainer.data import load_dataset; "
            f"t = load_dataset(DataConfig.model_validate_json({cfg.model_dump_json()!r}), {str(cache / 'other')!r}).train; "
            "import sys; assert 'torch' not in sys.modules; "           # trainer.data stays light without batches
            "print(hashlib.sha256(np.ascontiguousarray(t.array.transpose(0, 3, 1, 2)).tobytes()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == here
    # The permutation itself is pinned: PCG64 streams are stable across numpy versions and machines.
    assert subset_permutation(10, 0).tolist() == [4, 6, 2, 7, 3, 5, 9, 0, 8, 1]


def test_mirror_doubles_with_exact_flips(cache: Path) -> None:
    plain = load_dataset(DataConfig(**SMALL), cache)
    mirrored = load_dataset(DataConfig(**SMALL, mirror=True), cache)
    x, m = _all(plain.train), _all(mirrored.train)
    assert len(m) == 200 and mirrored.num_unique == 100 and len(mirrored.full) == 600
    assert np.array_equal(m[:100], x)
    assert np.array_equal(m[100:], x[..., ::-1])
    mixed = mirrored.train.batch(np.array([150, 3, 103]))               # order kept within a mixed batch
    assert np.array_equal(mixed.numpy(), np.stack([x[50, ..., ::-1], x[3], x[3, ..., ::-1]]))


def test_real_validation_is_last_of_permutation_and_disjoint(tmp_path: Path, cache: Path) -> None:
    imgs = random_images(40, 8, seed=21)
    np.savez(tmp_path / "r.npz", images=imgs)
    b = load_dataset(DataConfig(source=f"npz:{tmp_path / 'r.npz'}", resolution=8, dataset_size=25, val_size=10,
                                subset_seed=4), cache)
    perm = subset_permutation(40, 4)
    nchw = imgs.transpose(0, 3, 1, 2)
    assert np.array_equal(_all(b.train), nchw[perm[:25]])
    assert np.array_equal(_all(b.val), nchw[perm[30:]])
    assert not (_rows(_all(b.train)) & _rows(_all(b.val)))
    assert len(b.full) == 40
    everything = load_dataset(DataConfig(source=f"npz:{tmp_path / 'r.npz'}", resolution=8, val_size=10), cache)
    assert everything.num_unique == 30                                # dataset_size=None: all but validation


def test_procedural_cache_written_once_and_reused(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = DataConfig(**SMALL)
    first = _all(load_dataset(cfg, cache).full)
    files = sorted((cache / "procedural").glob("*.npy"))
    assert len(files) == 2 and not list((cache / "procedural").glob("*.tmp*"))   # full + validation, no temp left
    mtimes = [f.stat().st_mtime_ns for f in files]

    def boom(*args, **kwargs):
        raise AssertionError("regenerated although cached")

    monkeypatch.setattr(procedural, "generate", boom)
    again = load_dataset(cfg, cache)
    assert np.array_equal(_all(again.full), first)
    assert [f.stat().st_mtime_ns for f in files] == mtimes
    assert isinstance(again.full.array, np.memmap)                     # memory-mapped, not read whole


def test_interrupted_build_leaves_no_cache(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = procedural.generate

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("simulated kill in the middle of a build")
        return real(*args, **kwargs)

    monkeypatch.setattr(procedural, "generate", flaky)
    with pytest.raises(KeyboardInterrupt):
        load_dataset(DataConfig(procedural_count=1500, resolution=64, val_size=0), cache)
    assert not list((cache / "procedural").iterdir())                 # neither a final file nor a temp file
    stale = cache / "procedural" / "old-build.abc.tmp.npy"           # a builder SIGKILLed two days ago
    stale.write_bytes(b"partial")
    os.utime(stale, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    monkeypatch.setattr(procedural, "generate", real)
    assert len(load_dataset(DataConfig(procedural_count=1500, resolution=64, val_size=0), cache).full) == 1500
    assert not stale.exists()


def test_sigkilled_build_leaves_only_an_ignored_temp(tmp_path: Path, cache: Path) -> None:
    # A real crash (SIGKILL, OOM) runs no cleanup: what it leaves must never be read as the dataset.
    # The builder writes its first chunk, then blocks in the second, and is killed there.
    cfg = DataConfig(procedural_count=3000, resolution=32, val_size=0)   # two chunks of 2048 images
    marker = tmp_path / "in-second-chunk"
    code = ("import sys, time; from pathlib import Path; from trainer.config import DataConfig; "
            "from trainer.data import load_dataset, procedural; real = procedural.generate; calls = []\n"
            "def blocking(*a, **k):\n"
            "    calls.append(1)\n"
            "    if len(calls) == 2:\n        Path(sys.argv[2]).touch(); time.sleep(600)\n"
            "    return real(*a, **k)\n"
            "procedural.generate = blocking\n"
            f"load_dataset(DataConfig.model_validate_json({cfg.model_dump_json()!r}), sys.argv[1])")
    proc = subprocess.Popen([sys.executable, "-c", code, str(cache), str(marker)])
    try:
        deadline = time.time() + 60
        while not marker.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert marker.exists(), "the builder never reached its second chunk"
    finally:
        proc.kill()
        proc.wait(timeout=10)
    (tmp,) = cache.rglob("*.tmp.npy")                                     # the half-written file stays, under a temp name
    assert tmp.stat().st_size >= 3000 * 32 * 32 * 3
    assert not [p for p in cache.rglob("*.npy") if p != tmp]
    b = load_dataset(cfg, cache)
    assert np.array_equal(_all(b.full), generate(0, 0, 3000, 32)[0].transpose(0, 3, 1, 2))


@pytest.mark.parametrize("kind", ["procedural", "npz"])
def test_truncated_cache_file_is_rebuilt_not_read(tmp_path: Path, cache: Path, kind: str) -> None:
    # A short file at the final name cannot come from our writer, but can from a power
    # loss, a full disk or a hand-copied cache: it must be rebuilt, never read.
    np.savez(tmp_path / "t.npz", images=random_images(30, 8, seed=2))
    cfg = (DataConfig(procedural_count=300, resolution=16, val_size=0) if kind == "procedural"
           else DataConfig(source=f"npz:{tmp_path / 't.npz'}", resolution=8, val_size=0))
    want = _all(load_dataset(cfg, cache).full)
    (path,) = [p for p in cache.rglob("*.npy")]
    for size in (path.stat().st_size // 2, 40):                     # data cut short; header cut short
        with open(path, "r+b") as f:
            f.truncate(size)
        assert np.array_equal(_all(load_dataset(cfg, cache).full), want)
        assert path.stat().st_size > size


def test_two_processes_building_at_once(cache: Path) -> None:
    code = ("import sys, hashlib, numpy as np; from trainer.config import DataConfig; from trainer.data import load_dataset; "
            "f = load_dataset(DataConfig(procedural_count=3000, resolution=16, val_size=0), sys.argv[1]).full; "
            "print(hashlib.sha256(np.asarray(f.array).tobytes()).hexdigest())")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(cache)], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    final = load_dataset(DataConfig(procedural_count=3000, resolution=16, val_size=0), cache).full.array
    assert outs[0] == outs[1] == hashlib.sha256(np.asarray(final).tobytes()).hexdigest()
    assert [p.name for p in (cache / "procedural").iterdir()] == [os.path.basename(final.filename)]
