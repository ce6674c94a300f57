"""The two ways analysis can fail for a reason the user can fix.

`ResultsError` means the results themselves are unusable (no such path, no Parquet,
a corrupt file); the store's reader raises it (resultsformat.reader), so it is
declared there.  `MissingData` means the results are fine but lack the runs a figure
needs, and its message names the sweep that produces them.  Both subclass
ValueError so a caller can treat them like any other bad input, and the report CLI
turns them into one line on stderr instead of a traceback.
"""

from __future__ import annotations

from resultsformat.reader import ResultsError

__all__ = ["ResultsError", "NoTickRows", "UnreadablePartWarning", "MissingData", "MixedDetectors", "OutputError"]


class UnreadablePartWarning(UserWarning):
    """A metric part was left out because it is not readable Parquet (truncated, garbage); the rest was read."""


class NoTickRows(ResultsError):
    """Sweep directories exist but hold no tick rows yet (every trial failed early, or none has reported)."""


class MissingData(ValueError):
    """The loaded results lack what one figure needs; the message says which sweep to run."""

    def __init__(self, what: str, sweep: str) -> None:
        self.sweep = sweep
        super().__init__(f"{what}; run: python -m sweeps.launch {sweep}")


class MixedDetectors(ValueError):
    """FIDs from different feature detectors were about to share one plot line."""


class OutputError(ValueError):
    """The report's output directory cannot be created or written (one-line message)."""
