"""`python -m sweeps.launch NAME`: run one of the papers' named sweeps on Ray Tune (the product's main command).

Thin on purpose: argument parsing and exit codes only.  Validation lives in
`sweeps.plan` (nothing starts and nothing is written on bad input: exit 2 with
one line), the Ray side in `sweeps.runner`.

Exit codes: 0 all trials finished; 1 some trial errored; 2 bad input;
130 interrupted (Ctrl-C) after a graceful stop, with the resume command printed.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from sweeps.catalog import SWEEPS
from sweeps.spec import SCALES
from trainer.errors import OneLineArgumentParser, UserInputError

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    sweeps = "\n".join(f"  {name:<18} {spec.figure}" for name, spec in SWEEPS.items())
    p = OneLineArgumentParser(
        prog="python -m sweeps.launch",
        description="Run a named sweep of GAN-augmentation trials on Ray Tune; results go to Parquet.",
        epilog=f"sweeps:\n{sweeps}\n\nexit codes: 0 ok, 1 a trial errored, 2 bad input, 130 interrupted (resume with --resume)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", help="sweep name (" + ", ".join(SWEEPS) + ") or a sweep file, e.g. sweeps/examples/r1_gamma_x_p.yaml")
    p.add_argument("--scale", default=None, help=f"one of {', '.join(SCALES)} (default smoke; on --resume, the sweep's own)")
    p.add_argument("--storage", default="./results", help="results root: a directory, file://, s3:// or gs:// URI (default ./results)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="config override for every trial, e.g. run.total_kimg=4; on an axis key it pins that axis (repeatable)")
    p.add_argument("--seeds", type=int, default=None, metavar="N",
                   help="train every configuration with run.seed 0..N-1 (default: the sweep's seeds at the scale, "
                        "3 at tiny and paper, 1 at smoke); the data subset stays the same")
    p.add_argument("--grid", dest="grid", action="append", default=[], metavar="KEY=V1,V2",
                   help="add an axis, or replace an axis's values, e.g. augment.p=0.2,0.4 (repeatable; "
                        "JSON list for values with commas)")
    p.add_argument("--no-variant", dest="no_variant", action="append", default=[], metavar="NAME",
                   help="leave out the sweep's variant NAME (e.g. fixed_p_grid's baseline, when another launch "
                        "already trains it; --dry-run shows each trial's variant) (repeatable)")
    p.add_argument("--log", dest="log", action="append", default=[], metavar="TRACKER",
                   help="also send each trial's config and tick metrics to tensorboard, mlflow[=URI] or "
                        "wandb[=PROJECT] (repeatable; optional extras, e.g. pip install -e '.[mlflow]')")
    p.add_argument("--dry-run", action="store_true", help="print the trial table and exit without starting Ray")
    p.add_argument("--resume", action="store_true", help="continue an interrupted sweep in --storage; finished trials are skipped")
    p.add_argument("--address", default=None, help="join a running Ray cluster (e.g. auto) instead of starting a local runtime")
    p.add_argument("--max-concurrent", type=int, default=None, metavar="N", help="at most N trials at once (default: as resources allow)")
    p.add_argument("--max-failures", type=int, default=2, metavar="K", help="retries per trial after a crash, from its last checkpoint (default 2)")
    return p


def _print(text: str) -> None:
    """Print, tolerating a reader that went away (`--dry-run | head`): no BrokenPipeError traceback."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def check_resumed_log(plan: Any) -> None:
    """A plain --resume restores each trial with the config it was launched with (Tuner.restore), trackers
    included, so a --log that differs from the launch's would be silently ignored: refuse it instead.  An
    extension (`--resume --set run.total_kimg=N`) is a new Tune experiment and may log elsewhere."""
    from resultsformat.layout import SWEEP_FILE
    if not plan.resume or plan.extension is not None:
        return
    saved = (plan.store.read_json(SWEEP_FILE) or {}).get("log") or []
    if list(plan.log) != saved:
        was = ", ".join(f"{t['kind']}={t['target']}" for t in saved) or "no tracker"
        raise UserInputError(f"--log with a plain --resume: resumed trials keep the trackers the sweep was launched "
                             f"with ({was}); drop --log, or extend the sweep (--resume --set run.total_kimg=N) to log anew")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from sweeps.cost import budget_lines
    from sweeps.plan import check_datasets, dry_run_table, make_plan
    from sweeps import transfer
    try:
        args = build_parser().parse_args(argv)
        plan = make_plan(args.name, scale=args.scale, sets=args.sets, storage=args.storage, resume=args.resume,
                         address=args.address, max_concurrent=args.max_concurrent, max_failures=args.max_failures,
                         argv=argv, check_data=not args.dry_run, seeds=args.seeds, grid=args.grid,
                         no_variant=args.no_variant, log=args.log)
        if args.log:
            check_resumed_log(plan)
        if args.dry_run:
            _print(dry_run_table(plan))
            _print("\n" + "\n".join(budget_lines(plan.trials, plan.scale, plan.max_concurrent) + transfer.dry_run_lines(plan)))
            check_datasets(plan.trials)   # after the table: it is worth seeing even where the data is missing
            return 0
    except UserInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from sweeps.runner import run
    try:
        plan = transfer.prepare(plan)   # a transfer sweep's source network: trained first, reused, or checked
    except transfer.SourceFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 130 if exc.interrupted else 1
    except UserInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return run(plan)
    except UserInputError as exc:   # raised before Ray starts (e.g. another launch took the sweep folder first)
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
