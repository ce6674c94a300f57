"""Fixed augmentation probability p: ADA Fig 4a-d (what each category buys) and Fig 3 (leaking).

ADA §3: with a fixed p, pixel blitting, geometric and colour transforms help
most, and the best p falls as the training set grows (Fig 4a-c, one panel per
size, dashed = no augmentation).  Fig 4d follows FID over training for several
p.  Fig 3 asks when augmentations "leak" into the generated images: rotate90
and colour leak as p -> 1, isotropic scaling never does; each run is a dot, the
line its median.  Our leakage measures (rotation, colour, blank areas) make the
leak visible as a number and not only in the sample grids.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis.aggregate import claim, excess_verdict, fmt_stat, paired_difference
from analysis.plotting import (KIMG_LABEL, PIPE_NAMES, band, color, interval_note, log_y, median_line, panels, single,
                               suptitle, with_n)
from analysis.tidy import (FidWhich, fid_label, one_detector, over_training, per_trial, present, require,
                           size_groups, spread)
from resultsformat import LEAK_FLOORS

FIG4_ORDER = ("blit", "geom", "color", "filter", "noise", "cutout", "bg", "bgc", "bgcf", "bgcfn", "bgcfnc")
LEAK_PIPES = ("scale", "rotate90", "color", "xflip", "xint", "rotate", "aniso", "xfrac", "brightness", "contrast",
              "lumaflip", "hue", "saturation")
LEAK_LABELS = {"leak_rot": "rotation leak (excess rotated fraction)", "leak_color": "colour leak (vs reals)",
               "leak_blank": "blank-area leak (cutout/translation)"}


def baseline_fid(trials: pd.DataFrame) -> pd.DataFrame:
    """Per size, the median FID without augmentation (aug_mode none; else fixed p=0): Fig 4's dashed line."""
    base = trials[trials["aug_mode"] == "none"]
    if base.empty:
        base = trials[(trials["aug_mode"] == "fixed") & (trials["p_fixed"] == 0)]
    return spread(base, ["size_label"]) if not base.empty else pd.DataFrame(columns=["size_label", "center"])


def fig4_fid_vs_p(metrics: pd.DataFrame, *, fid: FidWhich = "final", detector: str | None = None,
                  categories: Sequence[str] | None = None) -> Figure:
    """ADA Fig 4a-c: FID vs fixed p, one line per augmentation category, one panel per size; dashed = no augmentation."""
    trials = per_trial(metrics, fid, detector)
    cats = categories or [c for c in FIG4_ORDER if c in present(trials["augpipe"])]
    fixed = require(trials[(trials["aug_mode"] == "fixed") & trials["augpipe"].isin(cats)],
                    "fixed-p runs of the augmentation categories", "fixed_p_grid")
    base = baseline_fid(trials)
    groups = size_groups(fixed)
    fig, axes = panels(len(groups))
    for k, (ax, (label, g)) in enumerate(zip(axes, groups)):
        b = base[base["size_label"] == label]
        for i, cat in enumerate(cats):
            stats = spread(g[g["augpipe"] == cat], ["p_fixed"])
            if not stats.empty and not b.empty and not (stats["p_fixed"] == 0).any():
                # every category starts from the same point: p = 0 is training without augmentation (as in the paper)
                start = b[["center", "lo", "hi", "n", "interval_kind"]].iloc[[0]].assign(p_fixed=0.0)
                stats = pd.concat([start, stats], ignore_index=True)
            if not stats.empty:
                median_line(ax, stats, "p_fixed", color(i), cat, marker="o", show_band=False)
                _draw_noise(ax, g[g["augpipe"] == cat], color(i))
        if not b.empty:
            ax.axhline(float(b["center"].iloc[0]), color="k", linestyle="--", linewidth=1.2,
                       label=with_n("no augmentation", b))
            if float(b["hi"].iloc[0]) > float(b["lo"].iloc[0]):   # the baseline's interval over seeds
                ax.axhspan(float(b["lo"].iloc[0]), float(b["hi"].iloc[0]), color="k", alpha=0.08, linewidth=0)
            base_runs = trials[(trials["aug_mode"] == "none") & (trials["size_label"] == label)]
            if len(base_runs) == 1 and "fid_std" in base_runs and base_runs["fid_std"].notna().all():
                mid, sd = float(base_runs["fid"].iloc[0]), float(base_runs["fid_std"].iloc[0])
                ax.axhspan(mid - sd, mid + sd, color="k", alpha=0.08, linewidth=0)   # the baseline's own noise
        ax.set_title(f"({'abc'[k] if k < 3 else k}) training set {label}")
        ax.set_xlabel("augmentation probability p")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(fid_label(trials.attrs.get("detector"), fid, trials.attrs.get("fid_note")))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, title="category", loc="outside right center")
    return suptitle(fig, f"ADA Fig 4a-c: FID vs fixed augmentation probability p "
                         f"(bars: {interval_note(spread(fixed, ['augpipe', 'p_fixed', 'size_label']))})")


