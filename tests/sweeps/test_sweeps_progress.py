"""The launcher's progress callback survives `Tuner.restore` as the current code, not as the code it was saved with.

Tune pickles the run config's callbacks into the experiment state (ray.cloudpickle) and `Tuner.restore`
unpickles them.  The callback's class used to be built inside a function, which cloudpickle stores by value:
a sweep interrupted before an upgrade printed, after `--resume`, with the old code's lines."""

from __future__ import annotations

import pickle

from ray import cloudpickle

from sweeps.runner import _env_before_ray, _progress_callback


def test_a_restored_progress_callback_runs_the_current_code() -> None:
    _env_before_ray()
    cb = _progress_callback(18, {0: 150.0, 1: 150.0}, 0.0)
    blob = cloudpickle.dumps(cb)
    assert b"on_trial_result" not in blob            # the class's code is not in the saved state, only its name
    restored = pickle.loads(blob)
    assert type(restored) is type(cb)                 # the class the running code defines, not a copy of an old one
    assert (restored.total, restored.totals_kimg, restored.start_kimg) == (18, {0: 150.0, 1: 150.0}, 0.0)
