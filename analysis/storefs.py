"""Finding and reading the results store on a local disk or in a bucket (docs/architecture.md "Results store").

A RESULTS path is either one sweep directory (it holds `metrics/`) or a storage
root holding several sweep directories; `s3://` and `gs://` URIs go through
`pyarrow.fs.FileSystem.from_uri`, exactly like Ray's own `storage_path`, so the
figures can be drawn straight from a cluster's bucket.  Ray itself is never
imported: reading Parquet needs only pyarrow.

Every failure becomes a `ResultsError` whose one line names the path or the file,
because "ArrowInvalid: Parquet magic bytes not found" without a file name is
useless when a store holds thousands of parts.
"""

from __future__ import annotations

import json
import posixpath
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from analysis.errors import ResultsError
from resultsformat.layout import (EVAL_DIR, METRICS_DIR, SAMPLES_DIR, SINGLE_RUN_FILE, SWEEP_FILE, TRIALS_DIR, TRIALS_FILE,
                                  sample_tick)
from resultsformat.parts import UnreadablePart, read_part, skip_note


class UnreadablePartWarning(UserWarning):
    """A metric part was left out because it is not readable Parquet (truncated, garbage); the rest was read."""


@dataclass(frozen=True)
class SweepDir:
    """One `<storage>/<sweep>/` directory: its name, its filesystem and its path in that filesystem."""

    name: str
    fs: pafs.FileSystem
    path: str

    def join(self, *parts: str) -> str:
        return posixpath.join(self.path, *parts)

    def label(self, *parts: str) -> str:
        """A human-readable location of a file, for error messages."""
        return posixpath.join(self.path, *parts)


def redact(uri: str) -> str:
    """`uri` without user:password@ and query strings: what a report may print about where results came from."""
    return re.sub(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]*@", r"\1", str(uri)).split("?")[0]


def _resolve(results: str | Path) -> tuple[pafs.FileSystem, str]:
    text = str(results)
    if "://" in text:
        try:
            fs, path = pafs.FileSystem.from_uri(text)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
            raise ResultsError(f"cannot open results URI {text}: {_first_line(exc)}") from None
        return fs, path.rstrip("/")
    return pafs.LocalFileSystem(), str(Path(text).expanduser().resolve()).replace("\\", "/")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _info(fs: pafs.FileSystem, path: str) -> pafs.FileInfo:
    try:
        return fs.get_file_info(path)
    except OSError as exc:
        raise ResultsError(f"cannot read results path {path}: {_first_line(exc)}") from None


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
        raise ResultsError(f"cannot list results directory {path}: {_first_line(exc)}") from None


def _sweep_children(fs: pafs.FileSystem, path: str) -> list[SweepDir]:
    return [SweepDir(c.base_name, fs, c.path) for c in _subfolders(fs, path) if _is_sweep_dir(fs, c.path)]


def _subfolders(fs: pafs.FileSystem, path: str) -> list[pafs.FileInfo]:
    return [c for c in _children(fs, path) if c.type == pafs.FileType.Directory and not c.base_name.startswith(".")]


def find_sweeps(results: str | Path) -> list[SweepDir]:
    """The sweep directories under RESULTS: itself if it is one, else its children that are, else its grandchildren.

    Why grandchildren: a sweep run in parts (`--set` pins, one `--storage runs/<part>` per launch, since two
    launches of one sweep cannot share a storage root) leaves `runs/<part>/<sweep>/`, and one report should
    read them all from `runs/`.  Parts of the same sweep keep its name; their rows differ by trial id."""
    fs, root = _resolve(results)
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
    """Parquet files under SWEEP/FOLDER (none if it is absent), skipping temp and hidden names."""
    mdir = sweep.join(folder)
    if not _is_dir(sweep.fs, mdir):
        return []
    try:
        infos = sweep.fs.get_file_info(pafs.FileSelector(mdir, recursive=True))
    except OSError as exc:
        raise ResultsError(f"cannot list {mdir}: {_first_line(exc)}") from None
    return sorted(i.path for i in infos if i.type == pafs.FileType.File and i.base_name.endswith(".parquet")
                  and not i.base_name.startswith((".", "_")))


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


