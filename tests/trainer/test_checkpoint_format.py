"""Checkpoint format versions: a stylegan2 checkpoint written before the reference networks (format 1) is refused by
resume, evaluate and generate in one line with exit 2; a format-1 DCGAN checkpoint (its networks did not change) still
resumes and samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from fast_config import fast_overrides

from trainer.__main__ import main as train_main
from trainer.checkpoint import FORMAT_VERSION, PRE_REFERENCE_VERSION, STATE_FILE
from trainer.evaluate import main as evaluate_main
from trainer.generate import main as generate_main
from resultsformat.layout import latest_checkpoint


def _sets(**extra: Any) -> list[str]:
    o = fast_overrides(**{"run.total_kimg": 0.128, "run.checkpoint_ticks": 1, "metrics.every_ticks": 1,
                          "metrics.fid_samples": 16, "metrics.fid_real": 32, **extra})
    return [a for k, v in o.items() for a in ("--set", f"{k}={'[]' if v == [] else v}")]


def _old_format_run(tmp_path: Path, arch: str) -> tuple[Path, Path]:
    """A one-tick run whose checkpoint is rewritten as format 1 (the version before the reference networks)."""
    run = tmp_path / arch
    extra = {"model.arch": arch, "model.z_dim": 16, "model.w_dim": 16} if arch == "stylegan2" else {}
    assert train_main(["--preset", "smoke", "--out", str(run), *_sets(**extra)]) == 0
    ckpt = latest_checkpoint(run)
    assert ckpt is not None
    state = torch.load(ckpt / STATE_FILE, weights_only=True)
    assert state["format"] == FORMAT_VERSION == PRE_REFERENCE_VERSION + 1
    torch.save({**state, "format": PRE_REFERENCE_VERSION}, ckpt / STATE_FILE)
    return run, ckpt


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_old_stylegan2_checkpoint_is_one_line_exit_2_everywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run, ckpt = _old_format_run(tmp_path, "stylegan2")
    capsys.readouterr()
    calls = {"resume": lambda: train_main(["--resume", str(run), "--set", "run.total_kimg=0.256"]),
             "evaluate": lambda: evaluate_main([str(ckpt)]),
             "generate": lambda: generate_main([str(run), "--seeds", "0-1", "--out", str(tmp_path / "img")])}
    for name, call in calls.items():
        assert call() == 2, name
        line = _one_error_line(capsys)
        assert "predates the reference stylegan2 networks" in line and str(ckpt) in line, (name, line)
    assert not (tmp_path / "img").exists()


def test_old_dcgan_checkpoint_still_resumes_and_samples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run, _ = _old_format_run(tmp_path, "dcgan")
    assert train_main(["--resume", str(run), "--set", "run.total_kimg=0.256"]) == 0
    assert generate_main([str(run), "--seeds", "0-1", "--out", str(tmp_path / "img")]) == 0
    assert sorted(p.name for p in (tmp_path / "img").iterdir()) == ["seed0000.png", "seed0001.png"]
