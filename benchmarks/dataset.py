"""Benchmark of the embedded procedural dataset: generation rate, the 140k build, and loading from the cache.

Prints one JSON object.  Figures of merit (docs/architecture.md "Datasets": any N up to 140k,
generated, not downloaded):
- `gen_img_per_s`: images/s of `procedural.generate` at 16, 32 and 64 px, one process, no cache,
  by wall clock and by CPU time (the CPU figure is what an idle core gives when other jobs share the machine);
- `gen_140k_32px_s` / `gen_32px_cpu_s`: wall and CPU time to generate ADA's 140k-image size at 32 px in one process;
- `cache_write_s`, `cache_load_s`: writing that array to the cache, then `load_dataset` of it (a cache hit:
  memory-mapped, so this is independent of the dataset size);
- `batch_img_per_s`: random minibatches of 64 read from the in-RAM training subset and from the memory-mapped full set.

Usage: python -m benchmarks.dataset [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from trainer.config import DataConfig
from trainer.data import load_dataset, procedural
from trainer.data.cache import build_cached
from trainer.data.loader import procedural_array


def _rate(resolution: int, count: int) -> dict[str, float]:
    """Images/s by wall clock and by this process's CPU time (robust to other jobs sharing the cores)."""
    t, c = time.perf_counter(), time.process_time()
    procedural.generate(0, 0, count, resolution)
    return {"wall": round(count / (time.perf_counter() - t), 1), "cpu": round(count / (time.process_time() - c), 1)}


def _batch_rate(imageset, batches: int = 200, batch: int = 64) -> float:
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    for _ in range(batches):
        imageset.batch(rng.integers(0, len(imageset), batch))
    return batches * batch / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller counts (a smoke test of the script)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    scale = 0.05 if args.quick else 1.0
    big = int(140_000 * scale)
    rates = {f"{r}px": _rate(r, max(64, int(n * scale))) for r, n in ((16, 40_000), (32, 20_000), (64, 5_000))}

    t, c = time.perf_counter(), time.process_time()
    images, _ = procedural.generate(0, 0, big, 32)
    gen_s, gen_cpu_s = time.perf_counter() - t, time.process_time() - c

    with tempfile.TemporaryDirectory(prefix="ganaug-bench-") as tmp:
        cache = Path(tmp)
        # Put the array just generated where procedural_array looks for it (same name scheme).
        name = f"procedural-v{procedural.VERSION}-s0-i0-n{big}-r32.npy"
        t = time.perf_counter()
        build_cached(cache / "procedural" / name, images.shape, lambda: iter([images]))
        write_s = time.perf_counter() - t
        procedural_array(0, big, 1000, 32, cache)                      # the validation images, built once
        cfg = DataConfig(procedural_count=big, resolution=32, dataset_size=min(2000, big), val_size=1000)
        t = time.perf_counter()
        bundle = load_dataset(cfg, cache)
        load_s = time.perf_counter() - t
        result = {
            "benchmark": "dataset",
            "quick": args.quick,
            "cpu_count": os.cpu_count(),
            "gen_img_per_s": rates,
            "gen_count": big,
            "gen_140k_32px_s": round(gen_s, 2) if not args.quick else None,
            "gen_32px_s": round(gen_s, 2),
            "gen_32px_cpu_s": round(gen_cpu_s, 2),
            "cache_write_s": round(write_s, 3),
            "cache_load_s": round(load_s, 4),
            "cache_bytes": int(images.nbytes),
            "batch_img_per_s": {"train_in_ram": round(_batch_rate(bundle.train)),
                                "full_memmap": round(_batch_rate(bundle.full))},
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
