"""Adaptive augmentation and data size: ADA Fig 5a-d and Fig 7.

ADA §3.1: the overfitting heuristic r_t (or r_v) steers p toward a target.
Fig 5a,b sweep the target per heuristic and size, with the best fixed p as a
dashed line — r_t at 0.6 should match it without any p search.  Fig 5c,d show
p rising (faster on smaller sets) and r_t held at the target, where a fixed p
lets r_t drift.  Fig 7 puts it together: FID vs training-set size for no
augmentation, ADA and DiffAugment; median over seeds with a min-max band.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.errors import MissingData
from analysis.plotting import (AUG_NAMES, KIMG_LABEL, color, error_bars, interval_note, log_size_axis, log_y, median_line,
                               panels, suptitle, with_n)
from analysis.tidy import FidWhich, fid_label, over_training, per_trial, require, size_groups, spread, with_sizes

HEURISTICS = {"rt": "r_t (sign of D on training reals)", "rv": "r_v (validation set)"}


def best_fixed_p(trials: pd.DataFrame, augpipe: str | None = None) -> pd.DataFrame:
    """Per size: the fixed-p grid point (augpipe, p) with the lowest median FID over seeds — Fig 5's dashed line."""
    fixed = trials[trials["aug_mode"] == "fixed"]
    if augpipe is not None and (fixed["augpipe"] == augpipe).any():
        fixed = fixed[fixed["augpipe"] == augpipe]
    if fixed.empty:
        return pd.DataFrame(columns=["size_label", "augpipe", "p_fixed", "center"])
    stats = spread(fixed, ["size_label", "augpipe", "p_fixed"])
    return stats.loc[stats.groupby("size_label")["center"].idxmin()].reset_index(drop=True)


def fig5ab_fid_vs_target(metrics: pd.DataFrame, *, fid: FidWhich = "final", detector: str | None = None) -> Figure:
    """ADA Fig 5a,b: FID vs ADA target per heuristic (panels) and size (lines); dashed = best fixed p of that size."""
    trials = per_trial(metrics, fid, detector)
    ada = require(trials[(trials["aug_mode"] == "ada") & trials["ada_target"].notna()],
                  "ADA runs with a target", "ada_target_grid")
    pipe = ada["augpipe"].dropna().astype(object).mode()
    best = best_fixed_p(trials, pipe.iloc[0] if len(pipe) else None)
    heuristics = [h for h in HEURISTICS if (ada["heuristic"] == h).any()]
    fig, axes = panels(len(heuristics), sharey=True, height=3.9)
    for k, (ax, heur) in enumerate(zip(axes, heuristics)):
        for i, (label, g) in enumerate(size_groups(ada[ada["heuristic"] == heur])):
            stats = spread(g, ["ada_target"])
            ax.plot(stats["ada_target"], stats["center"], color=color(i), marker="o", markersize=4,
                    label=with_n(label, stats))
            error_bars(ax, stats["ada_target"], stats, color(i))
            b = best[best["size_label"] == label]
            if not b.empty:
                ax.axhline(float(b["center"].iloc[0]), color=color(i), linestyle="--", linewidth=1)
        ax.set_title(f"({'ab'[k] if k < 2 else k}) heuristic {HEURISTICS[heur]}")
        ax.set_xlabel("ADA target value")
        log_y(ax)  # sizes differ by 10x in FID: on a linear axis the large sets look flat
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(fid_label(trials.attrs.get("detector"), fid, trials.attrs.get("fid_note"), log=True))
    handles, _ = axes[0].get_legend_handles_labels()
    if not best.empty:
        handles.append(Line2D([], [], color="gray", linestyle="--", label="best fixed p (same colour = same size)"))
    fig.legend(handles=handles, fontsize=8, title="training set", loc="outside lower center", ncol=len(handles))
    return suptitle(fig, f"ADA Fig 5a,b: FID vs ADA target, lower is better ({interval_note(spread(ada, ['trial_id']))})")


def _default_ada(rows: pd.DataFrame) -> pd.DataFrame:
    """The ADA runs Fig 5c,d follow: heuristic r_t at the target closest to 0.6 (the paper's default)."""
    ada = rows[rows["aug_mode"] == "ada"]
    rt = ada[ada["heuristic"] == "rt"] if (ada["heuristic"] == "rt").any() else ada
    if rt["ada_target"].notna().any():
        targets = rt["ada_target"].dropna().unique()
        best = min(targets, key=lambda t: abs(t - 0.6))
        rt = rt[rt["ada_target"] == best]
    return rt


