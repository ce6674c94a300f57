"""A sweep run in parts: one run per configuration and seed, even where two parts trained the same one.

docs/tiny-results.md runs a shape as several launches (`--storage runs/<part>`), and `analysis.report runs/`
reads them as one sweep.  A part launched twice — an aborted launch left beside its re-run, or two plans that
overlap — holds a second run of a configuration and seed another part holds.  Counted as it stands, that run
would enter every median and bootstrap as an extra seed: a figure legend once read "2k (n=3-5)" for three seeds.
Runs are seeded (same configuration and seed, same run), so the extra one carries no new information.

Two trials of different parts are the same run when their parts' sweep records agree on the scale and the `--set`
pins (a longer `run.total_kimg` is the same run, further along), the trials agree on their grid values and variant,
and their rows on every configuration column, seed included.  The one that got furthest is kept (then the newest
write); each drop is reported as one note.  Pins spelled differently (`--set augment.p=0.5` in one part, `--grid
augment.p=0.5` in another) are not recognised as the same run: this errs on the side of keeping data.
"""

from __future__ import annotations

import json
import posixpath

import pandas as pd

from resultsformat.reader import SweepDir, read_sweep_json
from resultsformat import TICK_COLUMNS, names

PART = "_part"          # temporary column of tick rows: the sweep directory a row was read from
_NOT_IDENTITY = {"trial", "cpu", "gpu"}
CONFIG_COLUMNS = names(TICK_COLUMNS, "config")   # what a figure can tell runs apart by (seed included)


def _identities(sweep: SweepDir) -> dict[int, str]:
    """trial_index -> the trial's identity within its sweep name (empty when the part has no usable record)."""
    record = read_sweep_json(sweep) or {}
    trials = record.get("trials")
    if not isinstance(trials, list):
        return {}
    pins = sorted(s for s in record.get("set", []) if not str(s).startswith("run.total_kimg="))
    out = {}
    for t in trials:
        if isinstance(t, dict) and "trial" in t:
            what = {k: v for k, v in t.items() if k not in _NOT_IDENTITY}
            out[int(t["trial"])] = json.dumps({"scale": record.get("scale"), "set": pins, "trial": what},
                                              sort_keys=True, default=str)
    return out


def _where(path: str) -> str:
    """runs/<part>/<sweep> -> '<part>': how a note names a part."""
    return posixpath.basename(posixpath.dirname(path.rstrip("/"))) or path


def drop_repeated_runs(metrics: pd.DataFrame, sweeps: list[SweepDir]) -> tuple[pd.DataFrame, list[str]]:
    """METRICS without the runs that repeat a run of another part of the same sweep, and one note per drop.

    METRICS must carry PART (the sweep directory of each row); it is removed.  Sweeps found once are untouched."""
    if PART not in metrics.columns:
        return metrics, []
    names = pd.Series([s.name for s in sweeps])
    split = {s.path: s for s in sweeps if (names == s.name).sum() > 1}
    if not split or metrics.empty:
        return metrics.drop(columns=[PART]), []
    ids = {path: _identities(s) for path, s in split.items()}
    rows = metrics[metrics[PART].isin(list(split))]
    if "written_at" not in rows.columns:
        rows = rows.assign(written_at=float("nan"))
    columns = [c for c in CONFIG_COLUMNS if c in rows.columns]
    first = rows.groupby([PART, "trial_id"], observed=True, sort=False)
    runs = first.agg(sweep=("sweep", "first"), trial_index=("trial_index", "first"), kimg=("kimg", "max"),
                     written=("written_at", "max"), seed=("seed", "first")).reset_index()
    config = first[columns].first().reset_index(drop=True).astype(object).where(lambda d: d.notna(), None)
    runs["identity"] = [
        None if pd.isna(i) or int(i) not in ids[p] else ids[p][int(i)] + json.dumps(c, sort_keys=True, default=str)
        for p, i, c in zip(runs[PART], runs["trial_index"], config.to_dict("records"))]
    runs = runs.dropna(subset=["identity"]).sort_values(["kimg", "written"], ascending=False, kind="stable")
    drop: list[tuple[str, str]] = []
    notes: list[str] = []
    for (sweep, _), same in runs.groupby([runs["sweep"].astype(str), "identity"], sort=True):
        if len(same) < 2 or same[PART].duplicated().any():
            continue        # unique, or a record too thin to tell two trials of one part apart: keep them all
        kept = same.iloc[0]
        for _, r in same.iloc[1:].iterrows():
            drop.append((r[PART], str(r["trial_id"])))
            notes.append(f"{sweep}: part {_where(r[PART])} trial {r['trial_id']} (seed {r['seed']}, {r['kimg']:.0f} kimg) "
                         f"repeats the run of part {_where(kept[PART])} trial {kept['trial_id']} ({kept['kimg']:.0f} kimg): "
                         f"counted once, as that run")
    if drop:
        key = pd.MultiIndex.from_arrays([metrics[PART].astype(str), metrics["trial_id"].astype(str)])
        metrics = metrics[~key.isin(pd.MultiIndex.from_tuples(drop))]
    return metrics.drop(columns=[PART]).reset_index(drop=True), notes