def read_parquet(fs: pafs.FileSystem, path: str, *, missing_ok: bool = False, threads: bool = True) -> pa.Table | None:
    """One Parquet file, or a ResultsError naming it (None if MISSING_OK and it vanished since listing)."""
    try:
        return pq.read_table(path, filesystem=fs, use_threads=threads)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise ResultsError(f"Parquet file vanished while reading: {path}") from None
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ResultsError(f"corrupt or unreadable Parquet file {path}: {_first_line(exc)}") from None


def _read_or_skip(fs: pafs.FileSystem, path: str, threads: bool) -> pa.Table | UnreadablePart | None:
    """A part's table, None if it vanished, or the error of an unreadable one; a storage error is a ResultsError."""
    try:
        return read_part(fs, path, threads=threads)
    except UnreadablePart as exc:
        return exc
    except OSError as exc:
        raise ResultsError(f"cannot read {path}: {_first_line(exc)}") from None


def read_many(fs: pafs.FileSystem, paths: list[str], skipped: list[str] | None = None) -> list[pa.Table]:
    """Read many small parts concurrently: a live store holds one part per trial, attempt and tick.

    A part may vanish between listing and reading, when the store compacts a finished
    trial's parts into one; its rows are then in the compacted part, so it is skipped.
    A part that is there but is not readable Parquet costs its own rows only: its note goes to
    SKIPPED (resultsformat.parts); without SKIPPED it is a ResultsError naming it.
    """
    if len(paths) <= 2:
        got = [_read_or_skip(fs, p, True) for p in paths]
    else:
        # one file per thread, each single-threaded: nesting Arrow's own threads in a pool oversubscribes
        # the cores (measured 4x slower on 2 cores); I/O-bound object stores still overlap 4 requests
        with ThreadPoolExecutor(max_workers=4) as pool:
            got = list(pool.map(lambda p: _read_or_skip(fs, p, False), paths))
    bad = [g for g in got if isinstance(g, UnreadablePart)]
    if bad and skipped is None:
        raise ResultsError(f"corrupt or unreadable Parquet file {bad[0].path}: {bad[0].reason}")
    if skipped is not None:
        skipped += [skip_note(b) for b in bad]
    return [t for t in got if isinstance(t, pa.Table)]


def read_status_records(sweep: SweepDir) -> list[dict]:
    """The per-trial status records (`trials/<trial_id>.json`) a live sweep writes before trials.parquet exists."""
    tdir = sweep.join(TRIALS_DIR)
    if not _is_dir(sweep.fs, tdir):
        return []
    records = []
    for info in _children(sweep.fs, tdir):
        if info.type == pafs.FileType.File and info.base_name.endswith(".json") and not info.base_name.startswith("."):
            raw = read_bytes(sweep.fs, info.path)
            try:
                rec = json.loads(raw.decode("utf-8")) if raw else None
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue  # a record being rewritten: the next report will read it
            if isinstance(rec, dict):
                records.append({**rec, "trial_id": str(rec.get("trial_id", info.base_name[:-5]))})
    return records


def concat(tables: list[pa.Table], what: str) -> pa.Table:
    """Concatenate parts whose schemas drifted (a column added later, int vs float) into one table."""
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowException, ValueError) as exc:
        raise ResultsError(f"incompatible Parquet schemas in {what}: {_first_line(exc)}") from None


def read_bytes(fs: pafs.FileSystem, path: str) -> bytes | None:
    """A small file's bytes, or None when it does not exist (samples and sweep.json are optional)."""
    if not _is_file(fs, path):
        return None
    try:
        with fs.open_input_stream(path) as f:
            return f.read()
    except OSError as exc:
        raise ResultsError(f"cannot read {path}: {_first_line(exc)}") from None


def read_sweep_json(sweep: SweepDir) -> dict | None:
    """The sweep's spec as written by the launcher, or None when absent."""
    raw = read_bytes(sweep.fs, sweep.join(SWEEP_FILE))
    if raw is None:
        return None
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"corrupt JSON file {sweep.join(SWEEP_FILE)}: {_first_line(exc)}") from None
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
