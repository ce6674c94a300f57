"""Results written before a column changed meaning, read with today's meanings (one rule per column, applied on load).

`r_v` used to hold two estimators: on metric ticks the metric suite's value (G_ema, fixed 1 000-image sets of
training reals, validation reals and fakes), on every other tick the ADA controller's probe (the training G,
64-image minibatches).  Today `r_v` is the suite's only and the probe is `r_v_ctrl`.  An old row's r_v is the
suite's exactly when it equals (D_real_train - D_real_val) / (D_real_train - D_fake) from the same row's D
outputs; every other non-null r_v was the controller's and moves to `r_v_ctrl` (its r_v becomes null).  This
rule also holds for new rows, so it is applied to every row, and it needs no schema version.  Old suite values
stay as logged: the noise rule that nulls a new r_v (trainer/metrics/d_outputs.py) needs the logits' spread,
which old rows do not carry.

`d_gap_train_val` (E[D_train] - E[D_val], the numerator of r_v) is derived from the D outputs where a row lacks it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def split_r_v(df: pd.DataFrame) -> pd.DataFrame:
    """DF with controller values moved from r_v to r_v_ctrl and d_gap_train_val filled (see the module docstring)."""
    if df.empty or "r_v" not in df:
        return df
    need = ("D_real_train", "D_real_val", "D_fake")
    tr, va, fa = (pd.to_numeric(df[c], errors="coerce").to_numpy("float64", na_value=np.nan) if c in df
                  else np.full(len(df), np.nan) for c in need)
    rv = pd.to_numeric(df["r_v"], errors="coerce").to_numpy("float64", na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        suite = (tr - va) / (tr - fa)
    from_ctrl = np.isfinite(rv) & ~np.isclose(rv, suite, rtol=1e-6, atol=1e-9)
    gap = tr - va
    out = df.copy()
    ctrl = pd.to_numeric(out["r_v_ctrl"], errors="coerce").to_numpy("float64", na_value=np.nan) if "r_v_ctrl" in out \
        else np.full(len(out), np.nan)
    out["r_v_ctrl"] = np.where(from_ctrl & np.isnan(ctrl), rv, ctrl)
    out["r_v"] = np.where(from_ctrl, np.nan, rv)
    old_gap = pd.to_numeric(out["d_gap_train_val"], errors="coerce").to_numpy("float64", na_value=np.nan) \
        if "d_gap_train_val" in out else np.full(len(out), np.nan)
    out["d_gap_train_val"] = np.where(np.isnan(old_gap), gap, old_gap)
    return out
