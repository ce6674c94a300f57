"""`python -m analysis.report RESULTS --out DIR`: every figure the results allow, as PNG + SVG, and an index.html.

This is the last step of a sweep (the launcher calls `render_report`) and the
way to look at a sweep from a laptop or a bucket.  Figures whose sweeps were not
run are listed as skipped with the command that produces them; FIDs from
different detectors get one figure each, never a mixed line; trials that ended
in ERROR are left out of the figures but listed in the trial table.

Writing is atomic: everything is rendered into a staging directory inside DIR
and moved into place file by file with os.replace, index.html last, so a crash
or a bad input never leaves a half-written page.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import NoReturn

import pandas as pd

from analysis.budget import mixed_budget_notes, read_at_kimg
from analysis.errors import MissingData, MixedDetectors, NoTickRows, OutputError, ResultsError, UnreadablePartWarning
from analysis.figures_generic import generic_figures, generic_sweeps
from analysis.load import empty_metrics, load_metrics, load_trials, sweep_configs
from analysis.report_html import ReportContent, render_index
from analysis.tidy import detectors
from analysis.verdicts import verdict_figure, verdict_table, verdict_text
from resultsformat.layout import METRICS_DIR
from resultsformat.reader import redact
from resultsformat.statuses import ERROR

DPI = 100


def _staging(out: Path) -> tuple[Path, bool]:
    """Create OUT if needed and a staging directory inside it; OutputError if that is impossible."""
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".staging-", dir=out)), created
    except OSError as exc:
        raise OutputError(f"cannot write report to {out}: {exc.strerror or exc}") from None


def _save(fig, stage: Path, stem: str, formats: tuple[str, ...]) -> None:
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text: smaller, faster SVGs
        for i, fmt in enumerate(formats):
            fig.savefig(stage / f"{stem}.{fmt}", dpi=DPI)
            if i == 0:
                fig.set_layout_engine("none")  # keep the first pass's layout: constrained layout is costly to redo


def _variants(metrics: pd.DataFrame, uses_fid: bool) -> list[tuple[str | None, str]]:
    """(detector, file suffix) per rendering: one per detector when several FID detectors are present."""
    found = detectors(metrics)
    if uses_fid and len(found) > 1:
        return [(d, f"__{d}") for d in found]
    return [(None, "")]


Job = tuple[int, str | None, str, str]  # (index into FIGURES, detector, file stem, caption)
Outcome = tuple[str, str, str, str]     # (file stem, caption, "ok" | "skipped" | "failed", reason)


def figure_jobs(metrics: pd.DataFrame) -> list[Job]:
    from analysis.figures import FIGURES, for_sweeps

    jobs: list[Job] = []
    several = len(detectors(metrics)) > 1  # only then is the per-figure check worth its cost
    for i, spec in enumerate(FIGURES):
        variants = _variants(for_sweeps(metrics, spec.sweeps), spec.uses_fid) if several else [(None, "")]
        for det, suffix in variants:
            jobs.append((i, det, spec.name + suffix, spec.caption + (f" [{det} detector]" if det else "")))
    return jobs


def run_jobs(jobs: list[Job], metrics: pd.DataFrame, results: str, stage: Path,
             formats: tuple[str, ...]) -> list[Outcome]:
    """Draw and save the given figures, catching MissingData (skipped) and bugs (failed, loudly)."""
    from analysis.figures import FIGURES, for_sweeps

    outcomes: list[Outcome] = []
    for i, det, stem, caption in jobs:
        spec = FIGURES[i]
        try:
            fig = spec.draw(for_sweeps(metrics, spec.sweeps), results, det)
            _save(fig, stage, stem, formats)
            outcomes.append((stem, caption, "ok", ""))
        except MissingData as exc:
            outcomes.append((stem, caption, "skipped", str(exc)))
        except Exception as exc:  # one broken figure must not lose the whole report; say so loudly
            print(f"warning: figure {stem} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            outcomes.append((stem, caption, "failed", f"{type(exc).__name__}: {exc}"))
    return outcomes


def _child(conn, jobs: list[Job], metrics: pd.DataFrame, results: str, stage: Path, formats: tuple[str, ...]) -> None:
    conn.send(run_jobs(jobs, metrics, results, stage, formats))
    conn.close()


def run_parallel(jobs: list[Job], metrics: pd.DataFrame, results: str, stage: Path, formats: tuple[str, ...],
                 workers: int) -> list[Outcome]:
    """Matplotlib is single-threaded and figures are independent: draw them in forked workers (data inherited)."""
    workers = min(workers, len(jobs))
    if workers <= 1 or "fork" not in mp.get_all_start_methods():
        return run_jobs(jobs, metrics, results, stage, formats)
    ctx = mp.get_context("fork")
    procs = []
    for w in range(workers):
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(child, jobs[w::workers], metrics, results, stage, formats))
        proc.start()
        child.close()
        procs.append((proc, parent))
    outcomes: list[Outcome] = []
    for proc, parent in procs:
        try:
            outcomes += parent.recv()
        except EOFError:
            pass
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(f"a figure worker died with exit code {proc.exitcode}")
    order = {job[2]: k for k, job in enumerate(jobs)}
    return sorted(outcomes, key=lambda o: order[o[0]])


def render_figures(metrics: pd.DataFrame, results: str, stage: Path, content: ReportContent,
                   formats: tuple[str, ...] = ("png", "svg"), workers: int = 2) -> None:
    """Draw every catalogue figure and table into STAGE, recording what was drawn and what was skipped and why."""
    from analysis.figures import TABLES, for_sweeps

    for stem, caption, status, reason in run_parallel(figure_jobs(metrics), metrics, results, stage, formats, workers):
        if status == "ok":
            content.figures.append((stem, caption))
        else:
            content.skipped.append((caption, reason if status == "skipped" else f"failed: {reason}"))
    for tspec in TABLES:
        data = for_sweeps(metrics, tspec.sweeps)
        for det, suffix in _variants(data, True):
            caption = tspec.caption + (f" [{det} detector]" if det else "")
            try:
                table = tspec.build(data, det)
            except MissingData as exc:
                content.skipped.append((caption, str(exc)))
                continue
            shown = table.attrs.get("text", table)   # value [interval] (n) per cell (analysis.aggregate)
            shown.to_csv(stage / f"{tspec.name}{suffix}.csv")
            content.tables.append((tspec.name + suffix, caption, shown))


def render_generic(metrics: pd.DataFrame, configs: dict, stage: Path, content: ReportContent,
                   formats: tuple[str, ...]) -> None:
    """The generic figures of sweeps outside the catalogue (analysis.figures_generic), in this process."""
    for stem, caption, draw in generic_figures(metrics, configs):
        try:
            _save(draw(), stage, stem, formats)
            content.figures.append((stem, caption))
        except MissingData as exc:
            content.skipped.append((caption, str(exc)))
        except Exception as exc:  # one broken figure must not lose the whole report; say so loudly
            print(f"warning: figure {stem} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            content.skipped.append((caption, f"failed: {type(exc).__name__}: {exc}"))


def render_verdicts(metrics: pd.DataFrame, trials: pd.DataFrame, stage: Path, content: ReportContent,
                    formats: tuple[str, ...]) -> None:
    """The verdict table (analysis.verdicts): CSV, PNG/SVG and the page's first section; skipped with the reason."""
    try:
        table = verdict_table(metrics, trials)
    except (MissingData, MixedDetectors) as exc:
        content.skipped.append(("Verdict table", str(exc)))
        return
    table.to_csv(stage / "verdicts.csv", index=False)
    _save(verdict_figure(table), stage, "verdicts", formats)
    content.verdicts = table


