"""Ray's experiment state checked before `--resume` restores it; a damaged one is replaced from the store's records (issue #33).

A full disk under `--storage` (or a copy cut short) truncates whichever of Ray's files it was
writing when space ran out: Ray copies its experiment state (`experiment_state-<ts>.json`), its
search state (`basic-variant-state-<ts>.json`) and `tuner.pkl` into the sweep folder with plain,
non-atomic writes.  Ray 2.60 meets a truncated one on `Tuner.restore`, logs "Failed to restore
the run state", restarts the experiment without the sweep's grid, and the launch died in our
placement function with `KeyError: 'trial'`: the sweep could not be continued.

So a `--resume` checks those files first (JSON parsed; the pickle's opcodes walked, never
executed), and when one is damaged it does not hand them to Ray.  It continues in a new Tune
experiment, `ray_ext<k>/`, recorded in sweep.json as an extension to the same budget with the
reason (`recovered`), in which every trial carries, as an extension's do (sweeps.extend), its
store trial id and its newest complete checkpoint.  Both come from our own records: the status
records `trials/<id>.json` and the Ray trial folders (`trial<index>_<id>/checkpoint_*`), never
from Ray's state.  A checkpoint a full disk cut short (an empty config.json, a state.pt without
its zip directory) is passed over for the one before it.  Finished trials end at once
(sweeps.trainable restores a checkpoint at the budget as finished); the rest train on under the
next attempt number, so readers keep one row per tick.

A state can also be whole but older than the trials it describes.  Ray uploads it every few seconds,
while each trial's checkpoints arrive and are pruned (`num_to_keep`) as they come; a driver killed
between the two leaves a state whose newest checkpoint of a running trial Ray has since deleted.
`Tuner.restore` then fails that trial's restore ("does not exist on storage anymore") and starts it
again from nothing: every kimg it trained was lost, without a word on the console (seen in CI on S3).
So a checkpoint that the state names as a trial's newest must still exist; when it does not, the
state is treated as damaged and the trials continue from their folders as above.
"""

from __future__ import annotations

import json
import pickletools
import re
import time
import zipfile
from typing import Any, Callable

import pyarrow.fs as pafs

from resultsformat.layout import CONFIG_FILE, RAY_CHECKPOINT_PREFIX, RAY_DIR, STATE_FILE, SWEEP_FILE
from resultsformat.statuses import TERMINATED
from sweeps.extend import next_ray_dir
from sweeps.store import SweepStore

TUNER_FILE = "tuner.pkl"                     # what Tuner.restore unpickles (sweeps.plan.RAY_STATE_FILE)
# Ray 2.60's state files, one per session: the experiment state is JSON; the search state, despite its .json name,
# is a pickle (Ray saves BasicVariantGenerator's state with cloudpickle), so it is walked like tuner.pkl
STATE_PREFIXES = ("experiment_state-", "basic-variant-state-")
# a checkpoint path as Ray's checkpoint manager records it: .../<trial folder>/checkpoint_<n>
CHECKPOINT_PATH = re.compile(r"([^/]+)/(" + RAY_CHECKPOINT_PREFIX + r"(\d+))/?$")


def _entries(store: SweepStore, path: str) -> list[pafs.FileInfo]:
    """What the folder PATH (a path on the store's filesystem) holds, by name."""
    sel = pafs.FileSelector(path, allow_not_found=True)
    return sorted(store.fs.get_file_info(sel), key=lambda i: i.base_name)


def _read(store: SweepStore, path: str) -> bytes:
    with store.fs.open_input_stream(path) as f:
        return f.read()


def _check_trials(state: dict[str, Any], exists: Callable[[str, str], bool]) -> str | None:
    """Why the experiment state's trials cannot be restored as they are, or None.

    Each must carry config.trial.index (ours), and an unfinished one's newest checkpoint in the state must
    still be there: EXISTS(trial folder name, checkpoint folder name) says whether it is."""
    for entry in state["trial_data"]:
        trial, meta = json.loads(entry[0]), json.loads(entry[1])   # the trial, and its run metadata
        spec = (trial.get("config") or {}).get("trial")
        if not isinstance(spec, dict) or not isinstance(spec.get("index"), int):
            return f"holds trial {trial.get('trial_id')} without the sweep's config"
        newest = max(_tracked_checkpoints(meta), default=None)
        if trial.get("status") != TERMINATED and newest is not None and not exists(newest[1], newest[2]):
            return (f"is older than trial {trial.get('trial_id')}'s checkpoints: its newest there, "
                    f"{newest[1]}/{newest[2]}, was deleted after the state was written")
    return None


def _tracked_checkpoints(meta: dict[str, Any]) -> list[tuple[int, str, str]]:
    """(number, trial folder, checkpoint folder) of each checkpoint Ray's run metadata tracks.

    Ray keeps its checkpoint manager in the state as a hex-encoded cloudpickle; its strings are read by
    walking the opcodes, never by unpickling.  The folder names are kept and not the absolute paths, which
    name wherever the sweep folder was when the state was written."""
    manager = meta.get("checkpoint_manager")
    if not isinstance(manager, dict) or not isinstance(manager.get("value"), str):
        return []
    try:
        ops = list(pickletools.genops(bytes.fromhex(manager["value"])))
    except (ValueError, EOFError):
        return []
    found = {m.groups() for _, arg, _ in ops if isinstance(arg, str) and (m := CHECKPOINT_PATH.search(arg))}
    return [(int(number), folder, name) for folder, name, number in found]


