"""ADA Fig 3's example images: the last-tick sample grids of runs at chosen p, tiled per transform.

A leak is easiest to believe when seen: at p near 1, rotate90 runs generate
sideways images and colour runs off-colour ones, while scaling runs look
normal.  Sample PNGs live beside the Parquet (`samples/<trial_id>/tick*.png`),
so this figure needs the results path as well as the frame.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.image import imread

from analysis.errors import MissingData
from analysis.figures_fixed_p import LEAK_PIPES
from analysis.plotting import PIPE_NAMES, suptitle
from resultsformat.layout import SAMPLES_DIR
from resultsformat.reader import SweepDir, find_sweeps, read_file, sample_ticks
from resultsformat.sweep_names import LEAKAGE_GRID
from analysis.tidy import present


def _closest(values: np.ndarray, target: float) -> float:
    return float(values[np.argmin(np.abs(values - target))])


def pick_sample_trials(metrics: pd.DataFrame, ps: Sequence[float], transforms: Sequence[str] | None = None
                       ) -> pd.DataFrame:
    """One (sweep, trial_id) per transform and chosen p: the lowest seed at the swept p closest to each choice."""
    fixed = metrics[metrics["aug_mode"] == "fixed"]
    found = present(fixed["augpipe"])
    pipes = list(transforms) if transforms else [p for p in LEAK_PIPES if p in found]
    trials = fixed[fixed["augpipe"].isin(pipes)].groupby(["sweep", "trial_id"], observed=True).head(1)
    picked = []
    for pipe in pipes:
        g = trials[trials["augpipe"] == pipe].sort_values(["seed", "trial_id"])
        if g.empty:
            continue
        swept = np.sort(g["p_fixed"].dropna().unique())
        for p in ps:
            near = _closest(swept, p)
            row = g[g["p_fixed"] == near].iloc[0]
            picked.append({"augpipe": pipe, "p": near, "sweep": str(row["sweep"]), "trial_id": str(row["trial_id"])})
    return pd.DataFrame(picked)


def _last_png(sweeps: dict[str, list[SweepDir]], sweep: str, trial_id: str) -> np.ndarray | None:
    """The trial's newest sample grid, from whichever folder of the sweep holds it (a sweep run in parts has several)."""
    for sdir in sweeps.get(sweep, []):
        ticks = sample_ticks(sdir, trial_id)
        if ticks:
            raw = read_file(sdir.fs, ticks[max(ticks)])
            return imread(io.BytesIO(raw), format="png") if raw else None
    return None


def sweep_folders(results: str | Path) -> dict[str, list[SweepDir]]:
    out: dict[str, list[SweepDir]] = {}
    for s in find_sweeps(results):
        out.setdefault(s.name, []).append(s)
    return out


def fig3_samples(metrics: pd.DataFrame, results: str | Path, *, ps: Sequence[float] = (0.0, 0.5, 0.8, 1.0),
                 transforms: Sequence[str] | None = None) -> Figure:
    """Tile the last-tick sample grids of single-transform runs: one row per transform, one column per chosen p."""
    picked = pick_sample_trials(metrics, ps, transforms)
    if picked.empty:
        raise MissingData("no fixed-p runs of single transforms for sample grids", LEAKAGE_GRID)
    sweeps = sweep_folders(results)
    picked["image"] = [_last_png(sweeps, r.sweep, r.trial_id) for r in picked.itertuples()]
    picked = picked[picked["image"].notna()]
    if picked.empty:
        raise MissingData(f"no sample PNGs ({SAMPLES_DIR}/<trial_id>/tick*.png) for the single-transform runs",
                          LEAKAGE_GRID)
    pipes = list(dict.fromkeys(picked["augpipe"]))
    cols = sorted(picked["p"].unique())
    fig = Figure(figsize=(2.3 * len(cols) + 1.2, 2.3 * len(pipes) + 0.6), layout="constrained")
    axes = fig.subplots(len(pipes), len(cols), squeeze=False)
    for r, pipe in enumerate(pipes):
        for c, p in enumerate(cols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            hit = picked[(picked["augpipe"] == pipe) & (picked["p"] == p)]
            if not hit.empty:
                ax.imshow(hit["image"].iloc[0], interpolation="nearest")
            if r == 0:
                ax.set_title(f"p = {p:g}")
            if c == 0:
                ax.set_ylabel(PIPE_NAMES.get(pipe, pipe))
    suptitle(fig, "ADA Fig 3: generated samples at the last tick (leaks show up as rotated / recoloured images)")
    return fig
