"""Load the results store into tidy pandas frames: one row per trial×tick, one row per trial.

docs/architecture.md "Results store": a retried or resumed trial re-reports the ticks after its
last checkpoint, so the raw parts may hold several rows for one (trial, tick).
Readers must see exactly one, by the results format's rule
(`resultsformat.dedup`: newest attempt, then newest write; a null attempt is
older than attempt 0), applied here once, so no figure can double-count a tick.

Columns are typed so that figures need no guessing: strings become categoricals,
ticks and sizes nullable Int64, metrics float64.  Known columns that a store did
not write (an older schema, a metric never enabled) are added as all-null, and
extra columns pass through untouched.
"""

from __future__ import annotations

import posixpath
import warnings

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.errors import NoTickRows, ResultsError, UnreadablePartWarning
from analysis.legacy_columns import split_r_v
from analysis.parts import PART, drop_repeated_runs
from resultsformat.reader import (SweepDir, concat, evaluation_parts, find_sweeps, metric_parts, read_many,
                                  read_parquet, read_status_records, read_sweep_json)
from resultsformat import JOINED_COLUMNS, TICK_COLUMNS, TRIAL_COLUMNS, dedup_newest, names
from resultsformat.columns import EVAL_JOIN, EVAL_KEY
from resultsformat.dedup import dedup_evaluations
from resultsformat.layout import EVAL_DIR, METRICS_DIR, TRIALS_FILE
from resultsformat.statuses import UNKNOWN

KEY = ["sweep", "trial_id", "tick"]
# Every column and type comes from the results format; readers only choose pandas types for them.
_READ_COLUMNS = {c.name: c for c in (*TRIAL_COLUMNS, *TICK_COLUMNS, *JOINED_COLUMNS) if not pa.types.is_list(c.type)}
CATEGORY_COLS = tuple(n for n, c in _READ_COLUMNS.items() if c.category)
INT_COLS = tuple(n for n, c in _READ_COLUMNS.items() if c.type == pa.int64())
CONFIG_COLS = ("sweep", "trial_id", *names(TICK_COLUMNS, "config"))

_ARROW_TYPES = {n: c.type for n, c in _READ_COLUMNS.items()}
# absent from a table: added as nulls, except columns that belong to trials.parquet only, and the write stamp
_OPTIONAL = {*names(TRIAL_COLUMNS)} - {*names(TICK_COLUMNS)} | {"written_at", "trial_index", "variant"}
_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


def typed_table(table: pa.Table, *, add_missing: bool = True) -> pa.Table:
    """Cast known columns to their types (strings dictionary-encoded) and add missing known columns as nulls."""
    n = table.num_rows
    for col, typ in _ARROW_TYPES.items():
        if col in table.column_names:
            arr = table.column(col)
            try:
                if pa.types.is_dictionary(arr.type):
                    arr = arr.cast(pa.string())
                arr = arr.cast(typ) if arr.type != typ else arr
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ResultsError(f"column {col!r} cannot be read as {typ}: {str(exc).splitlines()[0]}") from None
            if _READ_COLUMNS[col].category:
                arr = pc.dictionary_encode(arr)
            table = table.set_column(table.column_names.index(col), col, arr)
        elif add_missing and col not in _OPTIONAL:
            nulls = pa.nulls(n, typ)
            table = table.append_column(col, pc.dictionary_encode(nulls) if _READ_COLUMNS[col].category else nulls)
    return table


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow -> pandas with nullable Int64/boolean, categoricals for dictionary strings, no block consolidation."""
    return table.to_pandas(types_mapper=_PANDAS_TYPES.get, split_blocks=True)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Type a pandas frame like `typed_table` (used for frames built in pandas, e.g. derived trials)."""
    return to_pandas(typed_table(pa.Table.from_pandas(df, preserve_index=False)))


def _fill_sweep(table: pa.Table, name: str) -> pa.Table:
    """Rows without a `sweep` value belong to the directory they were found in."""
    if "sweep" not in table.column_names:
        return table.append_column("sweep", pa.array([name] * table.num_rows, pa.string()))
    col = table.column("sweep")
    if col.null_count:
        idx = table.column_names.index("sweep")
        filled = pc.fill_null(col.cast(pa.string()), name)
        return table.set_column(idx, "sweep", filled)
    return table


