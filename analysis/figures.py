"""The catalogue of paper figures: one entry per figure, the sweeps that feed it, and how to draw it.

Each figure function lives in a module named after the paper section it redraws
(figures_overfit, figures_fixed_p, figures_samples, figures_ada, figures_size, figures_diffaug,
figures_transfer)
and maps a tick-row DataFrame to a matplotlib Figure.  This module re-exports them
and lists them in `FIGURES`, which the HTML report and the notebooks walk: a
figure is drawn from the rows of the sweeps that produce it when those are
loaded (so the leakage sweep's single-transform "color" runs never mix into
Fig 4's "color" category), and otherwise only from sweeps outside the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from analysis.figures_ada import best_fixed_p, fig5ab_fid_vs_target, fig5cd_p_and_rt, fig7_fid_vs_size
from analysis.figures_diffaug import (diffaug_ablation_claims, diffaug_apply_to_table, diffaug_policy_table,
                                      fig_diffaug_apply_to_bars, fig_diffaug_policy_bars)
from analysis.figures_fixed_p import (fig3_fid_vs_p, fig3_leakage_vs_p, fig4_fid_vs_p, fig4_vs_baseline_table,
                                      fig4d_fid_over_training, leakage_table)
from analysis.figures_overfit import fig1a_fid_over_training, fig1bc_d_outputs, fig_diffaug_accuracy
from analysis.figures_samples import fig3_samples
from analysis.figures_size import fig1a_per_method
from analysis.figures_transfer import (draw_fid_vs_size, draw_over_training, fig_transfer_fid_vs_size,
                                       fig_transfer_over_training)
from resultsformat.sweep_names import (ADA_TARGET_GRID, CATALOG, DATASET_SIZE_GRID, DIFFAUGMENT_GRID, FIXED_P_GRID,
                                       LEAKAGE_GRID, OVERFITTING, TRANSFER_GRID)

__all__ = ["CATALOG_SWEEPS", "FIGURES", "TABLES", "FigureSpec", "TableSpec", "best_fixed_p",
           "diffaug_ablation_claims", "diffaug_apply_to_table", "fig4_vs_baseline_table", "leakage_table",
           "diffaug_policy_table", "fig1a_fid_over_training", "fig1a_per_method", "fig1bc_d_outputs", "fig3_fid_vs_p",
           "fig3_leakage_vs_p", "fig3_samples", "fig4_fid_vs_p", "fig4d_fid_over_training", "fig5ab_fid_vs_target",
           "fig5cd_p_and_rt", "fig7_fid_vs_size", "fig_diffaug_accuracy", "fig_diffaug_apply_to_bars",
           "fig_diffaug_policy_bars", "fig_transfer_fid_vs_size", "fig_transfer_over_training", "for_sweeps"]


@dataclass(frozen=True)
class FigureSpec:
    """One figure of the report: file stem, caption, producing sweeps (first = the one to run), drawing function."""

    name: str
    caption: str
    sweeps: tuple[str, ...]
    draw: Callable[[pd.DataFrame, str | Path, str | None], Figure]
    uses_fid: bool = True


@dataclass(frozen=True)
class TableSpec:
    """One table of the report, like FigureSpec but drawing a DataFrame."""

    name: str
    caption: str
    sweeps: tuple[str, ...]
    build: Callable[[pd.DataFrame, str | None], pd.DataFrame]


# The catalogue sweeps with figures of their own (every one: a sweep outside it gets the generic figures).
CATALOG_SWEEPS = CATALOG


def for_sweeps(metrics: pd.DataFrame, sweeps: tuple[str, ...]) -> pd.DataFrame:
    """The rows of the named sweeps when any is loaded; else the rows of sweeps outside the catalogue
    (a custom-named sweep, a single `python -m trainer` run), never another catalogue sweep's rows,
    so a figure missing its sweep is reported as skipped rather than drawn from a different study."""
    mask = metrics["sweep"].isin(sweeps)
    return metrics[mask] if mask.any() else metrics[~metrics["sweep"].isin(CATALOG_SWEEPS)]


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("ada_fig1a_fid_over_training", "ADA Fig 1a: FID over training without augmentation, per size",
               (OVERFITTING,), lambda m, r, d: fig1a_fid_over_training(m, detector=d)),
    FigureSpec("ada_fig1bc_d_outputs", "ADA Fig 1b,c: D outputs over training (train / validation / generated)",
               (OVERFITTING,), lambda m, r, d: fig1bc_d_outputs(m), uses_fid=False),
    FigureSpec("diffaug_fig1_accuracy", "DiffAugment Fig 1: D accuracy, training vs validation reals",
               (OVERFITTING, DIFFAUGMENT_GRID), lambda m, r, d: fig_diffaug_accuracy(m), uses_fid=False),
    FigureSpec("ada_fig3_fid_vs_p", "ADA Fig 3: FID vs p for single transforms (leaking)",
               (LEAKAGE_GRID,), lambda m, r, d: fig3_fid_vs_p(m, detector=d)),
    FigureSpec("ada_fig3_leakage_vs_p", "Leakage measures vs p (rotation, colour, blank areas)",
               (LEAKAGE_GRID,), lambda m, r, d: fig3_leakage_vs_p(m), uses_fid=False),
    FigureSpec("ada_fig3_samples", "ADA Fig 3: sample grids at chosen p", (LEAKAGE_GRID,),
               lambda m, r, d: fig3_samples(m, r), uses_fid=False),
    FigureSpec("ada_fig4abc_fid_vs_p", "ADA Fig 4a-c: FID vs fixed p per category and size",
               (FIXED_P_GRID,), lambda m, r, d: fig4_fid_vs_p(m, detector=d)),
    FigureSpec("ada_fig4d_fid_over_training", "ADA Fig 4d: FID over training for several fixed p",
               (FIXED_P_GRID,), lambda m, r, d: fig4d_fid_over_training(m, detector=d)),
    FigureSpec("ada_fig5ab_fid_vs_target", "ADA Fig 5a,b: FID vs ADA target; dashed = best fixed p",
               (ADA_TARGET_GRID, FIXED_P_GRID), lambda m, r, d: fig5ab_fid_vs_target(m, detector=d)),
    FigureSpec("ada_fig5cd_p_and_rt", "ADA Fig 5c,d: p and r_t over training, ADA vs fixed p",
               (ADA_TARGET_GRID, FIXED_P_GRID), lambda m, r, d: fig5cd_p_and_rt(m, detector=d)),
    FigureSpec("ada_fig7_fid_vs_size", "ADA Fig 7: FID vs training-set size, baseline / ADA / DiffAugment",
               (DATASET_SIZE_GRID,), lambda m, r, d: fig7_fid_vs_size(m, detector=d)),
    FigureSpec("ada_fig1a_fid_over_training_per_method", "ADA Fig 1a per method: FID over training per "
               "training-set size, no augmentation / ADA / DiffAugment; ADA's p below",
               (DATASET_SIZE_GRID,), lambda m, r, d: fig1a_per_method(m, detector=d)),
    FigureSpec("diffaug_policy_bars", "DiffAugment: FID per policy and data fraction",
               (DIFFAUGMENT_GRID,), lambda m, r, d: fig_diffaug_policy_bars(m, detector=d)),
    FigureSpec("diffaug_apply_to_bars", "DiffAugment ablation: augment reals only / D only / both",
               (DIFFAUGMENT_GRID,), lambda m, r, d: fig_diffaug_apply_to_bars(m, detector=d)),
    FigureSpec("transfer_fid_over_training", "ADA §4.2: FID over training per target size, from scratch vs from the "
               "source, ± ADA, ± Freeze-D; ADA's p below", (TRANSFER_GRID,), draw_over_training),
    FigureSpec("transfer_fid_vs_size", "ADA §4.2 (Fig 9b): final and best FID vs target set size per arm",
               (TRANSFER_GRID,), draw_fid_vs_size),
)

TABLES: tuple[TableSpec, ...] = (
    TableSpec("fixed_p_vs_baseline", "ADA Fig 4: each fixed p against no augmentation, FID difference paired on "
              "the training seed (a win only where its interval excludes 0)",
              (FIXED_P_GRID,), lambda m, d: fig4_vs_baseline_table(m, detector=d)),
    TableSpec("leakage_table", "ADA Fig 3 as numbers: FID and leak measures per transform and p, each measure's "
              "difference from p = 0 paired on the training seed (a leak only where its interval lies above the "
              "measure's floor on negative controls)",
              (LEAKAGE_GRID,), lambda m, d: leakage_table(m, detector=d)),
    TableSpec("diffaug_policy_table", "DiffAugment: FID per policy x data fraction (median over seeds)",
              (DIFFAUGMENT_GRID,), lambda m, d: diffaug_policy_table(m, detector=d)),
    TableSpec("diffaug_apply_to_table", "DiffAugment ablation: FID per policy x where augmentation is applied",
              (DIFFAUGMENT_GRID,), lambda m, d: diffaug_apply_to_table(m, detector=d)),
    TableSpec("diffaug_ablation_claims", "DiffAugment ablation: FID of each placement against the method and the "
              "baseline, and each leak measure against no augmentation, paired on the training seed",
              (DIFFAUGMENT_GRID,), lambda m, d: diffaug_ablation_claims(m, detector=d)),
)
