"""Objects in the store and `load_metrics` time for a running paper-scale sweep, without and with incremental compaction.

Prints one JSON object.  The real writer (`SweepStore` + `RowBuffer`, real Parquet
parts of realistic ~55-column tick rows) is driven by a simulated paper clock:
a tick takes minutes, longer than the 30 s flush interval, so every tick is its
own flush; a checkpoint every 50 ticks (the paper preset's `run.checkpoint_ticks`).
The sweep is `fixed_p_grid` at paper scale, 267 trials x 6 250 ticks (25 000 kimg
at 4 kimg per tick), seen while `--running` trials are mid-way (spread evenly
over their budget), `--finished` are done and the rest pending.

- `before`: the store as it was: a running attempt's parts merged only when the trial ends;
- `after`: parts merged at every checkpoint and every `COMPACT_EVERY` parts (sweeps.store).

Writing 267 x 6 250 parts takes hours, so `--tick-scale` (default 0.1) shortens every
trial to that fraction of its ticks.  Object counts are then also given extrapolated
to the full clock, per trial: a finished trial holds one object either way; a running
trial holds one per tick written before, and after at most COMPACT_EVERY + 1 whatever
its length (measured here, so not extrapolated).  `load_metrics_s` is measured on the
simulated store only.

    python -m benchmarks.store [--tick-scale 0.1] [--running 16] [--finished 120]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

PAPER_TRIALS, PAPER_TICKS, CHECKPOINT_TICKS = 267, 6250, 50


def tick_row(tick: int) -> dict[str, Any]:
    """A realistic tick row: every float column of the format filled, histograms at metric ticks (every 10th)."""
    from resultsformat import TICK_COLUMNS
    import pyarrow as pa
    row: dict[str, Any] = {c.name: 0.5 for c in TICK_COLUMNS if c.type == pa.float64() and c.group != "store"}
    row.update(tick=tick, kimg=4.0 * tick, wall_s=120.0 * tick, schema_version=1, scale="paper", seed=0,
               aug_mode="fixed", augpipe="bgc", dataset="zip:ffhq256.zip", dataset_size=10_000, mirror=False,
               resolution=256, detector="inception", trial_index=0, variant="fixed_p", sweep="fixed_p_grid")
    if tick % 10:
        row.update(fid=None, kid=None, leak_rot=None, leak_color=None, leak_blank=None)
    else:
        row.update({k: [0.03125] * 32 for k in ("D_hist_real_train", "D_hist_real_val", "D_hist_fake")},
                   D_hist_edges=[i / 8 - 2 for i in range(33)])
    return row


def _simulate(root: Path, *, incremental: bool, ticks: int, running: int, finished: int) -> dict[str, Any]:
    from sweeps.store import COMPACT_EVERY, RowBuffer, SweepStore
    store = SweepStore(str(root), "fixed_p_grid")
    for i in range(finished):            # a finished trial: its rows, then the end-of-trial compaction (as before)
        tid = f"fin{i:04d}"
        store.write_rows([tick_row(t) for t in range(1, ticks + 1)], trial_id=tid, attempt=0)
        store.compact(tid)   # (one part already: nothing to merge)
    done = [max(1, round(ticks * (k + 0.5) / running)) for k in range(running)]
    for k, n in enumerate(done):        # a running trial: one flush per tick, a checkpoint every 50 ticks
        buf = RowBuffer(store, f"run{k:04d}", 0, flush_s=0.0, compact_every=COMPACT_EVERY if incremental else 10**9)
        for t in range(1, n + 1):
            buf.add(tick_row(t))
            if t % CHECKPOINT_TICKS == 0:
                buf.flush(compact=incremental)
    names = [p.rsplit("/", 1)[-1] for p in store._parts()]
    per_running = [sum(n.startswith(f"run{k:04d}.") for n in names) for k in range(running)]
    from analysis import load_metrics
    t0 = time.perf_counter()
    m = load_metrics(store.root)
    load_s = time.perf_counter() - t0
    assert len(m) == finished * ticks + sum(done), "rows lost or doubled"
    return {"objects": len(names), "objects_per_running_trial_max": max(per_running), "ticks_done": done,
            "per_running": per_running, "rows": len(m), "load_metrics_s": round(load_s, 3)}


def run(tick_scale: float, running: int, finished: int) -> dict[str, Any]:
    from sweeps.store import COMPACT_EVERY
    ticks = max(1, round(PAPER_TICKS * tick_scale))
    out: dict[str, Any] = {"benchmark": "store", "paper": {"trials": PAPER_TRIALS, "ticks": PAPER_TICKS},
                           "simulated": {"ticks_per_trial": ticks, "running": running, "finished": finished,
                                         "pending": PAPER_TRIALS - running - finished, "compact_every": COMPACT_EVERY}}
    for label, incremental in (("before", False), ("after", True)):
        with tempfile.TemporaryDirectory(prefix="ganaug-bench-store-") as tmp:
            res = _simulate(Path(tmp), incremental=incremental, ticks=ticks, running=running, finished=finished)
        full_running = (sum(round(n / tick_scale) for n in res["ticks_done"]) if not incremental
                        else sum(res["per_running"]))
        out[label] = {"objects": res["objects"], "objects_per_running_trial_max": res["objects_per_running_trial_max"],
                      "rows": res["rows"], "load_metrics_s": res["load_metrics_s"],
                      "objects_at_paper_scale": finished + full_running}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tick-scale", type=float, default=0.1, help="fraction of the paper's 6 250 ticks simulated (1 = all)")
    p.add_argument("--running", type=int, default=16, help="trials mid-way (e.g. one per GPU of a 16-GPU cluster)")
    p.add_argument("--finished", type=int, default=120, help="trials already done")
    a = p.parse_args()
    print(json.dumps(run(a.tick_scale, a.running, a.finished)))


if __name__ == "__main__":
    main()