def _read_metrics_table(sweeps: list[SweepDir], results: str | Path, skipped: list[str]) -> pa.Table:
    """Every tick row under RESULTS; where one sweep was found in several parts, each row names its part (PART).

    SKIPPED receives one note per unreadable part (left out: one bad file costs its own rows, not the sweep's)."""
    split = len({s.name for s in sweeps}) < len(sweeps)
    tables: list[pa.Table] = []
    for sweep in sweeps:
        mine = [_fill_sweep(t, sweep.name) for t in read_many(sweep.fs, metric_parts(sweep), skipped) if t.num_rows]
        if split:
            mine = [t.append_column(PART, pa.array([sweep.path] * t.num_rows, pa.string())) for t in mine]
        tables += mine
    if not tables and skipped:
        more = f" (and {len(skipped) - 1} more unreadable)" if len(skipped) > 1 else ""
        raise NoTickRows(f"no readable tick rows under {results}: {skipped[0].split(': its rows')[0]}{more}")
    if not tables:
        raise NoTickRows(f"no tick rows under {results}: the {METRICS_DIR}/ Parquet parts are missing or empty")
    return concat(tables, str(results))


def load_metrics(path: str | Path) -> pd.DataFrame:
    """Tick rows of every sweep under PATH, deduplicated (newest attempt) and typed, sorted by sweep/trial/tick.

    A metric part that is not readable Parquet is left out with an UnreadablePartWarning naming it; its note is
    also in `attrs["skipped_parts"]` and `attrs["notes"]` (the report lists it)."""
    sweeps = find_sweeps(path)
    skipped: list[str] = []
    table = _read_metrics_table(sweeps, path, skipped)
    for note in skipped:
        warnings.warn(note, UnreadablePartWarning, stacklevel=2)
    missing = [c for c in ("trial_id", "tick") if c not in table.column_names]
    if missing:
        raise ResultsError(f"tick rows under {path} lack required column(s) {', '.join(missing)}")
    metrics = split_r_v(to_pandas(dedup_newest(typed_table(table))))   # old rows: r_v's two estimators split
    metrics, notes = drop_repeated_runs(metrics, sweeps)                 # a run that two parts hold counts once
    metrics = with_evaluations(metrics, load_evaluations(sweeps))
    metrics.attrs["notes"] = skipped + notes
    metrics.attrs["skipped_parts"] = skipped
    return metrics


def load_evaluations(sweeps: list[SweepDir]) -> pd.DataFrame:
    """Re-measured FIDs of SWEEPS: one row per (sweep, trial, tick, detector); more samples, then more draws, then newest wins.

    Several evaluations of one snapshot are normal (a quick one, then a careful one); the most careful is the one to plot.
    """
    tables: list[pa.Table] = []
    for sweep in sweeps:
        tables += [_fill_sweep(t, sweep.name) for t in read_many(sweep.fs, evaluation_parts(sweep)) if t.num_rows]
    if not tables:
        return pd.DataFrame(columns=[*EVAL_KEY, *EVAL_JOIN])
    table = concat(tables, EVAL_DIR)
    missing = [c for c in [*EVAL_KEY, "fid"] if c not in table.column_names]
    if missing:
        raise ResultsError(f"evaluation rows lack required column(s) {', '.join(missing)}")
    df = dedup_evaluations(table).to_pandas()
    for col in EVAL_JOIN:
        if col not in df:
            df[col] = np.nan
    return df.reset_index(drop=True)


def with_evaluations(metrics: pd.DataFrame, evaluations: pd.DataFrame) -> pd.DataFrame:
    """METRICS with each re-measured FID on the tick row it re-measures (`fid_eval*`; null elsewhere).

    Joined on the detector too, so a number is never shown as a re-measure of a tick logged with another detector.
    """
    if evaluations.empty or metrics.empty:
        return metrics

    def key(df: pd.DataFrame) -> pd.MultiIndex:
        return pd.MultiIndex.from_arrays([df["sweep"].astype(str).to_numpy(), df["trial_id"].astype(str).to_numpy(),
                                          df["tick"].astype("int64").to_numpy(), df["detector"].astype(str).to_numpy()])
    pos = key(evaluations).get_indexer(key(metrics))
    hit = pos >= 0
    out = metrics.copy()
    for src, dst in EVAL_JOIN.items():
        values = pd.to_numeric(evaluations[src], errors="coerce").to_numpy(dtype="float64")
        filled = np.where(hit, values[np.where(hit, pos, 0)], np.nan)
        out[dst] = pd.array(np.round(filled), dtype="Int64") if dst in INT_COLS else filled
    return out


