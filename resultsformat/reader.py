"""Reading a results store, on a local disk or in a bucket: the one reader of `sweeps.store` and `analysis`.

A location is a local path or an `s3://` / `gs://` URI, opened through
`pyarrow.fs.FileSystem.from_uri` exactly like Ray's own `storage_path`, so the
figures can be drawn straight from a cluster's bucket.  Reading needs pyarrow
alone: neither Ray nor torch is imported.  What the files are called is
`layout`'s; this module lists them, reads metric parts (a corrupt one costs its
own rows: `parts`), tables, JSON and status records, and finds the sweep
folders under a path.

Two kinds of callers, two ways to fail:

- the store (`sweeps.store.SweepStore`) reads the folder it writes, through the
  plain functions (`list_files`, `read_parts`, `read_bytes`, `status_records`,
  `read_table`, `concat_parts`): a storage error stays the storage's own OSError,
  because a writer rides out an object store's outage (sweeps.outage);
- analysis reads whatever path a user names, through `find_sweeps` and the
  functions that take a `SweepDir`: every failure is a `ResultsError` whose one
  line names the path or the file, because "ArrowInvalid: Parquet magic bytes
  not found" without a file name is useless when a store holds thousands of parts.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from resultsformat.layout import (EVAL_DIR, METRICS_DIR, SAMPLES_DIR, SINGLE_RUN_FILE, SWEEP_FILE, TRIALS_DIR,
                                  TRIALS_FILE, sample_tick)
from resultsformat.parts import UnreadablePart, read_part, skip_note

__all__ = ["ResultsError", "BadLocation", "SweepDir", "redact", "first_line", "open_location", "list_files",
           "read_parts", "concat_parts", "read_table", "read_bytes", "status_records", "find_sweeps", "metric_parts",
           "evaluation_parts", "read_many", "read_parquet", "read_status_records", "concat", "read_file",
           "read_sweep_json", "sample_ticks"]

_HIDDEN = (".", "_")   # temp files of atomic writes, and what Arrow's datasets skip too (_SUCCESS, _metadata)


class ResultsError(ValueError):
    """A results path that cannot be read: missing, empty or corrupt (one-line message)."""


class BadLocation(ResultsError):
    """A URI that names no filesystem pyarrow can open (unknown scheme, malformed, no credentials resolver)."""

    def __init__(self, location: str, reason: str) -> None:
        self.location, self.reason = location, reason
        super().__init__(f"cannot open results URI {location}: {reason}")


def redact(uri: str) -> str:
    """`uri` without user:password@ and query strings: what a report may print about where results came from."""
    return re.sub(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@", r"\1", str(uri)).split("?")[0]


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (pyarrow's run to several), or its type when it has none."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


# ---- the store's reads: the storage's own errors propagate ------------------------------------------------
def open_location(location: str | Path, *, follow_links: bool = False) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) of a local path or a URI (file://, s3://, gs://); BadLocation for a bad URI.

    A local path is made absolute; FOLLOW_LINKS resolves symlinks too (analysis: one folder has one name), which
    the store does not do, since sweep.json records the storage root as the user spelled it."""
    text = str(location)
    if "://" in text:
        try:
            fs, path = pafs.FileSystem.from_uri(text)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
            raise BadLocation(text, first_line(exc)) from None
        return fs, path.rstrip("/")
    if follow_links:
        return pafs.LocalFileSystem(), str(Path(text).expanduser().resolve()).replace("\\", "/")
    return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(text))


def list_files(fs: pafs.FileSystem, folder: str, *, suffix: str = "", prefix: str = "",
               recursive: bool = False) -> list[pafs.FileInfo]:
    """The files in FOLDER (none if it is absent) whose names start with PREFIX and end with SUFFIX, by path;
    hidden and temp names (starting with . or _) are left out."""
    infos = fs.get_file_info(pafs.FileSelector(folder, recursive=recursive, allow_not_found=True))
    return sorted((i for i in infos if i.type == pafs.FileType.File and i.base_name.endswith(suffix)
                   and i.base_name.startswith(prefix) and not i.base_name.startswith(_HIDDEN)), key=lambda i: i.path)


def _read_or_skip(fs: pafs.FileSystem, path: str, threads: bool,
                  storage_error: Callable[[str, OSError], Exception] | None) -> pa.Table | UnreadablePart | None:
    try:
        return read_part(fs, path, threads=threads)
    except UnreadablePart as exc:
        return exc
    except OSError as exc:
        if storage_error is None:
            raise
        raise storage_error(path, exc) from None