def _default_workers() -> int:
    """Two forked workers on a 2+ core box; in-process inside a Ray driver, whose gRPC threads make fork unsafe."""
    return 1 if "ray" in sys.modules else min(2, os.cpu_count() or 1)


def _publish(stage: Path, out: Path) -> None:
    """Move staged files into OUT one atomic rename at a time, index.html last."""
    from analysis.figures import FIGURES, TABLES

    names = sorted(p.name for p in stage.iterdir())
    for name in [n for n in names if n != "index.html"] + ["index.html"]:
        os.replace(stage / name, out / name)
    ours = tuple(spec.name for spec in (*FIGURES, *TABLES)) + ("verdicts",)
    for old in out.iterdir():  # a figure drawn last time but skipped now must not linger beside the new index
        if old.name not in names and old.suffix in (".png", ".svg", ".csv") and old.name.startswith(ours):
            old.unlink()


def render_report(results: str, out: str, *, formats: tuple[str, ...] = ("png", "svg"),
                  workers: int | None = None, echo: bool = False, until_kimg: float | None = None) -> Path | str:
    """Render the report of RESULTS into OUT and return where index.html is (ResultsError / OutputError on bad input).

    ECHO prints the verdict table (analysis.verdicts) to stdout as well.  UNTIL_KIMG reads every trial as it stood
    when it reached that many kimg (analysis.budget).

    OUT may be an s3:// or gs:// URI: the report is then rendered locally and uploaded (index.html last),
    and the returned location is the URI string.
    """
    if "://" in str(out):
        with tempfile.TemporaryDirectory(prefix="ganaug-report-") as local:
            render_report(results, local, formats=formats, workers=workers, echo=echo, until_kimg=until_kimg)
            return _upload(Path(local), str(out))
    with warnings.catch_warnings():   # an unreadable part is named once, among the notes below
        warnings.simplefilter("ignore", UnreadablePartWarning)
        try:
            metrics = load_metrics(results)
        except NoTickRows:  # trials.parquet but no ticks (all failed early): still worth a page listing the errors
            metrics = empty_metrics()
        trials = load_trials(results)
    configs = sweep_configs(results)
    budget_notes: list[str] = []
    if until_kimg is not None:
        metrics, trials, budget_notes = read_at_kimg(metrics, trials, until_kimg)
    else:
        budget_notes = mixed_budget_notes(metrics)
    content = ReportContent(results=redact(str(results)), trials=trials, sweep_configs=configs)
    for note in [*metrics.attrs.get("notes", []), *budget_notes]:   # a run two parts hold (analysis.parts), a part left out
        content.notes.append(note)
        print(f"note: {note}", file=sys.stderr)
    failed = trials.loc[trials["status"].astype(str) == ERROR, ["sweep", "trial_id"]]
    if len(failed):
        drop = pd.Series(False, index=metrics.index)
        for sweep, ids in failed.groupby(failed["sweep"].astype(str))["trial_id"]:
            drop |= (metrics["sweep"] == sweep) & metrics["trial_id"].isin(ids.astype(str))
        metrics = metrics[~drop]
        content.notes.append(f"{len(failed)} trial(s) ended in ERROR and are left out of the figures.")
    out_path = Path(out)
    stage, created = _staging(out_path)
    generic = generic_sweeps(configs)   # custom sweeps: generic figures from their axes, never the paper figures
    try:
        render_figures(metrics[~metrics["sweep"].isin(generic)], str(results), stage, content, formats,
                       _default_workers() if workers is None else workers)
        render_generic(metrics, configs, stage, content, formats)
        render_verdicts(metrics, trials, stage, content, formats)
        (stage / "index.html").write_text(render_index(content, time.strftime("%Y-%m-%d %H:%M:%S %Z")),
                                          encoding="utf-8")
        _publish(stage, out_path)
        if echo:
            print(verdict_text(content.verdicts) if content.verdicts is not None else
                  "verdicts: " + next((r for c, r in content.skipped if c == "Verdict table"), "none"))
    except OSError as exc:
        raise OutputError(f"cannot write report to {out_path}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if created and out_path.exists() and not any(out_path.iterdir()):
            out_path.rmdir()
    return out_path / "index.html"


def _upload(local: Path, out: str) -> str:
    """Copy a rendered report to a bucket, index.html last so a reader never sees it before its figures."""
    import pyarrow.fs as pafs

    try:
        fs, base = pafs.FileSystem.from_uri(out)
        fs.create_dir(base, recursive=True)
        names = sorted(p.name for p in local.iterdir())
        for name in [n for n in names if n != "index.html"] + ["index.html"]:
            with fs.open_output_stream(f"{base.rstrip('/')}/{name}") as dst:
                dst.write((local / name).read_bytes())
    except (OSError, ValueError) as exc:
        raise OutputError(f"cannot write report to {out}: {str(exc).splitlines()[0] if str(exc) else exc}") from None
    return out.rstrip("/") + "/index.html"


def _positive_kimg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of kimg") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: must be a positive, finite number of kimg")
    return value


class _Parser(argparse.ArgumentParser):
    """Flag errors as one line and exit 2, like every other bad input (argparse would print a usage block)."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {self.prog}: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="python -m analysis.report",
        description="Render the papers' figures (PNG + SVG), tables and an index.html from a sweep's Parquet results.")
    parser.add_argument("results", help=f"a sweep directory (holds {METRICS_DIR}/) or a storage root of several; "
                                        "local path or s3:// / gs:// URI")
    parser.add_argument("--out", required=True, help="output directory (created if needed)")
    parser.add_argument("--until-kimg", type=_positive_kimg, default=None, metavar="N",
                        help="read every trial as it stood when it reached N kimg (final FID = FID there), so that runs "
                             "extended to different budgets compare at one (default: every tick)")
    args = parser.parse_args(argv)
    try:
        index = render_report(args.results, args.out, echo=True, until_kimg=args.until_kimg)
    except (ResultsError, OutputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"report: {index}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