def damage(store: SweepStore, ray_dir: str) -> str | None:
    """Why the Tune experiment in RAY_DIR cannot be restored as it is (one phrase), or None when it can."""
    files = {i.base_name: i for i in _entries(store, store.path(ray_dir)) if i.type == pafs.FileType.File}
    if TUNER_FILE not in files:
        return f"{ray_dir}/{TUNER_FILE} is missing"
    why = _pickle_damage(_read(store, files[TUNER_FILE].path))
    if why:
        return f"{ray_dir}/{TUNER_FILE} {why}"
    for prefix in STATE_PREFIXES:
        names = sorted(n for n in files if n.startswith(prefix) and n.endswith(".json"))
        if not names:
            return f"{ray_dir} holds no {prefix}*.json"
        name = names[-1]   # Ray restores the newest (its names sort by time)
        data = _read(store, files[name].path)
        if prefix == STATE_PREFIXES[0]:
            def exists(folder: str, checkpoint: str) -> bool:
                path = store.path(f"{ray_dir}/{folder}/{checkpoint}")
                return store.fs.get_file_info(path).type != pafs.FileType.NotFound
            try:
                why = _check_trials(json.loads(data.decode("utf-8")), exists)
            except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
                why = f"is truncated or not Ray's ({type(exc).__name__})"
        else:
            why = _pickle_damage(data)
        if why:
            return f"{ray_dir}/{name} {why}"
    return None


def _pickle_damage(data: bytes) -> str | None:
    """Why DATA is not a whole pickle (its opcodes walked, never executed), or None."""
    try:
        for _ in pickletools.genops(data):
            pass
    except (ValueError, EOFError) as exc:   # a truncated pickle ends before its STOP opcode
        return f"is truncated ({exc})"
    return None


def _complete(store: SweepStore, checkpoint: str) -> bool:
    """Whether a Ray checkpoint folder holds a parseable config.json and a whole state.pt (a zip with its directory)."""
    try:
        json.loads(_read(store, f"{checkpoint}/{CONFIG_FILE}").decode("utf-8"))
        with store.fs.open_input_file(f"{checkpoint}/{STATE_FILE}") as f, zipfile.ZipFile(f) as z:
            return bool(z.namelist())
    except (OSError, ValueError, zipfile.BadZipFile):
        return False


def _folders(store: SweepStore, ray_dirs: list[str]) -> dict[int, list[tuple[str, str]]]:
    """Grid index -> [(Ray trial id, folder path)] over RAY_DIRS, oldest Tune experiment first."""
    from sweeps.runner import trial_id_of_dirname, trial_index_of_dirname
    out: dict[int, list[tuple[str, str]]] = {}
    for ray_dir in ray_dirs:
        for info in _entries(store, store.path(ray_dir)):
            idx = trial_index_of_dirname(info.base_name)
            if info.type == pafs.FileType.Directory and idx is not None:
                out.setdefault(idx, []).append((str(trial_id_of_dirname(info.base_name)), info.path))
    return out


def newest_complete_checkpoint(store: SweepStore, folders: list[str]) -> str | None:
    """The newest complete checkpoint in a trial's FOLDERS (its newest Tune experiment first), or None."""
    for folder in reversed(folders):
        ckpts = [i.path for i in _entries(store, folder)
                 if i.type == pafs.FileType.Directory and i.base_name.startswith(RAY_CHECKPOINT_PREFIX)]
        for ckpt in reversed(ckpts):
            if _complete(store, ckpt):
                return ckpt
    return None


def recovered_trials(store: SweepStore, ray_dirs: list[str]) -> dict[int, tuple[str, str | None]]:
    """Grid index -> (store trial id, newest complete checkpoint path/URI or None), from our records alone.

    The store id is the one on the trial's newest status record; a trial that never wrote one is known by
    its folder in the original Ray experiment (there its Ray id is its store id)."""
    by_index: dict[int, tuple[float, str]] = {}
    for trial_id, rec in store.read_statuses().items():
        idx, when = rec.get("trial_index"), float(rec.get("updated_at") or 0.0)
        if isinstance(idx, int) and (idx not in by_index or when > by_index[idx][0]):
            by_index[idx] = (when, trial_id)
    scheme = store.uri.split("://", 1)[0] + "://" if "://" in store.uri else ""
    out: dict[int, tuple[str, str | None]] = {}
    for idx, found in _folders(store, ray_dirs).items():
        first_id, _ = found[0]
        trial_id = by_index[idx][1] if idx in by_index else first_id
        ckpt = newest_complete_checkpoint(store, [path for _, path in found])
        out[idx] = (trial_id, scheme + ckpt if ckpt else None)
    for idx, (_, trial_id) in by_index.items():
        out.setdefault(idx, (trial_id, None))
    return out


def plan_recovery(store: SweepStore, ray_dir: str, total_kimg: float) -> dict[str, Any] | None:
    """When RAY_DIR's state is damaged: the extension record (sweeps.extend's keys and `recovered`) of a new Tune
    experiment that continues every trial from the store's records, written into sweep.json; else None."""
    why = damage(store, ray_dir)
    if why is None:
        return None
    saved = store.read_json(SWEEP_FILE) or {}
    dirs = [RAY_DIR, *[str(e["ray_dir"]) for e in saved.get("extensions", [])]]
    ext = {"from_kimg": total_kimg, "to_kimg": total_kimg, "at": time.time(), "ray_dir": next_ray_dir(saved),
           "previous_set": saved.get("set", []), "recovered": why}
    saved.setdefault("extensions", []).append(ext)
    saved["ray_path"] = store.uri + "/" + ext["ray_dir"]
    store.write_json(SWEEP_FILE, saved)
    return {**ext, "previous_ray_dirs": dirs}
