"""The Parquet results store of one sweep (docs/architecture.md "Results store"): per-tick parts, trial status records, trials.parquet.

What the files are called, which columns they hold and which row wins is the
results format's (`resultsformat`: layout, columns, dedup), and so is reading
(`resultsformat.reader`, analysis's reader too); this module is the writer, through
a pyarrow filesystem (local, s3://, gs://), and reads through that reader.

Every row is written from the trial process, never through a driver callback
(a slow callback stalls Ray's event loop for every trial).  Local files are
written to a temp name in the same directory and renamed, so a reader never
sees half a file; object stores (s3://, gs://) are atomic per object, so parts
go straight to their final key.

A running paper-scale trial flushes about one part per tick (a tick takes
minutes), so the store compacts each attempt's parts as it goes (`compact_attempt`,
at every checkpoint and every `COMPACT_EVERY` parts): a running trial holds at
most that many parts plus one merged part per attempt, and `load_metrics` on a
running sweep lists hundreds of objects, not hundreds of thousands.  A
compaction writes the merged part before deleting what it merged, so an
interruption leaves duplicate rows, which the dedup rule drops; never a gap.
"""

from __future__ import annotations

import errno
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pafs

from resultsformat import TICK_COLUMNS, TRIAL_COLUMNS, conform, dedup_newest, parquet_bytes
from resultsformat.parts import skip_note
from resultsformat.reader import (BadLocation, concat_parts, list_files, open_location, read_bytes, read_parts,
                                  read_table, status_records)
from sweeps.outage import FLUSH_ENV, Outage, env_seconds
from resultsformat.layout import (METRICS_DIR, SWEEP_FILE, TRIALS_DIR, TRIALS_FILE, attempt_prefix, parse_part_name,
                                  part_name)
from trainer.atomic import atomic_write_bytes
from trainer.errors import UserInputError

__all__ = ["SweepStore", "RowBuffer", "StoreWriteError", "StorageFull", "StoreUnreachable", "no_space", "read_metrics", "probe_writable",
           "resolve_storage", "SWEEP_FILE", "METRICS_DIR", "COMPACT_EVERY", "FLUSH_S"]

# A running attempt's tick parts are merged once this many have accumulated (and at every checkpoint).
COMPACT_EVERY = 20
# A running trial's buffered rows reach the store at least this often (sweeps.status's stall limit allows for it).
FLUSH_S = 30.0
# Test seam (tests/reliability/test_fault_full_disk.py, where no small filesystem can be mounted): while the file
# this names exists, every local write of the store fails with ENOSPC, as on a full disk.
FULL_DISK_FLAG_ENV = "GANAUG_TEST_FULL_DISK_FLAG"
S3_TIMEOUT_S = 5.0   # per S3 request of the store (connect, and request), two attempts
S3_TIMEOUT_ENV = "GANAUG_S3_TIMEOUT_S"
# Test seam (tests/reliability/test_fault_compaction_kill.py): seconds a compaction waits between writing the
# merged part and deleting what it merged, so that a kill lands in that window.
COMPACT_HOLD_ENV = "GANAUG_TEST_HOLD_IN_COMPACTION_S"


class StoreWriteError(OSError):
    """The results store refused a write (disk full, permissions, read-only mount); the message names the folder."""


class StoreUnreachable(StoreWriteError):
    """The store did not answer for longer than the outage limit (sweeps.outage); the message names it."""


class StorageFull(StoreWriteError):
    """A trial met a full disk under the sweep (our rows or Ray's checkpoints); the message names the folder."""


NO_SPACE = "no space left on device"


def no_space(exc: BaseException | None) -> bool:
    """Whether EXC, or an exception it was raised from, is a full disk (ENOSPC, also as pyarrow words it)."""
    seen = 0
    while exc is not None and seen < 20:
        if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or NO_SPACE in str(exc).lower():
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def resolve_storage(storage: str) -> tuple[pafs.FileSystem, str, bool]:
    """(filesystem, root path inside it, is_local) for a local directory or a URI (file://, s3://, gs://)."""
    try:
        fs, path = open_location(storage)
    except BadLocation as exc:
        raise UserInputError(f"--storage {storage}: unsupported or unreachable URI ({exc.reason})") from None
    return _bounded(fs), path, isinstance(fs, pafs.LocalFileSystem)


