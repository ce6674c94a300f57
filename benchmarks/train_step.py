"""Benchmark: one training minibatch per preset -- images/s and FLOP/s on CPU; sec/kimg, memory and packing on CUDA.

What is timed is `trainer.step.minibatch_step` (the phases Gmain, Greg, Dmain, Dreg: path-length
regularisation, R1 and style mixing when the preset has them; EMA), with the preset's augmentation at p=0.6
for ADA pipes, over whole cycles of the lazy intervals so the regularisers are amortised exactly.

CPU (`--device cpu`, the default): images/s (wall clock) and CPU-seconds per kimg (process time: on a shared
machine it moves far less with the load than the wall clock) side by side with no augmentation and, for
`paper`, without PL and style mixing (the paper path's extra cost, measured in the same run); FLOPs per image
(torch.utils.flop_counter over one minibatch of each phase set, amortised the same way) against a large fp32
matmul on the same threads.  `paper` runs at a reduced resolution, batch and width on CPU (CPU_PAPER;
`--resolution`, `--batch`).

Side by side with the reference (`--reference PATH`, a stylegan2-ada-pytorch checkout outside this
repository): for `paper`, the reference's own minibatch at the same sizes (benchmarks/reference_step.py),
timed alternately with ours in the same repeats; `reference_*` keys and the ratios ours / reference.

CUDA (`--device cuda`): `paper` at 256x256, batch 64 -- sec/kimg and peak GPU
memory (ADA's own table: 21.6-24.2 sec/kimg on one V100, 5.0 GB) -- and the catalog's
fractional packing: as many `tiny` trials as one GPU holds (1 / the tiny GPU share)
run at once in separate processes, as Ray would, and their total img/s
(benchmarks/gpu_packing.py).  Without a GPU it says so in the JSON and on stderr,
and runs the CPU part.

Run: python -m benchmarks.train_step [--presets smoke,tiny,paper] [--device cpu|cuda] [--seconds 3] [--repeats 3]
     [--reference PATH]
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import Counter
from typing import Any, Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from trainer.config import TrainConfig, apply_overrides, preset
from trainer.device import resolve_device
from trainer.phases import phases_at, schedule
from trainer.state import TrainState
from trainer.step import minibatch_step

# paper's depth (8 mapping layers), intervals and regularisers on CPU, at 32 px, batch 8 and 1/8 of the widths:
# at full width one 32-px step of batch 8 costs ~1 TFLOP, minutes per lazy cycle on a shared 2-core machine
CPU_PAPER = {"data.resolution": 32, "run.batch": 8, "model.channel_base": 2048, "model.channel_max": 64}
NO_PL_MIX = {"loss.pl_weight": 0.0, "loss.style_mixing": 0.0}


def matmul_flops_per_s(n: int = 2048, seconds: float = 2.0) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def make_state(cfg: TrainConfig) -> TrainState:
    st = TrainState(cfg, resolve_device(cfg.run), resolution=cfg.data.resolution, channels=3, train_size=cfg.run.batch)
    if st.aug.pipe is not None:
        st.aug.pipe.p = 0.6
    return st


def make_reals(cfg: TrainConfig, device: torch.device) -> torch.Tensor:
    r = cfg.data.resolution
    return (torch.rand((cfg.run.batch, 3, r, r), generator=torch.Generator().manual_seed(0)) * 2 - 1).to(device)


def cycle(cfg: TrainConfig) -> int:
    """Minibatches after which every lazy regulariser has run its share: lcm of the active intervals."""
    lc = cfg.loss
    n = lc.r1_interval if lc.r1_gamma > 0 else 1
    return math.lcm(n, lc.pl_interval) if lc.pl_weight > 0 else n


class _GlobalOnly:
    """Stand-in for FlopCounterMode's module tracker: attribute every FLOP to "Global" only.

    The real tracker hooks module inputs, which breaks autograd.grad on a leaf
    (R1's reals) under this torch version; per-module attribution is not needed here.
    """

    parents = ("Global",)

    def __enter__(self) -> "_GlobalOnly":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _flops(run: Callable[[], None]) -> float:
    fc = FlopCounterMode(display=False)
    fc.mod_tracker = _GlobalOnly()
    with fc:
        run()
    return float(fc.get_total_flops())


def cycle_flops_per_image(cfg: TrainConfig, run_at: Callable[[int], None]) -> float:
    """FLOPs of a whole lazy cycle / its images: `run_at(index)` runs minibatch `index` (which phases run depends
    only on it); each set of phases a minibatch can run is counted once, weighted by how often it occurs."""
    n = cycle(cfg)
    kind = [tuple(p.name for p in phases_at(schedule(cfg.loss), k)) for k in range(n)]
    total = sum(count * _flops(lambda k=k: run_at(kind.index(k))) for k, count in Counter(kind).items())
    return total / (n * cfg.run.batch)


def flops_per_image(cfg: TrainConfig) -> float:
    """Our step's FLOPs per image over a lazy cycle."""
    st, reals = make_state(cfg), make_reals(cfg, torch.device("cpu"))

    def run_at(index: int) -> None:
        st.d_steps = index
        minibatch_step(st, reals)
    return cycle_flops_per_image(cfg, run_at)


def timed(run_chunk: Callable[[], None], chunk: int, batch: int, seconds: float) -> tuple[float, float, int]:
    """(images/s on the wall clock, CPU-seconds per kimg, minibatches) of whole chunks run for >= `seconds`."""
    steps, t0, c0 = 0, time.perf_counter(), time.process_time()
    while steps == 0 or time.perf_counter() - t0 < seconds:
        run_chunk()
        steps += chunk
    images = steps * batch
    return images / (time.perf_counter() - t0), (time.process_time() - c0) / images * 1000, steps


def images_per_s(cfg: TrainConfig, seconds: float, chunk: int) -> tuple[float, float, int]:
    """Time whole chunks of `chunk` steps (whole lazy-regulariser cycles) for >= `seconds`."""
    st = make_state(cfg)
    reals = make_reals(cfg, st.setup.device)
    minibatch_step(st, reals)   # warm-up (allocations, first R1 and PL)
    st.d_steps = 0

    def run() -> None:
        for _ in range(chunk):
            minibatch_step(st, reals)
    return timed(run, chunk, cfg.run.batch, seconds)


def cpu_variants(name: str, resolution: int | None, batch: int | None) -> dict[str, TrainConfig]:
    shrink: dict[str, Any] = {"run.device": "cpu"}
    if name == "paper":
        shrink.update(CPU_PAPER)
    if resolution is not None:
        shrink["data.resolution"] = resolution
    if batch is not None:
        shrink["run.batch"] = batch
    cfg = apply_overrides(preset(name), shrink)
    out = {"": cfg, "no_aug_": apply_overrides(cfg, {"augment.mode": "none"})}
    if cfg.loss.pl_weight > 0 or cfg.loss.style_mixing > 0:
        out["no_pl_mix_"] = apply_overrides(cfg, NO_PL_MIX)
    return out


def _best(a: tuple[float, float, int], b: tuple[float, float, int]) -> tuple[float, float, int]:
    """The least disturbed of two timings: the higher images/s and the lower CPU-seconds per kimg."""
    if a[0] == 0:
        return b
    return (max(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]))


