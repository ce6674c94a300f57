"""The layout of a sweep folder, the names of its metric parts, and the keys of sweep.json.

    <storage>/<sweep>/
      metrics/<trial_id>.a<attempt>.t<tick>.<uuid>.parquet   tick rows flushed by a running trial (tick = first row's)
      metrics/<trial_id>.a<attempt>.c<tick>.<uuid>.parquet   one attempt's rows up to <tick>, merged (compacted)
      trials/<trial_id>.json                                 status record written by the trial process
      trials.parquet                                         one row per trial, assembled by the driver
      evaluations/<uuid>.parquet                             re-measured FIDs (`python -m sweeps.evaluate`)
      samples/<trial_id>/tick<NNNNNN>.png                    sample grids
      sweep.json                                             spec, scale, overrides, command line
      driver.json                                            the live driver's lease (sweeps.lease), gone when it ends
      ray/                                                   Ray Tune's experiment state and checkpoints
    <run>/metrics.parquet                                    a single `python -m trainer` run: all its rows
    <run>/config.json                                        its config
    <run>/samples/tick<NNNNNN>.png                           its sample grids
    <run>/checkpoints/latest/{config.json,state.pt}          its newest checkpoint (latest.old while it is swapped)

A part's name carries the trial id, the attempt and a random suffix, so
concurrent or retried writers never collide, and a writer can find its own
attempt's parts by prefix without reading them.  Parts are immutable: a
compaction writes the merged part first and deletes what it merged after, so
an interruption leaves duplicates (which the dedup rule drops), never a gap.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

METRICS_DIR = "metrics"
TRIALS_DIR = "trials"
SAMPLES_DIR = "samples"
EVAL_DIR = "evaluations"
RAY_DIR = "ray"
TRIALS_FILE = "trials.parquet"
SWEEP_FILE = "sweep.json"
DRIVER_LEASE = "driver.json"
SINGLE_RUN_FILE = "metrics.parquet"
CONFIG_FILE = "config.json"            # a single run's config, and a checkpoint's
STATE_FILE = "state.pt"                # a checkpoint's tensors (torch.save)
CHECKPOINTS_DIR = "checkpoints"        # a single run's checkpoints
LATEST_CHECKPOINT = "latest"           # its newest complete checkpoint
PREVIOUS_CHECKPOINT = "latest.old"     # the one before, while the newest is swapped in (resume accepts it)
PENDING_CHECKPOINT = "latest.tmp"      # a checkpoint being written
RAY_CHECKPOINT_PREFIX = "checkpoint_"  # Ray's checkpoint folders in a sweep's trial folder: checkpoint_<6 digits>
_SAMPLE = re.compile(r"tick(?P<tick>\d+)\.png")

# sweep.json: key -> meaning.  The launcher and the synthetic fixtures both build it through `sweep_json`.
SWEEP_JSON_KEYS = {
    "sweep": "sweep name",
    "scale": "smoke, tiny or paper",
    "set": "the --set overrides, paths made absolute on the driver",
    "seeds": "the --seeds count (run.seed 0..N-1 per configuration), null for the sweep's own seeds",
    "storage": "the storage root, absolute (credentials redacted)",
    "spec": "the sweep's spec (axes, blocks), JSON",
    "command": "the command line that launched it (credentials redacted)",
    "created_at": "Unix time of the launch",
    "ray_path": "Ray Tune's experiment folder (null when no Ray ran)",
    "trials": "the --dry-run table: one object per trial, with its grid params",
}

# Optional sweep.json keys: present only when the launch used the feature (sweeps.sources, sweeps.extend, sweeps.tracking).
SWEEP_JSON_OPTIONAL = {
    "grid": "the --grid flags the sweep was launched with",
    "no_variant": "the --no-variant flags: variants of the spec left out (the recorded spec lacks them)",
    "source": "the sweep file it was launched from",
    "axis_order": "the spec's axis order (main and per variant): sweep.json sorts keys, trial indices follow this order",
    "log": "the --log trackers ({kind, target}) of its trials",
    "extensions": "budget extensions (--resume --set run.total_kimg=N): from_kimg, to_kimg, at, ray_dir, previous_set",
}

_PART = re.compile(r"^(?P<trial>.+)\.a(?P<attempt>\d+)\.(?P<kind>[tc])(?P<tick>\d+)\.[0-9a-f]+\.parquet$")


@dataclass(frozen=True)
class PartName:
    """What a metric part's name says: whose rows, which attempt, a tick part or a compacted one, and its tick."""

    trial_id: str
    attempt: int
    compacted: bool
    tick: int   # first tick of a tick part; last tick covered by a compacted part


