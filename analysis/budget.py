"""`analysis.report --until-kimg N`: every trial read as it stood when it reached N kimg.

A sweep extended in place (`--resume --set run.total_kimg=800`) holds trials at
two budgets while the extension runs, and a storage root of parts can hold one
size at 800 kimg beside another at 400.  A final FID compares runs only at one
budget, so the report can cut every trial at the tick where it first reached N
kimg (ticks stop a fraction of a batch past a tick boundary, so "reached" is the
first tick at or past N) and draws, tabulates and judges from that cut alone.
"""

from __future__ import annotations

import pandas as pd

from analysis.tidy import TRIAL_KEY

_EPS = 1e-9
END_SPREAD = 0.02   # final FIDs further apart in kimg than this fraction stand at different budgets (as verdicts say)


def read_at_kimg(metrics: pd.DataFrame, trials: pd.DataFrame, kimg: float) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(tick rows up to each trial's first tick at or past KIMG, the trial table's FID columns from those rows, notes)."""
    if metrics.empty:
        return metrics, trials, []
    reached = metrics.loc[metrics["kimg"] >= kimg - _EPS].groupby(TRIAL_KEY, observed=True)["kimg"].min()
    reach = metrics[TRIAL_KEY].merge(reached.rename("_reach").reset_index(), on=TRIAL_KEY, how="left")["_reach"]
    keep = (reach.isna() | (metrics["kimg"].to_numpy() <= reach.to_numpy() + _EPS)).to_numpy()
    cut = metrics[keep].copy()
    cut.attrs = {**metrics.attrs, "until_kimg": kimg}   # per_trial names it on every final/best FID axis
    notes = [f"read at {kimg:g} kimg (--until-kimg): every trial's rows after its first tick at or past {kimg:g} kimg "
             f"are left out, {int((~keep).sum())} rows in all; final FID is the FID there"]
    ends = cut.groupby(TRIAL_KEY, observed=True)["kimg"].max()
    short = ends[ends < kimg - _EPS]
    if len(short):
        notes.append(f"{len(short)} trial(s) end before {kimg:g} kimg (at {short.min():g}-{short.max():g}), so their "
                     f"final FID is from earlier: {', '.join(f'{s}/{t}' for s, t in short.index[:6])}"
                     + (" ..." if len(short) > 6 else ""))
    fids = cut.dropna(subset=["fid"]).groupby(TRIAL_KEY, observed=True)["fid"]
    stats = pd.DataFrame({"best_fid": fids.min(), "final_fid": fids.last(), "final_kimg": ends}).reset_index()
    stats[TRIAL_KEY] = stats[TRIAL_KEY].astype(str)
    out = trials.copy()
    key = out[TRIAL_KEY].astype(str)
    merged = key.merge(stats, on=TRIAL_KEY, how="left")
    for col in ("best_fid", "final_fid", "final_kimg"):
        out[col] = merged[col].astype("float64").to_numpy()
    return cut, out, notes


def mixed_budget_notes(metrics: pd.DataFrame) -> list[str]:
    """One note per sweep whose trials' last FID ticks stand at budgets more than END_SPREAD apart.

    Without --until-kimg a figure of final FID then compares an extended trial at 800 kimg with one still at 400
    (the verdict table refuses such pairs, analysis.verdicts); the note says so and names the cut that fixes it."""
    rows = metrics.dropna(subset=["fid"]) if "fid" in metrics else metrics.iloc[0:0]
    if rows.empty:
        return []
    notes = []
    for sweep, ends in rows.groupby(TRIAL_KEY, observed=True)["kimg"].max().groupby(level=0, observed=True):
        low, high = float(ends.min()), float(ends.max())
        if high - low > END_SPREAD * high:
            at_low = int((ends <= low * (1 + END_SPREAD)).sum())
            notes.append(f"{sweep}: the trials' final FIDs stand at {low:g} to {high:g} kimg ({at_low} of {len(ends)} "
                         f"at {low:g}), so figures of final and best FID compare budgets as well as runs; "
                         f"--until-kimg {low:g} reads every trial at one")
    return notes
