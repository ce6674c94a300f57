"""Ray Tune glue: the papers' grids as named sweeps, one launch command, and the Parquet results store.

The only package that imports both the trainer and Ray (docs/architecture.md "Data flow"); start at `sweeps.launch`.
"""
