"""`python -m sweeps.status RESULTS [--watch]`: where a sweep stands, one row per trial and a total line.

RESULTS is a sweep folder, a storage root holding several, or a URI.  It reads
only what the trial processes write as they go -- the status records
`trials/<id>.json` and the Parquet parts under `metrics/` -- and `sweep.json`
for the grid, so it works while a sweep runs (from any machine that sees the
storage, with no Ray connection) and after it ends.

Time left per trial is its remaining kimg at its recent speed (kimg per wall
second over its newest attempt's rows, metrics ticks included); the sweep's
expected finish is all remaining kimg over the summed speed of the trials
running now, so it assumes the same number keep running.  The same total line
is what the launcher prints at least once a minute (`total_line`).

A trial whose record says RUNNING but that has written nothing (no tick part,
no status update) for much longer than its own slowest tick is shown as
STALLED: a driver or machine that was killed outright (SIGKILL, power, a
preempted node) cannot mark its trials, so without this `--watch` would wait
for them forever and the expected finish would count their speed.  The limit
is `stall_after_s`; `python -m sweeps.launch NAME --resume` continues them.
A launch stopped with Ctrl-C marks its running trials PAUSED on the way out
(sweeps.runner), so the total line says "interrupted" at once.
"""

from __future__ import annotations

import math
import posixpath
import sys
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow.fs as pafs

from resultsformat.layout import METRICS_DIR, SWEEP_FILE
from resultsformat.statuses import ENDED, ERROR, PAUSED, PENDING, RUNNING, TERMINATED, at_budget
from sweeps.store import FLUSH_S, SweepStore, resolve_storage
from trainer.errors import OneLineArgumentParser, UserInputError

STALLED = "STALLED"
STOPPED = (*ENDED, STALLED, PAUSED)   # nothing more will happen without a --resume
STALL_FLOOR_S = 900.0      # never call a trial stalled sooner: a metrics tick at `paper` takes minutes
STALL_NO_ROWS_S = 3600.0   # before its first tick a trial may build a dataset and FID reference statistics
STALL_FACTOR = 3.0         # ... or before 3 x its slowest tick so far (plus the row buffer's flush interval)


def stall_after_s(tick_seconds: list[float]) -> float:
    """Silence after which a RUNNING trial counts as stalled, from the wall seconds its ticks took so far."""
    if not tick_seconds:
        return STALL_NO_ROWS_S
    return max(STALL_FLOOR_S, STALL_FACTOR * (max(tick_seconds) + FLUSH_S))


@dataclass(frozen=True)
class TrialState:
    """One trial's progress as the status command shows it."""

    index: int
    status: str
    attempt: int | None
    kimg: float
    total_kimg: float
    img_per_s: float | None
    kimg_per_s: float | None
    best_fid: float | None
    p: float | None
    silent_s: float | None = None   # seconds since the trial last wrote a part or its status record

    @property
    def seconds_left(self) -> float | None:
        if self.status in STOPPED:
            return 0.0
        if not self.kimg_per_s:
            return None
        return max(0.0, self.total_kimg - self.kimg) / self.kimg_per_s


def _sweep_names(fs: pafs.FileSystem, root: str) -> list[str]:
    """Names of ROOT's subfolders that hold a sweep record."""
    return sorted(c.base_name for c in fs.get_file_info(pafs.FileSelector(root, recursive=False))
                  if c.type == pafs.FileType.Directory
                  and fs.get_file_info(posixpath.join(c.path, SWEEP_FILE)).type == pafs.FileType.File)


def find_stores(results: str) -> list[SweepStore]:
    """The sweeps under RESULTS (a sweep folder, a storage root, a root of parts, or a URI); one line on bad input.

    A root of parts is what a sweep run in parts leaves: one `--storage runs/<part>` per launch, so
    `runs/<part>/<sweep>/`.  It is looked into only when RESULTS holds no sweep itself, as `analysis.report runs/`
    does, so that one `sweeps.status runs/` follows every part of the plan."""
    fs, root, _ = resolve_storage(results)
    info = fs.get_file_info(root)
    if info.type != pafs.FileType.Directory:
        raise UserInputError(f"{results}: no such results folder")
    if fs.get_file_info(posixpath.join(root, SWEEP_FILE)).type == pafs.FileType.File:
        parent = results.rstrip("/").rsplit("/", 1)[0] if "/" in results.rstrip("/") else "."
        return [SweepStore(parent, posixpath.basename(root))]
    stores = [SweepStore(results, n) for n in _sweep_names(fs, root)]
    if not stores:
        parts = sorted(c.base_name for c in fs.get_file_info(pafs.FileSelector(root, recursive=False))
                       if c.type == pafs.FileType.Directory and not c.base_name.startswith("."))
        base = results.rstrip("/")
        stores = [SweepStore(f"{base}/{part}", n) for part in parts for n in _sweep_names(fs, posixpath.join(root, part))]
    if not stores:
        raise UserInputError(f"{results}: no sweep here (no {SWEEP_FILE} in it, in its subfolders or in theirs)")
    return stores


