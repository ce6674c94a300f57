"""CUDA half of benchmarks/train_step.py: the paper step's sec/kimg and peak memory, and `tiny` trials packed on one GPU.

Why a second figure: the catalog gives a `tiny` trial a fractional GPU share
(sweeps/catalog.py), so Ray runs 1/share of them on one card at once, each in
its own process.  Whether that pays is their summed img/s against one trial
alone, which only a real GPU can say; this measures exactly that, with the
same number of concurrent processes Ray would start.

A worker (`python -m benchmarks.gpu_packing --worker PRESET --kimg K`) times
`minibatch_step` for K kimg on CUDA after a warm-up and prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from typing import Any

import torch

from sweeps.catalog import get_sweep
from trainer.config import apply_overrides, preset

PAPER_CUDA = {"run.device": "cuda", "data.resolution": 256, "run.batch": 64}


def time_on_cuda(name: str, kimg: float, overrides: dict[str, Any] | None = None, device: str = "cuda") -> dict[str, Any]:
    """sec/kimg, img/s and peak memory of `name`'s step on the GPU, over whole lazy cycles covering >= kimg.

    device="cpu" runs the same code without the CUDA calls: it is how this path is checked on a machine
    without a GPU (the figures are then meaningless)."""
    from benchmarks.train_step import cycle, make_reals, make_state
    from trainer.step import minibatch_step
    cuda = device == "cuda"
    cfg = apply_overrides(preset(name), {**(PAPER_CUDA if name == "paper" else {}), "run.device": device, **(overrides or {})})
    st = make_state(cfg)
    reals = make_reals(cfg, st.setup.device)
    n = cycle(cfg)
    for _ in range(n):                       # warm-up: cuDNN autotuning, allocator, every kind of step
        minibatch_step(st, reals)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    chunks = max(1, math.ceil(kimg * 1000 / (n * cfg.run.batch)))
    t0 = time.perf_counter()
    for _ in range(chunks * n):
        minibatch_step(st, reals)
    if cuda:
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    images = chunks * n * cfg.run.batch
    return {"preset": name, "resolution": cfg.data.resolution, "batch": cfg.run.batch, "amp_dtype": str(st.setup.amp_dtype),
            "amp_blocks": cfg.model.amp_blocks, "images_timed": images, "sec_per_kimg": round(dt / images * 1000, 2),
            "images_per_s": round(images / dt, 1), "peak_gpu_mem_gb": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None}


def tiny_packing(kimg: float, device: str = "cuda") -> dict[str, Any]:
    """1/share concurrent `tiny` workers (Ray's packing) and one alone; their total img/s."""
    share = get_sweep("fixed_p_grid").resources["tiny"].gpu
    per_gpu = int(1 // share) if share > 0 else 1

    def launch(k: int) -> list[dict[str, Any]]:
        cmd = [sys.executable, "-m", "benchmarks.gpu_packing", "--worker", "tiny", "--kimg", str(kimg), "--device", device]
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ}) for _ in range(k)]
        return [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]

    alone = launch(1)[0]
    packed = launch(per_gpu)
    return {"tiny_gpu_share": share, "trials_per_gpu": per_gpu, "alone_images_per_s": alone["images_per_s"],
            "packed_images_per_s_each": [r["images_per_s"] for r in packed],
            "packed_total_images_per_s": round(sum(r["images_per_s"] for r in packed), 1),
            "packed_peak_gpu_mem_gb_each": [r["peak_gpu_mem_gb"] for r in packed]}


def bench_cuda(presets: list[str], kimg: float) -> dict[str, Any]:
    """The GPU figures, or why there are none."""
    if not torch.cuda.is_available():
        return {"available": False, "reason": "torch.cuda.is_available() is False on this machine (no GPU or no driver)"}
    out: dict[str, Any] = {"available": True, "gpu": torch.cuda.get_device_name(0),
                           "reference": "ADA paper256, one V100: 21.6-24.2 sec/kimg, 5.0 GB"}
    if "paper" in [p.strip() for p in presets]:
        out["paper"] = time_on_cuda("paper", kimg)
        out["paper_no_pl_mix"] = time_on_cuda("paper", kimg, {"loss.pl_weight": 0.0, "loss.style_mixing": 0.0})
    out["tiny_packing"] = tiny_packing(kimg)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", required=True, help="preset to time on CUDA")
    ap.add_argument("--kimg", type=float, default=2.0)
    ap.add_argument("--device", choices=("cuda", "cpu"), default="cuda", help="cpu: only to check this code path")
    args = ap.parse_args()
    print(json.dumps(time_on_cuda(args.worker, args.kimg, device=args.device)))


if __name__ == "__main__":
    main()
