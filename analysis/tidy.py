"""DataFrame -> DataFrame transforms shared by the figures: per-trial FID, size labels, spread over seeds.

A point on the papers' sweep plots is one whole training run (ADA §3-§4), so
most figures first reduce tick rows to one row per trial: by default the FID at
the trial's last metric tick ("final"), optionally the lowest FID seen ("best").
FIDs measured with different feature detectors are not comparable, so every
reduction goes through `one_detector`, which filters or refuses to mix them.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from analysis.aggregate import summarize
from analysis.errors import MissingData, MixedDetectors
from resultsformat import TICK_COLUMNS, names

FidWhich = Literal["final", "best"]
TRIAL_KEY = ["sweep", "trial_id"]
# a trial's configuration (the format's config columns less its version and preset) and its leak measures
CONFIG = [c for c in names(TICK_COLUMNS, "config") if c not in ("schema_version", "scale")]
LEAKS = [c for c in names(TICK_COLUMNS, "metric") if c.startswith("leak_")]


def fmt_count(n: float) -> str:
    """2000 -> '2k', 2500 -> '2.5k', 140000 -> '140k', 1e6 -> '1M', 500 -> '500' (the papers' axis labels)."""
    if n is None or pd.isna(n):
        return "all"
    n = float(n)
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.3g}"


def size_label(size: float | None, mirror: bool | None) -> str:
    """'2k', or '140k (70k + x-flips)' for a mirrored 70k set, as ADA labels FFHQ-140k."""
    if size is None or pd.isna(size):
        return "all images" + (" + x-flips" if mirror is True else "")
    if mirror is True:
        return f"{fmt_count(2 * size)} ({fmt_count(size)} + x-flips)"
    return fmt_count(size)


