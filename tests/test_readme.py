"""The README's commands are the user contract: CI runs what it says, and the tests run the commands themselves.

- `.ci/run` installs and tests exactly as the README's first lines say (text checks);
- every command in the README's code blocks is either run here, as a subprocess from a fresh temporary working
  directory (relative paths as typed; budgets shortened with `--set` only where the README's would take minutes),
  or listed in NOT_RUN with the reason (it needs a cluster, a bucket, or it is the test run itself).  A command
  added to the README without one or the other fails `test_every_readme_command_is_run_or_excused`;
- the main command, `python -m sweeps.launch fixed_p_grid`, runs verbatim (default storage, smoke scale) once per
  module, and the commands that read a finished sweep (trainer.evaluate, sweeps.evaluate, analysis.report, the
  pandas snippet) reuse it.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
INSTALL = "python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.14.1 torchvision==0.29.1 && pip install -e '.[test]'"
MAIN = "python -m sweeps.launch fixed_p_grid"
# A trainer run that takes seconds instead of a minute (the README's own budgets stay in the command).
SHORT = ["--set", "run.total_kimg=2", "--set", "run.tick_kimg=1", "--set", "data.dataset_size=200",
         "--set", "metrics.fid_samples=100", "--set", "metrics.fid_real=500", "--set", "metrics.kid=false",
         "--set", "metrics.dout_samples=64", "--set", "metrics.leak_samples=64"]

# README commands no test runs, and why.  Everything else in a README code block must be run below.
NOT_RUN = {
    f"{INSTALL} && python -m pytest": "it is this test run (CI: .ci/run)",
    "python -m pytest": "it is this test run",
    'python -m pytest -m "not e2e"': "a subset of this test run",
    "python -m benchmarks.augment": "a benchmark: minutes of timing runs, not a correctness check",
    "python -m benchmarks.train_step --presets paper --device cuda": "a benchmark: minutes of timing runs, and its figures need a GPU",
    "ray get-auth-token --generate": "writes the user's ~/.ray/auth_token for a cluster",
    "ray up cluster.yaml": "needs a cloud account",
    "ray dashboard cluster.yaml &": "needs a running cluster",
    "RAY_AUTH_MODE=token ray job submit --address http://127.0.0.1:8265 --working-dir . -- \\": "needs a running cluster",
    "python -m analysis.report s3://YOUR-BUCKET/gan-aug --out report/": "needs a bucket (S3 is tested against moto)",
    "ray down cluster.yaml": "needs a running cluster",
    "python -m sweeps.launch r1_gamma_x_p --storage runs/ --resume": "needs that sweep launched first; a file sweep "
    "resumed (and extended) by its name is tests/sweeps/test_sweeps_own_e2e.py",
    "pip install -e '.[tensorboard]'": "installs into the user's environment; CI has it through '.[test]'",
    "tensorboard --logdir results/fixed_p_grid/tensorboard": "starts a web server; the event files are read back with "
    "TensorBoard's reader in tests/sweeps/test_sweeps_tracking.py",
}
# README commands about a user's own sweep, run (with --dry-run) from the repository root, where the example is.
OWN_SWEEP = ("python -m sweeps.launch sweeps/examples/", "python -m sweeps.launch fixed_p_grid --grid",
             "python -m sweeps.launch fixed_p_grid --log", "python -m sweeps.launch r1_gamma_x_p",
             "python -m sweeps.launch fixed_p_grid --scale tiny --set data.dataset_size=250 --set augment.mode=fixed")


def _code_lines(text: str) -> list[str]:
    return [ln.strip() for ln in re.findall(r"^    (\S.*)$", text, flags=re.M)]


def _command(line: str) -> str:
    """A README code line without its trailing `# comment`."""
    return re.sub(r"\s+#\s.*$", "", line).strip()


def readme_commands() -> list[str]:
    return [_command(ln) for ln in _code_lines(README)]


def readme_line(prefix: str) -> str:
    """The one README command that starts with PREFIX (so a test runs what the README says, not a copy)."""
    found = [c for c in readme_commands() if c.startswith(prefix)]
    assert len(found) == 1, f"README has {len(found)} commands starting with {prefix!r}"
    return found[0]


def python_snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


# ---- text: .ci/run and the README agree -----------------------------------------------------------------

def test_readme_opens_with_the_two_commands() -> None:
    head = README.split("\n## ")[0]
    lines = _code_lines(head)
    assert lines[:2] == [f"{INSTALL} && {MAIN}", f"{INSTALL} && python -m pytest"]


def test_ci_runs_what_the_readme_says() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    steps = [s.strip() for s in INSTALL.split("&&")] + ["python -m pytest"]
    pos = -1
    for step in steps:
        found = ci.find(step, pos + 1)
        assert found > pos, f".ci/run lacks, or reorders, README step {step!r}"
        pos = found


# Prefixes of the commands the tests below run; each test finds its line with readme_line(prefix).
RUN_HERE = (
    f"{INSTALL} && {MAIN}", "python -m sweeps.launch ada_target_grid --dry-run", "python -m sweeps.launch ada_target_grid",
    "python -m sweeps.launch leakage_grid", "python -m sweeps.launch fixed_p_grid --set",
    "python -m sweeps.launch fixed_p_grid --scale tiny --seeds", "python -m sweeps.launch overfitting",
    "python -m sweeps.launch diffaugment_grid", "python -m sweeps.launch transfer_grid", "python -m trainer --preset",
    "python -m trainer --resume", "python -m trainer --out runs/two",
    "python -m trainer.evaluate", "python -m trainer.generate runs/one", "python -m trainer.generate network-snapshot",
    "python -m sweeps.evaluate", "python -m analysis.report results/fixed_p_grid --out results",
    "python -m analysis.report results/fixed_p_grid --out report/", "python -m sweeps.check_cluster",
    *OWN_SWEEP[:3], OWN_SWEEP[4], "python -m sweeps.status",
)


def test_every_readme_command_is_run_or_excused() -> None:
    commands = readme_commands()
    covered = {c for c in commands if any(c.startswith(p) for p in RUN_HERE)}
    assert sorted(set(commands) - covered - set(NOT_RUN)) == [], "README commands that no test runs"
    assert sorted(set(NOT_RUN) - set(commands)) == [], "NOT_RUN names commands the README no longer has"


# ---- running them ----------------------------------------------------------------------------------------

def _env(home: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")   # this checkout, from any directory
    env["PYTHONUNBUFFERED"] = "1"
    if home is not None:
        env["HOME"] = str(home)
    return env


def sh(command: str, cwd: Path, timeout: float = 300, home: Path | None = None) -> subprocess.CompletedProcess:
    """Run a README command line through bash (globs and `~` as a user's shell has them), `python` = this venv's."""
    env = _env(home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def smoke_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """The README's main command, launch part verbatim, from a fresh directory: ./results/fixed_p_grid."""
    cwd = tmp_path_factory.mktemp("readme-main")
    command = readme_line(f"{INSTALL} && {MAIN}").split("&&")[-1].strip()
    assert command == MAIN
    return cwd, sh(command, cwd, timeout=1200)


@pytest.mark.e2e
def test_main_command_runs_verbatim_and_keeps_every_row(smoke_sweep: tuple[Path, subprocess.CompletedProcess]) -> None:
    cwd, proc = smoke_sweep
    out = _ok(proc)
    sweep = cwd / "results" / "fixed_p_grid"
    trials = pd.read_parquet(sweep / "trials.parquet")
    (cwd / "elsewhere").mkdir()
    expected = _ok(sh(f"{MAIN} --dry-run", cwd / "elsewhere")).split("\n\n")[0].strip().splitlines()[2:]   # table only
    assert len(trials) == len(expected) == 14
    assert trials["status"].tolist() == ["TERMINATED"] * 14, trials[["trial_index", "status", "error"]]
    from sweeps.store import SweepStore
    rows = SweepStore(str(cwd / "results"), "fixed_p_grid").read_metrics(dedup=False)
    pairs = sorted(zip(rows["trial_id"], rows["tick"]))
    assert pairs == sorted((tid, tick) for tid in trials["trial_id"] for tick in (1, 2, 3))   # 12 kimg, 4-kimg ticks
    last = out.strip().splitlines()[-1]
    assert last == f"figures: {sweep / 'report' / 'index.html'}", out[-2000:]
    assert (sweep / "report" / "index.html").stat().st_size > 0
    # a clean first screen: our own line first, no Ray start-up warning anywhere
    assert out.splitlines()[0].startswith("sweep fixed_p_grid at scale smoke: 14 trials"), out[:500]
    assert "Token authentication" not in proc.stdout + proc.stderr
    record = json.loads((sweep / "sweep.json").read_text())
    assert record["storage"] == str(cwd / "results") and record["ray_path"] == f"{sweep}/ray"


@pytest.mark.e2e
def test_pandas_snippet(smoke_sweep: tuple[Path, subprocess.CompletedProcess], monkeypatch: pytest.MonkeyPatch) -> None:
    cwd, _ = smoke_sweep
    monkeypatch.chdir(cwd)
    scope: dict = {}
    exec(compile(python_snippet(), "README.md", "exec"), scope)
    assert len(scope["m"]) == 14 * 3 and set(scope["t"]["status"]) == {"TERMINATED"}
    finals = scope["m"].groupby(["augpipe", "p_fixed"])["fid"].last()
    assert len(finals) == 6 and finals.notna().all()   # 3 categories x 2 p (the baseline has no augpipe)


@pytest.mark.e2e
def test_trainer_evaluate_and_sweeps_evaluate(smoke_sweep: tuple[Path, subprocess.CompletedProcess]) -> None:
    cwd, _ = smoke_sweep
    one = readme_line("python -m trainer.evaluate").replace("fid_samples=10000", "fid_samples=200").replace("--repeats 3", "--repeats 2")
    lines = _ok(sh(one, cwd)).strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["repeats"] == 2 and result["fid_samples"] == 200 and result["fid"] > 0
    tids = sorted(pd.read_parquet(cwd / "results/fixed_p_grid/trials.parquet")["trial_id"])[:2]
    many = readme_line("python -m sweeps.evaluate").replace("fid_samples=10000", "fid_samples=200")
    out = _ok(sh(f"{many.replace('--repeats 3', '--repeats 2')} --trials {' '.join(tids)}", cwd))
    assert "wrote 2 rows" in out
    parts = glob.glob(str(cwd / "results/fixed_p_grid/evaluations/*.parquet"))
    assert len(parts) == 1 and sorted(pd.read_parquet(parts[0])["trial_id"]) == tids


@pytest.mark.e2e
@pytest.mark.parametrize("prefix", ["python -m analysis.report results/fixed_p_grid --out results",
                                    "python -m analysis.report results/fixed_p_grid --out report/"])
def test_report_commands(prefix: str, smoke_sweep: tuple[Path, subprocess.CompletedProcess]) -> None:
    cwd, _ = smoke_sweep
    command = readme_line(prefix)
    _ok(sh(command, cwd))
    out = cwd / shlex.split(command)[-1]
    html = (out / "index.html").read_text()
    assert "fixed_p_grid" in html and glob.glob(str(out / "*.png"))


@pytest.mark.e2e
def test_launch_commands_dry_run(tmp_path: Path) -> None:
    """Every `sweeps.launch` line of the README parses, validates and opens its data: run with --dry-run appended
    (the real launch path is the main command's test); ~/data/mnist is a random MNIST-format file (5 500 images, enough for the 5k trial) in a temporary HOME."""
    sys.path.insert(0, str(ROOT / "tests" / "data"))
    from datafiles import random_images, write_mnist
    write_mnist(tmp_path / "data" / "mnist", random_images(5500, 16, 1, seed=3), gz=True)
    counts = {}
    for command in readme_commands():
        if command.startswith("python -m sweeps.launch ") and command != f"{INSTALL} && {MAIN}" \
                and not command.startswith(OWN_SWEEP):
            dry = command if "--dry-run" in command else command + " --dry-run"
            proc = sh(dry, tmp_path, timeout=120, home=tmp_path)
            lines = _ok(proc).split("\n\n")[0].strip().splitlines()   # the table; the budget follows a blank line
            counts[command.split()[3]] = len(lines) - 2
            assert "-> " + str(tmp_path) in lines[0], lines[0]     # storage resolved where the command ran
    # the last line per sweep: leakage_grid at tiny has 3 seeds x (4 configurations + the control); fixed_p_grid's
    # --seeds 5 line trains 5 seeds x 8 configurations; transfer_grid's part at one target size 3 seeds x 6 arms
    assert counts == {"ada_target_grid": 4, "leakage_grid": 15, "fixed_p_grid": 40, "overfitting": 2, "diffaugment_grid": 8,
                      "transfer_grid": 18}
    assert not (tmp_path / "results").exists() and not (tmp_path / "runs").exists()   # a dry run writes nothing
    help_text = _ok(sh("python -m sweeps.launch --help", tmp_path))
    assert "--storage" in help_text and "fixed_p_grid" in help_text


@pytest.mark.e2e
def test_trainer_commands_relative_out_and_resume(tmp_path: Path) -> None:
    first, second = readme_line("python -m trainer --preset"), readme_line("python -m trainer --resume")
    assert "--out runs/one" in first and "--resume runs/one" in second
    _ok(sh(first + " " + shlex.join(SHORT), tmp_path))
    run = tmp_path / "runs" / "one"
    assert pd.read_parquet(run / "metrics.parquet")["tick"].tolist() == [1, 2]
    assert json.loads((run / "config.json").read_text())["augment"]["mode"] == "diffaugment"
    assert (run / "checkpoints" / "latest").is_dir() and (run / "samples" / "tick000002.png").is_file()
    _ok(sh(second.replace("run.total_kimg=24", "run.total_kimg=3"), tmp_path))
    assert pd.read_parquet(run / "metrics.parquet")["tick"].tolist() == [1, 2, 3]
    _ok(sh(readme_line("python -m trainer.generate runs/one"), tmp_path))
    assert sorted(p.name for p in (run / "images").iterdir()) == [f"seed{s:04d}.png" for s in range(8)]
    # transfer learning from runs/one: a new run at kimg 0 that records its source (and its hash)
    _ok(sh(readme_line("python -m trainer --out runs/two") + " " + shlex.join(SHORT), tmp_path))
    two = json.loads((tmp_path / "runs" / "two" / "config.json").read_text())
    assert two["run"]["init_from"] == str(run / "checkpoints" / "latest") or two["run"]["init_from"] == str(run)
    assert len(two["run"]["init_sha256"]) == 64 and two["model"]["freeze_d"] == 1
    assert pd.read_parquet(tmp_path / "runs" / "two" / "metrics.parquet")["kimg"].iloc[0] < 2


@pytest.mark.e2e
def test_generate_from_an_nvlabs_pickle(tmp_path: Path) -> None:
    """The README's pickle line, verbatim, on a snapshot in the reference's format holding the small32 golden weights."""
    sys.path.insert(0, str(ROOT / "tests" / "trainer"))
    from golden_weights import index, weights
    from nvlabs_format import network, reference_kwargs, write_snapshot
    import numpy as np
    command = readme_line("python -m trainer.generate network-snapshot")
    G_kw, D_kw = reference_kwargs(index()["small32"], resolution=32)
    nets = [network(top, state, kw) for top, state, kw in zip(("Generator", "Discriminator"), weights("small32"), (G_kw, D_kw))]
    write_snapshot(tmp_path / shlex.split(command)[3], *nets)
    _ok(sh(command, tmp_path))
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["images.npz"] + [f"seed{s:04d}.png" for s in range(8)]
    assert np.load(out / "images.npz")["images"].shape == (8, 3, 32, 32)


def test_check_cluster_command() -> None:
    proc = sh(readme_line("python -m sweeps.check_cluster"), ROOT, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.e2e
def test_own_sweep_commands_dry_run() -> None:
    """The 'Your own sweep' and 'Tracking' launch lines, from the repository root, with --dry-run: they validate, print
    the grid and end with the budget (nothing is written)."""
    ran = 0
    for command in readme_commands():
        if command.startswith(OWN_SWEEP) and command not in NOT_RUN:
            dry = command if "--dry-run" in command else command + " --dry-run"
            out = _ok(sh(dry, ROOT, timeout=120))
            assert "budget: " in out and "cost: " in out, out
            if "--no-variant baseline" in command:    # p 0.35 and 0.7 x 3 seeds, no baseline trained again
                assert ": 6 trials" in out and " baseline " not in out, out
            ran += 1
    assert ran == 6


@pytest.mark.e2e
def test_status_commands(smoke_sweep: tuple[Path, subprocess.CompletedProcess]) -> None:
    cwd, _ = smoke_sweep
    for prefix in ("python -m sweeps.status results/fixed_p_grid", "python -m sweeps.status results/ --watch"):
        out = _ok(sh(readme_line(prefix), cwd, timeout=120))
        assert out.count(" TERMINATED ") == 14 and out.strip().splitlines()[-1].endswith("finished"), out
    # a sweep run in parts: runs/<part>/<sweep>/ (here one part, a link to the sweep the main command wrote)
    (cwd / "runs" / "part1").mkdir(parents=True, exist_ok=True)
    link = cwd / "runs" / "part1" / "fixed_p_grid"
    if not link.exists():
        link.symlink_to(cwd / "results" / "fixed_p_grid", target_is_directory=True)
    out = _ok(sh(readme_line("python -m sweeps.status runs/"), cwd, timeout=120))
    assert out.count(" TERMINATED ") == 14 and "runs/part1/fixed_p_grid" in out, out
