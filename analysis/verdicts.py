"""The verdict table: one row for every comparison a catalog sweep exists to make, read first in every report.

Both papers' headline is a comparison (ADA Fig 1a, 4, 5, 7; DiffAugment Fig 1 and its data-fraction tables):
augmentation against none with little data, fixed p against none, ADA against the best fixed p.  Each row
pairs runs on the training seed and reduces the per-seed differences FID(A) - FID(B) with
`analysis.aggregate.paired_difference` (median, 95 % bootstrap interval for n >= 3), for the final FID and
for the best FID of each run, and says:

- "better"  where n >= 3 paired seeds and the interval lies below 0 (A's FID is lower);
- "worse"   where n >= 3 and the interval lies above 0;
- "no difference" otherwise (the interval holds 0, or fewer than 3 paired seeds, said in the cell).

A verdict compares like with like: runs are paired only when their settings agree in everything but the
compared axis (the augment section) and the seed.  Settings are the trial's `config_json` (the whole
config; keys that cannot change a run's outcome, `IGNORED`, left out), or its tick rows' config columns
where no config was recorded.  An augmented configuration with a baseline at its size whose settings differ
gets one "not paired" row naming the keys that differ, instead of a verdict.  So does a pair whose final FIDs
stand at different budgets (an extension still running, a run that stopped early): more than END_SPREAD
apart in kimg, the row names both and the `--until-kimg` that compares them at one.

Transfer learning (ADA §4.2, the `transfer_grid` sweep) adds two comparisons on other axes, by the same rule:
"from the source vs from scratch" per training set x augmentation x Freeze-D (A: the runs whose `init_from`
names a source, B: those with a null `init_from`, otherwise alike), and "Freeze-D K vs 0" per training set x
augmentation x start (A: `model.freeze_d` = K, B: 0; Freeze-D is read from the trial's config_json, so runs
without one get no Freeze-D rows).

A verdict on ADA is only a verdict on ADA where ADA augmented.  Its p starts at 0 and rises only when the
heuristic reads overfitting, so a short or well-fed run can end with p near 0: the "ADA" runs are then runs
without augmentation on other random streams, and their "better" or "worse" is seed noise.  The `note` column
says so for every side (A, B) whose runs are ADA runs that all kept p <= ADA_OFF (the bound the controller's
own tests use for "stays off", tests/augment/test_augment_controller_signal.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd

from analysis.aggregate import paired_difference
from analysis.budget import END_SPREAD   # one bound for "one budget": the report's note and this refusal
from analysis.errors import MissingData
from analysis.tidy import CONFIG, TRIAL_KEY, detectors, per_trial
from resultsformat.dotted import flatten_dotted

# the compared axis: the augment section (nested config) or its flat tick columns; and the seed, paired on
AUG_FLAT = ("aug_mode", "augpipe", "p_fixed", "ada_target", "heuristic", "diffaug_policy", "apply_to")
SEED_KEYS = ("run.seed", "seed")
# where a run computes, not what it computes, and bookkeeping: never a reason to refuse a pair
IGNORED = ("run.threads", "run.device", "run.checkpoint_ticks", "run.compile", "metrics.detector_path",
           "sweep", "trial_id", "schema_version")
AUG_COLS = list(AUG_FLAT)
MODE_NAMES = {"fixed": "fixed p", "ada": "ADA", "diffaugment": "DiffAugment"}
ORDER = ("fixed p vs none", "ADA vs none", "DiffAugment vs none", "ADA vs best fixed p", "from the source vs from scratch")
# the transfer axes: the source (config_json's run.* keys or the tick columns) and Freeze-D (config_json only)
SOURCE_KEYS = ("run.init_from", "run.init_sha256", "init_from", "init_sha256")
FREEZE_KEY = "model.freeze_d"
VERDICT_COLS = ["comparison", "training set", "A", "B", "final FID A - B", "best FID A - B", "n",
                "final", "best", "note"]
ADA_OFF = 0.02   # an ADA run whose p never exceeded this ran, in effect, without augmentation


def _is_compared(key: str) -> bool:
    return key.startswith("augment.") or key in AUG_FLAT or key in SEED_KEYS or key in IGNORED


def flat_settings(trials: pd.DataFrame, configs: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Per trial (rows of TRIALS): its flattened config_json, or its tick rows' config columns where none was recorded."""
    by_id: dict[tuple[str, str], str] = {}
    if configs is not None and "config_json" in configs:
        for sweep, tid, text in configs[["sweep", "trial_id", "config_json"]].itertuples(index=False):
            if isinstance(text, str) and text:
                by_id[(str(sweep), str(tid))] = text
    out = []
    cols = [c for c in CONFIG if c in trials]
    for rec in trials.to_dict("records"):
        text = by_id.get((str(rec["sweep"]), str(rec["trial_id"])))
        flat: dict[str, Any] | None = None
        if text is not None:
            try:
                loaded = json.loads(text)
                flat = flatten_dotted(loaded) if isinstance(loaded, dict) else None
            except json.JSONDecodeError:
                flat = None
        if flat is None:
            flat = {c: rec[c] for c in cols}
        out.append({k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in flat.items()})
    return out


