"""`--no-variant NAME` leaves a sweep's variant out, and the sweep remembers it.

docs/tiny-results.md runs fixed_p_grid in parts, one p value at a time with `augment.mode` pinned to `fixed`. A
`--grid augment.p=...` in such a launch also trained the `baseline` variant again, as geom at p = 0 (the pin turns
it into a fixed-p trial), beside a baseline another part already holds: three wasted trials per launch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trainer.errors import UserInputError
from sweeps.launch import main
from sweeps.plan import make_plan, sweep_record
from sweeps.status import trial_states
from sweeps.store import SWEEP_FILE

PARTS = ["--scale", "tiny", "--set", "data.dataset_size=250", "--set", "augment.mode=fixed", "--set",
         "augment.augpipe=geom", "--grid", "augment.p=0.35,0.7"]


def _count(out: str) -> int:
    return int(re.search(r": (\d+) trials", out).group(1))


def _variants_and_p(out: str) -> list[tuple[str, str]]:
    """(variant, augment.p) of each row of the dry-run's trial table."""
    return [(f[1], f[2]) for f in (line.split() for line in out.splitlines()) if f and f[0].isdigit() and len(f) > 3]


def test_the_baseline_variant_is_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fixed_p_grid", *PARTS, "--dry-run", "--storage", str(tmp_path)]) == 0
    with_baseline = capsys.readouterr().out
    assert _count(with_baseline) == 9
    assert [v for v, _ in _variants_and_p(with_baseline)].count("baseline") == 3
    assert main(["fixed_p_grid", *PARTS, "--no-variant", "baseline", "--dry-run", "--storage", str(tmp_path)]) == 0
    without = capsys.readouterr().out
    assert _count(without) == 6
    assert _variants_and_p(without) == [("main", "0.35")] * 3 + [("main", "0.7")] * 3


def test_an_unknown_variant_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fixed_p_grid", "--no-variant", "basline", "--dry-run", "--storage", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "basline" in err and "baseline" in err
    assert main(["leakage_grid", "--no-variant", "baseline", "--dry-run", "--storage", str(tmp_path)]) == 2
    assert "leakage_grid has" in capsys.readouterr().err


def test_status_and_resume_keep_the_variant_out(tmp_path: Path) -> None:
    sets = PARTS[3::2][:3]
    plan = make_plan("fixed_p_grid", scale="tiny", sets=sets, grid=["augment.p=0.35,0.7"], no_variant=["baseline"],
                     storage=str(tmp_path), check_data=False)
    assert len(plan.trials) == 6 and {t.variant for t in plan.trials} == {"main"}
    plan.store.write_json(SWEEP_FILE, sweep_record(plan))
    assert [s.index for s in trial_states(plan.store)] == list(range(6))     # no PENDING baseline in status
    (tmp_path / "fixed_p_grid" / "ray").mkdir()
    (tmp_path / "fixed_p_grid" / "ray" / "tuner.pkl").write_bytes(b"")        # what --resume checks before Ray starts
    resumed = make_plan("fixed_p_grid", storage=str(tmp_path), resume=True, check_data=False)
    assert [t.config for t in resumed.trials] == [t.config for t in plan.trials]
    with pytest.raises(UserInputError, match="--no-variant"):
        make_plan("fixed_p_grid", storage=str(tmp_path), resume=True, check_data=False, no_variant=["augmented"])