def with_sizes(df: pd.DataFrame) -> pd.DataFrame:
    """Add `n_eff` (images D sees: doubled by x-flips) and `size_label` (labels built once per distinct size)."""
    size = pd.to_numeric(df["dataset_size"], errors="coerce").astype("float64").to_numpy()
    mirror = df["mirror"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    n_eff = size * np.where(mirror, 2.0, 1.0)
    codes, uniques = pd.factorize(np.where(np.isnan(size), -1.0, size) * 2 + mirror)
    labels = np.array([size_label(None if k < 0 else k // 2, bool(k % 2)) for k in uniques] + ["?"], dtype=object)
    return df.assign(n_eff=n_eff, size_label=labels[codes])


def size_groups(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(label, rows) per training-set size, smallest first."""
    df = df if "size_label" in df else with_sizes(df)
    order = df.groupby("size_label", sort=False)["n_eff"].first().sort_values(na_position="last")
    return [(label, df[df["size_label"] == label]) for label in order.index]


def spread_pick(items: list, k: int) -> list:
    """At most K items, evenly spaced and always including the first and the last (smallest and largest size)."""
    if len(items) <= k:
        return list(items)
    return [items[int(round(i))] for i in np.linspace(0, len(items) - 1, k)]


def present(series: pd.Series) -> set[str]:
    """The distinct non-null values of a column, as strings (cheap on categoricals of a million rows)."""
    return {str(v) for v in series.dropna().unique()}


def detectors(df: pd.DataFrame) -> list[str]:
    """Detector names present among rows that carry a FID."""
    if "detector" not in df or "fid" not in df:
        return []
    return sorted(str(d) for d in df.loc[df["fid"].notna(), "detector"].dropna().unique())


def one_detector(df: pd.DataFrame, detector: str | None = None) -> tuple[pd.DataFrame, str | None]:
    """The rows of one detector: the one asked for, or the only one present; refuse to mix several detectors, or
    FIDs against reference sets of different sizes (`fid_ref_size`: a FID against 10 000 reals is not one against
    70 000; rows written before the column existed have it null and are not checked)."""
    if detector is not None:
        df = df[df["detector"] == detector]
    else:
        found = detectors(df)
        if len(found) > 1:
            raise MixedDetectors(f"FIDs from different detectors ({', '.join(found)}) cannot share a plot; "
                                 f"pass detector= one of them (the report draws one figure per detector)")
        detector = found[0] if found else None
    if "fid_ref_size" in df and "fid" in df:
        refs = sorted({int(v) for v in df.loc[df["fid"].notna(), "fid_ref_size"].dropna().unique()})
        if len(refs) > 1:
            raise MixedDetectors(f"FIDs against reference sets of different sizes ({', '.join(map(str, refs))} real "
                                 f"images) cannot share a plot; load the runs of one metrics.fid_real separately")
    return df, detector


def fid_label(detector: str | None, which: FidWhich | None = None, note: str | None = None, *, log: bool = False) -> str:
    """Axis label naming the detector, e.g. 'final FID (offline detector)' (lower is better, as the titles say).

    NOTE (per_trial's `fid_note`) says when the FIDs are re-measurements rather than the logged ones."""
    det = f" ({detector} detector)" if detector else ""
    return f"{which + ' ' if which else ''}FID{det}" + (" (log scale)" if log else "") + (f"\n{note}" if note else "")


def per_trial(metrics: pd.DataFrame, which: FidWhich = "final", detector: str | None = None) -> pd.DataFrame:
    """One row per trial: its config, its FID (final or best), and its leakage at the last metric tick."""
    if which not in ("final", "best"):
        raise ValueError(f"fid must be 'final' or 'best', not {which!r}")
    rows, det = one_detector(metrics, detector)
    rows = rows[rows["fid"].notna()]
    if rows.empty:  # keep the columns (and their types) so callers fail with MissingData, not KeyError
        return with_sizes(rows[[c for c in TRIAL_KEY + CONFIG + ["tick", "kimg", "fid", "detector"] + LEAKS
                                if c in rows]])
    note = None
    if which == "final":
        picked = rows.groupby(TRIAL_KEY, observed=True, sort=False).tail(1)
        remeasured = _remeasured_finals(picked)
        if remeasured is not None:
            picked, note = remeasured
    else:
        picked = rows.loc[rows.groupby(TRIAL_KEY, observed=True, sort=False)["fid"].idxmin()]
    if metrics.attrs.get("until_kimg") is not None:   # analysis.budget: the axis says which budget it shows
        note = "; ".join(n for n in (note, f"runs read at {metrics.attrs['until_kimg']:g} kimg") if n)
    cols = [c for c in TRIAL_KEY + CONFIG + ["tick", "kimg", "fid", "fid_std", "detector"] + LEAKS if c in picked]
    out = picked[cols].reset_index(drop=True)
    last_leaks = _last_non_null(metrics, [c for c in LEAKS if c in metrics])
    if not last_leaks.empty:
        # 4 decimals: the measures are fractions of ~1 000 images, and their corrections leave float dust
        # (-4.17e-08) that tables and verdicts would otherwise print
        last_leaks = last_leaks.assign(**{c: last_leaks[c].astype("float64").round(4) + 0.0
                                          for c in LEAKS if c in last_leaks})
        out = out.drop(columns=[c for c in LEAKS if c in out]).merge(last_leaks, on=TRIAL_KEY, how="left")
    out.attrs["detector"] = det
    out.attrs["fid_note"] = note
    return with_sizes(out)


def _remeasured_finals(finals: pd.DataFrame) -> tuple[pd.DataFrame, str] | None:
    """FINALS with `fid` replaced by its re-measurement (`python -m sweeps.evaluate`), if every trial has one.

    All or nothing: a figure that ranked some trials on 10 000-sample FIDs and others on 2 000-sample ones
    would compare the noise and the small-sample bias, not the runs.  Only a re-measure of the trial's last
    FID tick counts as its final FID."""
    if "fid_eval" not in finals or finals["fid_eval"].isna().any():
        return None
    out = finals.copy()
    out["fid"] = out["fid_eval"].astype("float64")
    out["fid_std"] = out["fid_eval_std"].astype("float64")
    samples = sorted({int(v) for v in out["fid_eval_samples"].dropna()})
    repeats = sorted({int(v) for v in out["fid_eval_repeats"].dropna()})
    how = (f"{samples[0]:,} samples".replace(",", " ") if len(samples) == 1 else "several sample counts") + \
          (f" x {repeats[0]} draws" if len(repeats) == 1 and repeats[0] > 1 else "")
    return out, f"re-measured: {how}" if samples else "re-measured"


def _last_non_null(metrics: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    if not cols:
        return pd.DataFrame()
    g = metrics[TRIAL_KEY + cols].groupby(TRIAL_KEY, observed=True, sort=False)
    return g.last().reset_index()  # GroupBy.last skips nulls per column


def spread(df: pd.DataFrame, by: list[str], value: str = "fid") -> pd.DataFrame:
    """VALUE over seeds (and any other unlisted axis) per group of BY: `analysis.aggregate.summarize`'s
    center (median), lo, hi (95 % bootstrap CI for n >= 3, min-max for 2, the value for 1), n, interval_kind."""
    return summarize(df, by, value)


def over_training(metrics: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Per group of BY and kimg: `spread` of VALUE across seeds (rows where VALUE exists)."""
    rows = metrics[metrics[value].notna()]
    return spread(rows, by + ["kimg"], value)


def smoothing_window(n_ticks: int) -> int:
    """Ticks in the rolling mean of the overfitting figures: 1 (none) up to 25 ticks, then an odd ~1/25 of the run."""
    w = max(1, n_ticks // 25)
    return w if w % 2 else w + 1


def rolling(stats: pd.DataFrame, cols: list[str], window: int) -> pd.DataFrame:
    """STATS (sorted by kimg) with COLS replaced by a centred rolling mean over WINDOW rows.

    D's mean output and accuracy on a sample of 1 000 images jitter from tick to tick by more than the slow drift
    the overfitting figures are about (the train/validation gap); a short centred window shows the drift without
    shifting it in time."""
    if window <= 1 or stats.empty:
        return stats
    out = stats.copy()
    for c in cols:
        out[c] = out[c].rolling(window, center=True, min_periods=1).mean()
    return out


def require(df: pd.DataFrame, what: str, sweep: str) -> pd.DataFrame:
    """DF itself, or MissingData naming the sweep that would have produced it."""
    if df.empty:
        raise MissingData(f"no {what} in the loaded results", sweep)
    return df


def fraction_label(fraction: float) -> str:
    """0.2 -> '20%': DiffAugment's tables label data amounts as a share of the full set."""
    return f"{fraction * 100:.3g}%"