def empty_metrics() -> pd.DataFrame:
    """A typed tick-row frame with no rows: what a report draws from when no trial has reported yet."""
    table = pa.table({"trial_id": pa.array([], pa.string()), "tick": pa.array([], pa.int64())})
    return to_pandas(typed_table(table))


def load_trials(path: str | Path) -> pd.DataFrame:
    """One row per trial (status, error, retries, best/final FID, config); derived from tick rows where trials.parquet is absent."""
    sweeps = find_sweeps(path)
    frames: list[pd.DataFrame] = []
    for sweep in sweeps:
        if sweep.fs.get_file_info(sweep.join(TRIALS_FILE)).type.name == "File":
            table = _fill_sweep(read_parquet(sweep.fs, sweep.join(TRIALS_FILE)), sweep.name)
            frames.append(to_pandas(typed_table(table, add_missing=False)))
        elif metric_parts(sweep):
            derived = trials_from_metrics(load_metrics(sweep.path if "://" not in str(path) else _uri(path, sweep)))
            frames.append(with_status_records(derived, read_status_records(sweep)))
    frames = [f for f in frames if len(f)]
    if not frames:
        raise ResultsError(f"no trials under {path}: {TRIALS_FILE} and {METRICS_DIR}/ are missing or empty")
    df = _typed(pd.concat(frames, ignore_index=True))
    for col in ("status", "error", "config_json"):
        if col not in df:
            df[col] = None
    for col in ("best_fid", "final_fid", "final_kimg"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64") if col in df else np.nan
    if "retries" not in df:
        df["retries"] = pd.array([pd.NA] * len(df), dtype="Int64")
    return df.sort_values(["sweep", "trial_id"], kind="stable").reset_index(drop=True)


def _uri(results: str | Path, sweep: SweepDir) -> str:
    scheme = str(results).split("://", 1)[0]
    return f"{scheme}://{sweep.path}"


def trials_from_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    """A minimal trials table when the store wrote none: config of the last row, FIDs, status UNKNOWN."""
    if metrics.empty:
        return pd.DataFrame()
    last = metrics.groupby(["sweep", "trial_id"], observed=True, sort=True).tail(1).set_index(["sweep", "trial_id"])
    fids = metrics.dropna(subset=["fid"]).groupby(["sweep", "trial_id"], observed=True)
    out = last[[c for c in CONFIG_COLS if c in last.columns and c not in ("sweep", "trial_id")]].copy()
    out["status"] = UNKNOWN
    out["error"] = None
    out["attempt"] = last["attempt"]
    out["best_fid"] = fids["fid"].min()
    out["final_fid"] = fids["fid"].last()
    out["final_kimg"] = last["kimg"]
    return out.reset_index()


def with_status_records(trials: pd.DataFrame, records: list[dict]) -> pd.DataFrame:
    """Overlay a live sweep's status records (status, error, attempt) on trials derived from tick rows."""
    if not records or trials.empty:
        return trials
    rec = pd.DataFrame(records).drop_duplicates("trial_id", keep="last").set_index("trial_id")
    out = trials.set_index("trial_id")
    for col in ("status", "error", "attempt"):
        if col in rec:
            new = rec[col].reindex(out.index)
            out[col] = new.where(new.notna(), out[col]) if col in out else new
    if "attempt" in rec:
        out["retries"] = pd.to_numeric(rec["attempt"], errors="coerce").reindex(out.index)
    return out.reset_index()


def sweep_configs(path: str | Path) -> dict[str, dict | None]:
    """sweep name -> the sweep.json spec (None when the launcher wrote none).

    A sweep run in parts (`<part>/<sweep>/` folders) has one sweep.json per part, each with its own --set pins:
    they are keyed `<sweep> [<part>]` so that none hides another."""
    sweeps = find_sweeps(path)
    names = [s.name for s in sweeps]
    return {(s.name if names.count(s.name) == 1 else f"{s.name} [{posixpath.basename(posixpath.dirname(s.path))}]"):
            read_sweep_json(s) for s in sweeps}
