"""The Parquet results store of one sweep (DESIGN "Results store"): per-tick parts, trial status records, trials.parquet.

Layout under `<storage>/<sweep>/`:

    metrics/<trial_id>.a<attempt>.t<tick>.<uuid>.parquet   immutable parts, one row per trial x tick
    metrics/<trial_id>.a<attempt>.compact.<uuid>.parquet  one attempt's parts merged when the trial ends
    trials/<trial_id>.json                                status record written by the trial process
    trials.parquet                                        one row per trial, assembled by the driver
    sweep.json                                            spec, scale, overrides and command line
    samples/<trial_id>/tick<NNNNNN>.png                   sample grids

Every row is written from the trial process, never through a driver callback
(a slow callback stalls Ray's event loop for every trial).  Local files are
written to a temp name in the same directory and renamed, so a reader never
sees half a file; object stores (s3://, gs://) are atomic per object, so parts
go straight to their final key.  A part's name carries the trial id, attempt
and a random suffix, so concurrent or retried writers never collide.

A retried or resumed trial re-reports the ticks after its last checkpoint.
Readers therefore deduplicate on (trial_id, tick), keeping the newest attempt
(then the newest `written_at`): exactly one row per trial x tick.
"""

from __future__ import annotations

import io
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from trainer.errors import UserInputError

METRICS_DIR = "metrics"
TRIALS_DIR = "trials"
SAMPLES_DIR = "samples"
TRIALS_FILE = "trials.parquet"
SWEEP_FILE = "sweep.json"


class StoreWriteError(OSError):
    """The results store refused a write (disk full, permissions, read-only mount); the message names the folder."""


def resolve_storage(storage: str) -> tuple[pafs.FileSystem, str, bool]:
    """(filesystem, root path inside it, is_local) for a local directory or a URI (file://, s3://, gs://)."""
    if "://" in storage:
        try:
            fs, path = pafs.FileSystem.from_uri(storage)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
            raise UserInputError(f"--storage {storage}: unsupported or unreachable URI ({str(exc).splitlines()[0]})") from None
        return fs, path.rstrip("/"), isinstance(fs, pafs.LocalFileSystem)
    return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(storage)), True


