"""The verdict table (analysis.verdicts) on hand-made runs with known answers, written and read as the store does.

Per seed s (0-4) the baseline ends at FID 10 + 0.3 s (its best, two ticks earlier, 1 lower); each arm's FIDs are
the baseline's plus a known per-seed offset, so every verdict is known in advance:
- geom p=0.2: final -1 in every seed -> better; best +0 in every seed -> no difference (an interval of 0s);
- blit p=0.5: final -0.3, +0.2, -0.1, +0.4, -0.2 -> no difference (centre -0.1, but the interval holds 0);
- color p=0.5: final +2 +- 0.1 -> worse;
- ADA: 0.5 below geom p=0.2 (the best fixed p) -> better against it, better against none;
- a run at another r1_gamma is refused in one line naming the key, never paired.
A wrong rule (a verdict from the centre's sign alone, or pairing whatever shares a size) fails these tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg

from analysis.load import load_metrics, load_trials
from analysis.verdicts import verdict_figure, verdict_table
from tests.analysis.analysis_fixtures import tick_frame, write_sweep_parts

SEEDS = range(5)
ARMS = {  # label -> (tick-row config, final offset per seed, best offset per seed)
    "none": ({"aug_mode": "none"}, [0.0] * 5, [0.0] * 5),
    "geom p=0.2": ({"aug_mode": "fixed", "augpipe": "geom", "p_fixed": 0.2}, [-1.0] * 5, [0.0] * 5),
    "blit p=0.5": ({"aug_mode": "fixed", "augpipe": "blit", "p_fixed": 0.5}, [-0.3, 0.2, -0.1, 0.4, -0.2], [0.0] * 5),
    "color p=0.5": ({"aug_mode": "fixed", "augpipe": "color", "p_fixed": 0.5}, [2.0, 2.1, 1.9, 2.05, 1.95], [1.0] * 5),
    "ADA rt 0.6 (bgc)": ({"aug_mode": "ada", "augpipe": "bgc", "heuristic": "rt", "ada_target": 0.6},
                         [-1.5] * 5, [-0.5] * 5),
}


def _write(root: Path, arms: dict, gamma: dict[str, float] | None = None, seeds=SEEDS,
           p_top: dict[str, float] | None = None, ticks: dict[str, int] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, trials = [], []
    for label, (cfg, final, best) in arms.items():
        for s in seeds:
            tid = f"{label.replace(' ', '_')}_{s}"
            base = 10.0 + 0.3 * s
            fids = [base - 1.0 + best[s], base + 5.0, base + final[s]]     # best at tick 1, final at tick 3
            # P_TOP: the arm's p rises to this at tick 2 (seed s: minus 0.001 s) and falls back
            ps = [None] * 3 if label not in (p_top or {}) else [0.0, p_top[label] - 0.001 * s, 0.0]
            rows += [{"trial_id": tid, "seed": s, "tick": t + 1, "fid": f, "p": q, **cfg}
                     for t, (f, q) in enumerate(zip(fids, ps))][:(ticks or {}).get(label, 3)]  # TICKS: stops early
            config = {"loss": {"r1_gamma": (gamma or {}).get(label, 0.1)}, "run": {"seed": s, "threads": s % 2 + 1},
                      "augment": {"mode": cfg["aug_mode"]}, "data": {"dataset_size": 2000}}
            trials.append({"trial_id": tid, "status": "TERMINATED", "config_json": json.dumps(config)})
    write_sweep_parts(root, "fixed_p_grid", [tick_frame(rows)], pd.DataFrame(trials))
    return load_metrics(root), load_trials(root)


def _by_arm(table: pd.DataFrame, comparison: str) -> dict[str, pd.Series]:
    rows = table[table["comparison"] == comparison]
    return {str(r["A"]): r for _, r in rows.iterrows()}


def test_known_verdicts(tmp_path: Path) -> None:
    table = verdict_table(*_write(tmp_path, ARMS))
    fixed = _by_arm(table, "fixed p vs none")
    assert set(fixed) == {"geom p=0.2", "blit p=0.5", "color p=0.5"}
    assert (fixed["geom p=0.2"]["final"], fixed["geom p=0.2"]["best"]) == ("better", "no difference")
    assert fixed["geom p=0.2"]["final FID A - B"] == "-1 [-1, -1]" and fixed["geom p=0.2"]["n"] == 5
    assert (fixed["blit p=0.5"]["final"], fixed["blit p=0.5"]["best"]) == ("no difference", "no difference")
    assert fixed["blit p=0.5"]["final FID A - B"].startswith("-0.1 [")
    assert (fixed["color p=0.5"]["final"], fixed["color p=0.5"]["best"]) == ("worse", "worse")
    ada = _by_arm(table, "ADA vs none")["ADA rt 0.6 (bgc)"]
    assert (ada["final"], ada["best"]) == ("better", "better")
    vs_best = _by_arm(table, "ADA vs best fixed p")["ADA rt 0.6 (bgc)"]
    assert vs_best["B"] == "geom p=0.2 (best fixed p)" and vs_best["final FID A - B"] == "-0.5 [-0.5, -0.5]"
    assert (vs_best["final"], vs_best["best"]) == ("better", "better")
    assert list(table["comparison"]) == ["fixed p vs none"] * 3 + ["ADA vs none", "ADA vs best fixed p"]


def test_fewer_than_three_paired_seeds_is_no_difference(tmp_path: Path) -> None:
    table = verdict_table(*_write(tmp_path, {k: ARMS[k] for k in ("none", "color p=0.5")}, seeds=range(2)))
    row = table.iloc[0]
    assert row["n"] == 2 and row["final"] == "no difference (n = 2 < 3)" and row["best"] == "no difference (n = 2 < 3)"


def test_runs_that_differ_beyond_the_augmentation_are_not_paired(tmp_path: Path) -> None:
    """geom at r1_gamma 2 beside a baseline at 0.1 (the old --grid plan): one refusal line, no verdict."""
    arms = {k: ARMS[k] for k in ("none", "geom p=0.2")}
    table = verdict_table(*_write(tmp_path, arms, gamma={"geom p=0.2": 2.0}))
    assert len(table) == 1
    row = table.iloc[0]
    assert row["final"] == "not paired: settings differ in loss.r1_gamma (2.0 vs 0.1)" and row["n"] == 0
    assert row["final FID A - B"] == "-"


def test_an_ada_arm_that_never_engaged_is_named_in_the_note(tmp_path: Path) -> None:
    """ADA whose p never passed 0.02 ran, in effect, without augmentation: its rows say so (ADA vs none and vs the
    best fixed p); ADA that reached p 0.03 in one seed engaged, and gets no note; fixed p is never ADA."""
    table = verdict_table(*_write(tmp_path / "off", ARMS, p_top={"ADA rt 0.6 (bgc)": 0.015, "geom p=0.2": 0.2}))
    note = "ADA never engaged in A (p <= 0.015 in every run): in effect no augmentation"
    for comparison in ("ADA vs none", "ADA vs best fixed p"):
        row = _by_arm(table, comparison)["ADA rt 0.6 (bgc)"]
        assert row["note"] == note and row["final"] == "better"    # the FID verdict stands; the note qualifies it
    assert set(table.loc[table["comparison"] == "fixed p vs none", "note"]) == {""}
    on = verdict_table(*_write(tmp_path / "on", ARMS, p_top={"ADA rt 0.6 (bgc)": 0.03}))
    assert set(on["note"]) == {""}, on["note"]       # seed 0 reached 0.03 > 0.02: ADA engaged
    unknown = verdict_table(*_write(tmp_path / "unknown", ARMS))
    assert set(unknown["note"]) == {""}              # no p recorded: nothing is claimed


def test_the_verdict_figure_holds_its_whole_table(tmp_path: Path) -> None:
    """Long arm labels and notes widen the figure instead of running off both of its edges (they did at 13 in)."""
    table = verdict_table(*_write(tmp_path, ARMS, p_top={"ADA rt 0.6 (bgc)": 0.015}))
    long = ", from a-source-network-with-a-long-name, freeze_d=1"
    table = table.assign(A=table["A"] + long, B=table["B"] + long)
    fig = verdict_figure(table)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    box = fig.axes[0].tables[0].get_window_extent(canvas.get_renderer())
    assert 0 <= box.x0 and box.x1 <= fig.bbox.width, (box, fig.bbox.width)


def test_runs_that_stand_at_different_budgets_are_not_paired(tmp_path: Path) -> None:
    """An extension in progress: the baseline at 800 kimg, DiffAugment still at 400-460.  The table said
    'better' for DiffAugment at 250 images, its 400-kimg FID against the baseline's 800-kimg one."""
    arms = {k: ARMS[k] for k in ("none", "geom p=0.2", "blit p=0.5")}
    table = verdict_table(*_write(tmp_path, arms, ticks={"geom p=0.2": 2}))       # geom ends at tick 2 (8 kimg)
    geom, blit = (_by_arm(table, "fixed p vs none")[k] for k in ("geom p=0.2", "blit p=0.5"))
    line = "not paired: A's runs stand at 8 kimg and B's at 12 kimg (--until-kimg 8 compares them at one budget)"
    assert (geom["final"], geom["best"], geom["n"], geom["final FID A - B"]) == (line, line, 0, "-")
    assert blit["final"] == "no difference" and blit["n"] == 5                   # same budget: paired as before