def fig4_vs_baseline_table(metrics: pd.DataFrame, fid: FidWhich = "final", detector: str | None = None) -> pd.DataFrame:
    """Each fixed-p point against no augmentation at its size, paired on the training seed: the difference of FIDs
    with its interval and the sentence the report may write (a win only when the interval excludes 0)."""
    trials = per_trial(metrics, fid, detector)
    base = trials[trials["aug_mode"] == "none"].assign(arm="none")
    fixed = trials[trials["aug_mode"] == "fixed"]
    require(fixed if not base.empty else fixed.iloc[0:0], "fixed-p runs and a no-augmentation baseline", "fixed_p_grid")
    rows = []
    for (pipe, p), g in fixed.groupby(["augpipe", "p_fixed"], observed=True, sort=True):
        both = pd.concat([g.assign(arm="fixed"), base[base["size_label"].isin(set(g["size_label"]))]])
        for _, d in paired_difference(both, ["size_label"], "arm", "fixed", "none").iterrows():
            rows.append({"training set": d["size_label"], "augmentation": f"{pipe} p={p:g}",
                         "FID(aug) - FID(none)": fmt_stat(d), "verdict": claim(d, f"{pipe} p={p:g}", "none")})
    return pd.DataFrame(rows)


def leakage_table(metrics: pd.DataFrame, fid: FidWhich = "final", detector: str | None = None) -> pd.DataFrame:
    """ADA Fig 3 as numbers: per transform and p, the final FID and each leak measure as value [interval] (n), and
    each measure's difference from the same transform at p = 0, paired on the training seed.

    The p = 0 runs are the measures' control (same data, same seeds, nothing augmented): a transform is said to
    leak into a measure only where the paired difference's whole interval lies above the measure's floor (what
    it reads on negative controls, `resultsformat.LEAK_FLOORS`), so the docs and the report never call one run,
    noise, or a measure's known side-sensitivity a leak (`analysis.aggregate.excess_verdict`)."""
    trials = per_trial(metrics, fid, detector)
    rows, pipes = _leak_rows(trials, None)
    leaks = [c for c in LEAK_LABELS if c in rows and rows[c].notna().any()]
    out = []
    for pipe in pipes:
        g = rows[rows["augpipe"] == pipe]
        control = g[g["p_fixed"] == 0]
        for p, at in g.groupby("p_fixed", observed=True, sort=True):
            row = {"transform": PIPE_NAMES.get(pipe, pipe), "p": f"{p:g}",
                   "FID": fmt_stat(spread(at, []).iloc[0])}
            for col in leaks:
                row[col] = fmt_stat(spread(at, [], col).iloc[0]) if at[col].notna().any() else "-"
            for col in leaks:
                if p == 0:
                    row[f"{col} - p=0 (paired)"] = "control"
                elif control.empty:
                    row[f"{col} - p=0 (paired)"] = "no p = 0 control"
                else:
                    row[f"{col} - p=0 (paired)"] = excess_verdict(at, control, col, "leaks", floor=LEAK_FLOORS[col])
            out.append(row)
    return pd.DataFrame(out)


