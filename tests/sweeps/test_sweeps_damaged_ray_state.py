"""Ray's experiment state damaged by a full disk (issue #33 item 2): checked before `--resume`, replaced from our records.

A full disk truncates whichever of Ray's files it was writing (tests/reliability/test_fault_full_disk.py
does it end to end).  `--resume` then crashed with `KeyError: 'trial'`: Ray restarted the experiment
without our config.  Here: sweeps.ray_state names each cut-short file, and recovers every trial's store
id and newest complete checkpoint from the status records and Ray's trial folders alone; a Ray trial
that still arrives without our config gets a name, is left out of the progress totals, and fails on its
own with one clear line.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from types import SimpleNamespace

import pytest

from sweeps.ray_state import damage, recovered_trials
from sweeps.runner import ray_total_line, trial_dirname, trial_name
from sweeps.store import SweepStore
from sweeps.trainable import run_trial
from trainer.errors import UserInputError


def test_a_trial_without_our_config_is_named_and_skipped_in_totals() -> None:
    bare = SimpleNamespace(config={}, trial_id="ab12c_00003", status="PENDING", last_result={})
    ours = SimpleNamespace(config={"trial": {"index": 2}}, trial_id="ab12c_00002", status="RUNNING",
                           last_result={"kimg": 1.0, "time_total_s": 2.0})
    assert (trial_name(bare), trial_dirname(bare)) == ("ray-ab12c_00003", "ray_ab12c_00003")
    assert (trial_name(ours), trial_dirname(ours)) == ("t0002", "trial0002_ab12c_00002")
    assert ray_total_line([bare, ours], {2: 4.0}).startswith("total: 0/1 done, 1 running")


def test_the_trainable_refuses_a_trial_without_our_config_in_one_line() -> None:
    with pytest.raises(UserInputError, match="carries no sweep config: Ray's experiment state was damaged"):
        run_trial({})


# ---- sweeps.ray_state: Ray's files checked before Tuner.restore, trials recovered from the store's records ----------

STAMP = "2026-12-07_15-33-47"
FILES = ("tuner.pkl", f"experiment_state-{STAMP}.json", f"basic-variant-state-{STAMP}.json")


def _checkpoint(folder: Path, tick: int) -> None:
    import torch
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"run": {"total_kimg": 4}}))
    torch.save({"cur_nimg": tick * 1000, "w": torch.zeros(256)}, folder / "state.pt")


def _sweep(tmp_path: Path, trial_config: dict | None = None) -> SweepStore:
    """A sweep folder as a smoke sweep leaves it: Ray's three state files, one trial folder with two
    checkpoints, and the trial's status record; FILES are written whole."""
    ray = tmp_path / "sw" / "ray"
    ray.mkdir(parents=True)
    (ray / FILES[0]).write_bytes(pickle.dumps({"param_space": list(range(500))}))
    trial = {"trial_id": "97815_00000", "config": {"trial": {"index": 0, "sweep": "sw"}} if trial_config is None
             else trial_config}
    (ray / FILES[1]).write_text(json.dumps({"trial_data": [[json.dumps(trial), "{}"]], "runner_data": {"x": "y" * 500}}))
    from ray.tune.search import BasicVariantGenerator   # the search state as Ray itself writes it: a pickle named .json
    BasicVariantGenerator().save_to_dir(str(ray), session_str=STAMP)
    for tick in (1, 2):
        _checkpoint(ray / "trial0000_97815_00000" / f"checkpoint_{tick - 1:06d}", tick)
    store = SweepStore(str(tmp_path), "sw")
    store.write_status("97815_00000", {"trial_index": 0, "status": "RUNNING", "attempt": 0})
    return store


