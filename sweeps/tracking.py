"""`--log tensorboard|mlflow[=URI]|wandb[=PROJECT]`: every trial's config and tick metrics where users already look.

The Parquet store stays the record of truth; trackers are a copy for viewing.
They run in the trial process, next to the row writer (`SweepHooks.on_tick`),
not as Ray driver callbacks: Ray's TBX/MLflow/W&B logger callbacks see only
what `tune.report` carries, and an exception in a driver callback stops the
whole Tuner, while here every tracker call is guarded -- a tracker that fails
prints one warning and is switched off for that trial, and the trial goes on.

One run per trial, named `<sweep>/t<index>` (the trial table's name), with the
sweep as the MLflow experiment, the W&B group and the TensorBoard folder.  A
retried, resumed or extended trial continues the same run (MLflow: found by
its `trial_id` tag; W&B: run id = trial id; TensorBoard: the same folder).

Defaults, all under the sweep folder: TensorBoard event files in
`<sweep>/tensorboard/`; an MLflow file store `<sweep>/mlruns` (MLflow 3 keeps
file stores behind MLFLOW_ALLOW_FILE_STORE, which we set for that store only);
W&B offline in `<sweep>/wandb/` unless WANDB_API_KEY is set.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from typing import Any

from trainer.errors import UserInputError

BACKENDS = {"tensorboard": "tensorboard", "mlflow": "mlflow", "wandb": "wandb"}   # backend -> module it needs
# Tick-row columns that are identifiers or config, not metrics (the config is logged once as params).
NOT_METRICS = {"tick", "trial_index", "attempt", "seed", "schema_version", "dataset_size", "resolution", "mirror",
               "p_fixed", "ada_target", "written_at"}


def parse_log_flags(items: list[str], store: Any) -> list[dict[str, str]]:
    """`--log` flags as [{"kind", "target"}], each library present; one line and exit 2 otherwise."""
    out: list[dict[str, str]] = []
    for item in items:
        kind, _, arg = item.partition("=")
        kind = kind.strip()
        if kind not in BACKENDS:
            raise UserInputError(f"--log {item}: unknown tracker {kind!r}; allowed: {', '.join(BACKENDS)}")
        if importlib.util.find_spec(BACKENDS[kind]) is None:
            raise UserInputError(f"--log {kind}: {BACKENDS[kind]} is not installed; install it with: "
                                 f"pip install -e '.[{kind}]'")
        if any(o["kind"] == kind for o in out):
            raise UserInputError(f"--log {kind} given twice")
        spec = {"kind": kind, "target": arg.strip() or _default_target(kind, store)}
        if kind == "wandb" and store.is_local:
            spec["dir"] = os.path.join(store.root, "wandb")
        out.append(spec)
    return out


def _default_target(kind: str, store: Any) -> str:
    if kind == "wandb":
        return store.sweep   # the W&B project
    if not store.is_local:
        raise UserInputError(f"--log {kind}: the default location is under the sweep folder, which is not local "
                             f"({store.uri}); give one, e.g. --log {kind}={'http://mlflow:5000' if kind == 'mlflow' else 'runs/tb'}")
    if kind == "mlflow":
        return "file://" + os.path.join(store.root, "mlruns")
    return os.path.join(store.root, "tensorboard")


def tick_metrics(row: dict[str, Any]) -> dict[str, float]:
    """The numeric metrics of one tick row (bools, ids and config columns left out)."""
    return {k: float(v) for k, v in row.items() if k not in NOT_METRICS and isinstance(v, (int, float))
            and not isinstance(v, bool) and v == v}


class _TensorBoard:
    def __init__(self, spec: dict[str, str], sweep: str, run: str, trial_id: str, params: dict[str, Any]) -> None:
        target = spec["target"]
        from tensorboardX import SummaryWriter
        self.writer = SummaryWriter(logdir=os.path.join(target, sweep, run.split("/")[-1]), flush_secs=5)
        self.writer.add_text("config", "\n".join(f"    {k} = {v}" for k, v in sorted(params.items())), 0)

    def log(self, step: int, metrics: dict[str, float]) -> None:
        for k, v in metrics.items():
            self.writer.add_scalar(k, v, step)

    def finish(self, status: str) -> None:
        self.writer.flush()
        self.writer.close()


def _mlflow_experiment(target: str, sweep: str) -> tuple[Any, str]:
    """(client, experiment id) of the sweep's experiment, created if missing."""
    if target.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri=target)
    exp = client.get_experiment_by_name(sweep)
    return client, (exp.experiment_id if exp else client.create_experiment(sweep))


