"""Generate the per-sweep notebooks (analysis/notebooks/*.ipynb) from one place.

One notebook per sweep family, each reading the Parquet store through
`analysis.load_metrics` from `$GANAUG_RESULTS` (default `results/<sweep>`) and
drawing that family's paper figures.  They are generated rather than hand-edited
so they stay in step with the figure functions; the committed .ipynb files carry
no outputs.  Regenerate with:

    python analysis/notebooks/build_notebooks.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """%matplotlib inline
import os

import pandas as pd

from analysis import load_metrics, load_trials
from analysis import figures as F
from analysis.tidy import per_trial

RESULTS = os.environ.get("GANAUG_RESULTS", "results/{sweep}")
metrics = load_metrics(RESULTS)          # one row per trial x tick, newest attempt wins
trials = load_trials(RESULTS)            # one row per trial: status, error, best/final FID
data = F.for_sweeps(metrics, {sweeps!r})
print(f"{{len(data)}} tick rows, {{data['trial_id'].nunique()}} trials from {{RESULTS}}")
trials["status"].value_counts()"""

BOOKS: dict[str, tuple[str, tuple[str, ...], str, list[str]]] = {
    "fixed_p": ("ADA Fig 4: a fixed augmentation probability p", ("fixed_p_grid",),
                "Which augmentation category helps, and at which p, for each training-set size "
                "(ADA §3, Fig 4a-d). The dashed line is training without augmentation.",
                ["F.fig4_fid_vs_p(data)", "F.fig4d_fid_over_training(data)",
                 "F.best_fixed_p(per_trial(data)).rename(columns={'center': 'median FID'})"]),
    "ada_target": ("ADA Fig 5: the adaptive controller's target", ("ada_target_grid", "fixed_p_grid"),
                   "FID against the r_t / r_v target, with the best fixed p dashed (Fig 5a,b), and how p and "
                   "r_t evolve over training (Fig 5c,d). Load the fixed_p_grid results too for the dashed lines.",
                   ["F.fig5ab_fid_vs_target(data)", "F.fig5cd_p_and_rt(data)"]),
    "dataset_size": ("ADA Fig 7: FID against training-set size", ("dataset_size_grid",),
                     "No augmentation vs ADA vs DiffAugment over training-set sizes; median over seeds with its interval (analysis.aggregate).",
                     ["F.fig7_fid_vs_size(data)",
                      "per_trial(data).pivot_table(index='size_label', columns='aug_mode', values='fid', "
                      "aggfunc='median', observed=True)"]),
    "leakage": ("ADA Fig 3: which augmentations leak", ("leakage_grid",),
                "FID against p for single transforms (every run a dot), our leakage measures against p, and "
                "the generated samples at chosen p.",
                ["F.fig3_fid_vs_p(data)", "F.fig3_leakage_vs_p(data)", "F.fig3_samples(data, RESULTS)"]),
    "overfitting": ("ADA Fig 1 and DiffAugment Fig 1: the discriminator overfits", ("overfitting",),
                    "Without augmentation FID diverges sooner on smaller sets (1a) while D's outputs on "
                    "validation reals drift toward generated images (1b,c); DiffAugment's accuracy gap says the same.",
                    ["F.fig1a_fid_over_training(data)", "F.fig1bc_d_outputs(data)", "F.fig_diffaug_accuracy(data)"]),
    "diffaugment": ("DiffAugment: policies, data fractions and where to augment", ("diffaugment_grid",),
                    "FID per policy and fraction of the data, and the ablation of applying the augmentation "
                    "to reals only, to D's step only, or to reals and fakes in both steps.",
                    ["F.diffaug_policy_table(data).round(2)", "F.fig_diffaug_policy_bars(data)",
                     "F.diffaug_apply_to_table(data).round(2)", "F.fig_diffaug_apply_to_bars(data)"]),
}


def build(name: str) -> nbformat.NotebookNode:
    title, sweeps, intro, cells = BOOKS[name]
    run = f"python -m sweeps.launch {sweeps[0]}"
    nb = new_notebook(cells=[
        new_markdown_cell(f"# {title}\n\n{intro}\n\nProduce the results with `{run}`, then point "
                          f"`GANAUG_RESULTS` at the sweep directory (or the storage root)."),
        new_code_cell(SETUP.format(sweep=sweeps[0], sweeps=sweeps)),
        *[new_code_cell(code) for code in cells],
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def main() -> None:
    for name in BOOKS:
        nbformat.write(build(name), HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