def bench_cpu(name: str, seconds: float, repeats: int, resolution: int | None, batch: int | None,
              reference: str | None = None) -> dict[str, Any]:
    """The variants side by side, alternating `repeats` times with a matmul reference, the best of each kept:
    on a shared machine the best run is the one least disturbed by other processes."""
    variants = cpu_variants(name, resolution, batch)
    cfg = variants[""]
    timers: dict[str, Callable[[], tuple[float, float, int]]] = {
        label: (lambda c=c: images_per_s(c, seconds, cycle(c))) for label, c in variants.items()}
    ref_fpi = 0.0
    if reference is not None and cfg.model.arch == "stylegan2":
        from benchmarks.reference_step import import_reference, reference_flops_per_image, reference_images_per_s
        ref = import_reference(reference)
        reals = make_reals(cfg, torch.device("cpu"))
        timers["reference_"] = lambda: reference_images_per_s(cfg, ref, reals, seconds, cycle(cfg), p=0.6, timer=timed)
        ref_fpi = reference_flops_per_image(cfg, ref, reals, p=0.6, count=cycle_flops_per_image)
    best = {label: (0.0, math.inf, 0) for label in timers}
    peak = 0.0
    for _ in range(repeats):
        peak = max(peak, matmul_flops_per_s(seconds=1.0))
        for label, timer in timers.items():
            best[label] = _best(best[label], timer())
    peak = max(peak, matmul_flops_per_s(seconds=1.0))   # once more: a disturbed reference would inflate the fraction
    out: dict[str, Any] = {"device": "cpu", "arch": cfg.model.arch, "resolution": cfg.data.resolution, "batch": cfg.run.batch,
                           "channel_base": cfg.model.channel_base, "channel_max": cfg.model.channel_max,
                           "mapping_layers": cfg.model.mapping_layers, "pl_weight": cfg.loss.pl_weight,
                           "style_mixing": cfg.loss.style_mixing, "augment": cfg.augment.mode, "augpipe": cfg.augment.augpipe,
                           "p": 0.6, "matmul_fp32_gflop_per_s": round(peak / 1e9, 2)}
    for label, (ips, cpu_s, steps) in best.items():
        out.update({f"{label}steps_timed": steps, f"{label}images_per_s": round(ips, 3),
                    f"{label}sec_per_kimg": round(1000 / ips, 1) if ips > 0 else None,
                    f"{label}cpu_sec_per_kimg": round(cpu_s, 1)})
        if label in variants or label == "reference_":
            fpi = flops_per_image(variants[label]) if label in variants else ref_fpi
            out.update({f"{label}gflop_per_image": round(fpi / 1e9, 4), f"{label}achieved_gflop_per_s": round(ips * fpi / 1e9, 3),
                        f"{label}fraction_of_matmul": round(ips * fpi / peak, 4)})
    if "no_pl_mix_" in best and best["no_pl_mix_"][0] > 0 and best[""][0] > 0:
        out["pl_mix_extra_time_fraction"] = round(best["no_pl_mix_"][0] / best[""][0] - 1, 4)
    if "reference_" in best:   # > 1: ours takes longer than the reference for the same work
        out["ours_over_reference_wall"] = round(best["reference_"][0] / best[""][0], 3)
        out["ours_over_reference_cpu"] = round(best[""][1] / best["reference_"][1], 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="smoke,tiny,paper")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                    help="cuda: paper at 256x256 batch 64 (sec/kimg, peak memory) and tiny packing; the CPU part always runs")
    ap.add_argument("--seconds", type=float, default=3.0, help="minimum timing per variant and repeat")
    ap.add_argument("--repeats", type=int, default=3, help="alternating repeats; the best of each is kept")
    ap.add_argument("--resolution", type=int, default=None, help=f"CPU resolution override (paper default {CPU_PAPER['data.resolution']})")
    ap.add_argument("--batch", type=int, default=None, help=f"CPU batch override (paper default {CPU_PAPER['run.batch']})")
    ap.add_argument("--cuda-kimg", type=float, default=2.0, help="kimg timed per CUDA measurement")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 is steadiest on a shared machine)")
    ap.add_argument("--reference", default=None, metavar="PATH",
                    help="a stylegan2-ada-pytorch checkout: also time its own minibatch at paper's CPU sizes, side by side")
    args = ap.parse_args()
    if args.reference is not None:     # a bad checkout is refused before minutes of timing
        from benchmarks.reference_step import import_reference
        import_reference(args.reference)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    # the load average says how shared the machine was (2 shared cores: numbers move by several x under load)
    out: dict[str, Any] = {"threads": torch.get_num_threads(), "load_avg_1min_before": round(os.getloadavg()[0], 2), "presets": {}}
    if args.device == "cuda":
        from benchmarks.gpu_packing import bench_cuda
        out["cuda"] = bench_cuda(args.presets.split(","), args.cuda_kimg)
        if not out["cuda"]["available"]:
            print(f"cuda unavailable: {out['cuda']['reason']}; running the CPU part only", file=sys.stderr)
    for name in args.presets.split(","):
        out["presets"][name.strip()] = bench_cpu(name.strip(), args.seconds, args.repeats, args.resolution, args.batch,
                                             args.reference)
    out["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
