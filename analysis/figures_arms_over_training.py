"""FID over training per training-set size, one line per arm, with ADA's p in a row below (ADA Fig 1a's layout).

Two studies read this way: the transfer arms (analysis.figures_transfer) and
no augmentation / ADA / DiffAugment per size (analysis.figures_size).  A reader
needs the curves, not only the end points, to see whether a method is still
improving when the budget ends, and needs p to see whether ADA engaged at all;
one layout serves both so the two figures read alike.  Each line is the median
over seeds at each kimg with its interval (analysis.aggregate), n in its legend.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis.plotting import KIMG_LABEL, band, interval_note, log_y, panels, suptitle, with_n
from analysis.tidy import fid_label, over_training


def arm_line(ax: Axes, stats: pd.DataFrame, x: str, label: str, style: dict[str, Any],
             marker: str | None = None) -> None:
    """The median line of STATS (an `over_training`/`spread` frame) labelled with its n, and its band."""
    stats = stats.sort_values(x)
    ax.plot(stats[x].to_numpy(float), stats["center"].to_numpy(float), label=with_n(label, stats), marker=marker,
            markersize=4, **style)
    band(ax, stats[x].to_numpy(float), stats["lo"].to_numpy(float), stats["hi"].to_numpy(float), style["color"])


def fid_and_p_over_training(rows: pd.DataFrame, styles: dict[str, dict[str, Any]], p_arms: list[str], *,
                            detector: str | None, set_word: str, title: str) -> Figure:
    """ROWS (tick rows with `arm`, `size_label`, `n_eff`, `kimg`, `fid`, `p`): one column per size (smallest first),
    FID over training per arm in STYLES' order (log y); below, p of P_ARMS when any of them recorded p."""
    fids = rows[rows["fid"].notna()]
    sizes = list(fids.groupby("size_label", sort=False)["n_eff"].first().sort_values().index)
    has_p = bool(rows.loc[rows["arm"].isin(p_arms), "p"].notna().any())
    fig, axes = panels(len(sizes) * (2 if has_p else 1), ncols=len(sizes), width=5.6 if len(sizes) > 1 else 7.5,
                       height=4.3)
    for j, size in enumerate(sizes):
        ax = axes[j]
        for arm, style in styles.items():
            g = fids[(fids["size_label"] == size) & (fids["arm"] == arm)]
            if not g.empty:
                arm_line(ax, over_training(g, [], "fid"), "kimg", arm, style)
        log_y(ax)   # FID early in training sits ~10x above where it ends
        ax.set_title(f"{set_word}: {size} images", fontsize=10)
        ax.set_xlabel(KIMG_LABEL)
        ax.set_ylabel(fid_label(detector, None, None, log=True))
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="upper right")
        if has_p:
            _p_panel(axes[len(sizes) + j], rows[rows["size_label"] == size], {a: styles[a] for a in p_arms})
    return suptitle(fig, f"{title}; lower is better (bands: {interval_note(None)})", fontsize=11)


def _p_panel(ax: Axes, rows: pd.DataFrame, styles: dict[str, dict[str, Any]]) -> None:
    """p over training of the augmented arms: flat at 0 means ADA never engaged, and FID cannot show its effect."""
    shown = rows[rows["arm"].isin(list(styles)) & rows["p"].notna()]
    for arm, style in styles.items():
        g = shown[shown["arm"] == arm]
        if not g.empty:
            arm_line(ax, over_training(g, [], "p"), "kimg", arm, style)
    top = float(np.nanmax(shown["p"].to_numpy(float))) if not shown.empty else 1.0
    ax.set_ylim(-0.02, max(0.1, top * 1.15))
    ax.set_title("ADA's p over training (0 = ADA never engaged)", fontsize=10)
    ax.set_xlabel(KIMG_LABEL)
    ax.set_ylabel("augmentation probability p")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