def _cut(path: Path) -> None:
    """What a full disk leaves of a file it was writing: its first part."""
    os.truncate(path, path.stat().st_size // 2)


def test_whole_ray_state_is_restorable(tmp_path: Path) -> None:
    assert damage(_sweep(tmp_path), "ray") is None


@pytest.mark.parametrize("name", FILES)
def test_each_file_a_full_disk_cut_short_is_named(tmp_path: Path, name: str) -> None:
    store = _sweep(tmp_path)
    _cut(tmp_path / "sw" / "ray" / name)
    why = damage(store, "ray")
    assert why is not None and why.startswith(f"ray/{name} is truncated"), why


def test_missing_state_and_a_trial_without_our_config_are_damage(tmp_path: Path) -> None:
    store = _sweep(tmp_path, trial_config={})
    assert damage(store, "ray") == f"ray/{FILES[1]} holds trial 97815_00000 without the sweep's config"
    (tmp_path / "sw" / "ray" / FILES[2]).unlink()
    (tmp_path / "sw" / "ray" / FILES[1]).unlink()
    assert damage(store, "ray") == "ray holds no experiment_state-*.json"


def test_recovery_takes_the_newest_complete_checkpoint_and_the_store_trial_id(tmp_path: Path) -> None:
    store = _sweep(tmp_path)
    trial = tmp_path / "sw" / "ray" / "trial0000_97815_00000"
    _checkpoint(trial / "checkpoint_000002", 3)
    _cut(trial / "checkpoint_000002" / "state.pt")           # the copy the full disk stopped
    (trial / "checkpoint_000002" / "config.json").write_text("")
    ext = tmp_path / "sw" / "ray_ext1" / "trial0000_5998f_00000"   # an earlier recovery's folder, no checkpoint yet
    ext.mkdir(parents=True)
    (tmp_path / "sw" / "ray" / "trial0001_97815_00001").mkdir()   # a trial that never wrote a status record
    got = recovered_trials(store, ["ray", "ray_ext1"])
    assert got == {0: ("97815_00000", str(trial / "checkpoint_000001")), 1: ("97815_00001", None)}



def _state_tracking(ray: Path, checkpoints: list[int], status: str = "RUNNING") -> str:
    """Ray 2.60's experiment state of one trial whose checkpoint manager has registered CHECKPOINTS in order
    (num_to_keep=2, as sweeps.runner sets it).  Ray's own classes: Ray itself deletes from disk the checkpoints
    it prunes, and its own JSON encoder writes the manager, as a hex cloudpickle."""
    from ray.train._internal.checkpoint_manager import _CheckpointManager
    from ray.train._internal.session import _TrainingResult
    from ray.tune import Checkpoint, CheckpointConfig
    from ray.tune.trainable.metadata import _TrainingRunMetadata
    meta = _TrainingRunMetadata()
    meta.checkpoint_manager = _CheckpointManager(CheckpointConfig(num_to_keep=2))
    for n in checkpoints:
        path = str(ray / "trial0000_97815_00000" / f"checkpoint_{n:06d}")
        meta.checkpoint_manager.register_checkpoint(_TrainingResult(checkpoint=Checkpoint(path), metrics={"tick": n + 1}))
    trial = {"trial_id": "97815_00000", "status": status, "config": {"trial": {"index": 0, "sweep": "sw"}}}
    return json.dumps({"trial_data": [[json.dumps(trial), meta.get_json_state()]]})


def test_a_state_older_than_its_trials_checkpoints_is_damage(tmp_path: Path) -> None:
    """The CI failure on S3: the driver was killed after Ray had pruned the checkpoint that its last uploaded state
    named as a running trial's newest; Tuner.restore failed that restore and retrained the trial from tick 1.

    Here the state is written after checkpoint 0; then checkpoint 2 arrives and Ray deletes 0.  A state naming a
    checkpoint that still exists is not damage, nor a finished trial's, nor a sweep folder moved elsewhere."""
    store = _sweep(tmp_path)                                   # checkpoints 0 and 1 on disk
    ray, state = tmp_path / "sw" / "ray", tmp_path / "sw" / "ray" / FILES[1]
    as_of_0 = _state_tracking(ray, [0])
    state.write_text(as_of_0)
    assert damage(store, "ray") is None
    _checkpoint(ray / "trial0000_97815_00000" / "checkpoint_000002", 3)
    as_of_2 = _state_tracking(ray, [0, 1, 2])                  # Ray registers 2 and deletes 0 from disk
    assert not (ray / "trial0000_97815_00000" / "checkpoint_000000").exists()
    state.write_text(as_of_2)
    assert damage(store, "ray") is None
    state.write_text(as_of_0)                                  # the driver died before uploading the newer state
    assert damage(store, "ray") == (f"ray/{FILES[1]} is older than trial 97815_00000's checkpoints: its newest "
                                    "there, trial0000_97815_00000/checkpoint_000000, was deleted after the state was written")
    state.write_text(_state_tracking(ray, [0], status="TERMINATED"))
    assert damage(store, "ray") is None
    state.write_text(as_of_2)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "sw").rename(tmp_path / "elsewhere" / "sw")   # Ray's absolute paths now name the old place
    moved = SweepStore(str(tmp_path / "elsewhere"), "sw")
    assert damage(moved, "ray") is None
    (tmp_path / "elsewhere" / "sw" / "ray" / FILES[1]).write_text(as_of_0)
    assert damage(moved, "ray") is not None


@pytest.mark.filterwarnings("ignore:`get_checkpoint` is meant:UserWarning")   # run_trial called outside a Tuner
def test_a_trial_recorded_finished_and_run_again_keeps_its_record(tmp_path: Path) -> None:
    """A recovery (or a Ray state older than our record) runs a finished trial again from its final checkpoint: it
    ends at once and its status record, with its finished_at and attempt (retries), is left as it was.  Before, it
    was recorded as one more attempt, finished now (seen in CI: retries [2, 1] after a recovered --resume)."""
    import torch
    from trainer.config import validate_config
    cfg = validate_config({"preset": "smoke", "run": {"total_kimg": 2, "tick_kimg": 1}})
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(cfg.to_json())
    torch.save({"progress": {"cur_nimg": 2048}}, ckpt / "state.pt")
    store = SweepStore(str(tmp_path), "sw")
    record = {"sweep": "sw", "trial_index": 0, "variant": "main", "status": "TERMINATED", "attempt": 1, "finished_at": 123.0}
    store.write_status("97815_00000", record)
    run_trial({"trial": {"sweep": "sw", "storage": str(tmp_path), "scale": "smoke", "index": 0, "variant": "main",
                         "config": cfg.model_dump(mode="json"), "store_trial_id": "97815_00000", "resume_from": str(ckpt)}})
    got = store.read_status("97815_00000")
    assert {k: got.get(k) for k in record} == record and got.get("restored_finished") is None