def _key(flat: dict[str, Any], compared: Callable[[str], bool]) -> str:
    """FLAT less the compared axis, the seed and IGNORED, as a sorted JSON string (equal strings: a pair)."""
    kept = {k: v for k, v in flat.items() if not (compared(k) or k in SEED_KEYS or k in IGNORED)}
    return json.dumps(kept, sort_keys=True, default=str)


def settings(trials: pd.DataFrame, configs: pd.DataFrame | None) -> pd.Series:
    """Per trial (index of TRIALS): its settings less the compared axis and the seed, as a sorted JSON string."""
    return pd.Series([_key(f, _is_compared) for f in flat_settings(trials, configs)], index=trials.index, dtype=object)


def arm_label(row: pd.Series) -> str:
    """What an augmented (or baseline) configuration is, in words: 'geom p=0.2', 'ADA rt 0.6 (bgc)', ..."""
    mode = row["aug_mode"]
    where = "" if pd.isna(row.get("apply_to")) or row.get("apply_to") in ("both", None) else f" [{row['apply_to']}]"
    if mode == "none":
        return "none"
    if mode == "fixed":
        return f"{row['augpipe']} p={float(row['p_fixed']):g}{where}"
    if mode == "ada":
        return f"ADA {row['heuristic']} {float(row['ada_target']):g} ({row['augpipe']}){where}"
    return f"DiffAugment {row['diffaug_policy']}{where}"


def _verdict(d: pd.Series | None) -> str:
    if d is None:
        return "no paired seeds"
    if d["interval_kind"] != "bootstrap95":
        return f"no difference (n = {int(d['n'])} < 3)"
    if not bool(d["excludes_zero"]):
        return "no difference"
    return "better" if d["center"] < 0 else "worse"


def _diff(a: pd.DataFrame, b: pd.DataFrame) -> pd.Series | None:
    both = pd.concat([a.assign(_arm="a"), b.assign(_arm="b")], ignore_index=True)
    d = paired_difference(both, [], "_arm", "a", "b")
    return None if d.empty else d.iloc[0]


def _cell(d: pd.Series | None) -> str:
    if d is None:
        return "-"
    if d["interval_kind"] == "single":   # one pair has no interval: "[x, x]" would read as a certain one
        return f"{d['center']:+.3g} (single pair)"
    return f"{d['center']:+.3g} [{d['lo']:+.3g}, {d['hi']:+.3g}]"


def _ada_off(runs: pd.DataFrame) -> float | None:
    """The highest p of RUNS where they are ADA runs that all kept p <= ADA_OFF; None otherwise (or p unknown)."""
    if "_pmax" not in runs or runs.empty or not (runs["aug_mode"] == "ada").all() or runs["_pmax"].isna().any():
        return None
    top = float(runs["_pmax"].max())
    return top if top <= ADA_OFF else None


def _note(fa: pd.DataFrame, fb: pd.DataFrame) -> str:
    """'ADA never engaged in A (p <= 0.015 in every run) ...' where a side's ADA runs kept p near 0; '' otherwise."""
    off = {side: _ada_off(runs) for side, runs in (("A", fa), ("B", fb))}
    off = {side: p for side, p in off.items() if p is not None}
    if not off:
        return ""
    sides = " and ".join(off)
    return (f"ADA never engaged in {sides} (p <= {max(off.values()):.3f} in every run): "
            "in effect no augmentation")


