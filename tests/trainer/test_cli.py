"""`python -m trainer`: run dir contents, resume, one-line errors with exit 2 and nothing written, divergence exit 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from fast_config import DESIGN_COLUMNS, fast_overrides

import trainer.step as step_mod
from trainer.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def _sets(**extra: Any) -> list[str]:
    out = []
    for k, v in fast_overrides(**extra).items():
        v = "[]" if v == [] else v
        out += ["--set", f"{k}={v}"]
    return out


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_end_to_end_run_dir_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert main(["--preset", "smoke", "--out", str(out), *_sets(**{"metrics.every_ticks": 2, "run.checkpoint_ticks": 2})]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("tick")]
    assert len(lines) == 3 and "fid" in lines[0] and "r_t" in lines[0]
    assert (out / "config.json").is_file()
    df = pd.read_parquet(out / "metrics.parquet")
    assert list(df["tick"]) == [1, 2, 3]
    assert set(DESIGN_COLUMNS) | {"sweep", "trial_id", "attempt"} <= set(df.columns)
    assert df["sweep"].isna().all() and (df["trial_id"] == "single").all() and (df["attempt"] == 0).all()
    assert df["fid"].isna().tolist() == [True, False, False]
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["tick000002.png", "tick000003.png"]
    state = torch.load(out / "checkpoints" / "latest" / "state.pt", weights_only=True)
    assert state["progress"]["tick"] == 3
    # resume: extend the run by one tick
    assert main(["--resume", str(out), "--set", "run.total_kimg=0.512"]) == 0
    df2 = pd.read_parquet(out / "metrics.parquet")
    assert list(df2["tick"]) == [1, 2, 3, 4]
    assert df2.iloc[:3]["loss_G"].tolist() == df["loss_G"].tolist()
    # a refused resume (changed config) is bad input: one line, exit 2, and the run dir is left untouched
    before = {f: (out / f).read_bytes() for f in ("config.json", "metrics.parquet", "checkpoints/latest/state.pt")}
    capsys.readouterr()
    assert main(["--resume", str(out), "--set", "augment.p=0.3"]) == 2
    assert "augment.p" in _one_error_line(capsys)
    assert {f: (out / f).read_bytes() for f in before} == before


@pytest.mark.parametrize(("argv", "needle"), [
    (["--preset", "huge"], "huge"),
    (["--set", "model.depth=3"], "model.depth"),
    (["--set", "augment.mode=sometimes"], "augment.mode"),
    (["--set", "loss.g_lr=-1"], "loss.g_lr"),
    (["--set", "noequals"], "noequals"),
    (["--set", "data.source=folder:/nonexistent/images"], "/nonexistent/images"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             argv: list[str], needle: str) -> None:
    out = tmp_path / "run"
    args = ["--preset", "smoke", "--out", str(out), *argv] if argv[0] != "--preset" else [*argv, "--out", str(out)]
    assert main(args) == 2
    assert needle in _one_error_line(capsys)
    assert not out.exists()


def test_unwritable_or_used_out_dir_and_missing_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["--preset", "smoke", "--out", str(blocker / "run")]) == 2
    assert "file" in _one_error_line(capsys)
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("x")
    assert main(["--preset", "smoke", "--out", str(used)]) == 2
    assert "--resume" in _one_error_line(capsys)
    assert main(["--resume", str(tmp_path / "nothing")]) == 2
    assert "no checkpoint" in _one_error_line(capsys)


def test_divergence_exits_1_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    real = step_mod.d_step_loss

    def poisoned(*args: Any, **kw: Any) -> Any:
        out = real(*args, **kw)
        return type(out)(out.loss_D * float("inf"), out.loss_r1, out.real_logits)
    monkeypatch.setattr(step_mod, "d_step_loss", poisoned)
    assert main(["--preset", "smoke", "--out", str(tmp_path / "run"), *_sets()]) == 1
    line = _one_error_line(capsys)
    assert "loss_D" in line and "tick 1" in line and "kimg 0.016" in line


def test_help_lists_the_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert all(flag in text for flag in ("--preset", "--out", "--set", "--resume"))


def test_subprocess_bad_preset_exits_2(tmp_path: Path) -> None:
    bad = subprocess.run([sys.executable, "-m", "trainer", "--preset", "nope", "--out", str(tmp_path / "x")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "nope" in bad.stderr, bad.stderr
    assert not (tmp_path / "x").exists()
