"""transfer_grid's source network (sweeps/transfer.py): trained first at smoke/tiny and reused by its config, given by
the user at paper, and every trial's run.init_sha256 filled in before Ray starts; --dry-run shows it all."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from sweeps import transfer
from sweeps.catalog import TINY_ADA, TINY_TRANSFER_ADA, get_sweep
from sweeps.plan import make_plan
from sweeps.spec import expand
from trainer.errors import UserInputError

ROOT = Path(__file__).resolve().parents[2]
# the user's metrics.* sets reach the source too: a seconds-long source (4 kimg of the smoke preset, cheap metrics)
CHEAP = ["metrics.fid_samples=64", "metrics.fid_real=256", "metrics.kid=false", "metrics.dout_samples=32",
         "metrics.leakage=[]", "metrics.sample_grid=0", "metrics.detector=random", "data.dataset_size=200"]


def _launch(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sweeps.launch", "transfer_grid", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_grid_axes_at_tiny() -> None:
    """The paper's arms (from scratch, from the source, from the source with Freeze-D; each with and without ADA) on
    two target sizes, and ADA able to move p within the 150-kimg budget (ada_kimg <= 2/3 of it)."""
    trials = expand(get_sweep("transfer_grid"), "tiny")
    keys = {(t.config.data.dataset_size, t.config.augment.mode, t.config.model.freeze_d, t.config.run.init_from)
            for t in trials}
    assert keys == {(n, m, k, s) for n in (250, 1000) for m in ("none", "ada") for k, s in ((0, None), (0, "@source"),
                                                                                          (1, "@source"))}
    assert len(trials) == 3 * len(keys)
    assert {t.config.data.source for t in trials} == {"procedural:domain=b"}
    ada = {(t.config.augment.heuristic, t.config.augment.ada_target, t.config.augment.ada_kimg, t.config.run.total_kimg)
           for t in trials if t.config.augment.mode == "ada"}
    assert ada == {(TINY_ADA["augment.heuristic"], TINY_ADA["augment.ada_target"], 100.0, 150.0)}
    assert TINY_TRANSFER_ADA == {**TINY_ADA, "augment.ada_kimg": 100.0}


def test_tiny_parts_by_target_size_make_the_whole_grid() -> None:
    """The README's parts (`--set data.dataset_size=N`): 18 trials each, together the whole grid, nothing twice."""
    whole = {t.config.model_dump_json() for t in expand(get_sweep("transfer_grid"), "tiny")}
    parts = [{t.config.model_dump_json() for t in expand(get_sweep("transfer_grid"), "tiny", [f"data.dataset_size={n}"])}
             for n in (250, 1000)]
    assert [len(p) for p in parts] == [18, 18] and parts[0] | parts[1] == whole and not parts[0] & parts[1]


@pytest.mark.parametrize("scale,expect", [
    ("smoke", "source network: trained first, procedural (all 10000 images), no augmentation, 4 kimg"),
    ("tiny", "source network: trained first, procedural (all 70000 images), no augmentation, 300 kimg"),
    ("paper", "source network: not given -- transfer_grid at scale paper: the from-source trials need a source network; "
              "give it with --grid run.init_from=none,PATH"),
])
def test_dry_run_says_where_the_source_comes_from_and_its_cost(scale: str, expect: str, tmp_path: Path) -> None:
    r = _launch("--scale", scale, "--dry-run", "--storage", str(tmp_path), "--set", "data.source=procedural:domain=b")
    assert r.returncode == 0, r.stderr
    assert expect in r.stdout and "budget:" in r.stdout
    if scale != "paper":
        assert "source cost:" in r.stdout and "before the trials start" in r.stdout


def test_paper_without_a_source_is_refused_before_anything(tmp_path: Path) -> None:
    plan = make_plan("transfer_grid", scale="paper", storage=str(tmp_path), check_data=False)
    with pytest.raises(UserInputError, match=r"--grid run.init_from=none,PATH"):
        transfer.prepare(plan)
    assert not any(tmp_path.iterdir())


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """prepare() on a smoke plan: trains the source (a real `python -m trainer` run) into a private cache."""
    cache = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("GANAUG_CACHE", str(cache))
    plan = make_plan("transfer_grid", scale="smoke", storage=str(tmp_path_factory.mktemp("store")), sets=CHEAP)
    said: list[str] = []
    out = transfer.prepare(plan, printer=said.append)
    yield plan, out, said, cache, mp
    mp.undo()