def _ends(runs: pd.DataFrame) -> tuple[float, float] | None:
    """(first, last) kimg at which RUNS' final FIDs stand; None where the rows carry no kimg."""
    if "kimg" not in runs or runs["kimg"].isna().all():
        return None
    return float(runs["kimg"].min()), float(runs["kimg"].max())


def _budget_refusal(fa: pd.DataFrame, fb: pd.DataFrame) -> str:
    """'not paired: ...' where A's and B's final FIDs stand at budgets more than END_SPREAD apart; '' otherwise.

    An extension in progress (or a run that ended early) leaves one arm at 400 kimg and the other at 800: their
    final FIDs then compare budgets, not methods, and their best FIDs compare search spans."""
    a, b = _ends(fa), _ends(fb)
    if a is None or b is None:
        return ""
    low, high = min(a[0], b[0]), max(a[1], b[1])
    if high - low <= END_SPREAD * high:
        return ""
    span = lambda e: f"{e[0]:.0f}" if round(e[0]) == round(e[1]) else f"{e[0]:.0f}-{e[1]:.0f}"  # noqa: E731
    return (f"not paired: A's runs stand at {span(a)} kimg and B's at {span(b)} kimg "
            f"(--until-kimg {low:.0f} compares them at one budget)")


def _row(comparison: str, size: str, a_label: str, b_label: str, fa: pd.DataFrame, fb: pd.DataFrame,
         ba: pd.DataFrame, bb: pd.DataFrame) -> dict[str, Any]:
    if line := _budget_refusal(fa, fb):
        return {"comparison": comparison, "training set": size, "A": a_label, "B": b_label, "final FID A - B": "-",
                "best FID A - B": "-", "n": 0, "final": line, "best": line, "note": ""}
    df, db = _diff(fa, fb), _diff(ba, bb)
    n = 0 if df is None else int(df["n"])
    return {"comparison": comparison, "training set": size, "A": a_label, "B": b_label,
            "final FID A - B": _cell(df), "best FID A - B": _cell(db), "n": n, "final": _verdict(df),
            "best": _verdict(db), "note": _note(fa, fb)}


def _refusal(comparison: str, size: str, a_label: str, b_label: str, mine: str, theirs: str) -> dict[str, Any]:
    a, b = json.loads(mine), json.loads(theirs)
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    what = ", ".join(f"{k} ({a.get(k)} vs {b.get(k)})" for k in keys[:3]) + (" ..." if len(keys) > 3 else "")
    line = f"not paired: settings differ in {what}"
    return {"comparison": comparison, "training set": size, "A": a_label, "B": b_label, "final FID A - B": "-",
            "best FID A - B": "-", "n": 0, "final": line, "best": line, "note": ""}


