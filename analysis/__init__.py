"""Analysis of sweep results: load the Parquet store, redraw the papers' figures, write a report.

`import analysis` is light (pandas and pyarrow only): matplotlib is imported by
`analysis.figures` and `analysis.report` when a figure is actually drawn, and
neither torch nor ray is ever imported, so results can be studied on a laptop.
"""

from analysis.errors import MissingData, MixedDetectors, OutputError, ResultsError
from analysis.load import load_metrics, load_trials

__all__ = ["MissingData", "MixedDetectors", "OutputError", "ResultsError", "load_metrics", "load_trials"]
