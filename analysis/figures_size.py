"""ADA Fig 1a per method: FID over training per training-set size, no augmentation / ADA / DiffAugment.

Fig 7 (analysis.figures_ada) shows only where each method ends, and needs two
sizes or more; `dataset_size_grid` is run in parts, often one size per part,
and a reader then has no figure at all.  This one draws, per size, each arm's
FID over training (does augmentation still improve when the budget ends? does
the baseline diverge?) and, in a row below, ADA's p (did ADA engage?).  An arm
is one augmentation setting ('ADA rt 0.6 (bgc)'); placement ablations
(DiffAugment on reals only / D only) are left to the DiffAugment figures.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from analysis.errors import MissingData
from analysis.figures_arms_over_training import fid_and_p_over_training
from analysis.plotting import AUG_NAMES, color
from analysis.tidy import TRIAL_KEY, one_detector, require, with_sizes
from analysis.verdicts import arm_label
from resultsformat.sweep_names import DATASET_SIZE_GRID

MODES = ("none", "ada", "diffaugment", "fixed")   # reading order, and colour as in Fig 7


def method_arms(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per trial (sweep, trial_id): `mode` and `arm`, the setting in words (the baseline as 'no augmentation')."""
    last = metrics.groupby(TRIAL_KEY, observed=True, sort=False).tail(1).reset_index(drop=True)
    arm = [AUG_NAMES["none"] if r["aug_mode"] == "none" else arm_label(r) for _, r in last.iterrows()]
    return last[TRIAL_KEY].assign(mode=last["aug_mode"].to_numpy(object), arm=arm)


def _styles(arms: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Arms in MODES order; colour by arm, dashed for the baseline (the line the others are read against)."""
    keys = sorted(arms[["mode", "arm"]].drop_duplicates().itertuples(index=False, name=None),
                  key=lambda k: (MODES.index(k[0]) if k[0] in MODES else len(MODES), k[1]))
    return {arm: {"color": color(i), "linestyle": "--" if mode == "none" else "-"}
            for i, (mode, arm) in enumerate(keys)}


def fig1a_per_method(metrics: pd.DataFrame, *, detector: str | None = None) -> Figure:
    """FID over training per size (columns), one line per method/arm; below, ADA's p over training."""
    rows = metrics[metrics["apply_to"].isna() | (metrics["apply_to"] == "both")]
    rows = require(rows[rows["aug_mode"].isin(MODES)], "runs", DATASET_SIZE_GRID)
    rows, det = one_detector(with_sizes(rows), detector)
    rows = rows[rows["n_eff"].notna()]   # a run without its training-set size has no panel to go in
    require(rows[rows["fid"].notna()], "FIDs of runs with a known training-set size", DATASET_SIZE_GRID)
    modes = sorted(rows.loc[rows["fid"].notna(), "aug_mode"].unique())
    if len(modes) < 2:
        raise MissingData(f"FIDs of one method only ({modes[0]}); this figure compares methods", DATASET_SIZE_GRID)
    arms = method_arms(rows)
    rows = rows.astype({"sweep": str, "trial_id": str}).merge(
        arms.astype({"sweep": str, "trial_id": str}), on=TRIAL_KEY, how="left")
    styles = _styles(arms)
    p_arms = [a for a in styles if a in set(arms.loc[arms["mode"] == "ada", "arm"])]
    return fid_and_p_over_training(rows, styles, p_arms, detector=det, set_word="training set",
                                   title="ADA Fig 1a per method: FID over training, no augmentation (dashed) "
                                         "vs ADA vs DiffAugment")
