"""Ray trials restored without our config (a Ray state save truncated by a full disk, issue #33 item 2).

`--resume` once crashed in `sweeps.runner.trial_name` with `KeyError: 'trial'` before any line of ours; such a
trial must get a name, be left out of the progress totals, and fail on its own with one clear line.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sweeps.runner import ray_total_line, trial_dirname, trial_name
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
