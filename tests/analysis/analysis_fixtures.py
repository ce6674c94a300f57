"""Hand-made tick rows with known values, written in the results-store layout (shared by the analysis tests).

`write_sweep_parts` writes frames exactly as `sweeps.store` does: through the
results format (declared columns and types, the store's part names, one part
per trial-attempt), so the loaders are tested on the layout and not on an
in-memory shortcut.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from resultsformat import TICK_COLUMNS, TRIAL_COLUMNS, conform, parquet_bytes
from resultsformat.layout import METRICS_DIR, TRIALS_FILE, part_name

TICK_DEFAULTS = {"attempt": 0, "schema_version": 1, "scale": "smoke", "seed": 0, "aug_mode": "none",
                 "dataset": "procedural", "dataset_size": 2000, "mirror": False, "resolution": 16,
                 "detector": "offline"}


def tick_frame(rows: list[dict]) -> pd.DataFrame:
    """Tick rows from partial dicts: identity/config defaults filled in, kimg = 4 * tick."""
    out = []
    for r in rows:
        row = {**TICK_DEFAULTS, **r}
        row.setdefault("kimg", 4.0 * row["tick"])
        out.append(row)
    return pd.DataFrame(out)


def write_sweep_parts(root: Path, sweep: str, parts: list[pd.DataFrame], trials: pd.DataFrame | None = None) -> Path:
    """Write each of PARTS as the store's parts of <root>/<sweep>/metrics/ (and trials.parquet); returns the sweep dir."""
    sdir = root / sweep
    (sdir / METRICS_DIR).mkdir(parents=True, exist_ok=True)
    for part in parts:
        for (trial_id, attempt), rows in part.assign(sweep=sweep).groupby(["trial_id", "attempt"], sort=False):
            table = conform(rows, TICK_COLUMNS, "test tick rows")
            name = part_name(str(trial_id), int(attempt), int(rows["tick"].iloc[0]))
            (sdir / METRICS_DIR / name).write_bytes(parquet_bytes(table, small=True))
    if trials is not None:
        (sdir / TRIALS_FILE).write_bytes(parquet_bytes(conform(trials.assign(sweep=sweep), TRIAL_COLUMNS, "test trials")))
    return sdir