class SweepStore:
    """Reads and writes one sweep's results under `<storage>/<sweep>/` through a pyarrow filesystem."""

    def __init__(self, storage: str, sweep: str) -> None:
        self.storage = storage
        self.sweep = sweep
        self.fs, base, self.is_local = resolve_storage(storage)
        self.base = base
        self.root = f"{base}/{sweep}"

    # ---- paths -------------------------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    @property
    def uri(self) -> str:
        """Where the sweep's results are, as the user would type it."""
        if "://" in self.storage:
            return self.storage.rstrip("/") + "/" + self.sweep
        return self.root

    def exists(self, *parts: str) -> bool:
        return self.fs.get_file_info(self.path(*parts)).type != pafs.FileType.NotFound

    # ---- writing -----------------------------------------------------------------------------------------
    def write_bytes(self, rel: str, data: bytes) -> str:
        """Write `data` at `<root>/<rel>` atomically (temp + rename locally; direct put on object stores)."""
        final = self.path(rel)
        parent = final.rsplit("/", 1)[0]
        if not self.is_local:
            self.fs.create_dir(parent, recursive=True)
            with self.fs.open_output_stream(final) as out:
                out.write(data)
            return final
        tmp = f"{parent}/.{final.rsplit('/', 1)[1]}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            self.fs.create_dir(parent, recursive=True)
            with self.fs.open_output_stream(tmp) as out:
                out.write(data)
            self.fs.move(tmp, final)
        except BaseException as exc:
            if self.fs.get_file_info(tmp).type != pafs.FileType.NotFound:
                self.fs.delete_file(tmp)
            if isinstance(exc, OSError) and not isinstance(exc, StoreWriteError):
                reason = exc.strerror or str(exc).splitlines()[0]
                raise StoreWriteError(f"results store {parent} is not writable ({reason}); rows written so far "
                                      f"are intact") from exc
            raise
        return final

    def create_json(self, rel: str, obj: Any) -> str:
        """Write `obj` at `<root>/<rel>` only if nothing is there yet; UserInputError if it is.

        Locally the temp file is hard-linked to its final name, which fails atomically when
        the name exists, so of two launches racing for one sweep folder exactly one wins.
        Object stores have no such primitive: there it is check-then-put (best effort).
        """
        final = self.path(rel)
        taken = UserInputError(f"{self.uri} already holds results of {self.sweep} (another launch, or an earlier "
                               f"one): pass --resume to continue it, or choose another --storage")
        if not self.is_local:
            if self.exists(rel):
                raise taken
            return self.write_json(rel, obj)
        parent = final.rsplit("/", 1)[0]
        self.fs.create_dir(parent, recursive=True)
        tmp = f"{parent}/.{final.rsplit('/', 1)[1]}.{uuid.uuid4().hex[:8]}.tmp"
        with open(tmp, "wb") as out:
            out.write(json.dumps(obj, indent=1, sort_keys=True, default=str).encode())
        try:
            os.link(tmp, final)
        except FileExistsError:
            raise taken from None
        finally:
            os.unlink(tmp)
        return final

    def write_json(self, rel: str, obj: Any) -> str:
        return self.write_bytes(rel, json.dumps(obj, indent=1, sort_keys=True, default=str).encode())

    def read_json(self, rel: str) -> Any | None:
        try:
            with self.fs.open_input_stream(self.path(rel)) as f:
                return json.loads(f.read().decode())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def _table_bytes(self, table: pa.Table, small: bool = False) -> bytes:
        buf = io.BytesIO()
        if small:   # a few rows: Parquet's per-column statistics and compression cost more than they save
            pq.write_table(table, buf, compression="none", use_dictionary=False, write_statistics=False)
        else:
            pq.write_table(table, buf, compression="zstd")
        return buf.getvalue()

    def write_table(self, rel: str, table: pa.Table) -> str:
        """Write a small table as one Parquet file at `<root>/<rel>`, atomically."""
        return self.write_bytes(rel, self._table_bytes(table, small=True))

    def write_rows(self, rows: list[dict[str, Any]], *, trial_id: str, attempt: int) -> str:
        """Append tick rows of one trial-attempt as a new immutable part; stamps `written_at`."""
        now = time.time()
        stamped = [{**r, "trial_id": trial_id, "attempt": attempt, "written_at": now} for r in rows]
        first_tick = int(stamped[0].get("tick") or 0)
        name = f"{trial_id}.a{attempt}.t{first_tick:06d}.{uuid.uuid4().hex[:8]}.parquet"
        return self.write_bytes(f"{METRICS_DIR}/{name}", self._table_bytes(pa.Table.from_pylist(stamped), small=True))

    def compact(self, trial_id: str) -> int:
        """Merge each attempt's small parts of one trial into one part (written first), then delete the small ones.

        Attempts stay separate, so the rows a retry superseded remain inspectable; readers dedup anyway.
        Returns the number of parts left for the trial.
        """
        by_attempt: dict[str, list[str]] = {}
        for p in self._parts(prefix=f"{trial_id}."):
            by_attempt.setdefault(p.rsplit("/", 1)[-1][len(trial_id) + 1:].split(".")[0], []).append(p)
        for attempt, parts in by_attempt.items():
            if len(parts) <= 1:
                continue
            merged = _concat([self._read_part(p) for p in parts])
            name = f"{trial_id}.{attempt}.compact.{uuid.uuid4().hex[:8]}.parquet"
            self.write_bytes(f"{METRICS_DIR}/{name}", self._table_bytes(pa.Table.from_pandas(merged, preserve_index=False)))
            for p in parts:
                self.fs.delete_file(p)
        return len(by_attempt)

    def write_status(self, trial_id: str, record: dict[str, Any]) -> None:
        self.write_json(f"{TRIALS_DIR}/{trial_id}.json", {**record, "trial_id": trial_id, "updated_at": time.time()})

    def read_status(self, trial_id: str) -> dict[str, Any] | None:
        return self.read_json(f"{TRIALS_DIR}/{trial_id}.json")

    def read_statuses(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for info in self._list(TRIALS_DIR):
            if info.base_name.endswith(".json") and not info.base_name.startswith("."):
                rec = self.read_json(f"{TRIALS_DIR}/{info.base_name}")
                if rec is not None:
                    out[rec.get("trial_id", info.base_name[:-5])] = rec
        return out

    def write_trials(self, df: pd.DataFrame) -> str:
        return self.write_bytes(TRIALS_FILE, self._table_bytes(pa.Table.from_pandas(df, preserve_index=False)))

    # ---- reading -----------------------------------------------------------------------------------------
    def _list(self, rel: str) -> list[pafs.FileInfo]:
        sel = pafs.FileSelector(self.path(rel), allow_not_found=True)
        return [i for i in self.fs.get_file_info(sel) if i.type == pafs.FileType.File]

    def _parts(self, prefix: str = "") -> list[str]:
        return sorted(i.path for i in self._list(METRICS_DIR)
                      if i.base_name.endswith(".parquet") and i.base_name.startswith(prefix) and not i.base_name.startswith("."))

    def _read_part(self, path: str) -> pa.Table:
        return pq.read_table(path, filesystem=self.fs)

    def read_metrics(self, dedup: bool = True) -> pd.DataFrame:
        """All tick rows, one per (trial_id, tick): the newest attempt (then newest write) wins; dedup=False: every row."""
        parts = self._parts()
        if not parts:
            return pd.DataFrame()
        tables = []
        for p in parts:
            try:
                tables.append(self._read_part(p))
            except FileNotFoundError:   # compacted away while we listed; its rows are in the merged part
                continue
        rows = _concat(tables)
        return _dedup(rows) if dedup else rows

    def read_trials(self) -> pd.DataFrame:
        return pq.read_table(self.path(TRIALS_FILE), filesystem=self.fs).to_pandas()


class RowBuffer:
    """Tick rows of one trial-attempt, written as one part per flush instead of one per tick.

    A Parquet part costs milliseconds whatever its row count, so rows are flushed when a
    checkpoint is about to be reported (every tick up to that checkpoint is then durable: a
    retry re-reports only ticks after it), at the end of the trial, and at least every
    `flush_s` seconds so a running sweep stays observable.
    """

    def __init__(self, store: SweepStore, trial_id: str, attempt: int, flush_s: float = 30.0) -> None:
        self.store, self.trial_id, self.attempt, self.flush_s = store, trial_id, attempt, flush_s
        self.rows: list[dict[str, Any]] = []
        self.last_flush = time.monotonic()

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if time.monotonic() - self.last_flush >= self.flush_s:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.store.write_rows(self.rows, trial_id=self.trial_id, attempt=self.attempt)
            self.rows = []
        self.last_flush = time.monotonic()


def _concat(tables: list[pa.Table]) -> pd.DataFrame:
    """Concatenate parts whose schemas differ only by all-null columns (null promotes to the real type)."""
    if not tables:
        return pd.DataFrame()
    return pa.concat_tables(tables, promote_options="permissive").to_pandas()


def _dedup(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    df = df.sort_values(["trial_id", "tick", "attempt", "written_at"], kind="stable")
    df = df.drop_duplicates(["trial_id", "tick"], keep="last")
    return df.reset_index(drop=True)


def read_metrics(path: str | Path) -> pd.DataFrame:
    """Deduplicated tick rows of the sweep stored at `path` (= `<storage>/<sweep>`, a directory or URI)."""
    text = str(path).rstrip("/")
    storage, _, sweep = text.rpartition("/")
    return SweepStore(storage or ".", sweep).read_metrics()


def probe_writable(storage: str) -> None:
    """Fail with UserInputError unless `storage` accepts writes; for local paths nothing is created on failure."""
    fs, base, is_local = resolve_storage(storage)
    if is_local:
        probe_dir = Path(base)
        while not probe_dir.exists():
            if probe_dir.parent == probe_dir:
                break
            probe_dir = probe_dir.parent
        if probe_dir.exists() and not probe_dir.is_dir():
            raise UserInputError(f"--storage {storage}: {probe_dir} is a file, not a directory")
        target = f"{probe_dir}/.ganaug-probe-{uuid.uuid4().hex[:8]}"
    else:
        target = f"{base}/.ganaug-probe-{uuid.uuid4().hex[:8]}"
    try:
        with fs.open_output_stream(target) as out:
            out.write(b"probe")
        fs.delete_file(target)
    except (OSError, pa.ArrowException) as exc:
        raise UserInputError(f"--storage {storage}: not writable ({str(exc).splitlines()[0]})") from None
