"""Hand-made tick rows with known values, written in the results-store layout (shared by the analysis tests).

`write_sweep_parts` writes frames exactly where `sweeps.store` puts them
(<root>/<sweep>/metrics/*.parquet, trials.parquet), so the loaders are tested on
the layout and not on an in-memory shortcut.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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
    """Write PARTS as <root>/<sweep>/metrics/part-NNN.parquet (and trials.parquet); returns the sweep dir."""
    sdir = root / sweep
    (sdir / "metrics").mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(parts):
        part.assign(sweep=sweep).to_parquet(sdir / "metrics" / f"part-{i:03d}.parquet", index=False)
    if trials is not None:
        trials.assign(sweep=sweep).to_parquet(sdir / "trials.parquet", index=False)
    return sdir
