"""The values of a trial's `status` (trials.parquet's column and the status records under `trials/`), spelt once.

They are Ray Tune's own names for a trial's state, because the sweep records what
Ray reports; `sweeps` writes them, `sweeps.status` and `analysis` read them.
Comparing against a constant from here, not a literal, makes a misspelt status
an import error instead of a comparison that is silently never true.
"""

from __future__ import annotations

TERMINATED = "TERMINATED"   # trained to its budget
ERROR = "ERROR"             # failed (its first error line is the `error` column)
RUNNING = "RUNNING"         # started and not ended; a killed driver leaves it so until --resume
PENDING = "PENDING"         # not started yet (or finished at an older budget that an extension has not reached)
PAUSED = "PAUSED"           # was running when its launch was interrupted (Ctrl-C); --resume continues it
UNKNOWN = "UNKNOWN"         # only in a trials table derived from tick rows, which carry no status

ENDED = (TERMINATED, ERROR)                      # nothing more will happen to the trial in this launch
STATUSES = (TERMINATED, ERROR, RUNNING, PAUSED, PENDING)  # what a status record may hold

KIMG_SLACK = 1e-6   # a trial's last tick stops at or a fraction of a batch past its budget, never short of it


def at_budget(status: str, kimg: float | None, total_kimg: float | None) -> str:
    """STATUS as it stands for a budget of TOTAL_KIMG: a TERMINATED record whose rows end short of it (KIMG) finished
    at an older budget, and an extension (`--resume --set run.total_kimg`) has not reached the trial yet: PENDING."""
    if status == TERMINATED and kimg is not None and total_kimg is not None and kimg < total_kimg - KIMG_SLACK:
        return PENDING
    return status