def _bounded(fs: pafs.FileSystem) -> pafs.FileSystem:
    """An S3 filesystem whose requests give up after seconds, not the SDK's minutes (measured 99 s against an
    endpoint that stopped answering): RowBuffer then keeps the rows and retries on its own backoff (sweeps.outage)."""
    if not isinstance(fs, pafs.S3FileSystem):
        return fs
    options = dict(fs.__reduce__()[1][0])
    timeout = env_seconds(S3_TIMEOUT_ENV, S3_TIMEOUT_S)
    options.update(connect_timeout=timeout, request_timeout=timeout,
                   retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=2))
    return pafs.S3FileSystem(**options)


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
        try:
            if os.environ.get(FULL_DISK_FLAG_ENV) and os.path.exists(os.environ[FULL_DISK_FLAG_ENV]):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), final)
            atomic_write_bytes(Path(final), data)   # the one temp + rename (trainer.atomic)
        except OSError as exc:
            reason = exc.strerror or str(exc).splitlines()[0]
            raise StoreWriteError(f"results store {parent} is not writable ({reason}); rows written so far "
                                  f"are intact") from exc
        return final

    def create_json(self, rel: str, obj: Any) -> str:
        """Write `obj` at `<root>/<rel>` only if nothing is there yet; UserInputError if it is (put_if_absent)."""
        if not self.put_if_absent(rel, obj):
            raise UserInputError(f"{self.uri} already holds results of {self.sweep} (another launch, or an earlier "
                                 f"one): pass --resume to continue it, or choose another --storage")
        return self.path(rel)

    def put_if_absent(self, rel: str, obj: Any) -> bool:
        """Write `obj` as JSON at `<root>/<rel>` unless something is there; whether it was written.

        Locally the temp file is hard-linked to its final name, which fails atomically when
        the name exists, so of two launches racing for one name exactly one wins.
        Object stores have no such primitive: there it is check-then-put (best effort).
        """
        final = self.path(rel)
        if not self.is_local:
            if self.exists(rel):
                return False
            self.write_json(rel, obj)
            return True
        parent = final.rsplit("/", 1)[0]
        self.fs.create_dir(parent, recursive=True)
        tmp = f"{parent}/.{final.rsplit('/', 1)[1]}.{uuid.uuid4().hex[:8]}.tmp"
        with open(tmp, "wb") as out:
            out.write(json.dumps(obj, indent=1, sort_keys=True, default=str).encode())
        try:
            os.link(tmp, final)
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)
        return True

    def delete(self, rel: str) -> None:
        """Remove `<root>/<rel>` (nothing if it is already gone)."""
        try:
            self.fs.delete_file(self.path(rel))
        except FileNotFoundError:
            pass

    def write_json(self, rel: str, obj: Any) -> str:
        return self.write_bytes(rel, json.dumps(obj, indent=1, sort_keys=True, default=str).encode())

    def read_json(self, rel: str) -> Any | None:
        """The JSON at `<root>/<rel>`, or None when it is absent or not JSON."""
        raw = read_bytes(self.fs, self.path(rel))
        try:
            return None if raw is None else json.loads(raw.decode())
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None

    def write_table(self, rel: str, table: pa.Table) -> str:
        """Write a small table as one Parquet file at `<root>/<rel>`, atomically."""
        return self.write_bytes(rel, parquet_bytes(table, small=True))

    def write_rows(self, rows: list[dict[str, Any]], *, trial_id: str, attempt: int, name: str | None = None) -> str:
        """Append tick rows of one trial-attempt as a new immutable part; stamps `written_at`.

        name: the part's name (a retry after a failed write reuses it, so a write the store did take after all
        is overwritten by the retry, never doubled)."""
        now = time.time()
        stamped = [{**r, "trial_id": trial_id, "attempt": attempt, "written_at": now} for r in rows]
        table = conform(stamped, TICK_COLUMNS, f"tick rows of {trial_id}")
        name = name or part_name(trial_id, attempt, int(stamped[0].get("tick") or 0))
        return self.write_bytes(f"{METRICS_DIR}/{name}", parquet_bytes(table, small=True))

    def compact(self, trial_id: str) -> int:
        """Merge each attempt's parts of one trial into one part; returns the number of parts left for the trial.

        Attempts stay separate, so the rows a retry superseded remain inspectable; readers dedup anyway.
        """
        attempts = sorted({a for a in (self._attempt_of(trial_id, p) for p in self._parts(attempt_prefix(trial_id)))
                           if a is not None})
        return sum(self.compact_attempt(trial_id, a) for a in attempts)

    def compact_attempt(self, trial_id: str, attempt: int) -> int:
        """Merge one attempt's parts into one (written first, then the merged ones deleted); returns parts left (0/1)."""
        parts = self._parts(attempt_prefix(trial_id, attempt))
        if len(parts) <= 1:
            return len(parts)
        tables, skipped = self._read_parts(parts)
        parts = [p for p in parts if p not in skipped]   # an unreadable part is left where it is, never deleted
        if not tables:
            return len(skipped)
        merged = dedup_newest(conform(concat_parts(tables), TICK_COLUMNS, f"parts of {trial_id}"))
        last_tick = max(merged.column("tick").to_pylist() or [0])
        name = part_name(trial_id, attempt, int(last_tick), compacted=True)
        self.write_bytes(f"{METRICS_DIR}/{name}", parquet_bytes(merged))
        if os.environ.get(COMPACT_HOLD_ENV):
            time.sleep(float(os.environ[COMPACT_HOLD_ENV]))
        self._delete_parts(parts)
        return 1 + len(skipped)

    def _delete_parts(self, parts: list[str]) -> None:
        """The second step of a compaction (a separate method so tests can interrupt between the two)."""
        for p in parts:
            try:
                self.fs.delete_file(p)
            except FileNotFoundError:
                pass

    @staticmethod
    def _attempt_of(trial_id: str, path: str) -> int | None:
        name = path.rsplit("/", 1)[-1]
        parsed = parse_part_name(name)
        if parsed is not None:
            return parsed.attempt
        rest = name[len(trial_id) + 1:].split(".")[0]   # parts named before resultsformat: <id>.a<N>.compact.<uuid>
        return int(rest[1:]) if rest[:1] == "a" and rest[1:].isdigit() else None

    def write_status(self, trial_id: str, record: dict[str, Any]) -> None:
        self.write_json(f"{TRIALS_DIR}/{trial_id}.json", {**record, "trial_id": trial_id, "updated_at": time.time()})

    def read_status(self, trial_id: str) -> dict[str, Any] | None:
        return self.read_json(f"{TRIALS_DIR}/{trial_id}.json")

    def read_statuses(self) -> dict[str, dict[str, Any]]:
        """trial_id -> its status record (resultsformat.reader.status_records)."""
        return {rec["trial_id"]: rec for rec in status_records(self.fs, self.path(TRIALS_DIR))}

    def write_trials(self, df: pd.DataFrame) -> str:
        return self.write_bytes(TRIALS_FILE, parquet_bytes(conform(df, TRIAL_COLUMNS, TRIALS_FILE)))

    # ---- reading (resultsformat.reader; the storage's own errors propagate, for sweeps.outage) --------------
    def _parts(self, prefix: str = "") -> list[str]:
        return [i.path for i in list_files(self.fs, self.path(METRICS_DIR), suffix=".parquet", prefix=prefix)]

    def _read_parts(self, paths: list[str]) -> tuple[list[pa.Table], dict[str, str]]:
        """The readable parts among PATHS (a vanished one was compacted away: its rows are in the merged part),
        and {path: one-line note} of those that exist but are not readable Parquet (resultsformat.parts)."""
        tables, unreadable = read_parts(self.fs, paths)
        return tables, {exc.path: skip_note(exc) for exc in unreadable}

    def read_metrics(self, dedup: bool = True) -> pd.DataFrame:
        """All tick rows, one per (trial_id, tick) by the format's dedup rule; dedup=False: every row.

        An unreadable part is left out; its note is in `df.attrs["skipped_parts"]` for the caller to print."""
        tables, skipped = self._read_parts(self._parts())
        df = pd.DataFrame()
        if tables:
            rows = concat_parts(tables)
            df = (dedup_newest(rows) if dedup else rows).to_pandas()
        df.attrs["skipped_parts"] = list(skipped.values())
        return df

    def read_trials(self) -> pd.DataFrame:
        return read_table(self.fs, self.path(TRIALS_FILE)).to_pandas()