def fig5cd_p_and_rt(metrics: pd.DataFrame, *, fid: FidWhich = "final", detector: str | None = None) -> Figure:
    """ADA Fig 5c,d: p over training and the driving heuristic over training per size; ADA solid, best fixed p dashed.

    Panel (d) shows r_t, as in the paper, unless every ADA run was driven by r_v: then it shows r_v, the
    quantity the controller held at its target (the tiny scale's ADA runs are driven by r_v)."""
    rows = with_sizes(metrics)
    ada = require(_default_ada(rows[rows["p"].notna()]), "ADA runs logging p and r_t", "ada_target_grid")
    heur = ada["heuristic"].dropna().astype(str)
    key = "r_v" if len(heur) and (heur == "rv").all() else "r_t"
    best = best_fixed_p(per_trial(metrics, fid, detector)) if (rows["aug_mode"] == "fixed").any() else pd.DataFrame()
    gap = key == "r_v" and "d_gap_train_val" in ada and bool(ada["d_gap_train_val"].notna().any())
    fig, axes = panels(3 if gap else 2)
    target = ada["ada_target"].dropna()
    for i, (label, g) in enumerate(size_groups(ada)):
        median_line(axes[0], over_training(g, [], "p"), "kimg", color(i), label)
        measured = g[g["D_real_val"].notna()] if key == "r_v" else g
        # r_v from the metric ticks' D outputs (1 000 images each), not the controller's last 4-minibatch value
        median_line(axes[1], over_training(measured if not measured.empty else g, [], key), "kimg", color(i),
                    f"ADA, {label}")
        if gap:   # r_v's numerator alone, in logits: what to read where r_v's denominator is noise (r_v null)
            median_line(axes[2], over_training(g[g["d_gap_train_val"].notna()], [], "d_gap_train_val"), "kimg",
                        color(i), f"ADA, {label}")
        b = best[best["size_label"] == label] if not best.empty else best
        if not b.empty:
            bp, pipe = float(b["p_fixed"].iloc[0]), str(b["augpipe"].iloc[0])
            axes[0].axhline(bp, color=color(i), linestyle="--", linewidth=1)
            fixed = rows[(rows["aug_mode"] == "fixed") & (rows["size_label"] == label) & (rows["p_fixed"] == bp)
                         & (rows["augpipe"] == pipe) & rows[key].notna()]
            if not fixed.empty:
                median_line(axes[1], over_training(fixed, [], key), "kimg", color(i),
                            f"fixed p={bp:g} ({pipe}), {label}", linestyle="--", show_band=False)
    if not target.empty:
        axes[1].axhline(float(target.iloc[0]), color="k", linestyle=":", linewidth=1, label="ADA target")
    axes[0].set_ylabel("augmentation probability p")
    axes[0].set_title("(c) p over training" + (" (dashed = best fixed p)" if not best.empty else ""))
    axes[1].set_ylabel(f"overfitting heuristic {key}")
    axes[1].set_title(f"(d) {key} over training")
    if gap:
        axes[2].set_ylabel("E[D(train)] - E[D(validation)] (logits)")
        axes[2].set_title("(e) train - validation gap (r_v's numerator)")
    for ax in axes:
        ax.set_xlabel(KIMG_LABEL)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, title="training set" if ax is axes[0] else None)
    note = f"heuristic {heur.iloc[0]}, target {target.iloc[0]:g}" if len(heur) and len(target) else "ADA"
    return suptitle(fig, f"ADA Fig 5c,d: adaptive p and {key} over training ({note}; bands: {interval_note(None)})")


def fig7_fid_vs_size(metrics: pd.DataFrame, *, fid: FidWhich = "final", detector: str | None = None) -> Figure:
    """ADA Fig 7: FID vs training-set size (log x), no augmentation vs ADA vs DiffAugment; median, min-max band."""
    trials = per_trial(metrics, fid, detector)
    trials = trials[(trials["apply_to"].isna()) | (trials["apply_to"] == "both")]
    modes = [m for m in ("none", "ada", "diffaugment", "fixed") if (trials["aug_mode"] == m).any()]
    trials = require(trials[trials["aug_mode"].isin(modes) & trials["n_eff"].notna()], "runs at several sizes",
                     "dataset_size_grid")
    if trials["n_eff"].nunique() < 2:
        raise MissingData("runs at only one training-set size; Fig 7 needs several", "dataset_size_grid")
    fig, axes = panels(1, width=6.4, height=4.4)
    ax = axes[0]
    for i, mode in enumerate(modes):
        stats = spread(trials[trials["aug_mode"] == mode], ["n_eff"])
        median_line(ax, stats, "n_eff", color(i), AUG_NAMES.get(mode, mode), marker="o")
    log_size_axis(ax, trials["n_eff"].unique())
    log_y(ax)
    ax.set_xlabel("training set size (images; x-flips count double)")
    ax.set_ylabel(fid_label(trials.attrs.get("detector") or _det(trials), fid, trials.attrs.get("fid_note"), log=True))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    bars = spread(trials, ["aug_mode", "n_eff"])
    return suptitle(fig, f"ADA Fig 7: FID vs training-set size, lower is better (bands: {interval_note(bars)})")


def _det(trials: pd.DataFrame) -> str | None:
    d = trials["detector"].dropna().unique() if "detector" in trials else []
    return str(d[0]) if len(d) == 1 else None