def verdict_rows(final: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    """The verdict table from per-trial FIDs (final and best; same trials, a `setting` column each)."""
    best = best.set_index(["sweep", "trial_id"])["fid"]
    final = final.assign(_best=[best.get((s, t)) for s, t in zip(final["sweep"], final["trial_id"])])
    final = final.assign(_arm=final.apply(arm_label, axis=1))
    rows: list[dict[str, Any]] = []
    for size, at_size in final.groupby("size_label", observed=True, sort=False):
        base_all = at_size[at_size["aug_mode"] == "none"]
        for setting, g in at_size.groupby("setting", sort=False):
            base = g[g["aug_mode"] == "none"]
            ctx = _context(at_size, g)
            for arm, a in g[g["aug_mode"] != "none"].groupby("_arm", sort=True):
                comparison = f"{MODE_NAMES.get(str(a['aug_mode'].iloc[0]), 'augmented')} vs none"
                if len(base):
                    rows.append(_row(comparison, str(size), f"{arm}{ctx}", f"none{ctx}", a, base,
                                     a.assign(fid=a["_best"]), base.assign(fid=base["_best"])))
                elif len(base_all):
                    rows.append(_refusal(comparison, str(size), f"{arm}{ctx}", f"none{ctx}", setting,
                                         str(base_all["setting"].iloc[0])))
            rows.extend(_ada_vs_best_fixed(g, str(size)))
        if "_s_src" in at_size:
            rows.extend(_transfer_rows(at_size, str(size)))
    out = pd.DataFrame(rows, columns=VERDICT_COLS)
    rank = out["comparison"].map({c: i for i, c in enumerate(ORDER)}).fillna(len(ORDER))
    return out.assign(_r=rank).sort_values("_r", kind="stable").drop(columns="_r").reset_index(drop=True)


def _ada_vs_best_fixed(g: pd.DataFrame, size: str) -> list[dict[str, Any]]:
    """Each ADA configuration against the fixed-p configuration of the lowest median final FID (ADA Fig 5)."""
    fixed, ada = g[g["aug_mode"] == "fixed"], g[g["aug_mode"] == "ada"]
    if fixed.empty or ada.empty:
        return []
    medians = fixed.groupby("_arm")["fid"].median()
    top = str(medians.idxmin())
    b = fixed[fixed["_arm"] == top]
    return [_row("ADA vs best fixed p", size, arm, f"{top} (best fixed p)", a, b, a.assign(fid=a["_best"]),
                 b.assign(fid=b["_best"])) for arm, a in ada.groupby("_arm", sort=True)]


def _transfer_columns(final: pd.DataFrame, flats: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Per trial: its source ("" from scratch), Freeze-D K (None: not recorded) and its settings less each axis."""
    def source(f: dict[str, Any]) -> str:
        value = f.get("run.init_from", f.get("init_from"))
        return "" if value is None or value == "" else str(value)
    return {"_src": [source(f) for f in flats], "_freeze": [f.get(FREEZE_KEY) for f in flats],
            "_s_src": [_key(f, lambda k: k in SOURCE_KEYS) for f in flats],
            "_s_frz": [_key(f, lambda k: k == FREEZE_KEY) for f in flats]}


def _context(at_size: pd.DataFrame, g: pd.DataFrame) -> str:
    """', from X, freeze_d=K' for the runs of G where their training set has transfer runs; '' otherwise."""
    if "_src" not in at_size:
        return ""
    freeze = pd.to_numeric(at_size["_freeze"], errors="coerce")
    if not ((at_size["_src"] != "").any() or (freeze > 0).any()):
        return ""
    k = g["_freeze"].iloc[0]
    return f", {_start(str(g['_src'].iloc[0]))}" + ("" if k is None or pd.isna(k) else f", freeze_d={int(k)}")


def _start(src: str) -> str:
    return "from scratch" if src == "" else f"from {src.rstrip('/').rsplit('/', 1)[-1]}"


def _transfer_rows(at_size: pd.DataFrame, size: str) -> list[dict[str, Any]]:
    """'from the source vs from scratch' and 'Freeze-D K vs 0' rows of one training set (nothing without a source
    or a Freeze-D K > 0 among its runs)."""
    def freeze(k: Any) -> str:
        return "" if k is None or pd.isna(k) else f", freeze_d={int(k)}"
    rows = _axis_rows(at_size, size, "_s_src", "_src", "", lambda v: "from the source vs from scratch",
                      lambda r, v: f"{_start(v)}, {r['_arm']}{freeze(r['_freeze'])}")
    known = at_size[at_size["_freeze"].notna()]
    rows += _axis_rows(known.assign(_freeze=known["_freeze"].astype(int)), size, "_s_frz", "_freeze", 0,
                       lambda v: f"Freeze-D {v} vs 0", lambda r, v: f"freeze_d={v}, {r['_arm']}, {_start(r['_src'])}")
    return rows


def _axis_rows(at: pd.DataFrame, size: str, key: str, axis: str, base_value: Any, comparison: Callable[[Any], str],
               label: Callable[[pd.Series, Any], str]) -> list[dict[str, Any]]:
    """Each value of AXIS other than BASE_VALUE against BASE_VALUE, pairing only trials whose KEY settings agree; a
    value with no such base where the training set has one elsewhere gets a 'not paired' row (the closest base)."""
    rows: list[dict[str, Any]] = []
    base_all = at[at[axis] == base_value]
    for setting, g in at.groupby(key, sort=False):
        base = g[g[axis] == base_value]
        for value, a in g[g[axis] != base_value].groupby(axis, sort=True):
            first = a.iloc[0]
            a_label, b_label = label(first, value), label(first, base_value)
            if len(base):
                rows.append(_row(comparison(value), size, a_label, b_label, a, base, a.assign(fid=a["_best"]),
                                 base.assign(fid=base["_best"])))
            elif len(base_all):
                closest = min(base_all[key].unique(), key=lambda other: _n_differ(setting, other))
                if key == "_s_src" and _differ(setting, closest) == {FREEZE_KEY}:
                    # a transfer run with Freeze-D against scratch at Freeze-D 0: the comparison ADA Fig 9 draws
                    # (freezing a randomly initialised D is not an arm), labelled with each side's Freeze-D
                    b = base_all[base_all[key] == closest]
                    rows.append(_row(comparison(value), size, a_label, label(b.iloc[0], base_value), a, b,
                                     a.assign(fid=a["_best"]), b.assign(fid=b["_best"])))
                else:
                    rows.append(_refusal(comparison(value), size, a_label, b_label, setting, closest))
    return rows


def _differ(mine: str, theirs: str) -> set[str]:
    a, b = json.loads(mine), json.loads(theirs)
    return {k for k in set(a) | set(b) if a.get(k) != b.get(k)}


def _n_differ(mine: str, theirs: str) -> int:
    return len(_differ(mine, theirs))


def verdict_table(metrics: pd.DataFrame, configs: pd.DataFrame | None = None) -> pd.DataFrame:
    """The report's verdict table from tick rows (and the trials table's config_json), one block per detector.

    MissingData when no comparison can be formed (no augmented run with a baseline or a fixed p beside it)."""
    frames = []
    for det in detectors(metrics) or [None]:
        final = per_trial(metrics, "final", det)
        best = per_trial(metrics, "best", det)
        if final.empty:
            continue
        flats = flat_settings(final, configs)
        final = final.assign(setting=[_key(f, _is_compared) for f in flats], _pmax=_max_p(metrics, final),
                             **_transfer_columns(final, flats))
        out = verdict_rows(final, best)
        if len(detectors(metrics)) > 1:
            out.insert(0, "detector", det)
        frames.append(out)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=VERDICT_COLS)
    if table.empty:
        raise MissingData("no comparison to make: no augmented run beside a no-augmentation baseline or fixed-p "
                          "runs with the same settings", "fixed_p_grid (or dataset_size_grid, diffaugment_grid)")
    return table


def _max_p(metrics: pd.DataFrame, final: pd.DataFrame) -> list[float | None]:
    """Per trial of FINAL, the highest augmentation probability its tick rows record (None: no p recorded)."""
    if "p" not in metrics:
        return [None] * len(final)
    top = metrics.groupby(TRIAL_KEY, observed=True)["p"].max()
    return [None if pd.isna(v := top.get((s, t))) else float(v) for s, t in zip(final["sweep"], final["trial_id"])]


def verdict_text(table: pd.DataFrame) -> str:
    """The table as the plain text `python -m analysis.report` prints."""
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 250,
                           "display.max_colwidth", 90):
        return table.to_string(index=False)


VERDICT_COLORS = {"better": "#d8f0d8", "worse": "#f6d6d6"}


def draw_verdicts(ax: Any, table: pd.DataFrame) -> Any:
    """The verdict table on AX (axis off), verdict cells green where better and red where worse."""
    ax.axis("off")
    cells = table.astype(str).to_numpy().tolist()
    t = ax.table(cellText=cells, colLabels=list(table.columns), loc="upper center", cellLoc="left")
    t.auto_set_font_size(False)
    t.set_fontsize(7)
    t.auto_set_column_width(list(range(len(table.columns))))
    for (r, c), cell in t.get_celld().items():
        if r > 0 and table.columns[c] in ("final", "best"):
            cell.set_facecolor(VERDICT_COLORS.get(cells[r - 1][c], "white"))
    return ax


def verdict_figure(table: pd.DataFrame) -> Any:
    """A figure sized to the table: 0.22 in per row, and as wide as its columns (long arm labels and notes would
    otherwise run off both edges of a fixed-width figure: a table's auto-sized columns keep their width in
    inches when the figure grows, so one measuring draw fixes the width)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 0.6 + 0.22 * (len(table) + 1)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    draw_verdicts(ax, table)
    fig.subplots_adjust(left=0.01, right=0.99)
    width = ax.tables[0].get_window_extent(fig.canvas.get_renderer()).width / fig.dpi
    fig.set_figwidth(max(4.0, width / 0.98 + 0.2))
    return fig
