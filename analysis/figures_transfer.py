"""Transfer learning: ADA §4.2 and its Fig 9 -- FID from scratch against from a source network, ± ADA, ± Freeze-D.

ADA §4.2 starts training on a small target set from a network trained on a
large related one, optionally with the first layers of D frozen (Freeze-D, Mo
et al. 2020), with and without ADA; the `transfer_grid` sweep runs those arms.
Two figures: FID over training per target size (the from-source curves start
low and should stay below from scratch; a second row shows ADA's p, which says
whether ADA engaged at all), and final and best FID against target size per arm
(Fig 9b's shape: the gap between transfer and scratch largest at the smallest
set).  An arm is (start, Freeze-D K, augmentation); colour = start and
Freeze-D, solid = ADA, dashed = no augmentation; median over seeds with its
interval (analysis.aggregate), n in every legend entry.

Freeze-D is not a tick column: it is read from each trial's config JSON
(trials.parquet), else from the trial's params in sweep.json (a sweep still
running has no trials.parquet yet); a run with neither is labelled "Freeze-D
not recorded" rather than pooled with a known K.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis.errors import MissingData, ResultsError
from analysis.figures_arms_over_training import fid_and_p_over_training
from analysis.plotting import color, interval_note, log_size_axis, log_y, panels, suptitle, with_n
from analysis.tidy import TRIAL_KEY, fid_label, one_detector, per_trial, require, spread, with_sizes
from analysis.verdicts import FREEZE_KEY, arm_label, flat_settings
from resultsformat.sweep_names import TRANSFER_GRID

ARM_COLS = ["start", "freeze", "aug"]
NOT_RECORDED = "Freeze-D not recorded"
# colour per (from the source?, Freeze-D > 0?): scratch blue, source red, source + Freeze-D green (scratch + Freeze-D,
# which the paper never runs, purple where a custom grid has it)
_START_COLOR = {(False, False): 0, (True, False): 1, (True, True): 2, (False, True): 4}
_DODGE = 0.035   # log10 units between arms at one size, so that their error bars do not hide each other


def transfer_configs(metrics: pd.DataFrame, results: Any) -> dict[str, Any] | None:
    """What Freeze-D is read from: RESULTS' trials table and sweep.json records (None when METRICS has no transfer
    run, so a report without one never reads them)."""
    if "init_from" not in metrics or not metrics["init_from"].notna().any():
        return None
    from analysis.load import load_trials, sweep_configs
    try:
        return {"trials": load_trials(results), "sweeps": sweep_configs(results)}
    except ResultsError:
        return None


def _freeze_from_sweep_json(trials: pd.DataFrame, records: dict[str, Any]) -> list[Any]:
    """Per trial: model.freeze_d from its sweep's sweep.json params by trial index (one record per sweep only: the
    parts of a sweep run in parts number their trials each from 0)."""
    out = []
    for sweep, index in zip(trials["sweep"].astype(str), trials["trial_index"]):
        rec = records.get(sweep) or {}
        params = {int(t["trial"]): t.get("params") or {} for t in rec.get("trials", []) if "trial" in t}
        out.append(None if pd.isna(index) else params.get(int(index), {}).get(FREEZE_KEY))
    return out


def arms(metrics: pd.DataFrame, configs: dict[str, Any] | None) -> pd.DataFrame:
    """Per trial (sweep, trial_id): its start ('from scratch' / 'from the source' / 'from <folder>'), Freeze-D K
    (or NOT_RECORDED) and augmentation ('no augmentation', 'ADA', or the ADA setting when several were run)."""
    last = metrics.groupby(TRIAL_KEY, observed=True, sort=False).tail(1).reset_index(drop=True)
    sources = sorted({str(s) for s in last["init_from"].dropna().unique()})
    start = [("from scratch" if pd.isna(s) else "from the source" if len(sources) == 1 else
              f"from {str(s).rstrip('/').rsplit('/', 1)[-1]}") for s in last["init_from"]]
    trials = configs.get("trials") if configs else None
    freeze = [f.get(FREEZE_KEY) for f in flat_settings(last, trials)]
    if configs and any(k is None for k in freeze) and "trial_index" in last:
        fallback = _freeze_from_sweep_json(last, configs.get("sweeps") or {})
        freeze = [k if k is not None else f for k, f in zip(freeze, fallback)]
    ada_settings = {arm_label(r) for _, r in last[last["aug_mode"] == "ada"].iterrows()}
    aug = ["no augmentation" if m == "none" else "ADA" if m == "ada" and len(ada_settings) == 1 else arm_label(r)
           for m, (_, r) in zip(last["aug_mode"], last.iterrows())]
    return last[TRIAL_KEY].assign(start=start, freeze=[NOT_RECORDED if k is None else int(k) for k in freeze],
                                  aug=aug)


def _with_arms(metrics: pd.DataFrame, configs: dict[str, Any] | None) -> pd.DataFrame:
    rows = require(metrics, "runs", TRANSFER_GRID)
    if "init_from" not in rows or not rows["init_from"].notna().any():
        raise MissingData("no runs started from a source network (run.init_from)", TRANSFER_GRID)
    keyed = arms(rows, configs).astype({"freeze": object})
    return with_sizes(rows.astype({"sweep": str, "trial_id": str}).merge(
        keyed.astype({"sweep": str, "trial_id": str}), on=TRIAL_KEY, how="left"))


def arm_name(start: str, freeze: Any, aug: str) -> str:
    k = NOT_RECORDED if freeze == NOT_RECORDED else f"Freeze-D {freeze}" if freeze else ""
    return ", ".join(x for x in (start, k, aug) if x)


def _order(rows: pd.DataFrame) -> list[tuple[str, Any, str]]:
    """Arms in reading order: from scratch first, then from the source by Freeze-D; no augmentation before ADA."""
    keys = rows[ARM_COLS].drop_duplicates().itertuples(index=False, name=None)
    return sorted(keys, key=lambda a: (a[0] != "from scratch", a[0], str(a[1]), a[2] != "no augmentation", a[2]))


def _style(arm: tuple[str, Any, str], order: list[tuple[str, Any, str]]) -> dict[str, Any]:
    """Colour by start and Freeze-D (the same in every panel and figure), solid for ADA, dashed without augmentation."""
    start, freeze, aug = arm
    pairs = list(dict.fromkeys((s, f) for s, f, _ in order))
    idx = _START_COLOR.get((start != "from scratch", freeze not in (0, NOT_RECORDED)))
    c = color(idx if idx is not None and len(pairs) <= 4 else pairs.index((start, freeze)))
    return {"color": c, "linestyle": "--" if aug == "no augmentation" else "-"}


def fig_transfer_over_training(metrics: pd.DataFrame, configs: dict[str, Any] | None = None, *,
                               detector: str | None = None) -> Figure:
    """FID over training per target size (columns), one line per arm; below, p of the ADA arms over training."""
    rows, det = one_detector(_with_arms(metrics, configs), detector)
    order = _order(require(rows[rows["fid"].notna()], "FIDs of transfer runs", TRANSFER_GRID))
    rows = rows.assign(arm=[arm_name(*a) for a in rows[ARM_COLS].itertuples(index=False, name=None)])
    styles = {arm_name(*a): _style(a, order) for a in order}
    p_arms = [arm_name(*a) for a in order if a[2] != "no augmentation"]
    return fid_and_p_over_training(rows, styles, p_arms, detector=det, set_word="target set",
                                   title="ADA §4.2: FID over training, from scratch vs from the source, "
                                         "± ADA (solid/dashed), ± Freeze-D")


def _is(rows: pd.DataFrame, arm: tuple[str, Any, str]) -> pd.Series:
    return (rows["start"] == arm[0]) & (rows["freeze"].astype(str) == str(arm[1])) & (rows["aug"] == arm[2])


def _fid_vs_size_panel(ax: Axes, trials: pd.DataFrame, order: list[tuple[str, Any, str]]) -> pd.DataFrame:
    """One line per arm, error bars over seeds, the arms dodged sideways around each size (log x)."""
    shown = []
    for i, arm in enumerate(order):
        stats = spread(trials[_is(trials, arm)], ["n_eff"]).sort_values("n_eff")
        if stats.empty:
            continue
        x = stats["n_eff"].to_numpy(float) * 10 ** (_DODGE * (i - (len(order) - 1) / 2))
        style = _style(arm, order)
        ctr = stats["center"].to_numpy(float)
        err = [ctr - stats["lo"].to_numpy(float), stats["hi"].to_numpy(float) - ctr]
        # marker as well as line style: at a single target size there is no line to be dashed
        none = arm[2] == "no augmentation"
        ax.errorbar(x, ctr, yerr=err, marker="s" if none else "o", markersize=5, capsize=3,
                    mfc="white" if none else style["color"], label=with_n(arm_name(*arm), stats), **style)
        shown.append(stats)
    log_size_axis(ax, trials["n_eff"].unique())
    log_y(ax)
    ax.set_xlabel("target training set size (images)")
    ax.grid(alpha=0.3, which="both")
    return pd.concat(shown, ignore_index=True) if shown else pd.DataFrame(columns=["interval_kind"])


def fig_transfer_fid_vs_size(metrics: pd.DataFrame, configs: dict[str, Any] | None = None, *,
                             detector: str | None = None) -> Figure:
    """(a) final and (b) best FID against target size, one line per arm (ADA Fig 9b's shape)."""
    keyed = _with_arms(metrics, configs)
    fig, axes = panels(2, width=6.0, height=4.6)
    stats = []
    for ax, which in zip(axes, ("final", "best")):
        trials = per_trial(keyed, which, detector)
        trials = require(trials[trials["n_eff"].notna()], "transfer runs with a FID", TRANSFER_GRID)
        det, note = trials.attrs.get("detector"), trials.attrs.get("fid_note")   # a merge drops attrs
        trials = trials.merge(keyed.drop_duplicates(TRIAL_KEY)[TRIAL_KEY + ARM_COLS], on=TRIAL_KEY, how="left")
        stats.append(_fid_vs_size_panel(ax, trials, _order(trials)))
        ax.set_title(f"({'ab'[len(stats) - 1]}) {which} FID per arm", fontsize=10)
        ax.set_ylabel(fid_label(det, which, note, log=True))
    axes[0].legend(fontsize=7, loc="best")
    note = interval_note(pd.concat(stats, ignore_index=True))
    return suptitle(fig, f"ADA §4.2 (Fig 9b): FID vs target set size per arm, lower is better "
                         f"(median over seeds; bars: {note})", fontsize=11)


def draw_over_training(metrics: pd.DataFrame, results: Any, detector: str | None) -> Figure:
    return fig_transfer_over_training(metrics, transfer_configs(metrics, results), detector=detector)


def draw_fid_vs_size(metrics: pd.DataFrame, results: Any, detector: str | None) -> Figure:
    return fig_transfer_fid_vs_size(metrics, transfer_configs(metrics, results), detector=detector)