def read_parts(fs: pafs.FileSystem, paths: list[str], *,
               storage_error: Callable[[str, OSError], Exception] | None = None
               ) -> tuple[list[pa.Table], list[UnreadablePart]]:
    """(the readable parts among PATHS, in order; the errors of those that exist but are not readable Parquet).

    A part that vanished between listing and reading was compacted away (its rows are in the merged part), so it
    is left out.  A storage error propagates, or STORAGE_ERROR(path, error) is raised in its place.  Many small
    parts are read concurrently: a live store holds one part per trial, attempt and flush.
    """
    if len(paths) <= 2:
        got = [_read_or_skip(fs, p, True, storage_error) for p in paths]
    else:
        # one file per thread, each single-threaded: nesting Arrow's own threads in a pool oversubscribes
        # the cores (measured 4x slower on 2 cores); I/O-bound object stores still overlap 4 requests
        with ThreadPoolExecutor(max_workers=4) as pool:
            got = list(pool.map(lambda p: _read_or_skip(fs, p, False, storage_error), paths))
    return [t for t in got if isinstance(t, pa.Table)], [g for g in got if isinstance(g, UnreadablePart)]


def concat_parts(tables: list[pa.Table]) -> pa.Table:
    """Concatenate parts whose schemas drifted (a column added later, all-null vs typed, int vs float) into one."""
    return pa.concat_tables(tables, promote_options="permissive")


def read_table(fs: pafs.FileSystem, path: str, *, threads: bool = True) -> pa.Table:
    """One Parquet file (trials.parquet, a single run's metrics.parquet)."""
    return pq.read_table(path, filesystem=fs, use_threads=threads)


