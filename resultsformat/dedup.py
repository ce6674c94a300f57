"""Which row wins when the store holds several for one key: the dedup rule, written once, in Arrow.

Tick rows.  A retried or resumed trial re-reports the ticks after its last
checkpoint, and an interrupted compaction leaves a row both in the merged part
and in the part it came from.  Readers keep one row per (sweep, trial_id, tick):
the highest `attempt`, then the latest `written_at`.  A null `attempt` (a file
written by hand, or by a writer that predates attempts) ranks below attempt 0:
any numbered attempt supersedes it, and among null-attempt rows the latest
write wins.  A null `written_at` ranks below every time.  Rows whose trial_id or
tick is null cannot be placed on a curve and are dropped; a null sweep (a
single `python -m trainer` run) is one sweep.

Evaluations.  One row per (sweep, trial_id, tick, detector): the most samples,
then the most draws, then the newest (a careful re-measure beats a quick one).

Both run on Arrow tables with numpy sort keys, so the store (pandas) and
`analysis.load` (Arrow) share the same code, not two opinions.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from resultsformat.columns import EVAL_KEY

TICK_KEY = ("sweep", "trial_id", "tick")
TICK_ORDER = ("attempt", "written_at")
EVAL_ORDER = ("fid_samples", "repeats", "written_at")


def _sort_key(table: pa.Table, col: str) -> np.ndarray:
    """A numpy array that sorts like COL; an absent column is constant, nulls sort first."""
    if col not in table.column_names:
        return np.zeros(table.num_rows)
    arr = table.column(col)
    if pa.types.is_dictionary(arr.type) or pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        enc = pc.dictionary_encode(arr.cast(pa.string())).combine_chunks()
        rank = np.full(len(enc.dictionary) + 1, -1, dtype=np.int64)   # the extra slot: nulls, first
        rank[pc.array_sort_indices(enc.dictionary).to_numpy()] = np.arange(len(enc.dictionary))
        codes = pc.fill_null(enc.indices, len(enc.dictionary)).to_numpy(zero_copy_only=False)
        return rank[codes]
    if pa.types.is_null(arr.type):
        return np.full(table.num_rows, -np.inf)
    return pc.fill_null(arr.cast(pa.float64()), -np.inf).to_numpy()


def keep_last(table: pa.Table, key: tuple[str, ...], order: tuple[str, ...],
              required: tuple[str, ...] = ("trial_id", "tick")) -> pa.Table:
    """One row per KEY (rows with a null REQUIRED column dropped; other nulls are one value): the last by ORDER."""
    present = [k for k in key if k in table.column_names]
    ok = None
    for k in (r for r in required if r in table.column_names):
        valid = pc.is_valid(table.column(k))
        ok = valid if ok is None else pc.and_(ok, valid)
    if ok is not None and not pc.all(ok).as_py():
        table = table.filter(ok)
    if table.num_rows == 0:
        return table
    keys = [_sort_key(table, k) for k in present]
    sort = np.lexsort(tuple(_sort_key(table, c) for c in reversed(order)) + tuple(reversed(keys)))
    last = np.ones(len(sort), dtype=bool)
    if keys:
        same = np.ones(len(sort) - 1, dtype=bool)
        for k in keys:
            same &= k[sort][1:] == k[sort][:-1]
        last[:-1] = ~same
    else:
        last[:-1] = False
    kept = sort[last]
    if np.all(kept[1:] > kept[:-1]):  # already in key order (the usual case): a filter is cheaper than a gather
        mask = np.zeros(table.num_rows, dtype=bool)
        mask[kept] = True
        return table.filter(pa.array(mask))
    idx = pa.array(kept)
    # column by column on combined chunks: Table.take on many promoted list chunks is several times slower
    return pa.table([pc.take(col.combine_chunks(), idx) for col in table.columns], names=table.column_names)


def dedup_newest(table: pa.Table) -> pa.Table:
    """Tick rows: one per (sweep, trial_id, tick), newest attempt then newest write (module docstring)."""
    return keep_last(table, TICK_KEY, TICK_ORDER)


def dedup_evaluations(table: pa.Table) -> pa.Table:
    """Evaluations: one per (sweep, trial_id, tick, detector), most samples, then draws, then newest."""
    return keep_last(table, EVAL_KEY, EVAL_ORDER)
