"""Extending a sweep's budget: `--resume --set run.total_kimg=N` continues every trial, finished ones included.

Ray Tune never re-runs a TERMINATED trial on `Tuner.restore`, and a restored
trial keeps the config it was created with, so an extension is a new Tune
experiment (`<sweep>/ray_ext<k>/`) over the same grid in which every trial
carries (a) the store id of the trial it continues, so its rows, status
record and samples stay under that trial (the next attempt number, so readers
keep exactly one row per tick), and (b) that trial's newest checkpoint, which
`sweeps.trainable` restores from, exactly as `python -m trainer --resume
--set run.total_kimg=N` does for a single run.  Ticks therefore continue after
the last checkpointed tick: nothing is re-run, nothing is skipped (a sweep
checkpoints at every trial's last tick).

`sweep.json` records each extension (from, to, when, Ray folder), and its
`set` and `ray_path` follow the newest one, so an interrupted extension
resumes with the plain `--resume` command.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from resultsformat.layout import SWEEP_FILE
from sweeps.store import SweepStore
from trainer.config import parse_value
from trainer.errors import UserInputError

BUDGET_KEY = "run.total_kimg"
EXT_DIR = "ray_ext"


def _without_budget(sets: list[str]) -> list[str]:
    return [s for s in sets if s.partition("=")[0].strip() != BUDGET_KEY]


def requested_extension(saved: dict[str, Any], sets: list[str]) -> float | None:
    """The new budget when SETS differ from the sweep's recorded overrides only in run.total_kimg, else None.

    SETS may be that one flag alone (the sweep's other overrides are kept) or all of them again."""
    rest = _without_budget(sets)
    if not sets or sets == saved.get("set") or (rest and rest != _without_budget(list(saved.get("set", [])))):
        return None
    budgets = [parse_value(s.partition("=")[2]) for s in sets if s.partition("=")[0].strip() == BUDGET_KEY]
    if not budgets or not isinstance(budgets[-1], (int, float)) or isinstance(budgets[-1], bool):
        return None
    return float(budgets[-1])


def extended_sets(saved_sets: list[str], new_total: float) -> list[str]:
    """The sweep's overrides with the budget replaced: what sweep.json records and a later --resume compares."""
    return [*_without_budget(saved_sets), f"{BUDGET_KEY}={new_total:g}"]


def check_longer(new_total: float, old_totals: list[float]) -> None:
    """An extension only lengthens: every trial's budget must grow."""
    if old_totals and new_total <= max(old_totals):
        raise UserInputError(f"--resume --set {BUDGET_KEY}={new_total:g}: a sweep's budget can only grow "
                             f"(its trials run to {max(old_totals):g} kimg)")


def next_ray_dir(saved: dict[str, Any]) -> str:
    return f"{EXT_DIR}{len(saved.get('extensions', [])) + 1}"


def recorded_ray_dir(saved: dict[str, Any], default: str) -> str:
    """The Ray folder the newest launch of this sweep used (the original one, or the newest extension's)."""
    ext = saved.get("extensions") or []
    return ext[-1]["ray_dir"] if ext else default


def record_extension(store: SweepStore, sets: list[str], old_total: float, new_total: float, ray_dir: str,
                     ray_path: str) -> None:
    """Write the extension into sweep.json (atomically) before the extension's Tuner starts."""
    saved = store.read_json(SWEEP_FILE) or {}
    saved.setdefault("extensions", []).append({"from_kimg": old_total, "to_kimg": new_total, "at": time.time(),
                                               "ray_dir": ray_dir, "previous_set": saved.get("set", [])})
    saved["set"] = sets
    saved["ray_path"] = ray_path
    store.write_json(SWEEP_FILE, saved)


def previous_trials(ray_path: str) -> dict[int, tuple[str, str | None]]:
    """Trial index -> (store trial id, newest checkpoint path or None) of the Tune experiment at RAY_PATH."""
    from ray import tune
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    out: dict[int, tuple[str, str | None]] = {}
    for t in tune.ExperimentAnalysis(ray_path).trials:
        spec = t.config["trial"]
        ckpt = t.checkpoint
        path = None
        if ckpt is not None:
            path = ckpt.path if "://" not in ray_path else ray_path.split("://", 1)[0] + "://" + ckpt.path
        out[int(spec["index"])] = (spec.get("store_trial_id") or t.trial_id, path)
    return out
