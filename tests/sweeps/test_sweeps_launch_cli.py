"""`python -m sweeps.launch`: --dry-run lists every trial without Ray; bad input exits 2 with one line and writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sweeps.catalog import get_sweep
from sweeps.launch import main
from sweeps.spec import expand

ROOT = Path(__file__).resolve().parents[2]


def test_dry_run_lists_every_trial_and_never_imports_ray(tmp_path: Path) -> None:
    storage = tmp_path / "res"
    code = ("import sys; from sweeps.launch import main; rc = main(['fixed_p_grid', '--dry-run', '--storage', sys.argv[1]]);"
            "print('RAY_IMPORTED' if 'ray' in sys.modules else 'NO_RAY'); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, str(storage)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == "NO_RAY"
    table = lines[2:lines.index("")]   # the budget follows the table after a blank line
    assert lines[-4].startswith("budget: 14 trials x 12 kimg")
    trials = expand(get_sweep("fixed_p_grid"), "smoke")
    assert len(table) == len(trials) == 14
    header = lines[1].split()
    assert header[:2] == ["trial", "variant"] and header[-2:] == ["cpu", "gpu"]
    assert {"data.dataset_size", "augment.augpipe", "augment.p", "augment.mode"} <= set(header)
    for t, line in zip(trials, table):
        cells = dict(zip(header, line.split()))
        assert int(cells["trial"]) == t.index and cells["variant"] == t.variant
        assert int(cells["data.dataset_size"]) == t.config.data.dataset_size
        assert cells["augment.mode"] == t.config.augment.mode
        if t.variant == "main":
            assert (cells["augment.augpipe"], float(cells["augment.p"])) == (t.config.augment.augpipe, t.config.augment.p)
        else:
            assert cells["augment.p"] == "-"
    assert not storage.exists()


def test_dry_run_shows_scale_and_pins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["diffaugment_grid", "--scale", "tiny", "--dry-run", "--storage", str(tmp_path / "r"),
               "--set", "augment.apply_to=both", "--set", "run.total_kimg=8"])
    out = capsys.readouterr().out.split("\n\n")[0].splitlines()   # the table; the budget follows
    assert rc == 0
    # pinned to apply_to=both, both ablation trials equal the main trial and are merged: main + baseline, 3 seeds each
    assert "scale tiny: 6 trials, 3 seed(s) per configuration (run.seed 0, 1, 2)" in out[0]
    assert "augment.mode" in out[1] and "run.seed" in out[1] and "none" in out[-1]


def test_seeds_flag_overrides_the_count_and_dry_run_shows_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["leakage_grid", "--seeds", "2", "--dry-run", "--storage", str(tmp_path / "r")])
    out = capsys.readouterr().out.split("\n\n")[0].splitlines()   # the table; the budget follows
    assert rc == 0
    # 3 transforms at p = 1 and the control without augmentation, twice
    assert "scale smoke: 8 trials, 2 seed(s) per configuration (run.seed 0, 1)" in out[0]
    seed_col = out[1].split().index("run.seed")
    assert sorted(line.split()[seed_col] for line in out[2:]) == ["0"] * 4 + ["1"] * 4


@pytest.mark.parametrize(("args", "needle"), [
    (["no_such_sweep"], "unknown sweep 'no_such_sweep'"),
    (["fixed_p_grid", "--scale", "huge"], "unknown scale 'huge'"),
    (["fixed_p_grid", "--set", "augment.pp=0.3"], "unknown key 'augment.pp'"),
    (["fixed_p_grid", "--set", "augment.p=1.5"], "augment.p"),
    (["fixed_p_grid", "--set", "data.source=folder:/no/such/images"], "/no/such/images"),
    (["fixed_p_grid", "--max-concurrent", "0"], "--max-concurrent"),
    (["fixed_p_grid", "--seeds", "0"], "--seeds must be an integer in 1..100"),
    (["fixed_p_grid", "--resume"], "nothing to resume"),
])
def test_bad_input_exits_2_with_one_line_and_creates_nothing(args: list[str], needle: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    storage = tmp_path / "results"
    rc = main([*args, "--storage", str(storage)])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and needle in err, err
    assert not storage.exists()
    assert os.listdir(tmp_path) == []


def test_unwritable_storage_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory should be")
    assert main(["fixed_p_grid", "--storage", str(blocker / "results")]) == 2
    err = capsys.readouterr().err
    assert "--storage" in err and "blocker" in err and len(err.strip().splitlines()) == 1
    assert sorted(os.listdir(tmp_path)) == ["blocker"]


def test_existing_results_need_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "fixed_p_grid").mkdir()
    (tmp_path / "fixed_p_grid" / "sweep.json").write_text('{"scale": "smoke", "set": []}')
    assert main(["fixed_p_grid", "--storage", str(tmp_path)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["fixed_p_grid", "--storage", str(tmp_path), "--resume", "--scale", "tiny", "--dry-run"]) == 2
    assert "differs" in capsys.readouterr().err


def test_cli_subprocess_exit_code_and_help(tmp_path: Path) -> None:
    bad = subprocess.run([sys.executable, "-m", "sweeps.launch", "fixed_p_grid", "--set", "augment.mode=sideways",
                          "--storage", str(tmp_path / "r")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "augment.mode" in bad.stderr
    assert "Traceback" not in bad.stderr
    helped = subprocess.run([sys.executable, "-m", "sweeps.launch", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert helped.returncode == 0 and "--resume" in helped.stdout and "diffaugment_grid" in helped.stdout


def test_command_lines_never_keep_credentials() -> None:
    from sweeps.plan import redact
    assert redact("s3://AKIAXXXX:secret@bucket/runs?X-Amz-Security-Token=abc") == "s3://bucket/runs"
    assert redact("./results") == "./results" and redact("gs://bucket/a") == "gs://bucket/a"


def test_storage_uri_with_credentials_is_refused_without_echoing_them(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fixed_p_grid", "--storage", "s3://AKIAEXAMPLE:s3cr3t@bucket/runs", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "s3://bucket/runs" in err and "environment" in err
    assert "s3cr3t" not in err and "AKIAEXAMPLE" not in err


def test_trial_id_of_dirname_inverts_trial_dirname() -> None:
    from types import SimpleNamespace

    from sweeps.runner import trial_dirname, trial_id_of_dirname

    trial = SimpleNamespace(config={"trial": {"index": 12}}, trial_id="e0350_00012")
    assert trial_dirname(trial) == "trial0012_e0350_00012" and trial_id_of_dirname(trial_dirname(trial)) == "e0350_00012"
    assert trial_id_of_dirname("tuner.pkl") is None and trial_id_of_dirname("experiment_state-2026.json") is None


def test_log_on_a_plain_resume_is_refused_unless_it_is_the_launchs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Tuner.restore keeps each trial's launch config, trackers included: a different --log would be ignored."""
    import json
    sweep = tmp_path / "fixed_p_grid"
    (sweep / "ray").mkdir(parents=True)
    (sweep / "ray" / "tuner.pkl").write_bytes(b"")   # what --resume looks for before it restores
    (sweep / "sweep.json").write_text('{"scale": "smoke", "set": []}')
    assert main(["fixed_p_grid", "--storage", str(tmp_path), "--resume", "--log", "tensorboard", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--log with a plain --resume" in err and "(no tracker)" in err, err
    target = str(sweep / "tb")
    (sweep / "sweep.json").write_text(json.dumps({"scale": "smoke", "set": [], "log": [{"kind": "tensorboard", "target": target}]}))
    assert main(["fixed_p_grid", "--storage", str(tmp_path), "--resume", "--log", f"tensorboard={target}", "--dry-run"]) == 0
    capsys.readouterr()
    assert main(["fixed_p_grid", "--storage", str(tmp_path), "--resume", "--log", "tensorboard=elsewhere", "--dry-run"]) == 2
    assert f"(tensorboard={target})" in capsys.readouterr().err
