"""The names of the catalogue's sweeps (sweeps/catalog.py), declared once where `analysis` can read them.

A sweep's name is its folder in the store and the `sweep` column of its rows, so
it belongs to the results format: `sweeps.catalog` names its SweepSpecs with
these, and `analysis` picks the rows of its figures by them without importing
`sweeps` (and so Ray).
"""

from __future__ import annotations

FIXED_P_GRID = "fixed_p_grid"
ADA_TARGET_GRID = "ada_target_grid"
DATASET_SIZE_GRID = "dataset_size_grid"
LEAKAGE_GRID = "leakage_grid"
OVERFITTING = "overfitting"
DIFFAUGMENT_GRID = "diffaugment_grid"
TRANSFER_GRID = "transfer_grid"

# Every catalogue sweep, in the order `python -m sweeps.launch` lists them.
CATALOG = (FIXED_P_GRID, ADA_TARGET_GRID, DATASET_SIZE_GRID, LEAKAGE_GRID, OVERFITTING, DIFFAUGMENT_GRID, TRANSFER_GRID)
