"""`python -m trainer.evaluate`: re-measuring a checkpoint reproduces its logged FID; repeats draw fresh latents;
bad input is one line, exit 2, and nothing is measured."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fast_config import fast_overrides

from trainer.__main__ import main as train_main
from trainer.evaluate import main


def _sets(**extra: Any) -> list[str]:
    out = []
    for k, v in fast_overrides(**extra).items():
        out += ["--set", f"{k}={'[]' if v == [] else v}"]
    return out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("eval") / "run"
    assert train_main(["--preset", "smoke", "--out", str(out), *_sets(**{"metrics.fid_samples": 48})]) == 0
    return out


def _json_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_reproduces_the_logged_fid_then_draws_fresh_latents(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logged = pd.read_parquet(run_dir / "metrics.parquet").iloc[-1]
    capsys.readouterr()
    assert main([str(run_dir), "--set", "run.threads=1"]) == 0
    (row,) = _json_lines(capsys)
    assert row["tick"] == int(logged["tick"]) == 3 and row["kimg"] == pytest.approx(float(logged["kimg"]))
    assert row["fid_samples"] == 48 and row["fid_std"] is None
    assert row["fid"] == pytest.approx(float(logged["fid"]), rel=1e-9)   # the same latents through the same suite

    ckpt = run_dir / "checkpoints" / "latest"
    assert main([str(ckpt), "--set", "metrics.fid_samples=96", "--repeats", "3"]) == 0
    (many,) = _json_lines(capsys)
    fids = many["fids"]
    assert many["fid_samples"] == 96 and len(fids) == 3 and len(set(fids)) == 3
    assert many["fid"] == pytest.approx(np.mean(fids)) and many["fid_std"] == pytest.approx(np.std(fids, ddof=1))
    assert many["fid_std"] > 0


def test_a_ray_trial_dir_uses_its_newest_checkpoint(run_dir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    trial = tmp_path / "trial0000_abc"
    shutil.copytree(run_dir / "checkpoints" / "latest", trial / "checkpoint_000010")
    (trial / "checkpoint_000002").mkdir()   # older and incomplete: must not be chosen
    capsys.readouterr()
    assert main([str(trial)]) == 0
    (row,) = _json_lines(capsys)
    assert row["checkpoint"].endswith("checkpoint_000010") and row["tick"] == 3


@pytest.mark.parametrize("case, fragment", [
    ("missing", "no such directory"),
    ("empty", "no checkpoint here"),
    ("model", "only metrics.*"),
    ("repeats", "--repeats 0"),
    ("bound", "fid_samples"),
    ("corrupt", "cannot read checkpoint"),
])
def test_bad_input_is_one_line_and_nothing_is_measured(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       case: str, fragment: str) -> None:
    good = str(run_dir)
    args = {
        "missing": [good, str(tmp_path / "nope")],
        "empty": [good, str(tmp_path)],
        "model": [good, "--set", "model.channel_base=64"],
        "repeats": [good, "--repeats", "0"],
        "bound": [good, "--set", "metrics.fid_samples=1"],
    }.get(case)
    if case == "corrupt":
        bad = tmp_path / "ckpt"
        shutil.copytree(run_dir / "checkpoints" / "latest", bad)
        (bad / "state.pt").write_bytes(b"not a torch file")
        args = [good, str(bad)]
    capsys.readouterr()
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""   # the good checkpoint listed first was not measured either
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err
