"""Per-configuration statistics over training seeds: the one place figures and tables turn runs into a point ± interval.

A point on the papers' plots is a configuration, and a configuration is trained with several seeds; one run
says nothing about how far the next run lands.  So every figure and table reduces its rows here, with one rule:

- centre: the MEDIAN over seeds (ADA reports medians of 3 runs; the median ignores one diverged run);
- n >= 3: a 95 % percentile-bootstrap interval of that median over seeds (`RESAMPLES` resamples, seeded with
  `BOOT_SEED`, so the same data always give the same interval);
- n == 2: the min-max of the two runs (a bootstrap of two values is just those two values, said plainly);
- n == 1: the single value, lo = hi = value, marked `single run` (no interval exists).

`interval_kind` names which of these a row got ("bootstrap95", "min-max", "single"), and `n_label` turns it
into the text a legend or a table cell carries, so no reader has to guess what a band means.

"A beats B" is claimed only from `paired_difference`: runs of A and B with the same seed are paired, the
per-seed differences reduced as above, and `claim` says "beats" only when the interval excludes 0 (n >= 3).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

RESAMPLES = 2000
BOOT_SEED = 0
LEVEL = 0.95
STAT_COLS = ["center", "lo", "hi", "n", "interval_kind"]
IntervalKind = Literal["bootstrap95", "min-max", "single", "none"]
KIND_TEXT = {"bootstrap95": "median, 95% bootstrap CI over seeds", "min-max": "median, min-max of 2 seeds",
             "single": "single run, no interval", "none": "no runs"}


def interval(values: np.ndarray | list[float], *, resamples: int = RESAMPLES, seed: int = BOOT_SEED,
             level: float = LEVEL) -> tuple[float, float, float, int, IntervalKind]:
    """(centre, lo, hi, n, kind) of the finite VALUES: median and the interval the module docstring states."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0, "none"
    center = float(np.median(v))
    if n == 1:
        return center, center, center, 1, "single"
    if n == 2:
        return center, float(v.min()), float(v.max()), 2, "min-max"
    rng = np.random.default_rng(seed)   # per call: a group's interval does not depend on the groups before it
    medians = np.median(v[rng.integers(0, n, size=(resamples, n))], axis=1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(medians, [alpha, 1.0 - alpha])
    return center, float(lo), float(hi), n, "bootstrap95"


def summarize(df: pd.DataFrame, by: list[str], value: str = "fid") -> pd.DataFrame:
    """One row per group of BY: BY columns plus center, lo, hi, n, interval_kind of VALUE over the group's rows.

    Rows are runs (seeds, and any axis not in BY); rows where VALUE is null do not count towards n, and groups
    with no value are left out.  Same numbers as `interval` per group, computed for all groups of one n at once
    (a curve over training has a group per tick)."""
    cols = list(by)
    vals = pd.to_numeric(df[value], errors="coerce").astype("float64") if len(df) else pd.Series(dtype="float64")
    rows = df.assign(_v=vals)[cols + ["_v"]].dropna(subset=["_v"]) if len(df) else df
    if rows.empty:
        return pd.DataFrame(columns=cols + STAT_COLS)
    if not cols:
        rows = rows.assign(_all=0)
    gcols = cols or ["_all"]
    g = rows.groupby(gcols, observed=True, sort=True, dropna=False)["_v"]
    out = g.agg(center="median", lo="min", hi="max", n="count").reset_index()
    out["interval_kind"] = np.select([out["n"] >= 3, out["n"] == 2], ["bootstrap95", "min-max"], "single")
    out["n"] = out["n"].astype("int64")
    big = out.index[out["n"] >= 3]
    if len(big):
        gid = g.ngroup().to_numpy()
        order = np.argsort(gid, kind="stable")
        starts = np.searchsorted(gid[order], np.arange(len(out)))
        v_sorted = rows["_v"].to_numpy()[order]
        for n in np.unique(out.loc[big, "n"]):
            which = big[out.loc[big, "n"].to_numpy() == n]
            mat = v_sorted[starts[which][:, None] + np.arange(n)[None, :]]         # [G, n]
            out.loc[which, ["lo", "hi"]] = _bootstrap_rows(mat)
    return out[cols + STAT_COLS] if cols else out[STAT_COLS]


def _bootstrap_rows(mat: np.ndarray, resamples: int = RESAMPLES, seed: int = BOOT_SEED,
                    level: float = LEVEL) -> np.ndarray:
    """[G, 2] percentile-bootstrap interval of each row's median; the same resample indices as `interval`."""
    n = mat.shape[1]
    idx = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    alpha = (1.0 - level) / 2.0
    out = np.empty((len(mat), 2))
    for s in range(0, len(mat), 256):   # [256, B, n] floats at a time
        med = np.median(mat[s:s + 256][:, idx], axis=2)
        out[s:s + 256] = np.quantile(med, [alpha, 1.0 - alpha], axis=1).T
    return out


def paired_difference(df: pd.DataFrame, by: list[str], compare: str, a: object, b: object, value: str = "fid",
                      pair_on: str = "seed") -> pd.DataFrame:
    """Per group of BY: the statistics of VALUE(A) - VALUE(B) over runs paired on PAIR_ON (same seed).

    COMPARE is the column that tells A from B (e.g. aug_mode, with a="diffaugment", b="none").  Unpaired runs
    are dropped.  Columns: BY + center, lo, hi, n, interval_kind + `excludes_zero` (bool)."""
    sub = df[df[compare].astype(object).isin([a, b])]
    keys = list(by) + [pair_on]
    wide = sub.assign(_side=np.where(sub[compare].astype(object) == a, "a", "b")).pivot_table(
        index=keys, columns="_side", values=value, aggfunc="median", observed=True)
    if not {"a", "b"} <= set(wide.columns):
        return pd.DataFrame(columns=list(by) + STAT_COLS + ["excludes_zero"])
    diff = (wide["a"] - wide["b"]).dropna().rename("diff").reset_index()
    out = summarize(diff, list(by), "diff")
    out["excludes_zero"] = (out["interval_kind"] == "bootstrap95") & ((out["lo"] > 0) | (out["hi"] < 0))
    return out


def claim(row: pd.Series, a: str, b: str, lower_is_better: bool = True) -> str:
    """The sentence a report may write about one `paired_difference` row: a win only when the interval excludes 0."""
    d = f"{row['center']:+.3g} [{row['lo']:.3g}, {row['hi']:.3g}] (n = {int(row['n'])} paired seeds)"
    if not bool(row["excludes_zero"]):
        why = "interval includes 0" if row["interval_kind"] == "bootstrap95" else "fewer than 3 paired seeds"
        return f"{a} vs {b}: no difference claimed ({why}); difference {d}"
    a_wins = (row["center"] < 0) == lower_is_better
    winner, loser = (a, b) if a_wins else (b, a)
    return f"{winner} beats {loser}: difference {a} - {b} = {d}"


def excess_verdict(a: pd.DataFrame, b: pd.DataFrame, value: str, word: str, pair_on: str = "seed",
                   floor: float = 0.0) -> str:
    """Whether VALUE of runs A exceeds that of runs B (a control), paired on PAIR_ON: 'WORD: +d [lo, hi] (n=3)'
    only when the paired difference's interval lies above FLOOR; otherwise the difference and why no claim.

    For measures with no "better" direction (a leak, a gap): A's excess over the control is the claim.  FLOOR is
    what the measure reads when nothing of the kind happens (a leak measure's bound on its negative controls,
    `resultsformat.LEAK_FLOORS`): three seeds that agree on an excess of 0.03 in a measure that moves by 0.27
    under mere re-framing have found a systematic difference, not the thing the measure is named after."""
    both = pd.concat([a.assign(_arm="a"), b.assign(_arm="b")])
    d = paired_difference(both, [], "_arm", "a", "b", value=value, pair_on=pair_on)
    if d.empty:
        return "no paired seeds"
    d = d.iloc[0]
    text = f"{d['center']:+.3g} [{d['lo']:+.3g}, {d['hi']:+.3g}] (n={int(d['n'])})"
    if d["interval_kind"] != "bootstrap95":
        return "not shown (fewer than 3 paired seeds): " + text
    if d["lo"] > floor:
        return f"{word}: " + text
    if d["lo"] > 0:
        return f"not shown (above the control but not above the measure's floor {floor:g}): " + text
    if d["hi"] < 0:
        return "below control: " + text
    return "not shown (interval includes 0): " + text


def n_label(stats: pd.DataFrame) -> str:
    """Legend/title text for the n of a summarize() frame: 'n=3', 'n=2-3', or 'n=1, single run'."""
    ns = sorted({int(v) for v in stats["n"]}) if len(stats) else [0]
    n = f"n={ns[0]}" if len(ns) == 1 else f"n={ns[0]}-{ns[-1]}"
    return n + (", single run" if ns == [1] else "")


def fmt_stat(row: pd.Series, digits: int = 3) -> str:
    """A table cell: 'value ± half-width (n)', or 'value [lo, hi] (n=2, min-max)', or 'value (n=1, single run)'."""
    c = f"{row['center']:.{digits}g}"
    kind, n = row["interval_kind"], int(row["n"])
    if kind == "single":
        return f"{c} (n=1, single run)"
    if kind == "min-max":
        return f"{c} [{row['lo']:.{digits}g}, {row['hi']:.{digits}g}] (n=2, min-max)"
    return f"{c} [{row['lo']:.{digits}g}, {row['hi']:.{digits}g}] (n={n}, 95% CI)"
