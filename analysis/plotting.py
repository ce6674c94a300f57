"""Shared matplotlib scaffolding for the paper figures: panels, colours, bands, labels.

Figures are built on `matplotlib.figure.Figure` directly, never through pyplot:
no global figure registry to leak memory over hundreds of renders, no backend
selection, and safe in a worker thread.  Only the figure modules import this, so
`import analysis` stays free of matplotlib.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from analysis.aggregate import KIND_TEXT, n_label
from analysis.tidy import fmt_count

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22")
KIMG_LABEL = "training progress (kimg)"
AUG_NAMES = {"none": "no augmentation (baseline)", "ada": "ADA", "fixed": "fixed p", "diffaugment": "DiffAugment"}
PIPE_NAMES = {"scale": "isotropic scaling", "rotate90": "rotate90 (k·90°)", "color": "colour transforms",
              "blit": "pixel blitting", "geom": "general geometric", "filter": "image-space filtering",
              "noise": "additive noise", "cutout": "cutout", "bgc": "bgc (blit+geom+color)"}


def panels(n: int, *, ncols: int | None = None, width: float = 4.4, height: float = 3.4,
           sharey: bool = False) -> tuple[Figure, list[Axes]]:
    """A figure with N panels in a grid (at most 3 per row by default)."""
    ncols = ncols or min(n, 3)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(width * ncols, height * nrows + 0.5), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def single(ax: Axes | None, *, width: float = 6.0, height: float = 4.2) -> tuple[Figure, Axes]:
    """The given Axes and its figure, or a new one-panel figure."""
    if ax is not None:
        return ax.get_figure(), ax
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def color(i: int) -> str:
    return COLORS[i % len(COLORS)]


def band(ax: Axes, x: Sequence[float], lo: Sequence[float], hi: Sequence[float], c: str) -> None:
    """Shade the interval across seeds (analysis.aggregate); nothing to shade for a single seed (lo == hi)."""
    lo_a, hi_a = np.asarray(lo, float), np.asarray(hi, float)
    if len(lo_a) and np.nanmax(hi_a - lo_a) > 0:
        ax.fill_between(x, lo_a, hi_a, color=c, alpha=0.18, linewidth=0)


def median_line(ax: Axes, stats: pd.DataFrame, x: str, c: str, label: str, *, marker: str | None = None,
                linestyle: str = "-", show_band: bool = True) -> None:
    """Plot a `spread()` frame: the median as a line, its interval over seeds as a band (or error bars when
    SHOW_BAND is False), and n in the legend label."""
    stats = stats.sort_values(x)
    xs, ys = stats[x].to_numpy(float), stats["center"].to_numpy(float)
    ax.plot(xs, ys, color=c, label=with_n(label, stats), marker=marker, linestyle=linestyle, markersize=4)
    if not show_band:
        error_bars(ax, xs, stats, c)
        return
    if show_band:
        band(ax, stats[x].to_numpy(float), stats["lo"].to_numpy(float), stats["hi"].to_numpy(float), c)


def with_n(label: str, stats: pd.DataFrame) -> str:
    """A legend label carrying the seeds behind it: 'geom (n=3)', 'ADA (n=1, single run)'."""
    return f"{label} ({n_label(stats)})"


def error_bars(ax: Axes, x: Sequence[float], stats: pd.DataFrame, c: str) -> None:
    """Error bars from a `spread()` frame's lo/hi around its centre (points with a single run get none)."""
    ctr = stats["center"].to_numpy(float)
    lo, hi = ctr - stats["lo"].to_numpy(float), stats["hi"].to_numpy(float) - ctr
    if len(ctr) and np.nanmax(hi + lo) > 0:
        ax.errorbar(np.asarray(x, float), ctr, yerr=[lo, hi], fmt="none", ecolor=c, capsize=2, linewidth=1)


def interval_note(stats: pd.DataFrame | None = None) -> str:
    """What the bands/bars mean, for a figure title (aggregate.KIND_TEXT of the kinds present)."""
    if stats is None:   # curves: the kind can change along a curve, so state the rule
        return "median over seeds, 95% bootstrap CI (n≥3), min-max (n=2)"
    kinds = [k for k in ("bootstrap95", "min-max", "single") if k in set(stats["interval_kind"])]
    return "; ".join(KIND_TEXT[k] for k in kinds)


def log_size_axis(ax: Axes, sizes: Sequence[float]) -> None:
    """Log x axis with a tick at every swept size, labelled 1k, 10k, 140k."""
    ax.set_xscale("log")
    ticks = sorted({float(s) for s in sizes if s and not pd.isna(s)})
    ax.set_xticks(ticks)
    ax.set_xticklabels([fmt_count(t) for t in ticks])
    ax.minorticks_off()


def log_y(ax: Axes) -> None:
    """Log y axis labelled in plain numbers (3, 5, 10, 20, 50), not 3x10^0: FIDs are read as numbers."""
    ax.set_yscale("log")

    def minor(v: float, _pos: int) -> str:
        # Called at draw time, so the final limits are known.  Within one decade (a smoke sweep's FIDs of
        # 55-100, say) 2/3/5 may not occur at all and the axis would carry no number: label every tick then.
        lo, hi = sorted(ax.get_ylim())
        lead = round(v / 10 ** math.floor(math.log10(v))) if v > 0 else 0
        narrow = lo > 0 and hi / lo < 10
        return f"{v:g}" if narrow or lead in (2, 3, 5) else ""

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(minor))


def clip_warmup(ax: Axes, kimg: Sequence[float], values: Sequence[float], frac: float = 0.15) -> None:
    """Keep the y range on what happens after warm-up: early FIDs of ~300 would flatten every curve."""
    k, v = np.asarray(kimg, float), np.asarray(values, float)
    ok = np.isfinite(v)
    k, v = k[ok], v[ok]
    if len(v) < 4:
        return
    tail = v[k >= frac * np.nanmax(k)]
    lo, hi = float(np.nanmin(v)), float(np.nanmax(tail)) if len(tail) else float(np.nanmax(v))
    if hi > lo:
        ax.set_ylim(max(0.0, lo - 0.05 * (hi - lo)), hi + 0.15 * (hi - lo))


def suptitle(fig: Figure, text: str, fontsize: float = 12) -> Figure:
    """A figure title wrapped to the figure's width: a one-panel figure would otherwise clip a long title."""
    max_chars = max(20, int(fig.get_figwidth() * 72 / (0.55 * fontsize)))
    fig.suptitle(textwrap.fill(text, max_chars), fontsize=fontsize)
    return fig