def read_bytes(fs: pafs.FileSystem, path: str) -> bytes | None:
    """A small file's bytes, or None when it does not exist."""
    try:
        with fs.open_input_stream(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def status_records(fs: pafs.FileSystem, folder: str) -> list[dict[str, Any]]:
    """The per-trial status records (`trials/<trial_id>.json`) under FOLDER, each with its `trial_id` as a string.

    A record that is not a JSON object (being rewritten where writes are not atomic) is left out: the next read
    sees it."""
    records = []
    for info in list_files(fs, folder, suffix=".json"):
        raw = read_bytes(fs, info.path)
        try:
            rec = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(rec, dict):
            records.append({**rec, "trial_id": str(rec.get("trial_id", info.base_name[:-5]))})
    return records


# ---- analysis's reads: every failure a ResultsError naming the path ---------------------------------------
@dataclass(frozen=True)
class SweepDir:
    """One `<storage>/<sweep>/` directory: its name, its filesystem and its path in that filesystem."""

    name: str
    fs: pafs.FileSystem
    path: str

    def join(self, *parts: str) -> str:
        return posixpath.join(self.path, *parts)


def _info(fs: pafs.FileSystem, path: str) -> pafs.FileInfo:
    try:
        return fs.get_file_info(path)
    except OSError as exc:
        raise ResultsError(f"cannot read results path {path}: {first_line(exc)}") from None


def _is_dir(fs: pafs.FileSystem, path: str) -> bool:
    return _info(fs, path).type == pafs.FileType.Directory


def _is_file(fs: pafs.FileSystem, path: str) -> bool:
    return _info(fs, path).type == pafs.FileType.File


def _is_sweep_dir(fs: pafs.FileSystem, path: str) -> bool:
    return _is_dir(fs, posixpath.join(path, METRICS_DIR)) or _is_file(fs, posixpath.join(path, TRIALS_FILE)) \
        or _is_file(fs, posixpath.join(path, SINGLE_RUN_FILE))


def _children(fs: pafs.FileSystem, path: str) -> list[pafs.FileInfo]:
    try:
        return fs.get_file_info(pafs.FileSelector(path, recursive=False))
    except OSError as exc:
        raise ResultsError(f"cannot list results directory {path}: {first_line(exc)}") from None


def _subfolders(fs: pafs.FileSystem, path: str) -> list[pafs.FileInfo]:
    return [c for c in _children(fs, path) if c.type == pafs.FileType.Directory and not c.base_name.startswith(".")]


def _sweep_children(fs: pafs.FileSystem, path: str) -> list[SweepDir]:
    return [SweepDir(c.base_name, fs, c.path) for c in _subfolders(fs, path) if _is_sweep_dir(fs, c.path)]


def find_sweeps(results: str | Path) -> list[SweepDir]:
    """The sweep directories under RESULTS: itself if it is one, else its children that are, else its grandchildren.

    Why grandchildren: a sweep run in parts (`--set` pins, one `--storage runs/<part>` per launch, since two
    launches of one sweep cannot share a storage root) leaves `runs/<part>/<sweep>/`, and one report should
    read them all from `runs/`.  Parts of the same sweep keep its name; their rows differ by trial id."""
    fs, root = open_location(results, follow_links=True)
    info = _info(fs, root)
    if info.type == pafs.FileType.NotFound:
        raise ResultsError(f"results path does not exist: {results}")
    if info.type != pafs.FileType.Directory:
        raise ResultsError(f"results path is not a directory: {results}")
    if _is_sweep_dir(fs, root):
        return [SweepDir(posixpath.basename(root) or "results", fs, root)]
    sweeps = _sweep_children(fs, root)
    if not sweeps:
        sweeps = [s for c in _subfolders(fs, root) for s in _sweep_children(fs, c.path)]
    if not sweeps:
        raise ResultsError(f"no results under {results}: expected <sweep>/metrics/*.parquet, "
                           f"<part>/<sweep>/metrics/*.parquet or a sweep directory")
    return sorted(sweeps, key=lambda s: (s.name, s.path))


def _parts_in(sweep: SweepDir, folder: str) -> list[str]:
    """Parquet files under SWEEP/FOLDER, in its subfolders too (none if it is absent)."""
    mdir = sweep.join(folder)
    if not _is_dir(sweep.fs, mdir):
        return []
    try:
        return [i.path for i in list_files(sweep.fs, mdir, suffix=".parquet", recursive=True)]
    except OSError as exc:
        raise ResultsError(f"cannot list {mdir}: {first_line(exc)}") from None


def metric_parts(sweep: SweepDir) -> list[str]:
    """Paths of the sweep's tick-row Parquet parts (the store's `metrics/`, or a single run's metrics.parquet)."""
    parts = _parts_in(sweep, METRICS_DIR)
    single = sweep.join(SINGLE_RUN_FILE)
    if _is_file(sweep.fs, single):
        parts.append(single)
    return sorted(parts)


def evaluation_parts(sweep: SweepDir) -> list[str]:
    """Paths of the sweep's re-measured FIDs (`python -m sweeps.evaluate` writes evaluations/<uuid>.parquet)."""
    return _parts_in(sweep, EVAL_DIR)


def read_parquet(fs: pafs.FileSystem, path: str) -> pa.Table:
    """One Parquet file, or a ResultsError naming it."""
    try:
        return read_table(fs, path)
    except FileNotFoundError:
        raise ResultsError(f"Parquet file vanished while reading: {path}") from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ResultsError(f"corrupt or unreadable Parquet file {path}: {first_line(exc)}") from None


def _cannot_read(path: str, exc: OSError) -> ResultsError:
    return ResultsError(f"cannot read {path}: {first_line(exc)}")


def read_many(fs: pafs.FileSystem, paths: list[str], skipped: list[str] | None = None) -> list[pa.Table]:
    """The readable parts among PATHS (see `read_parts`).

    A part that is there but is not readable Parquet costs its own rows only: its note goes to SKIPPED
    (resultsformat.parts); without SKIPPED it is a ResultsError naming it."""
    tables, bad = read_parts(fs, paths, storage_error=_cannot_read)
    if bad and skipped is None:
        raise ResultsError(f"corrupt or unreadable Parquet file {bad[0].path}: {bad[0].reason}")
    if skipped is not None:
        skipped += [skip_note(b) for b in bad]
    return tables


def read_status_records(sweep: SweepDir) -> list[dict]:
    """The per-trial status records (`trials/<trial_id>.json`) a live sweep writes before trials.parquet exists."""
    tdir = sweep.join(TRIALS_DIR)
    if not _is_dir(sweep.fs, tdir):
        return []
    try:
        return status_records(sweep.fs, tdir)
    except OSError as exc:
        raise _cannot_read(tdir, exc) from None


def concat(tables: list[pa.Table], what: str) -> pa.Table:
    """`concat_parts`, or a ResultsError naming WHAT when the schemas cannot be reconciled."""
    try:
        return concat_parts(tables)
    except (pa.ArrowException, ValueError) as exc:
        raise ResultsError(f"incompatible Parquet schemas in {what}: {first_line(exc)}") from None


def read_file(fs: pafs.FileSystem, path: str) -> bytes | None:
    """A small file's bytes, or None when it is not a file (samples and sweep.json are optional)."""
    if not _is_file(fs, path):
        return None
    try:
        return read_bytes(fs, path)
    except OSError as exc:
        raise _cannot_read(path, exc) from None


def read_sweep_json(sweep: SweepDir) -> dict | None:
    """The sweep's spec as written by the launcher, or None when absent."""
    raw = read_file(sweep.fs, sweep.join(SWEEP_FILE))
    if raw is None:
        return None
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"corrupt JSON file {sweep.join(SWEEP_FILE)}: {first_line(exc)}") from None
    return value if isinstance(value, dict) else {"spec": value}


def sample_ticks(sweep: SweepDir, trial_id: str) -> dict[int, str]:
    """tick -> path of the sample grid PNG that the trial saved at that metrics tick."""
    sdir = sweep.join(SAMPLES_DIR, trial_id)
    if not _is_dir(sweep.fs, sdir):
        return {}
    out: dict[int, str] = {}
    for info in _children(sweep.fs, sdir):
        tick = sample_tick(info.base_name)
        if info.type == pafs.FileType.File and tick is not None:
            out[tick] = info.path
    return out