def test_source_trained_first_and_every_trial_hashed(trained) -> None:
    plan, out, said, cache, _ = trained
    where = transfer.source_dir(transfer.source_config(plan))
    assert where.parent == cache / "sources" and said[0].startswith("source network: training it first (4 kimg)")
    digest = hashlib.sha256((where / "checkpoints" / "latest" / "state.pt").read_bytes()).hexdigest()
    src = [t for t in out.trials if t.config.run.init_from is not None]
    assert len(src) == 4 and {(t.config.run.init_from, t.config.run.init_sha256) for t in src} == {(str(where), digest)}
    assert all(t.params["run.init_from"] == str(where) for t in src)
    assert all(t.config.run.init_sha256 is None for t in out.trials if t.config.run.init_from is None)
    assert [t.index for t in out.trials] == [t.index for t in plan.trials]


def test_source_reused_when_its_config_is_the_same(trained) -> None:
    plan, out, _, _, _ = trained
    said: list[str] = []
    again = transfer.prepare(plan, printer=said.append)
    assert len(said) == 1 and said[0].startswith("source network: reusing")
    assert [t.config for t in again.trials] == [t.config for t in out.trials]


def test_a_given_source_is_used_and_checked(trained, tmp_path: Path) -> None:
    plan, out, _, _, _ = trained
    where = transfer.source_dir(transfer.source_config(plan))
    # at smoke and tiny from scratch is its own variant, so a given source replaces only the main grid's @source
    given = make_plan("transfer_grid", scale="smoke", storage=str(tmp_path), sets=CHEAP,
                      grid=[f"run.init_from={where}"])
    said: list[str] = []
    ready = transfer.prepare(given, printer=said.append)
    assert said == [] and [t.config for t in ready.trials] == [t.config for t in out.trials]
    wrong = make_plan("transfer_grid", scale="smoke", storage=str(tmp_path / "w"), sets=[*CHEAP, "model.channel_max=32"],
                      grid=[f"run.init_from=none,{where}"])
    with pytest.raises(UserInputError, match=r"model.channel_max \(64 in the source, 32 here\)"):
        transfer.prepare(wrong)


def test_resume_keeps_the_recorded_source_and_refuses_a_changed_one(trained, tmp_path: Path) -> None:
    import dataclasses
    import shutil

    from sweeps.plan import sweep_record
    from sweeps.store import SWEEP_FILE
    plan, out, _, cache, mp = trained
    where = transfer.source_dir(transfer.source_config(plan))
    copy = tmp_path / "src"                       # the launch's source, as sweep.json recorded it
    shutil.copytree(where, copy)
    launched = transfer.prepare(make_plan("transfer_grid", scale="smoke", storage=str(tmp_path / "store"), sets=CHEAP,
                                          grid=[f"run.init_from={copy}"]), printer=lambda _: None)
    launched.store.write_json(SWEEP_FILE, sweep_record(launched))
    # resumed later, when the catalog's source would be another config: no training, the recorded path and hash
    mp.setitem(transfer.SOURCE_SETS["transfer_grid"], "smoke",
               {**transfer.SOURCE_SETS["transfer_grid"]["smoke"], "run.total_kimg": 8.0})
    resumed = dataclasses.replace(make_plan("transfer_grid", scale="smoke", storage=str(tmp_path / "other"), sets=CHEAP),
                                  resume=True, store=launched.store)
    said: list[str] = []
    ready = transfer.prepare(resumed, printer=said.append)
    assert said == [] and [t.config for t in ready.trials] == [t.config for t in launched.trials]
    assert {t.config.run.init_from for t in ready.trials} == {None, str(copy)}
    state = copy / "checkpoints" / "latest" / "state.pt"
    state.write_bytes(state.read_bytes() + b"\0")
    with pytest.raises(UserInputError, match="the source changed"):
        transfer.prepare(resumed)
