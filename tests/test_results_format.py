"""Every writer of results against the one format (resultsformat): names, types, nothing undeclared.

The writers: `python -m trainer` (a run dir's metrics.parquet), a sweep trial
(metrics parts and trials.parquet of a real `sweeps.launch`), `sweeps.evaluate`
(evaluations/*.parquet) and the synthetic fixtures the analysis tests read.  The
S3 sweep's parts are held to it in tests/sweeps/test_sweeps_s3.py.  The README's
column table is the format's own, and sweep.json has the format's keys.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from resultsformat import EVAL_COLUMNS, TICK_COLUMNS, TRIAL_COLUMNS, schema_problems
from resultsformat.columns import markdown_table
from resultsformat.layout import SWEEP_JSON_KEYS, SWEEP_JSON_OPTIONAL, parse_part_name

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "trainer"))


def _problems(files: list[Path], columns: tuple) -> dict[str, list[str]]:
    assert files, "the writer wrote nothing"
    found = {str(f): schema_problems(pq.read_schema(f), columns) for f in files}
    return {f: p for f, p in found.items() if p}


def _sweep_problems(sweep: Path) -> dict[str, list[str]]:
    parts = sorted((sweep / "metrics").glob("*.parquet"))
    assert all(parse_part_name(p.name) is not None for p in parts), [p.name for p in parts]
    keys = set(json.loads((sweep / "sweep.json").read_text()))
    assert set(SWEEP_JSON_KEYS) <= keys <= set(SWEEP_JSON_KEYS) | set(SWEEP_JSON_OPTIONAL), sorted(keys)
    return {**_problems(parts, TICK_COLUMNS), **_problems([sweep / "trials.parquet"], TRIAL_COLUMNS)}


def test_readme_column_table_is_the_formats() -> None:
    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme, "regenerate the README's column table: python -m resultsformat"


def test_trainer_run_dir_conforms(tmp_path: Path) -> None:
    from fast_config import fast_overrides

    from trainer.__main__ import main
    sets = [a for k, v in fast_overrides(**{"run.total_kimg": 0.256}).items() for a in ("--set", f"{k}={'[]' if v == [] else v}")]
    assert main(["--preset", "smoke", "--out", str(tmp_path / "run"), *sets]) == 0
    assert _problems([tmp_path / "run" / "metrics.parquet"], TICK_COLUMNS) == {}


def test_synthetic_fixtures_conform(tmp_path: Path) -> None:
    from analysis.synthetic import write_store
    write_store(tmp_path, seeds=1, ticks=3, sweeps=("overfitting", "leakage_grid"), samples=False)
    for sweep in ("overfitting", "leakage_grid"):
        assert _sweep_problems(tmp_path / sweep) == {}


@pytest.mark.e2e
def test_sweep_trials_and_sweeps_evaluate_conform(real_root: Path, tmp_path: Path) -> None:
    for sweep in ("fixed_p_grid", "overfitting"):
        assert _sweep_problems(real_root / sweep) == {}
    sweep = tmp_path / "fixed_p_grid"
    shutil.copytree(real_root / "fixed_p_grid", sweep)
    proc = subprocess.run([sys.executable, "-m", "sweeps.evaluate", str(sweep), "--repeats", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _problems(sorted((sweep / "evaluations").glob("*.parquet")), EVAL_COLUMNS) == {}


def test_a_declared_column_is_all_it_takes(tmp_path: Path) -> None:
    """Adding a column is one line in resultsformat/columns.py: writers then accept it and readers type it."""
    import pyarrow as pa

    from analysis import load_metrics
    from resultsformat import Column, conform, parquet_bytes
    extended = (*TICK_COLUMNS, Column("example_metric", pa.float64(), "training", "a column added later"))
    table = conform([{"sweep": "s", "trial_id": "A", "tick": 1, "attempt": 0, "example_metric": 0.25}], extended)
    assert schema_problems(table.schema, extended) == [] and table.column("example_metric").to_pylist() == [0.25]
    (tmp_path / "s" / "metrics").mkdir(parents=True)
    (tmp_path / "s" / "metrics" / "A.a0.t000001.0000abcd.parquet").write_bytes(parquet_bytes(table))
    assert load_metrics(tmp_path / "s")["example_metric"].tolist() == [0.25]
