"""Speed of the analysis path at sweep scale: load ~1M tick rows from Parquet and render every figure.

Figure of merit (issue #7): `load_metrics` + rendering every paper figure (PNG + SVG
and index.html) for ~1M synthetic tick rows (2,600 trials x 400 ticks across the
six sweeps, in the results-store layout with retries) in under 15 s on 2 cores.
Generation time is reported but not counted.  The machine's load average is
printed alongside, because other jobs on a 2-core box change wall times a lot;
CPU seconds are the load-independent number.

    python -m benchmarks.analysis [--seeds 9] [--ticks 400]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

GOAL_S = 15.0


def _cpu_s() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run(seeds: int, ticks: int, workdir: Path) -> dict:
    from analysis import load_metrics, load_trials
    from analysis.report import render_report
    from analysis.synthetic import write_store

    t0 = time.perf_counter()
    raw = write_store(workdir / "store", seeds=seeds, ticks=ticks)
    t1 = time.perf_counter()
    metrics = load_metrics(workdir / "store")
    t2 = time.perf_counter()
    trials = load_trials(workdir / "store")
    t3 = time.perf_counter()
    cpu0 = _cpu_s()
    index = render_report(str(workdir / "store"), str(workdir / "report"))
    t4 = time.perf_counter()
    cpu_report = _cpu_s() - cpu0
    figures = len(list(index.parent.glob("*.png")))
    return {
        "benchmark": "analysis", "rows_raw": raw, "rows_deduped": len(metrics), "trials": len(trials),
        "ticks_per_trial": ticks, "generate_s": round(t1 - t0, 2), "load_metrics_s": round(t2 - t1, 2),
        "load_trials_s": round(t3 - t2, 2), "figures_rendered": figures, "formats": ["png", "svg"],
        # the figure of merit: render_report = load_metrics + load_trials + every figure + tables + index.html
        "load_and_render_all_s": round(t4 - t3, 2), "load_and_render_all_cpu_s": round(cpu_report, 2),
        "render_only_s": round((t4 - t3) - (t2 - t1) - (t3 - t2), 2), "goal_s": GOAL_S,
        "meets_goal": bool(t4 - t3 < GOAL_S), "cores": os.cpu_count(), "loadavg_1min": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=9, help="seeds per grid point (9 -> ~2,600 trials)")
    parser.add_argument("--ticks", type=int, default=400, help="ticks per trial")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-analysis-") as tmp:
        print(json.dumps(run(args.seeds, args.ticks, Path(tmp))))


if __name__ == "__main__":
    main()
