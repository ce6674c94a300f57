"""The report's index.html: figures, tables, skipped figures, trials and sweep configs on one page.

The page must open from a file manager, a bucket download or a CI artifact
without a server, so it is self-contained: inline CSS, images by relative link,
no scripts.  Every string from the store is escaped: trial errors carry
arbitrary exception text.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field

import pandas as pd

from resultsformat.layout import SWEEP_FILE
from resultsformat.statuses import STATUSES, UNKNOWN

CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px;color:#222}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{color:#444;margin-top:.3em}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ddd;padding:.25em .5em;text-align:right}
th{background:#f4f4f4}td.s{text-align:left}.ERROR{color:#b00;font-weight:bold}.skip li{margin:.3em 0}
pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.8em;max-height:30em}"""

TRIAL_COLS = ("sweep", "trial_id", "status", "retries", "best_fid", "final_fid", "final_kimg", "aug_mode", "augpipe",
              "p_fixed", "ada_target", "heuristic", "diffaug_policy", "apply_to", "dataset_size", "mirror", "seed",
              "error")


@dataclass
class ReportContent:
    """What the page shows; filled by analysis.report while rendering."""

    results: str
    figures: list[tuple[str, str]] = field(default_factory=list)   # (file stem, caption)
    tables: list[tuple[str, str, pd.DataFrame]] = field(default_factory=list)  # (stem, caption, table)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (caption, reason)
    trials: pd.DataFrame | None = None
    sweep_configs: dict[str, dict | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    verdicts: pd.DataFrame | None = None                            # analysis.verdicts, shown first


def _e(value: object) -> str:
    return html.escape("" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value))


def _cell(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return "<td></td>"
    if isinstance(value, float):
        return f"<td>{value:.4g}</td>"
    cls = f' class="s {_e(value)}"' if str(value) in (*STATUSES, UNKNOWN) \
        else ' class="s"'
    return f"<td{cls}>{_e(value)}</td>"


def trials_table(trials: pd.DataFrame) -> str:
    cols = [c for c in TRIAL_COLS if c in trials.columns]
    head = "".join(f"<th>{_e(c)}</th>" for c in cols)
    body = "\n".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>"
                     for row in trials[cols].astype(object).itertuples(index=False))
    return f"<table><tr>{head}</tr>\n{body}</table>"


def _configs(content: ReportContent) -> str:
    parts = []
    trials = content.trials if content.trials is not None else pd.DataFrame()
    for sweep, spec in sorted(content.sweep_configs.items()):
        parts.append(f"<h3>{_e(sweep)}</h3>")
        if spec is not None:
            parts.append(f"<p>{SWEEP_FILE}</p><pre>{_e(json.dumps(spec, indent=2, default=str))}</pre>")
        rows = trials[trials["sweep"] == sweep.split(" [", 1)[0]] if "sweep" in trials else trials   # "<sweep> [<part>]"
        cfg = rows["config_json"].dropna() if "config_json" in rows else pd.Series(dtype=object)
        if len(cfg):
            text = str(cfg.iloc[0])
            try:
                text = json.dumps(json.loads(text), indent=2)
            except json.JSONDecodeError:
                pass
            parts.append(f"<details><summary>config of trial {_e(rows['trial_id'].iloc[0])} "
                         f"(first of {len(rows)})</summary><pre>{_e(text)}</pre></details>")
        if spec is None and not len(cfg):
            parts.append(f"<p>no {SWEEP_FILE} and no config_json recorded</p>")
    return "\n".join(parts)


def render_index(content: ReportContent, generated: str) -> str:
    """The whole page as one string."""
    figs = "\n".join(f'<figure id="{_e(stem)}"><a href="{_e(stem)}.svg"><img src="{_e(stem)}.png" alt="{_e(cap)}">'
                     f'</a><figcaption>{_e(cap)} — <a href="{_e(stem)}.png">PNG</a> · <a href="{_e(stem)}.svg">SVG</a>'
                     f'</figcaption></figure>' for stem, cap in content.figures) or "<p>No figure could be drawn.</p>"
    tables = "\n".join(f"<h3>{_e(cap)}</h3>{table.to_html(float_format=lambda v: f'{v:.3g}', na_rep='')}"
                       f"<p><a href=\"{_e(stem)}.csv\">CSV</a>" + _table_note(table) + "</p>"
                       for stem, cap, table in content.tables) or "<p>No table could be built.</p>"
    skipped = "".join(f"<li><b>{_e(cap)}</b>: {_e(reason)}</li>" for cap, reason in content.skipped)
    trials = content.trials
    n_trials = 0 if trials is None else len(trials)
    status = "" if trials is None or "status" not in trials else ", ".join(
        f"{_e(k)}: {v}" for k, v in trials["status"].astype(str).value_counts().sort_index().items())
    notes = "".join(f"<li>{_e(n)}</li>" for n in content.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sweep report: {_e(content.results)}</title>
<style>{CSS}</style></head><body>
<h1>Sweep report</h1>
<p>Results: <code>{_e(content.results)}</code> · generated {_e(generated)} · {n_trials} trials ({status}) ·
{len(content.figures)} figures · {len(content.skipped)} skipped</p>
<ul>{notes}</ul>
<h2>Verdicts</h2>
{_verdicts(content.verdicts)}
<h2>Figures</h2>
{figs}
<h2>Tables</h2>
{tables}
<h2>Figures skipped</h2>
<ul class="skip">{skipped or "<li>none</li>"}</ul>
<h2>Trials</h2>
{trials_table(trials) if trials is not None and len(trials) else "<p>no trials table</p>"}
<h2>Sweep configuration</h2>
{_configs(content)}
</body></html>
"""


def _table_note(table: pd.DataFrame) -> str:
    base = table.attrs.get("baseline")
    return f" · no-augmentation baseline FID {base:.3g} at {table.attrs.get('fraction', '')} of the data" \
        if isinstance(base, float) else ""


VERDICT_RULE = ("Each row pairs runs on the training seed; the difference is FID(A) - FID(B), median over paired seeds "
                "[95% bootstrap interval], for each run's final and best FID. better / worse: n >= 3 and the interval "
                "lies below / above 0; otherwise no difference. Runs whose settings differ in anything but the "
                "augmentation and the seed are not paired (README, Reading results).")


def _verdicts(table: pd.DataFrame | None) -> str:
    if table is None:
        return "<p>No comparison could be made (see Figures skipped).</p>"
    return (f"<p>{_e(VERDICT_RULE)}</p>{table.to_html(index=False, na_rep='')}"
            '<p><a href="verdicts.png">PNG</a> · <a href="verdicts.svg">SVG</a> · <a href="verdicts.csv">CSV</a></p>')
