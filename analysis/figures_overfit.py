"""Discriminator overfitting over training: ADA Fig 1a, ADA Fig 1b,c and DiffAugment Fig 1.

ADA §2 motivates everything with these plots: without augmentation FID first
improves and then diverges, earlier the smaller the training set (1a); at the
same time D's outputs on held-out validation reals drift away from those on
training reals toward those on generated images (1b,c) — D has memorised its
training set.  DiffAugment's Fig 1 shows the same through D's accuracy on
training vs validation reals.  Lines are medians over seeds, bands min-max
(or ±1 std of D's outputs when histograms were logged).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.aggregate import n_label
from analysis.plotting import (AUG_NAMES, KIMG_LABEL, band, clip_warmup, color, interval_note, panels, single, suptitle,
                               with_n)
from analysis.tidy import (fid_label, one_detector, over_training, require, rolling, size_groups, smoothing_window,
                           spread_pick, with_sizes)

D_SERIES = (("real_train", "training reals", "#1f77b4"), ("real_val", "validation reals", "#2ca02c"),
            ("fake", "generated images", "#d62728"))


def fig1a_fid_over_training(metrics: pd.DataFrame, *, detector: str | None = None, ax: Axes | None = None,
                            aug_mode: str = "none") -> Figure:
    """ADA Fig 1a: FID over training per training-set size, without augmentation; dots mark each size's best FID."""
    rows = require(metrics[(metrics["aug_mode"] == aug_mode) & metrics["fid"].notna()],
                   f"FID rows with aug_mode={aug_mode}", "overfitting")
    rows, det = one_detector(rows, detector)
    fig, ax = single(ax)
    groups = size_groups(with_sizes(rows))
    kimg_all, fid_all = [], []
    for i, (label, g) in enumerate(reversed(groups)):
        stats = over_training(g, [], "fid").sort_values("kimg")
        c = color(i)
        ax.plot(stats["kimg"], stats["center"], color=c, label=with_n(label, stats))
        band(ax, stats["kimg"], stats["lo"], stats["hi"], c)
        best = stats.loc[stats["center"].idxmin()]
        ax.plot([best["kimg"]], [best["center"]], "o", color=c, markersize=5)
        kimg_all += stats["kimg"].tolist()
        fid_all += stats["center"].tolist()
    clip_warmup(ax, kimg_all, fid_all)
    ax.set_xlabel(KIMG_LABEL)
    ax.set_ylabel(fid_label(det))
    ax.set_title(f"ADA Fig 1a: FID over training, {AUG_NAMES.get(aug_mode, aug_mode)}\n(bands: {interval_note(None)})",
                 fontsize=10)
    ax.legend(title="training set (dot = best FID)", fontsize=8, title_fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def hist_std(rows: pd.DataFrame, key: str) -> np.ndarray:
    """Per row, the std of D's outputs from the logged histogram (NaN where none was logged)."""
    col, edges_col = f"D_hist_{key}", "D_hist_edges"
    out = np.full(len(rows), np.nan)
    if col not in rows or edges_col not in rows:
        return out
    hists, edges = rows[col].to_numpy(object), rows[edges_col].to_numpy(object)
    have = np.array([h is not None and e is not None and not isinstance(h, float) and len(e) == len(h) + 1
                     for h, e in zip(hists, edges)], dtype=bool)
    if not have.any():
        return out
    idx = np.flatnonzero(have)
    if len({len(hists[i]) for i in idx}) != 1:  # bins changed between rows: not comparable, leave the band to seeds
        return out
    h = np.stack([np.asarray(hists[i], float) for i in idx])
    e = np.stack([np.asarray(edges[i], float) for i in idx])
    centres, widths = (e[:, :-1] + e[:, 1:]) / 2, np.diff(e, axis=1)
    dens = np.abs((h * widths).sum(axis=1, keepdims=True) - 1.0) < 0.05  # densities integrate to 1; else counts
    w = np.where(dens, h * widths, h)
    total = w.sum(axis=1, keepdims=True)
    w = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    mean = (w * centres).sum(axis=1, keepdims=True)
    std = np.sqrt((w * (centres - mean) ** 2).sum(axis=1))
    out[idx] = np.where(total[:, 0] > 0, std, np.nan)
    return out


def _window(rows: pd.DataFrame, col: str) -> int:
    """The rolling-mean window for the longest run's ticks that carry COL."""
    counts = rows[rows[col].notna()].groupby("trial_id", observed=True)["kimg"].nunique()
    return smoothing_window(int(counts.max()) if len(counts) else 0)


def _d_panel(ax: Axes, g: pd.DataFrame, window: int) -> None:
    """One size's three D-output curves: the band is the interval over seeds when there are several seeds, else
    (one run) ±1 std of D's outputs within that run, read from the logged histograms."""
    for key, name, c in D_SERIES:
        col = f"D_{key}"
        sub = g[g[col].notna()]
        if sub.empty:
            continue
        stats = over_training(sub, [], col)  # sorted by kimg, one row per tick
        std = pd.Series(hist_std(sub, key), index=sub.index)
        has_std = bool(std.notna().any())
        if has_std:
            stats["std"] = std.groupby(sub["kimg"]).mean().reindex(stats["kimg"]).to_numpy()
        stats = rolling(stats, ["center", "lo", "hi"] + (["std"] if has_std else []), window)
        ax.plot(stats["kimg"], stats["center"], color=c, label=with_n(name, stats))
        if has_std and int(stats["n"].max()) <= 1:
            ok = stats["std"].notna()
            ax.fill_between(stats["kimg"][ok], (stats["center"] - stats["std"])[ok],
                            (stats["center"] + stats["std"])[ok], color=c, alpha=0.15, linewidth=0)
        else:
            band(ax, stats["kimg"], stats["lo"], stats["hi"], c)


def fig1bc_d_outputs(metrics: pd.DataFrame, *, aug_mode: str = "none", max_panels: int = 6) -> Figure:
    """ADA Fig 1b,c: D's raw output on training reals, validation reals and generated images over training, per size."""
    rows = require(metrics[(metrics["aug_mode"] == aug_mode) & metrics["D_real_train"].notna()
                           & metrics["D_fake"].notna()], f"D outputs with aug_mode={aug_mode}", "overfitting")
    groups = spread_pick(size_groups(with_sizes(rows)), max_panels)[::-1]
    fig, axes = panels(len(groups), sharey=True)
    with_hist = any(hist_std(g.head(50), "real_train").size and np.isfinite(hist_std(g.head(50), "real_train")).any()
                    for _, g in groups)
    window = _window(rows, "D_real_train")
    for ax, (label, g) in zip(axes, groups):
        _d_panel(ax, g, window)
        ax.set_title(f"training set {label}")
        ax.set_xlabel(KIMG_LABEL)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("D output (raw logit)")
    axes[0].legend(fontsize=8, loc="upper left")
    several = int(rows.groupby("kimg", observed=True)["trial_id"].nunique().max()) > 1 if len(rows) else False
    spread_note = ("bands ±1 std of D outputs within the run" if with_hist and not several
                   else f"bands: {interval_note(None)}")
    if window > 1:
        spread_note += f"; rolling mean over {window} ticks"
    return suptitle(fig, f"ADA Fig 1b,c: D outputs over training, {AUG_NAMES.get(aug_mode, aug_mode)} — "
                         f"validation drifting toward generated = D overfits ({spread_note})")


def _one_policy(rows: pd.DataFrame, preferred: str = "color,translation,cutout") -> pd.DataFrame:
    """Keep one DiffAugment policy (the paper's full one when present) so 'DiffAugment' is one line, not a blend."""
    diff = rows["aug_mode"] == "diffaugment"
    policies = rows.loc[diff, "diffaug_policy"].dropna().astype(object)
    if policies.nunique() <= 1:
        return rows
    keep = preferred if (policies == preferred).any() else policies.value_counts().index[0]
    return rows[~diff | (rows["diffaug_policy"] == keep)]


def fig_diffaug_accuracy(metrics: pd.DataFrame, *, max_panels: int = 6) -> Figure:
    """DiffAugment Fig 1: D's accuracy on training vs validation reals over training, per size and method."""
    rows = require(_one_policy(metrics[metrics["acc_real_train"].notna() & metrics["acc_real_val"].notna()
                                       & (metrics["apply_to"].isna() | (metrics["apply_to"] == "both"))]),
                   "D accuracy on training and validation reals", "overfitting")
    groups = spread_pick(size_groups(with_sizes(rows)), max_panels)[::-1]
    modes = [m for m in ("none", "fixed", "ada", "diffaugment") if (rows["aug_mode"] == m).any()]
    fig, axes = panels(len(groups), sharey=True)
    window = _window(rows, "acc_real_train")
    n_of: dict[str, str] = {}
    for ax, (label, g) in zip(axes, groups):
        for i, mode in enumerate(modes):
            sub = g[g["aug_mode"] == mode]
            if sub.empty:
                continue
            c = color(i * 3)
            for col, ls in (("acc_real_train", "-"), ("acc_real_val", "--")):
                stats = rolling(over_training(sub, [], col), ["center", "lo", "hi"], window)
                ax.plot(stats["kimg"], stats["center"], color=c, linestyle=ls)
                band(ax, stats["kimg"], stats["lo"], stats["hi"], c)
                n_of[mode] = n_label(stats)
        ax.set_title(f"training set {label}")
        ax.set_xlabel(KIMG_LABEL)
        ax.set_ylim(0.0, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("D accuracy on reals")
    handles = [Line2D([], [], color=color(i * 3), label=f"{AUG_NAMES.get(m, m)} ({n_of.get(m, 'n=0')})")
               for i, m in enumerate(modes)]
    handles += [Line2D([], [], color="k", linestyle="-", label="training set"),
                Line2D([], [], color="k", linestyle="--", label="validation set")]
    axes[0].legend(handles=handles, fontsize=8, loc="lower left")
    note = f"; rolling mean over {window} ticks" if window > 1 else ""
    return suptitle(fig, f"DiffAugment Fig 1: D accuracy on training vs validation reals (a gap = D overfits{note}; "
                         f"bands: {interval_note(None)})")