def _draw_noise(ax: Axes, runs: pd.DataFrame, c: str) -> None:
    """± the std over latent draws of re-measured FIDs (single-seed points only): is a gap larger than the noise?"""
    if "fid_std" not in runs or runs["fid_std"].isna().all() or runs.groupby("p_fixed", observed=True).size().max() > 1:
        return
    ax.errorbar(runs["p_fixed"].to_numpy(float), runs["fid"].to_numpy(float), yerr=runs["fid_std"].to_numpy(float),
                fmt="none", ecolor=c, elinewidth=1, capsize=3)


def fig4d_fid_over_training(metrics: pd.DataFrame, *, category: str | None = None, size_label: str | None = None,
                            detector: str | None = None, ax: Axes | None = None) -> Figure:
    """ADA Fig 4d: FID over training for several fixed p, one category (default geom) and one size (default ~10k).

    When p = 0 was not run, the run without augmentation at that size is drawn as p = 0 (as Fig 4a-c do): the
    question the figure answers is when, in training, augmenting starts to pay for itself."""
    have_fid = metrics[metrics["fid"].notna()]
    require(have_fid[have_fid["aug_mode"] == "fixed"], "fixed-p FID rows", "fixed_p_grid")
    have_fid, det = one_detector(have_fid[have_fid["aug_mode"].isin(["fixed", "none"])], detector)
    rows = have_fid[have_fid["aug_mode"] == "fixed"]
    found = [c for c in FIG4_ORDER if c in present(rows["augpipe"])]
    category = category or ("geom" if "geom" in found else (found[0] if found else None))
    rows = require(rows[rows["augpipe"] == category], f"fixed-p runs of category {category}", "fixed_p_grid")
    groups = dict(size_groups(rows))
    if size_label is None:
        n = {lab: float(g["n_eff"].iloc[0]) for lab, g in groups.items()}
        size_label = min(n, key=lambda lab: abs(np.log(max(n[lab], 1.0) / 10_000.0)) if np.isfinite(n[lab]) else 1e9)
    g = require(groups.get(size_label, pd.DataFrame()), f"runs at size {size_label}", "fixed_p_grid")
    fig, ax = single(ax)
    runs = {f"p = {p:g}": g[g["p_fixed"] == p] for p in sorted(g["p_fixed"].dropna().unique())}
    base = dict(size_groups(have_fid[have_fid["aug_mode"] == "none"])).get(size_label)
    if "p = 0" not in runs and base is not None and not base.empty:
        runs = {"p = 0 (no augmentation)": base, **runs}
    cmap = colormaps["viridis"]
    for i, (label, run) in enumerate(runs.items()):
        stats = over_training(run, [], "fid")
        c = cmap(0.85 * i / max(len(runs) - 1, 1))   # viridis' last 15 % is too pale a yellow on white
        ax.plot(stats["kimg"], stats["center"], color=c, label=with_n(label, stats))
        band(ax, stats["kimg"], stats["lo"], stats["hi"], c)
    log_y(ax)
    ax.set_xlabel(KIMG_LABEL)
    ax.set_ylabel(fid_label(det, log=True))
    ax.set_title(f"ADA Fig 4d: FID over training, {category}, training set {size_label}\n(bands: {interval_note(None)})",
                 fontsize=10)
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3, which="both")
    return fig


