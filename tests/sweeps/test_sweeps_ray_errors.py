"""Error reasons of trials that die before writing their own status record come from Ray's public ResultGrid.

They once came from a private attribute through `getattr(..., None) or []`, so a Ray upgrade would have made them
vanish silently.  Here a real local Ray runs a trial that raises before it records anything; its reason must reach
trials.parquet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from sweeps.plan import make_plan
from sweeps.runner import EXIT_TRIAL_ERRORS, _error_line, run


def test_a_crashing_trial_reason_reaches_trials_parquet(tmp_path: Path) -> None:
    plan = make_plan("leakage_grid", storage=str(tmp_path), sets=["augment.mode=none"],
                     max_failures=0, argv=["leakage_grid"])
    assert len(plan.trials) == 1

    def crash(config: dict[str, Any]) -> None:   # nested: Ray pickles it by value; writes no status record
        raise ValueError(f"boom at trial {config['trial']['index']}")

    assert run(plan, trainable_fn=crash, render=False) == EXIT_TRIAL_ERRORS
    trials = pd.read_parquet(tmp_path / "leakage_grid" / "trials.parquet")
    assert list(trials["status"]) == ["ERROR"]
    assert trials["error"].iloc[0] == "ValueError: boom at trial 0"
    assert trials["trial_id"].iloc[0] and trials["trial_id"].iloc[0] != "None"


def test_error_line_names_the_exception() -> None:
    text = RuntimeError("Traceback (most recent call last):\n  File 'x.py', line 1\nValueError: boom\n")
    assert _error_line(text) == "ValueError: boom"
    assert _error_line(KeyError()) == "KeyError"
