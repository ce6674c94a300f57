"""Benchmark: training img/s of one run on 1 and 2 data-parallel workers (run.workers; trainer/distributed.py).

Runs the real loop (`trainer.spawn.train_workers`: worker 0 here, the others spawned processes,
gloo on CPU, NCCL on CUDA) on the smoke preset with metrics only at the last tick, and reads the
tick rows' `img_per_s` (training time only: data, D and G steps, the all-reduces), the first tick
left out as warm-up.  Each worker gets `--threads` torch threads.  On a 2-core CPU two workers can
at best match one worker with two threads; the number to read is the overhead: how far 2 workers
fall below 2 x the 1-worker rate (the all-reduces, the gathered ADA logits, the synced BatchNorm,
and the cores the processes share).  With `--device cuda` it goes up to the GPUs torch sees.

Run: python -m benchmarks.workers [--workers 1,2] [--kimg 2.56] [--threads 1] [--device cpu|cuda]
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

import torch

from trainer.config import apply_overrides, preset
from trainer.hooks import CollectingHooks
from trainer.spawn import train_workers

FAST_METRICS = {"metrics.detector": "random", "metrics.fid_samples": 64, "metrics.fid_real": 128, "metrics.kid": False,
                "metrics.dout_samples": 16, "metrics.leakage": [], "metrics.sample_grid": 0, "metrics.every_ticks": 10_000,
                "run.checkpoint_ticks": 10_000}


def measure(workers: int, kimg: float, threads: int, device: str) -> dict[str, Any]:
    cfg = apply_overrides(preset("smoke"), {**FAST_METRICS, "run.workers": workers, "run.total_kimg": kimg,
                                            "run.tick_kimg": round(kimg / 5, 3), "run.threads": threads, "run.device": device})
    t0 = time.perf_counter()
    rows = train_workers(cfg, CollectingHooks())
    wall = time.perf_counter() - t0
    rates = [r["img_per_s"] for r in rows[1:]]
    return {"workers": workers, "img_per_s": statistics.median(rates), "img_per_s_ticks": rates,
            "per_worker_batch": cfg.run.batch // workers, "wall_s_with_startup": wall}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    p.add_argument("--kimg", type=float, default=2.56, help="training length per measurement (5 ticks)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = p.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    if args.device == "cuda":
        counts = [w for w in counts if w <= torch.cuda.device_count()]
    runs = [measure(w, args.kimg, args.threads, args.device) for w in counts]
    base = next((r["img_per_s"] for r in runs if r["workers"] == 1), None)
    for r in runs:
        if base:
            r["speedup"] = r["img_per_s"] / base
            r["efficiency"] = r["speedup"] / r["workers"]   # 1.0 = perfect scaling
    print(json.dumps({"preset": "smoke", "device": args.device, "threads_per_worker": args.threads,
                      "cpu_count": os.cpu_count(), "load_avg_1m": os.getloadavg()[0],
                      "torch": torch.__version__, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
