"""`python -m analysis.report`: exit 2 with one line on bad input and nothing written; a complete index otherwise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from analysis_fixtures import tick_frame, write_sweep_parts

from analysis.report import render_report
from analysis.synthetic import write_store

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis.report", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})


def _bad_results(tmp_path: Path, case: str) -> Path:
    path = tmp_path / "results"
    if case == "empty":
        path.mkdir()
    elif case == "corrupt":
        (path / "fixed_p_grid" / "metrics").mkdir(parents=True)
        (path / "fixed_p_grid" / "metrics" / "part-000.parquet").write_bytes(b"PAR1 garbage")
    return path


@pytest.mark.parametrize("case", ["missing", "empty", "corrupt"])
def test_bad_results_exit_2_with_one_line_and_write_nothing(tmp_path: Path, case: str) -> None:
    out = tmp_path / "out"
    proc = _cli(str(_bad_results(tmp_path, case)), "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stdout == ""
    assert "part-000.parquet" in proc.stderr if case == "corrupt" else "results" in proc.stderr
    assert not out.exists()


def test_unwritable_out_exits_2(tmp_path: Path) -> None:
    write_sweep_parts(tmp_path, "fixed_p_grid", [tick_frame([{"trial_id": "a", "tick": 1, "fid": 3.0}])])
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    proc = _cli(str(tmp_path / "fixed_p_grid"), "--out", str(blocker / "report"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "cannot write report" in proc.stderr


def test_help_and_a_small_report_from_the_cli(tmp_path: Path) -> None:
    assert _cli("--help").returncode == 0
    write_store(tmp_path / "store", seeds=1, ticks=4, sweeps=("dataset_size_grid",), samples=False)
    out = tmp_path / "out"
    proc = _cli(str(tmp_path / "store" / "dataset_size_grid"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(str(out / "index.html"))
    assert "ADA vs none" in proc.stdout and "no difference (n = 1 < 3)" in proc.stdout   # the printed verdict table
    assert "(single pair)" in proc.stdout   # one seed: the difference without a degenerate [x, x] interval
    assert (out / "ada_fig7_fid_vs_size.png").stat().st_size > 1000 and (out / "ada_fig7_fid_vs_size.svg").exists()
    html = (out / "index.html").read_text()
    assert "python -m sweeps.launch leakage_grid" in html and "python -m sweeps.launch fixed_p_grid" in html
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_full_report_references_every_png_lists_errors_and_configs(synthetic_root: Path, tmp_path: Path) -> None:
    index = render_report(str(synthetic_root), str(tmp_path / "report"), workers=2, formats=("png",))
    html = index.read_text()
    pngs = sorted(p.name for p in index.parent.glob("*.png"))
    assert len(pngs) == 17  # every catalogue figure has data in the synthetic study, and the verdict table
    figures = [p for p in pngs if p != "verdicts.png"]
    for name in figures:
        assert f'src="{name}"' in html
    assert set(re.findall(r'src="([^"]+)"', html)) == set(figures)
    assert html.index("<h2>Verdicts</h2>") < html.index("<h2>Figures</h2>") and 'href="verdicts.png"' in html
    assert "fixed p vs none" in html and "ADA vs best fixed p" in html and "DiffAugment vs none" in html
    assert "CUDA out of memory (synthetic)" in html and 'class="s ERROR"' in html
    assert "failed:" not in html and "sweep.json" in html and "config of trial" in html
    assert "diffaug_policy_table.csv" in html and "100%" in html


def test_two_detectors_get_one_figure_each(tmp_path: Path) -> None:
    rows = [{"trial_id": f"{det}_{p}", "tick": 1, "aug_mode": "fixed", "augpipe": "geom", "p_fixed": p,
             "fid": 10.0 + p, "detector": det} for det in ("inception", "offline") for p in (0.0, 0.5)]
    write_sweep_parts(tmp_path / "store", "fixed_p_grid", [tick_frame(rows)])
    index = render_report(str(tmp_path / "store"), str(tmp_path / "out"), workers=1, formats=("png",))
    names = {p.name for p in index.parent.glob("ada_fig4abc*.png")}
    assert names == {"ada_fig4abc_fid_vs_p__inception.png", "ada_fig4abc_fid_vs_p__offline.png"}


def test_trials_without_any_tick_rows_still_get_a_page(tmp_path: Path) -> None:
    (tmp_path / "store" / "overfitting").mkdir(parents=True)
    pd.DataFrame({"trial_id": ["a"], "status": ["ERROR"], "error": ["boom <b>"], "retries": [2]}).to_parquet(
        tmp_path / "store" / "overfitting" / "trials.parquet")
    html = render_report(str(tmp_path / "store"), str(tmp_path / "out"), workers=1).read_text()
    assert "boom &lt;b&gt;" in html and "failed:" not in html
    assert html.count("python -m sweeps.launch") == 22  # 16 figures, 5 tables and the verdict table skipped, each naming its sweep


def test_uri_output_is_uploaded_through_pyarrow_fs(tmp_path: Path) -> None:
    write_store(tmp_path / "store", seeds=1, ticks=4, sweeps=("dataset_size_grid",), samples=False)
    where = render_report(f"file://{tmp_path}/store", f"file://{tmp_path}/bucket/report", workers=1, formats=("png",))
    assert where == f"file://{tmp_path}/bucket/report/index.html"
    assert (tmp_path / "bucket" / "report" / "ada_fig7_fid_vs_size.png").exists()
    assert 'src="ada_fig7_fid_vs_size.png"' in (tmp_path / "bucket" / "report" / "index.html").read_text()


def test_rerender_removes_figures_that_are_now_skipped(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "ada_fig4abc_fid_vs_p.png").write_bytes(b"stale")
    (out / "notes.txt").write_text("the user's own file")
    write_store(tmp_path / "store", seeds=1, ticks=4, sweeps=("dataset_size_grid",), samples=False)
    render_report(str(tmp_path / "store"), str(out), workers=1, formats=("png",))
    assert not (out / "ada_fig4abc_fid_vs_p.png").exists() and (out / "notes.txt").exists()
    assert (out / "ada_fig7_fid_vs_size.png").exists()
