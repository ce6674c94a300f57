"""The results format: the one definition of what a sweep writes and how it is read back (docs/architecture.md "Results store").

The Parquet results are the product's contract with its users' notebooks, so
the contract has exactly one owner.  This package holds the column names,
their Arrow types and one-line meanings (`columns`), the folder layout and the
names of metric parts (`layout`), the rule that keeps one row per trial x tick
(`dedup`), the conversion of rows into a table of exactly that schema
(`tables`), and the one reader of a store, local or in a bucket (`reader`).  It depends on pyarrow alone: `trainer` (torch), `sweeps` (Ray)
and `analysis` (neither) all import it, and nothing else spells a column out.

Adding a column is one entry in `columns.TICK_COLUMNS` plus the code that
produces its value; writers refuse a row with a key that is not declared.
"""

from resultsformat.columns import (EVAL_COLUMNS, JOINED_COLUMNS, LEAK_FLOORS, SCHEMA_VERSION, TICK_COLUMNS,
                                   TRIAL_COLUMNS, Column, names, reported_names, schema)
from resultsformat.dedup import dedup_newest
from resultsformat.tables import FormatError, conform, parquet_bytes, schema_problems

__all__ = ["Column", "TICK_COLUMNS", "TRIAL_COLUMNS", "EVAL_COLUMNS", "JOINED_COLUMNS", "LEAK_FLOORS", "SCHEMA_VERSION",
           "names", "reported_names", "schema", "dedup_newest", "conform", "parquet_bytes", "schema_problems", "FormatError"]