def _totals(record: dict[str, Any]) -> dict[int, float]:
    """total_kimg per trial index, from the recorded spec expanded again (no Ray, no torch), with the seeds the
    sweep was launched with: the catalog's default count would list seeds never trained, or drop some."""
    from sweeps.spec import SweepSpec, expand
    try:
        trials = expand(SweepSpec.model_validate(record["spec"]), record["scale"], list(record.get("set", [])),
                        record.get("seeds"))
    except (KeyError, ValueError, UserInputError):
        return {}
    return {t.index: t.config.run.total_kimg for t in trials}


def trial_states(store: SweepStore, now: float | None = None, skipped: list[str] | None = None) -> list[TrialState]:
    """One TrialState per trial of the sweep's grid (PENDING where nothing has been written yet).

    skipped: receives one note per metric part that could not be read (left out; every other part is read)."""
    now = time.time() if now is None else now
    record = store.read_json(SWEEP_FILE) or {}
    totals = _totals(record)
    indices = sorted({int(t["trial"]) for t in record.get("trials", [])} | set(totals))
    records = {int(r["trial_index"]): r for r in store.read_statuses().values() if "trial_index" in r}
    rows = store.read_metrics() if store.exists(METRICS_DIR) else pd.DataFrame()
    if skipped is not None:
        skipped += rows.attrs.get("skipped_parts", [])
    out = []
    for i in indices:
        rec = records.get(i, {})
        mine = rows[rows["trial_index"] == i].sort_values("tick") if len(rows) else rows
        out.append(_state(i, rec, mine, totals.get(i, float("nan")), now, bool(record.get("extensions"))))
    return out


def _silence(rec: dict[str, Any], rows: pd.DataFrame, now: float) -> tuple[float | None, list[float]]:
    """(seconds since the trial's last write, wall seconds of each tick of its newest attempt)."""
    writes = [float(rec["updated_at"])] if rec.get("updated_at") is not None else []
    if len(rows) and "written_at" in rows and rows["written_at"].notna().any():
        writes.append(float(rows["written_at"].max()))
    ticks: list[float] = []
    if len(rows) and "wall_s" in rows:
        newest = rows[rows["attempt"] == rows["attempt"].max()] if "attempt" in rows else rows
        wall = newest["wall_s"].dropna().astype(float).tolist()
        # between consecutive ticks; a lone first tick counts from 0 (over-long after a resume, which only waits longer)
        ticks = [y - x for x, y in zip(wall[:-1], wall[1:]) if y >= x] if len(wall) > 1 else wall
    return (now - max(writes) if writes else None), ticks


def _state(index: int, rec: dict[str, Any], rows: pd.DataFrame, total: float, now: float,
           extended: bool = False) -> TrialState:
    last = rows.iloc[-1] if len(rows) else None
    status = str(rec.get("status", PENDING))
    silent, ticks = _silence(rec, rows, now)
    if status == RUNNING and silent is not None and silent > stall_after_s(ticks):
        status = STALLED
    kimg = float(last["kimg"]) if last is not None else 0.0
    if extended:   # sweep.json records a raised budget: a trial it has not reached yet is not done
        status = at_budget(status, kimg, None if math.isnan(total) else total)
    speed = None
    if len(rows):
        newest = rows[rows["attempt"] == rows["attempt"].max()] if "attempt" in rows else rows
        if len(newest) >= 2 and float(newest["wall_s"].iloc[-1]) > float(newest["wall_s"].iloc[0]):
            speed = (float(newest["kimg"].iloc[-1]) - float(newest["kimg"].iloc[0])) / \
                    (float(newest["wall_s"].iloc[-1]) - float(newest["wall_s"].iloc[0]))
        elif float(newest["wall_s"].iloc[-1]) > 0:
            speed = float(newest["kimg"].iloc[-1]) / float(newest["wall_s"].iloc[-1])
    fids = rows["fid"].dropna() if "fid" in rows else pd.Series(dtype=float)
    p = rows["p"].dropna() if "p" in rows else pd.Series(dtype=float)
    img = float(last["img_per_s"]) if last is not None and pd.notna(last.get("img_per_s")) else None
    return TrialState(index, status, rec.get("attempt"), kimg, total, img, speed,
                      float(fids.min()) if len(fids) else None, float(p.iloc[-1]) if len(p) else None, silent)