class RowBuffer:
    """Tick rows of one trial-attempt, written as one part per flush instead of one per tick, compacted as they pile up.

    A Parquet part costs milliseconds whatever its row count, so rows are flushed when a
    checkpoint is about to be reported (every tick up to that checkpoint is then durable: a
    retry re-reports only ticks after it), at the end of the trial, and at least every
    `flush_s` seconds so a running sweep stays observable.  `flush(compact=True)` (at a
    checkpoint), or `compact_every` parts since the last compaction, merges the attempt's parts.
    An object store that stops answering is ridden out (sweeps.outage): rows stay buffered,
    `flush` says whether they are durable, and past the outage limit it raises StoreUnreachable.
    """

    def __init__(self, store: SweepStore, trial_id: str, attempt: int, flush_s: float | None = None,
                 compact_every: int = COMPACT_EVERY) -> None:
        self.store, self.trial_id, self.attempt = store, trial_id, attempt
        self.flush_s = env_seconds(FLUSH_ENV, FLUSH_S) if flush_s is None else flush_s
        self.compact_every = compact_every
        self.rows: list[dict[str, Any]] = []
        self.last_flush = time.monotonic()
        self.loose_parts = 0
        self.outage = Outage()
        self.pending_name: str | None = None   # the part name a failed write will be retried under

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if time.monotonic() - self.last_flush >= self.flush_s:
            self.flush()

    def flush(self, compact: bool = False) -> bool:
        """Write the buffered rows; whether every row is now in the store (False: the store is unreachable)."""
        self.last_flush = time.monotonic()
        if not self.outage.may_try():
            return self._still_down()
        try:
            if self.rows:
                self.pending_name = self.pending_name or part_name(self.trial_id, self.attempt,
                                                                   int(self.rows[0].get("tick") or 0))
                self.store.write_rows(self.rows, trial_id=self.trial_id, attempt=self.attempt, name=self.pending_name)
                self.rows, self.pending_name = [], None
                self.loose_parts += 1
            if self.loose_parts >= self.compact_every or (compact and self.loose_parts > 1):
                self.store.compact_attempt(self.trial_id, self.attempt)
                self.loose_parts = 0
        except OSError as exc:
            if self.store.is_local or no_space(exc):
                raise
            self.outage.failed(exc)
            return self._still_down()
        self.outage.recovered()
        return True

    def _still_down(self) -> bool:
        if self.outage.past_limit():
            raise StoreUnreachable(f"results store {self.store.uri} unreachable for {self.outage.down_s:.0f} s "
                                   f"(limit {self.outage.limit_s:g} s; last error: {self.outage.error}); "
                                   f"{len(self.rows)} tick rows not written, --resume re-trains them")
        return not self.rows

    def drain(self) -> None:
        """Flush until every row is in the store (the trial's end), waiting out an outage up to its limit."""
        while not self.flush(compact=True):
            time.sleep(max(0.2, min(self.outage.next_try - time.monotonic(), 5.0)))


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
