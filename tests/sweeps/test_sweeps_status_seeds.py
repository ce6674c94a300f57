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
from sweeps.summary import build_trials, summary_text


@pytest.mark.parametrize("scale,seeds", [("tiny", 1), ("smoke", 2)])
def test_status_lists_exactly_the_launched_trials(tmp_path: Path, scale: str, seeds: int) -> None:
    plan = make_plan("leakage_grid", scale=scale, seeds=seeds, storage=str(tmp_path), check_data=False)
    plan.store.write_json(SWEEP_FILE, sweep_record(plan))
    states = trial_states(plan.store)
    assert [s.index for s in states] == [t.index for t in plan.trials]
    assert all(s.status == "PENDING" for s in states)
    budget = {t.index: t.config.run.total_kimg for t in plan.trials}
    assert {s.index: s.total_kimg for s in states} == budget          # no NaN budget for a seed the default lacks


def test_a_finished_trial_an_extension_has_not_reached_yet_is_pending_not_done(tmp_path: Path) -> None:
    """`--resume --set run.total_kimg=800` on a sweep finished at 400: until a trial runs again, its record still says
    TERMINATED (from the old budget).  Status used to count it done ("4/6 done" with two trials at 400/800) and give it
    no time left, so the expected finish came too early and `--watch` could end before the extension did."""
    plan = make_plan("leakage_grid", scale="smoke", seeds=1, storage=str(tmp_path), check_data=False,
                     sets=["run.total_kimg=0.5", "run.tick_kimg=0.25"])
    record = sweep_record(plan)
    plan.store.write_json(SWEEP_FILE, {**record, "extensions": [{"from_kimg": 0.25, "to_kimg": 0.5}]})
    first, second = plan.trials[0].index, plan.trials[1].index
    for i, kimg in ((first, 0.5), (second, 0.25)):
        plan.store.write_status(f"t{i}", {"trial_index": i, "status": "TERMINATED", "attempt": 0})
        plan.store.write_rows([{"trial_index": i, "tick": 1, "kimg": kimg, "wall_s": 5.0}], trial_id=f"t{i}", attempt=0)
    states = {s.index: s for s in trial_states(plan.store)}
    assert states[first].status == "TERMINATED" and states[first].total_kimg == 0.5
    assert states[second].status == "PENDING" and states[second].seconds_left == pytest.approx(0.25 / (0.25 / 5.0))
    # the launcher's trials.parquet and closing line say the same ("6 trials - 4 terminated, 2 running" before)
    table = build_trials(plan.trials[:2], plan.store, {}, plan.store.read_metrics(), extended=True)
    assert table.set_index("trial_index")["status"].to_dict() == {first: "TERMINATED", second: "PENDING"}
    assert summary_text(table, plan.store, None, False, "").startswith(f"sweep {plan.store.sweep}: 2 trials - "
                                                                      "1 terminated, 1 pending")
    # a sweep never extended takes a TERMINATED record as it is, rows short of the budget or not (a trainable that
    # logs no kimg, rows an outage kept back): the launch must not call such a sweep interrupted
    plan.store.write_json(SWEEP_FILE, record)
    assert [s.status for s in trial_states(plan.store)][:2] == ["TERMINATED", "TERMINATED"]
    table = build_trials(plan.trials[:2], plan.store, {}, plan.store.read_metrics())
    assert table["status"].tolist() == ["TERMINATED", "TERMINATED"]
