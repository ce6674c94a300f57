"""Sweep files, `--grid` and the `--dry-run` budget: everything that is checked before Ray starts.

- the example file in sweeps/examples/ is the README's block, and its dry run lists the grid and the budget;
- a plain axis list is the same at every scale, a per-scale axis differs;
- every kind of mistake in a file, or in a --grid flag, is exit 2 with one line naming the file/flag and the key,
  and nothing is created;
- the paper-scale fixed_p_grid budget is 267 x 25 000 kimg, ~40 000 V100-hours at ADA's published rate.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from sweeps.catalog import get_sweep
from sweeps.cost import RATES, budget_lines
from sweeps.launch import main
from sweeps.sources import apply_grid, parse_grid
from sweeps.spec import expand
from sweeps.sweep_file import load_sweep_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "sweeps" / "examples" / "r1_gamma_x_p.yaml"


def test_readme_shows_the_example_file_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, flags=re.S)
    assert EXAMPLE.read_text() in blocks, "README's 'Your own sweep' block differs from sweeps/examples/r1_gamma_x_p.yaml"


def test_example_dry_run_lists_grid_and_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main([str(EXAMPLE), "--dry-run", "--storage", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert rc == 0
    table, budget = out.split("\n\n")
    lines = table.strip().splitlines()
    assert "sweep r1_gamma_x_p" in lines[0] and "6 trials" in lines[0]
    header = lines[1].split()
    rows = [dict(zip(header, ln.split())) for ln in lines[2:]]
    assert [(r["variant"], r["loss.r1_gamma"], r["augment.p"]) for r in rows] == [
        ("main", "0.01", "0.2"), ("main", "0.01", "0.6"), ("main", "1", "0.2"), ("main", "1", "0.6"),
        ("baseline", "0.01", "-"), ("baseline", "1", "-")]
    assert budget.splitlines()[0] == "budget: 6 trials x 4 kimg = 24 kimg"
    assert "0.84 s/kimg" in budget and "measured" in budget
    assert not (tmp_path / "r").exists()


def test_plain_list_is_every_scale_and_scaled_axis_differs() -> None:
    spec = load_sweep_file(str(EXAMPLE))
    assert spec.axes["loss.r1_gamma"].smoke == spec.axes["loss.r1_gamma"].paper == (0.01, 1.0)
    assert len(spec.axes["augment.p"].tiny) == 3
    tiny = expand(spec, "tiny")
    assert len(tiny) == 2 * 3 + 2
    assert {t.config.run.total_kimg for t in tiny} == {300.0}
    assert {t.config.augment.augpipe for t in tiny if t.config.augment.mode == "fixed"} == {"geom"} and {t.config.data.dataset_size for t in tiny} == {2000}
    assert tiny[0].resources.gpu == 0.25


_GOOD = EXAMPLE.read_text()


@pytest.mark.parametrize(("text", "needles"), [
    ("name: x\ndescription: [unclosed\n", ["not valid YAML at line"]),
    (_GOOD + "budget: 3\n", ["budget: unknown key", "allowed: name, description"]),
    (_GOOD.replace("loss.r1_gamma: [0.01, 1.0]", "loss.r1_gama: [0.01, 1.0]"),
     ["axes.loss.r1_gama", "unknown key 'loss.r1_gama'", "allowed:", "r1_gamma"]),
    (_GOOD.replace("loss.r1_gamma: [0.01, 1.0]", "loss.r1_gamma: [0.01, strong]"), ["axes.loss.r1_gamma", "strong"]),
    (_GOOD.replace("smoke: [0.2, 0.6]", "smoke: [0.2, 1.6]"), ["axes.augment.p (scale smoke)", "augment.p", "1.6"]),
    (_GOOD.replace("  smoke: {cpu: 1}", "  huge: {cpu: 1}"), ["unknown scale 'huge'", "allowed: smoke, tiny, paper"]),
    (_GOOD.replace("  smoke: {cpu: 1}", "  smoke: {cpu: -1}"), ["resources.smoke.cpu", "greater than 0", "-1"]),
    (_GOOD.replace("loss.r1_gamma: [0.01, 1.0]", "loss.r1_gamma: []"), ["axes.loss.r1_gamma: empty list"]),
    (_GOOD.replace("name: r1_gamma_x_p", "name: fixed_p_grid"), ["name: 'fixed_p_grid' is a catalog sweep"]),
    (_GOOD.replace("name: r1_gamma_x_p", "name: R1 sweep"), ["name:", "pattern"]),
    (_GOOD.replace("over: [loss.r1_gamma]", "over: [loss.gamma]"), ["variants[0].over", "allowed: loss.r1_gamma, augment.p"]),
    (_GOOD.replace("{smoke: [0.2, 0.6], ", "{"), ["axes.augment.p: values missing for scale(s) smoke"]),
    (_GOOD.replace("description: FID", "descr: FID"), ["descr: unknown key"]),
    (_GOOD.replace("loss.r1_gamma: [0.01, 1.0]", "loss.r1_gamma: [1.0, 1.0]"), ["repeated value"]),
    (_GOOD.replace("set: {augment.mode: none}", "set: {augment.mode: off}"), ["variants[0].set", "augment.mode", "must be one of"]),
    ("- just\n- a list\n", ["a sweep file is a mapping"]),
])
def test_bad_sweep_file_exits_2_with_one_line(text: str, needles: list[str], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "my_sweep.yaml"
    path.write_text(text)
    storage = tmp_path / "results"
    rc = main([str(path), "--storage", str(storage)])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1, err
    assert str(path) in err and all(n in err for n in needles), err
    assert not storage.exists()


def test_missing_sweep_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main([str(tmp_path / "nope.yaml"), "--dry-run", "--storage", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and err.strip() == f"error: {tmp_path / 'nope.yaml'}: sweep file not found"


def test_grid_adds_and_replaces_axes() -> None:
    spec = get_sweep("fixed_p_grid")
    grid = parse_grid(["augment.p=0.1,0.9", "loss.r1_gamma=1,10"], [])
    assert grid == {"augment.p": [0.1, 0.9], "loss.r1_gamma": [1, 10]}
    new = apply_grid(spec, grid)
    assert list(new.axes) == ["data.dataset_size", "augment.augpipe", "augment.p", "loss.r1_gamma"]
    trials = expand(new, "smoke")
    main_trials = [t for t in trials if t.variant == "main"]
    # the baseline (mode none) takes loss.r1_gamma, so it is crossed with the new axis; augment.p it does not take
    assert len(main_trials) == 2 * 3 * 2 * 2 and len(trials) == len(main_trials) + 2 * 2
    assert {t.config.augment.p for t in main_trials} == {0.1, 0.9}
    assert {t.config.loss.r1_gamma for t in main_trials} == {1.0, 10.0}


def test_grid_and_set_apply_to_the_baseline_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Like with like: every augmented trial has a baseline at its own r1_gamma (28 trials, not 26 with the
    baselines left at the preset's gamma); a --set on a loss field pins the baseline as well."""
    rc = main(["fixed_p_grid", "--grid", "loss.r1_gamma=0.5,2", "--dry-run", "--storage", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert rc == 0 and "budget: 28 trials" in out
    trials = expand(apply_grid(get_sweep("fixed_p_grid"), parse_grid(["loss.r1_gamma=0.5,2"], [])), "smoke")
    base = [(t.config.data.dataset_size, t.config.loss.r1_gamma) for t in trials if t.variant == "baseline"]
    assert sorted(base) == [(2000, 0.5), (2000, 2.0), (10_000, 0.5), (10_000, 2.0)]
    pinned = expand(get_sweep("fixed_p_grid"), "smoke", user_set=["loss.r1_gamma=2"])
    assert {t.config.loss.r1_gamma for t in pinned} == {2.0} and sum(t.variant == "baseline" for t in pinned) == 2


def test_grid_json_list_keeps_commas_inside_values() -> None:
    grid = parse_grid(['augment.diffaug_policy=["translation","color,translation,cutout"]'], [])
    assert grid == {"augment.diffaug_policy": ["translation", "color,translation,cutout"]}


def test_grid_json_object_sets_several_keys_like_a_catalog_axis_value() -> None:
    """One grid value may move keys together, as the catalog's ADA rows do (heuristic, target and speed with the
    mode): e.g. the augmented arms of dataset_size_grid alone, when another launch already holds its baseline."""
    ada = {"augment.mode": "ada", "augment.heuristic": "rt", "augment.ada_target": 0.6, "augment.ada_kimg": 500}
    grid = parse_grid(["augment.mode=" + json.dumps([ada, "none"])], [])
    trials = expand(apply_grid(get_sweep("dataset_size_grid"), grid), "tiny", user_set=["data.dataset_size=250"])
    ada_trials = [t.config.augment for t in trials if t.config.augment.mode == "ada"]
    assert len(trials) == 6 and len(ada_trials) == 3
    assert {(a.heuristic, a.ada_target, a.ada_kimg) for a in ada_trials} == {("rt", 0.6, 500.0)}


def test_grid_on_a_file_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main([str(EXAMPLE), "--dry-run", "--storage", str(tmp_path), "--grid", "loss.r1_gamma=0.1,1,10"])
    out = capsys.readouterr().out
    assert rc == 0 and "9 trials" in out.splitlines()[0]   # 3 gammas x 2 p + 3 baselines


@pytest.mark.parametrize(("grid", "extra", "needle"), [
    ("augment.pp=0.1,0.2", [], "unknown key 'augment.pp'"),
    ("augment.p=0.1,1.5", [], "--grid augment.p: invalid config: augment.p"),
    ("augment.p=", [], "empty value"),
    ("augment.p=0.1,,0.3", [], "empty value"),
    ("augment.p", [], "expected key=v1,v2"),
    ("augment.p=0.1,0.1", [], "repeated value"),
    ("augment.p=0.1,0.2", ["--set", "augment.p=0.3"], "both given"),
    ("augment.p=0.1", ["--grid", "augment.p=0.2"], "given twice"),
    ("augment.diffaug_policy=[\"translation\"", [], "must be JSON"),
    ('augment.mode=[{"augment.heuristic":"rt"}]', [], "must set augment.mode itself"),
    ('augment.mode=[{"augment.mode":"ada","augment.bogus":1}]', [], "unknown key 'augment.bogus'"),
    ('augment.p=[[0.1,0.2]]', [], "is a list"),
])
def test_bad_grid_exits_2_with_one_line(grid: str, extra: list[str], needle: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    storage = tmp_path / "results"
    rc = main(["fixed_p_grid", "--grid", grid, *extra, "--storage", str(storage)])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and needle in err, err
    assert os.listdir(tmp_path) == []


def test_paper_fixed_p_budget_is_about_40k_v100_hours() -> None:
    trials = expand(get_sweep("fixed_p_grid"), "paper", seeds=1)   # one seed: the paper's 267 configurations
    lines = budget_lines(trials, "paper")
    assert lines[0] == "budget: 267 trials x 25000 kimg = 6,675,000 kimg"
    assert lines[1].startswith("cost: 40,050-44,871 V100-hours at 21.6-24.2 s/kimg") and "ADA paper" in lines[1]
    assert 267 * 25_000 * RATES["paper"].low / 3600 == pytest.approx(40_050)
    three = budget_lines(expand(get_sweep("fixed_p_grid"), "paper"), "paper")   # the catalog's 3 seeds
    assert three[0] == "budget: 801 trials x 25000 kimg = 20,025,000 kimg"
    assert three[1].startswith("cost: 120,150-134,612 V100-hours")


def test_wall_time_divides_by_concurrency() -> None:
    trials = expand(get_sweep("fixed_p_grid"), "tiny")
    lines = budget_lines(trials, "tiny", concurrent=2)
    assert lines[0] == "budget: 24 trials x 400 kimg = 9,600 kimg"   # 8 configurations x 3 seeds
    lo, hi = (9600 * r / 3600 for r in (RATES["tiny"].low, RATES["tiny"].high))
    assert f"{lo:.1f}-{hi:.1f} CPU core-hours at 2.2-3.1 s/kimg" in lines[1]
    assert f"{lo / 2:.1f}-{hi / 2:.1f} h with 2 trials at a time" in lines[2]


def test_status_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sweeps.status import main as status_main
    assert status_main([str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nope'}: no such results folder"
    assert status_main([str(tmp_path)]) == 2
    assert "no sweep here" in capsys.readouterr().err
    assert status_main([str(tmp_path), "--every", "0"]) == 2
    assert "--every must be > 0" in capsys.readouterr().err


def test_extension_only_grows_the_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sweeps.extend import check_longer, extended_sets, requested_extension
    saved = {"set": ["run.tick_kimg=1", "run.total_kimg=2"]}
    assert requested_extension(saved, ["run.total_kimg=5"]) == 5.0
    assert requested_extension(saved, ["run.tick_kimg=1", "run.total_kimg=5"]) == 5.0
    assert requested_extension(saved, ["run.tick_kimg=2", "run.total_kimg=5"]) is None   # another change: refused later
    assert requested_extension(saved, saved["set"]) is None
    assert extended_sets(saved["set"], 5.0) == ["run.tick_kimg=1", "run.total_kimg=5"]
    with pytest.raises(Exception, match="can only grow"):
        check_longer(2.0, [2.0, 1.0])