def part_name(trial_id: str, attempt: int, tick: int, *, compacted: bool = False) -> str:
    """The file name of a new metric part (unique: a random suffix)."""
    if not trial_id or "/" in trial_id:
        raise ValueError(f"trial id {trial_id!r} must be non-empty and contain no '/'")
    return f"{trial_id}.a{attempt}.{'c' if compacted else 't'}{tick:06d}.{uuid.uuid4().hex[:8]}.parquet"


def parse_part_name(name: str) -> PartName | None:
    """PartName of a metric part's file name, or None for any other name (temp files, foreign parts)."""
    m = _PART.match(name)
    if m is None:
        return None
    return PartName(m["trial"], int(m["attempt"]), m["kind"] == "c", int(m["tick"]))


def attempt_prefix(trial_id: str, attempt: int | None = None) -> str:
    """Name prefix of a trial's parts (of one attempt when given)."""
    return f"{trial_id}." if attempt is None else f"{trial_id}.a{attempt}."


def sample_file(tick: int) -> str:
    """The file name of the sample grid saved at TICK (in samples/<trial_id>/ of a sweep, samples/ of a run)."""
    return f"tick{int(tick):06d}.png"


def sample_tick(name: str) -> int | None:
    """The tick of a sample grid's file name, or None for any other name."""
    m = _SAMPLE.fullmatch(name)
    return None if m is None else int(m["tick"])


def sweep_json(**fields: Any) -> dict[str, Any]:
    """The content of sweep.json; refuses a missing or an undeclared key (so every writer writes the same keys)."""
    missing = sorted(set(SWEEP_JSON_KEYS) - set(fields))
    extra = sorted(set(fields) - set(SWEEP_JSON_KEYS) - set(SWEEP_JSON_OPTIONAL))
    if missing or extra:
        raise ValueError(f"sweep.json: missing {missing}, undeclared {extra}")
    return {k: fields[k] for k in [*SWEEP_JSON_KEYS, *SWEEP_JSON_OPTIONAL] if k in fields}


def is_checkpoint_dir(directory: Path) -> bool:
    """Whether DIRECTORY holds both files of a checkpoint (a half-copied one lacks one of them)."""
    return (Path(directory) / CONFIG_FILE).is_file() and (Path(directory) / STATE_FILE).is_file()


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint of a single run's folder, or None (latest.old while latest is being swapped)."""
    for name in (LATEST_CHECKPOINT, PREVIOUS_CHECKPOINT):
        if is_checkpoint_dir(Path(run_dir) / CHECKPOINTS_DIR / name):
            return Path(run_dir) / CHECKPOINTS_DIR / name
    return None


def find_checkpoint_dir(path: Path) -> Path | None:
    """The complete checkpoint PATH names, or None: PATH itself, a single run's newest (checkpoints/latest, else
    latest.old while it is swapped), or a Ray trial folder's newest checkpoint_*.  One rule for every command that
    takes a checkpoint (`trainer.evaluate`, `run.init_from`), so they accept the same folders."""
    path = Path(path)
    if is_checkpoint_dir(path):
        return path
    latest = latest_checkpoint(path)
    if latest is not None:
        return latest
    ray = sorted(d for d in path.glob(RAY_CHECKPOINT_PREFIX + "*") if is_checkpoint_dir(d))
    return ray[-1] if ray else None