def _leak_rows(trials: pd.DataFrame, pipes: Sequence[str] | None) -> tuple[pd.DataFrame, list[str]]:
    """Fixed-p runs of the single transforms, with the runs without augmentation (the sweep's control) drawn as
    p = 0 of every transform that has no p = 0 run of its own: a pipe at p = 0 changes nothing, so the control
    is that point, measured once per seed instead of once per transform."""
    found = present(trials["augpipe"])
    pipes = list(pipes) if pipes else [p for p in LEAK_PIPES if p in found]
    rows = trials[(trials["aug_mode"] == "fixed") & trials["augpipe"].isin(pipes)]
    control = trials[trials["aug_mode"] == "none"]
    parts = [rows] + [control.assign(augpipe=pipe, p_fixed=0.0) for pipe in pipes
                      if not control.empty and not ((rows["augpipe"] == pipe) & (rows["p_fixed"] == 0)).any()]
    rows = pd.concat(parts, ignore_index=True) if len(parts) > 1 else rows
    return require(rows, "fixed-p runs of single transforms (scale, rotate90, color)", "leakage_grid"), \
        [p for p in pipes if (rows["augpipe"] == p).any()]


def fig3_fid_vs_p(metrics: pd.DataFrame, *, fid: FidWhich = "final", detector: str | None = None,
                  transforms: Sequence[str] | None = None) -> Figure:
    """ADA Fig 3: FID vs p for single transforms; every run a dot, the median a line."""
    trials = per_trial(metrics, fid, detector)
    rows, pipes = _leak_rows(trials, transforms)
    fig, axes = panels(len(pipes), sharey=True)
    for i, (ax, pipe) in enumerate(zip(axes, pipes)):
        g = rows[rows["augpipe"] == pipe]
        ax.scatter(g["p_fixed"], g["fid"], s=14, color=color(i), alpha=0.6, label="one run")
        median_line(ax, spread(g, ["p_fixed"]), "p_fixed", color(i), "median over seeds", show_band=False)
        ax.set_title(PIPE_NAMES.get(pipe, pipe) + f", training set {g['size_label'].iloc[0]}")
        ax.set_xlabel("augmentation probability p")
        ax.set_xlim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(fid_label(trials.attrs.get("detector"), fid, trials.attrs.get("fid_note")))
    axes[0].legend(fontsize=8)
    return suptitle(fig, "ADA Fig 3: leaking — FID vs p for single transforms (a rise near p = 1 means it leaks; "
                         f"bars: {interval_note(spread(rows, ['augpipe', 'p_fixed']))})")


def fig3_leakage_vs_p(metrics: pd.DataFrame, *, transforms: Sequence[str] | None = None) -> Figure:
    """Our leakage measures vs p, one line per transform: rotation should leak only for rotate90, colour for color."""
    trials = per_trial(metrics, "final") if metrics["fid"].notna().any() else metrics
    rows, pipes = _leak_rows(trials, transforms)
    leaks = [c for c in LEAK_LABELS if c in rows and rows[c].notna().any()]
    rows = require(rows if leaks else rows.iloc[0:0], "leakage measures (leak_rot, leak_color, leak_blank)",
                   "leakage_grid")
    fig, axes = panels(len(leaks))
    for ax, col in zip(axes, leaks):
        for i, pipe in enumerate(pipes):
            g = rows[(rows["augpipe"] == pipe) & rows[col].notna()]
            if g.empty:
                continue
            ax.scatter(g["p_fixed"], g[col], s=10, color=color(i), alpha=0.4)
            median_line(ax, spread(g, ["p_fixed"], col), "p_fixed", color(i), PIPE_NAMES.get(pipe, pipe),
                        show_band=False)
        ax.set_xlabel("augmentation probability p")
        ax.set_ylabel(LEAK_LABELS[col])
        # noise-level leaks must look flat, not jagged; slightly negative ones (fewer than the reals) stay in view
        top = max(0.1, 1.1 * float(rows[col].max()))
        ax.set_ylim(min(0.0, float(rows[col].min()) - 0.05 * top), top)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return suptitle(fig, "Leakage measures vs p (final metric tick; dots = runs; lines and bars: "
                         f"{interval_note(None)})")
