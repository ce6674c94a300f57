"""trials.parquet and the end-of-sweep summary (docs/architecture.md "Results store": one row per trial).

The driver assembles trials.parquet from three sources, because none is
complete alone: the expanded grid (every trial, even those that never started),
the status records that trial processes wrote (attempt, error, pid), and Ray's
ResultGrid (errors of trials that died before writing a record, e.g. a killed
worker that ran out of retries).  Final metrics come from the deduplicated
Parquet rows, never from Ray's copies.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from resultsformat.layout import METRICS_DIR, SAMPLES_DIR, TRIALS_DIR, TRIALS_FILE
from resultsformat.statuses import ERROR, PENDING, RUNNING, STATUSES, TERMINATED, at_budget
from sweeps.spec import FRACTION_KEY, Trial
from sweeps.store import SweepStore
from trainer.config import flat_columns



def _final_metrics(rows: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {"best_fid": None, "final_fid": None, "final_kimg": None, "ticks": 0}
    if rows.empty:
        return out
    rows = rows.sort_values("tick")
    out["ticks"] = int(len(rows))
    out["final_kimg"] = float(rows["kimg"].iloc[-1])
    if "fid" in rows:
        fid = rows["fid"].dropna()
        if not fid.empty:
            out["best_fid"], out["final_fid"] = float(fid.min()), float(fid.iloc[-1])
    return out


def _status(record: dict[str, Any] | None, ray_error: str | None) -> tuple[str, str | None]:
    if record is None:
        return (ERROR, ray_error) if ray_error else (PENDING, None)
    status = record.get("status", RUNNING)
    if ray_error and status != TERMINATED:
        return ERROR, record.get("error") or ray_error
    return status, record.get("error") if status == ERROR else None


def missing_results(finished: dict[int, str], store: SweepStore, metrics: pd.DataFrame) -> dict[int, tuple[str, str]]:
    """Trial index -> (trial id, what is missing), for each trial Ray reports finished whose results are not in the store.

    A finished trial has written a final status record (TERMINATED, or ERROR for a diverged run, which ends
    without raising) and, unless it diverged, its tick rows.  Anything else means its writes went somewhere
    no reader looks (e.g. a relative --storage resolved in Ray's per-trial working directory) or were lost:
    the driver reports it rather than calling the trial pending.
    """
    records = store.read_statuses()
    with_rows = set(metrics["trial_id"]) if not metrics.empty and "trial_id" in metrics else set()
    out: dict[int, tuple[str, str]] = {}
    for idx, trial_id in finished.items():
        rec = records.get(trial_id)
        problems = []
        if rec is None:
            problems.append(f"no status record {TRIALS_DIR}/{trial_id}.json")
        elif rec.get("status") not in (TERMINATED, ERROR):
            problems.append(f"its status record still says {rec.get('status')}")
        if trial_id not in with_rows and not (rec or {}).get("diverged"):
            problems.append("no metrics rows")
        if problems:
            out[idx] = (trial_id, "finished in Ray, but " + " and ".join(problems) + f" in {store.uri}")
    return out


def build_trials(trials: list[Trial], store: SweepStore, ray_errors: dict[int, tuple[str, str]],
                 metrics: pd.DataFrame, vanished: dict[int, tuple[str, str]] | None = None,
                 extended: bool = False) -> pd.DataFrame:
    """One row per expanded trial: identity, status, error, retries, config JSON, final metrics, flat config columns.

    ray_errors: trial index -> (trial_id, first line of Ray's error) for trials Ray marked ERROR.
    vanished: `missing_results` (trial index -> (trial_id, what is missing)): those trials are ERROR, whatever
    their record says.  extended: the sweep's budget was raised (sweeps.extend), so a TERMINATED record whose rows
    end short of the budget is from the old one (PENDING); otherwise a TERMINATED record is taken as it is.
    """
    records = {int(r["trial_index"]): r for r in store.read_statuses().values() if "trial_index" in r}
    by_trial = dict(tuple(metrics.groupby("trial_id"))) if not metrics.empty else {}
    vanished = vanished or {}
    rows = []
    for t in trials:
        rec = records.get(t.index)
        ray_id, ray_err = ray_errors.get(t.index, (None, None))
        trial_id = (rec or {}).get("trial_id") or ray_id
        status, error = _status(rec, ray_err)
        if t.index in vanished:
            trial_id, error = vanished[t.index]
            status = ERROR
        attempt = int(rec["attempt"]) if rec else None
        row: dict[str, Any] = {
            "sweep": store.sweep, "trial_index": t.index, "trial_id": trial_id, "variant": t.variant,
            "status": status, "error": error, "retries": attempt or 0, "attempt": attempt,
            "scale": t.config.preset, "fraction": t.params.get(FRACTION_KEY),
            "params_json": json.dumps(t.params, sort_keys=True, default=str), "config_json": t.config.model_dump_json(),
        }
        row.update(_final_metrics(by_trial.get(trial_id, pd.DataFrame())))
        if extended:   # mid-extension: a trial the extension has not reached is not done
            row["status"] = at_budget(status, row["final_kimg"], t.config.run.total_kimg)
        row.update(flat_columns(t.config))
        rows.append(row)
    return pd.DataFrame(rows)


def summary_text(df: pd.DataFrame, store: SweepStore, report_index: str | None, interrupted: bool, resume_cmd: str) -> str:
    """The lines printed at the end of a sweep: counts, errors, where results are, what to run next."""
    counts = {s: int((df["status"] == s).sum()) for s in STATUSES}
    lines = [f"sweep {store.sweep}: {len(df)} trials - " + ", ".join(f"{n} {s.lower()}" for s, n in counts.items() if n)]
    for _, r in df[df["status"] == ERROR].iterrows():
        lines.append(f"  trial {r['trial_index']} ({r['trial_id']}) failed: {r['error']}")
    lines.append(f"results: {store.uri}  ({METRICS_DIR}/*.parquet, {TRIALS_FILE}, {SAMPLES_DIR}/)")
    if report_index:
        lines.append(f"figures: {report_index}")
    else:
        lines.append(f"figures: python -m analysis.report {store.uri} --out {store.uri}/report")
    if interrupted:
        lines.append(f"interrupted; resume with: {resume_cmd}")
    return "\n".join(lines)
