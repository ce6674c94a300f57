"""`sweeps.status` counts the trials a sweep was launched with, `--seeds N` included.

Status re-expands the recorded spec to learn each trial's kimg budget. It used to expand with the catalog's
default seeds: a tiny sweep launched with `--seeds 1` then listed the two seeds it never trained as PENDING trials
for ever (and `--watch` never ended); one launched with more seeds than the default lost its extra trials' budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeps.plan import make_plan, sweep_record
from sweeps.status import trial_states
from sweeps.store import SWEEP_FILE


@pytest.mark.parametrize("scale,seeds", [("tiny", 1), ("smoke", 2)])
def test_status_lists_exactly_the_launched_trials(tmp_path: Path, scale: str, seeds: int) -> None:
    plan = make_plan("leakage_grid", scale=scale, seeds=seeds, storage=str(tmp_path), check_data=False)
    plan.store.write_json(SWEEP_FILE, sweep_record(plan))
    states = trial_states(plan.store)
    assert [s.index for s in states] == [t.index for t in plan.trials]
    assert all(s.status == "PENDING" for s in states)
    budget = {t.index: t.config.run.total_kimg for t in plan.trials}
    assert {s.index: s.total_kimg for s in states} == budget          # no NaN budget for a seed the default lacks