def _dur(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def interrupted(states: list[TrialState]) -> bool:
    """Whether the sweep's last launch was interrupted: trials it stopped (PAUSED), and nothing runs now."""
    return any(t.status == PAUSED for t in states) and not any(t.status == RUNNING for t in states)


def total_line(states: list[TrialState], now: float | None = None) -> str:
    """'total: 3/18 done, 2 running, 0 errored; 24.0/72 kimg (33%); expected finish 12:34:56 (in 2m10s)'."""
    now = time.time() if now is None else now
    count = {s: sum(t.status == s for t in states) for s in (TERMINATED, RUNNING, ERROR)}
    done = sum(min(t.kimg, t.total_kimg) if not math.isnan(t.total_kimg) else t.kimg for t in states)
    total = sum(t.total_kimg for t in states if not math.isnan(t.total_kimg))
    left = sum(max(0.0, t.total_kimg - t.kimg) for t in states if t.status not in ENDED and not math.isnan(t.total_kimg))
    speed = sum(t.kimg_per_s or 0.0 for t in states if t.status == RUNNING)
    stalled = [t for t in states if t.status == STALLED]
    paused = sum(t.status == PAUSED for t in states)
    if interrupted(states):
        finish = "interrupted: --resume continues it"
    elif stalled and all(t.status in STOPPED for t in states):
        finish = "stopped: no trial has written anything for " + _dur(min(t.silent_s or 0.0 for t in stalled)) + \
                 " (was the sweep killed? --resume continues it)"
    elif left == 0:
        finish = "finished" if all(t.status in ENDED for t in states) else "expected finish ?"
    elif speed > 0:
        finish = f"expected finish {time.strftime('%H:%M:%S', time.localtime(now + left / speed))} (in {_dur(left / speed)})"
    elif count[RUNNING]:   # trials started, none has finished a tick yet: no speed to extrapolate
        finish = "expected finish ? (no tick timed yet)"
    else:
        finish = "expected finish ? (no trial running)"
    pct = f" ({100 * done / total:.0f}%)" if total else ""
    stalls = (f", {len(stalled)} stalled" if stalled else "") + (f", {paused} paused" if paused else "")
    return (f"total: {count[TERMINATED]}/{len(states)} done, {count[RUNNING]} running{stalls}, {count[ERROR]} errored; "
            f"{done:.1f}/{total:g} kimg{pct}; {finish}")


def table(store: SweepStore, states: list[TrialState], now: float | None = None) -> str:
    head = ["trial", "status", "attempt", "kimg", "img/s", "left", "best_fid", "p"]
    rows = [[f"{t.index}", t.status, "-" if t.attempt is None else str(t.attempt), f"{t.kimg:.1f}/{t.total_kimg:g}",
             "-" if t.img_per_s is None else f"{t.img_per_s:.0f}",
             _dur(t.seconds_left) if t.status not in STOPPED else "-",
             "-" if t.best_fid is None else f"{t.best_fid:.4g}", "-" if t.p is None else f"{t.p:.3f}"] for t in states]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    lines = [f"sweep {store.sweep} ({store.uri})", "  ".join(h.ljust(w) for h, w in zip(head, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join([*lines, total_line(states, now)])


def render(results: str, now: float | None = None, skipped: list[str] | None = None) -> tuple[str, bool]:
    """The status text of every sweep under RESULTS, and whether all of them have ended (or stalled).

    skipped: receives one note per unreadable metric part (trial_states)."""
    parts, ended = [], True
    for store in find_stores(results):
        states = trial_states(store, now, skipped)
        parts.append(table(store, states, now))
        ended = ended and (interrupted(states) or all(t.status in STOPPED for t in states))
    return "\n\n".join(parts), ended


def main(argv: list[str] | None = None) -> int:
    p = OneLineArgumentParser(prog="python -m sweeps.status",
                              description="Progress of a sweep: one row per trial and the expected finish.")
    p.add_argument("results", help="a sweep folder, a storage root or a URI (s3://, gs://, file://)")
    p.add_argument("--watch", action="store_true", help="redraw every few seconds until every trial has ended (or stalled)")
    p.add_argument("--every", type=float, default=5.0, metavar="S", help="seconds between redraws with --watch (default 5)")
    try:
        args = p.parse_args(argv)
        if args.every <= 0:
            raise UserInputError(f"--every must be > 0, got {args.every}")
        warned: set[str] = set()   # each unreadable part is named once, not at every redraw
        skipped: list[str] = []
        text, ended = render(args.results, skipped=skipped)
        while True:
            for note in dict.fromkeys(n for n in skipped if n not in warned):
                print(f"warning: {note}", file=sys.stderr, flush=True)
                warned.add(note)
            print(("\x1b[H\x1b[2J" if args.watch and sys.stdout.isatty() else "") + text, flush=True)
            if not args.watch or ended:
                return 0
            time.sleep(args.every)
            skipped = []
            text, ended = render(args.results, skipped=skipped)
    except UserInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
