"""A plan's launch settings are typed fields, fixed once `make_plan` returns, and sweep.json is written from them.

They were one `extra` dict (grid, source, log, ray_dir, extend) that `sweeps.launch` filled in after planning and
that sweep.json took whole: a resumed plan's `ray_dir` and `extend` keys would have been refused there, and only
worked because a resumed plan never writes sweep.json.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from resultsformat.layout import RAY_DIR, SWEEP_FILE
from sweeps.plan import Extension, make_plan, sweep_record


def test_launch_settings_are_typed_and_recorded(tmp_path: Path) -> None:
    plan = make_plan("fixed_p_grid", storage=str(tmp_path), check_data=False, sets=["run.total_kimg=4"],
                     grid=["augment.p=0.35,0.7"], log=["tensorboard"])
    tb = {"kind": "tensorboard", "target": str(tmp_path / "fixed_p_grid" / "tensorboard")}
    assert (plan.grid, plan.source, plan.no_variant, plan.log) == (("augment.p=0.35,0.7",), None, (), (tb,))
    assert (plan.ray_dir, plan.extension, plan.ray_path) == (RAY_DIR, None, plan.store.uri + "/" + RAY_DIR)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.log = ()   # type: ignore[misc]
    record = json.loads(json.dumps(sweep_record(plan)))
    assert (record["grid"], record["source"], record["log"]) == (["augment.p=0.35,0.7"], None, [tb])
    assert "augment.p" in record["axis_order"]["main"] and "no_variant" not in record and "extensions" not in record
    assert "grid" not in sweep_record(make_plan("fixed_p_grid", storage=str(tmp_path / "b"), check_data=False))


def test_a_resume_knows_its_ray_folder_and_an_extension_its_own(tmp_path: Path) -> None:
    launched = make_plan("fixed_p_grid", storage=str(tmp_path), check_data=False, sets=["run.total_kimg=4"])
    launched.store.write_json(SWEEP_FILE, sweep_record(launched))
    (tmp_path / "fixed_p_grid" / RAY_DIR).mkdir()
    (tmp_path / "fixed_p_grid" / RAY_DIR / "tuner.pkl").write_bytes(b"")   # what --resume checks before Ray starts
    resumed = make_plan("fixed_p_grid", storage=str(tmp_path), resume=True, check_data=False)
    assert (resumed.ray_dir, resumed.extension, resumed.sets) == (RAY_DIR, None, ["run.total_kimg=4"])
    longer = make_plan("fixed_p_grid", storage=str(tmp_path), resume=True, check_data=False, sets=["run.total_kimg=8"])
    assert longer.extension == Extension(from_kimg=4.0, to_kimg=8.0, previous_ray_dir=RAY_DIR, ray_dir="ray_ext1")
    assert longer.ray_path == longer.store.uri + "/ray_ext1" and longer.sets == ["run.total_kimg=8"]
    assert {t.config.run.total_kimg for t in longer.trials} == {8.0}