def prepare(tracking: list[dict[str, str]] | None, sweep: str) -> None:
    """Create the sweep's MLflow experiment on the driver, before any trial starts: trials that start together
    and each create it race (a file store then holds two experiments of one name, and one trial's run is lost)."""
    for spec in tracking or []:
        if spec["kind"] == "mlflow":
            _mlflow_experiment(spec["target"], sweep)


class _MLflow:
    def __init__(self, spec: dict[str, str], sweep: str, run: str, trial_id: str, params: dict[str, Any]) -> None:
        self.client, eid = _mlflow_experiment(spec["target"], sweep)
        found = self.client.search_runs([eid], filter_string=f"tags.trial_id = '{trial_id}'", max_results=1)
        if found:
            self.run_id = found[0].info.run_id
            self.client.update_run(self.run_id, status="RUNNING")
        else:
            self.run_id = self.client.create_run(eid, run_name=run, tags={"sweep": sweep, "trial_id": trial_id}).info.run_id
            from mlflow.entities import Param
            items = [Param(k, str(v)[:500]) for k, v in params.items()]
            for i in range(0, len(items), 100):
                self.client.log_batch(self.run_id, params=items[i:i + 100])

    def log(self, step: int, metrics: dict[str, float]) -> None:
        from mlflow.entities import Metric
        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, step) for k, v in metrics.items()])

    def finish(self, status: str) -> None:
        self.client.set_terminated(self.run_id, status="FINISHED" if status == "TERMINATED" else "FAILED")


class _WandB:
    def __init__(self, spec: dict[str, str], sweep: str, run: str, trial_id: str, params: dict[str, Any]) -> None:
        import wandb
        target = spec["target"]
        if spec.get("dir"):
            os.makedirs(spec["dir"], exist_ok=True)
        mode = "online" if os.environ.get("WANDB_API_KEY") else "offline"
        self.run = wandb.init(project=target, group=sweep, name=run, id=trial_id, resume="allow", config=params,
                              mode=mode, dir=spec.get("dir") or None, reinit="create_new",
                              settings=wandb.Settings(console="off"))   # leave the trial's stdout alone

    def log(self, step: int, metrics: dict[str, float]) -> None:
        self.run.log(metrics, step=step)

    def finish(self, status: str) -> None:
        self.run.finish(exit_code=0 if status == "TERMINATED" else 1)


_KINDS = {"tensorboard": _TensorBoard, "mlflow": _MLflow, "wandb": _WandB}


class Trackers:
    """The trial's trackers; every call guarded so that a tracker failure never fails the trial."""

    def __init__(self, specs: list[dict[str, str]], sweep: str, run: str, trial_id: str, params: dict[str, Any]) -> None:
        self.live: dict[str, Any] = {}
        for spec in specs:
            self._guard(spec["kind"], lambda s=spec: self.live.__setitem__(
                s["kind"], _KINDS[s["kind"]](s, sweep, run, trial_id, params)))

    def _guard(self, kind: str, call: Any) -> None:
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - tracking is a copy; the Parquet row is already written
            self.live.pop(kind, None)
            print(f"warning: --log {kind} failed and is off for this trial: {type(exc).__name__}: "
                  f"{str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr, flush=True)

    def log(self, step: int, row: dict[str, Any]) -> None:
        metrics = tick_metrics(row)
        for kind, tracker in list(self.live.items()):
            self._guard(kind, lambda t=tracker: t.log(step, metrics))

    def finish(self, status: str) -> None:
        for kind, tracker in list(self.live.items()):
            self._guard(kind, lambda t=tracker: t.finish(status))
        self.live.clear()
