"""What a sweep will cost, printed at the end of `--dry-run`: trials x kimg, and the hours that implies at a stated rate.

The rate is always named with where it comes from, because a wall-time
estimate is only as good as its rate:

- `smoke` and `tiny`: measured on this project's 2-core CPU machine with
  `python -m trainer --preset smoke --out /tmp/i19/smoke` (12 kimg, FID every
  tick: 10.1 s of training wall time, 0.84 s/kimg) and `python -m trainer
  --preset tiny --out /tmp/i19/tiny --set run.total_kimg=20` (FID at tick 5:
  44.7 s, 2.2 s/kimg), one thread per trial, 2026-12-02.  Per trial, per core;
  process and Ray start-up not included.  That is the low end for `tiny`; the
  high end is a whole catalog sweep as it runs: `python -m sweeps.launch
  leakage_grid --scale tiny --seeds 3` took 3 327 s for 18 trials x 120 kimg,
  two at a time on the 2 cores, with its metric ticks (FID, KID, D outputs,
  leak measures every 5 ticks), Ray start-up and the report: 3.1 s/kimg per
  trial (2026-12-02, docs/tiny-results.md).
- `paper`: ADA's published training speed for 256x256 on one V100, 21.6-24.2
  sec/kimg (Karras et al. 2020, as quoted in issue 19; not re-measured here,
  we have no V100); a range, so the hours are a range too.

The serial figure (sum over trials) is the bill; the wall time divides it by
how many trials run at once, which the resources per trial and the cluster
decide, so we state both the bill and the wall time at a given concurrency.
"""

from __future__ import annotations

from dataclasses import dataclass

from sweeps.spec import Trial


@dataclass(frozen=True)
class Rate:
    """Seconds of one trial's wall time per kimg, a low-high range, and where the number comes from."""

    low: float
    high: float
    unit: str       # what one trial occupies while it runs, e.g. "V100" or "CPU core"
    source: str


RATES: dict[str, Rate] = {
    "smoke": Rate(0.84, 0.84, "CPU core", "measured: smoke preset, 1 thread, 2-core CPU machine of this project"),
    "tiny": Rate(2.2, 3.1, "CPU core", "measured on this project's 2-core CPU machine, 1 thread per trial: one trial "
                 "alone with one FID tick, and a whole tiny sweep two at a time with its metric ticks"),
    "paper": Rate(21.6, 24.2, "V100", "ADA paper's published 21.6-24.2 sec/kimg at 256x256 on one V100"),
}


def _hours(seconds: float) -> str:
    h = seconds / 3600.0
    if h >= 100:
        return f"{h:,.0f}"
    if h >= 1:
        return f"{h:.1f}"
    return f"{h:.2f}"


def budget_lines(trials: list[Trial], scale: str, concurrent: int | None = None) -> list[str]:
    """The lines `--dry-run` ends with: total kimg, unit-hours at the scale's rate, and wall time at `concurrent` at once."""
    kimgs = [t.config.run.total_kimg for t in trials]
    total = sum(kimgs)
    same = len(set(kimgs)) == 1
    per = f"{len(trials)} trials x {kimgs[0]:g} kimg" if same and kimgs else f"{len(trials)} trials"
    rate = RATES[scale]
    lo, hi = total * rate.low, total * rate.high
    span = (lambda a, b: _hours(a) if _hours(a) == _hours(b) else f"{_hours(a)}-{_hours(b)}")
    srate = f"{rate.low:g}" if rate.low == rate.high else f"{rate.low:g}-{rate.high:g}"
    lines = [f"budget: {per} = {total:,.0f} kimg",
             f"cost: {span(lo, hi)} {rate.unit}-hours at {srate} s/kimg per trial ({rate.source})"]
    n = max(1, min(concurrent or 1, len(trials) or 1))
    lines.append(f"wall time: {span(lo / n, hi / n)} h with {n} trial{'s' if n > 1 else ''} at a time"
                 + ("" if concurrent else " (divide by the trials you run at once)"))
    workers = max((t.config.run.workers for t in trials), default=1)
    if workers > 1:
        lines.append(workers_line(trials[0], workers))
    return lines


def workers_line(trial: Trial, workers: int) -> str:
    """What run.workers=N changes: N bundles per trial, wall time per trial at best 1/N, unit-hours not fewer."""
    r = trial.resources
    return (f"workers: {workers} per trial, each {r.cpu:g} CPU + {r.gpu:g} GPU, so a trial takes {r.cpu * workers:g} CPU + "
            f"{r.gpu * workers:g} GPU placed together ({r.placement}); its wall time is at best 1/{workers} of the above "
            f"and its unit-hours are not fewer (the reference's paper256: 4.4-5.5 s/kimg on 8 V100s against 21.6-24.2 "
            f"on one, stylegan2-ada-pytorch README; CPU overhead: benchmarks/workers.py)")
