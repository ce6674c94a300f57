"""The training loop: minibatches of D and G steps, ticks, metrics, checkpoints (ADA §2-§3 training setup; docs/papers.md §1, §4).

`train(cfg, hooks)` runs one training run and reports one row per tick (every
`run.tick_kimg` thousand real images shown to D) through `hooks.on_tick`.  It
never imports Ray and never chooses file paths: checkpoints are written by the
`save_checkpoint(dir)` callable a report carries, into whatever directory the
driver picks.  Everything random draws from generators owned by `TrainState`,
so a run is a function of its config (on CPU, bit for bit), and a run resumed
from a checkpoint continues exactly as the uninterrupted one would.

Per minibatch: the reference's phases (trainer/step.py: G's step, lazy path
length, D's step, lazy R1), the EMA update, then the ADA controller (r_t from
every real logit D gave; for the r_v heuristic, a small no-grad probe every
`augment.ada_interval` minibatches).  Statistics go through the run's channel
(trainer/stats.py): the tick's window of it gives the row's reported columns
and `TickReport.stats`, and every scalar reported in a step must be finite.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from resultsformat import TICK_COLUMNS, names, reported_names
from trainer.checkpoint import check_resume_config, read_checkpoint, serialize_state, write_checkpoint
from trainer.config import TrainConfig, flat_columns
from trainer.data import DatasetBundle, load_dataset, to_float
from trainer.device import resolve_device, torch_threads
from trainer.distributed import Dist, load_rank_state, rank_state
from trainer.errors import UserInputError
from trainer.hooks import Hooks, TickReport
from trainer.init_from import load_source_networks
from trainer.samples import sample_grid
from trainer.seeds import metrics_seed
from trainer.state import TrainState
from trainer.stats import Window, reduce_window
from trainer.step import minibatch_step

__all__ = ["train", "TrainingDiverged", "METRIC_KEYS"]

# Keys of MetricSuite.evaluate(): the format's "metric" columns; null on ticks without metrics.
METRIC_KEYS = names(TICK_COLUMNS, "metric")


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the tick and kimg."""


def train(cfg: TrainConfig, hooks: Hooks, resume: Path | None = None, cache_dir: Path | None = None,
          dist: Dist | None = None) -> list[dict[str, Any]]:
    """Train one run of `cfg`, reporting every tick to `hooks`; returns the rows reported.

    resume: a checkpoint directory written by a `TickReport.save_checkpoint`;
    its config must equal `cfg` except for a longer `run.total_kimg`.
    dist: this process's worker of a data-parallel run (process group already joined; trainer/distributed.py);
    only worker 0 reads `resume`, measures, reports to `hooks` and offers checkpoints.
    """
    with torch_threads(cfg.run.threads):
        return _train(cfg, hooks, resume, cache_dir, dist or Dist())


def _train(cfg: TrainConfig, hooks: Hooks, resume: Path | None, cache_dir: Path | None, dist: Dist) -> list[dict[str, Any]]:
    setup = dist.device_setup(resolve_device(cfg.run))
    saved = None
    if resume is not None and dist.is_main:
        saved_cfg, saved = read_checkpoint(Path(resume), map_location="cpu")
        check_resume_config(saved_cfg, cfg, saved["progress"]["cur_nimg"] / 1000)
    saved = dist.broadcast_object(saved)
    bundle = load_dataset(cfg.data, cache_dir=cache_dir)
    if cfg.augment.mode == "ada" and cfg.augment.heuristic == "rv" and bundle.val is None:
        raise UserInputError("augment.heuristic=rv needs validation images: set data.val_size > 0")
    state = TrainState(cfg, setup, resolution=bundle.resolution, channels=bundle.channels, train_size=len(bundle.train), dist=dist)
    if saved is not None:
        state.load_state_dict(saved)
        load_rank_state(state, saved)
        del saved
    else:
        load_source_networks(state.nets(), cfg)   # run.init_from (transfer learning); a no-op without it
    suite = None
    if dist.is_main:
        from trainer.metrics import MetricSuite   # heavy (detectors); imported when a run starts
        suite = MetricSuite(cfg.metrics, bundle, setup.device, cache_dir=cache_dir, seed=cfg.run.seed)
    return _Run(cfg, state, bundle, suite, hooks).run()


def measure_snapshot(suite: Any, state: TrainState, seed: int) -> dict[str, Any]:
    """The metrics row of STATE's current G_ema and D (suite.evaluate), with latents drawn from SEED.

    Shared by the training loop and `python -m trainer.evaluate`, so a re-measured checkpoint goes through the very
    same generation and scoring as the tick that logged it."""
    dev, z_dim = state.setup.device, state.cfg.model.z_dim
    gen = torch.Generator(device=dev).manual_seed(seed)

    @torch.no_grad()
    def generate(n: int) -> torch.Tensor:
        z = torch.randn((n, z_dim), generator=gen, device=dev)
        with state.autocast():
            return state.G_ema(z, noise_generator=gen).float()

    @torch.no_grad()
    def discriminator(x: torch.Tensor) -> torch.Tensor:
        with state.autocast():
            return state.D(x.to(dev)).float()

    return dict(suite.evaluate(generate, discriminator))


class _Run:
    """One session of a run: the step, the tick boundary and the report."""

    def __init__(self, cfg: TrainConfig, state: TrainState, bundle: DatasetBundle, suite: Any, hooks: Hooks) -> None:
        self.cfg, self.state, self.bundle, self.suite, self.hooks = cfg, state, bundle, suite, hooks
        self.total_nimg = round(cfg.run.total_kimg * 1000)
        self.tick_nimg = cfg.run.tick_kimg * 1000
        self.G_train = torch.compile(state.G) if cfg.run.compile else state.G   # D is never compiled: R1 needs double backward
        self.rows: list[dict[str, Any]] = []
        self.time_data = 0.0   # this tick's seconds spent fetching training images

    def run(self) -> list[dict[str, Any]]:
        st = self.state
        window = st.stats.attach(Window())   # every statistic reported during the current tick
        mark, start_nimg = time.perf_counter(), st.cur_nimg
        while st.cur_nimg < self.total_nimg:
            if self.state.dist.any([self.hooks.should_stop()], self.state.setup.device)[0]:   # worker 0's hooks decide
                break
            self._step()
            if st.cur_nimg >= min((st.tick + 1) * self.tick_nimg, self.total_nimg):
                self._end_tick(window, time.perf_counter() - mark, st.cur_nimg - start_nimg)
                window.reset()
                self.time_data, mark, start_nimg = 0.0, time.perf_counter(), st.cur_nimg
        return self.rows

    def _fetch_reals(self) -> torch.Tensor:
        t0 = time.perf_counter()
        idx = self.state.dist.shard(self.state.order.next_indices(self.cfg.run.batch))   # the same order on every worker
        reals = to_float(self.bundle.train.batch(idx)).to(self.state.setup.device, non_blocking=True)
        if self.state.setup.channels_last:
            reals = reals.contiguous(memory_format=torch.channels_last)
        self.time_data += time.perf_counter() - t0
        return reals

    def _step(self) -> None:
        st, cfg = self.state, self.cfg
        reals = self._fetch_reals()
        minibatch = st.cur_nimg // cfg.run.batch
        st.stats.new_step()
        minibatch_step(st, reals, self.G_train)
        if st.aug.needs_probe() and (minibatch + 1) % cfg.augment.ada_interval == 0:
            self._probe_rv()
        st.aug.after_minibatch()
        bad = st.stats.first_nonfinite()
        if st.dist.any([bad is not None], st.setup.device)[0]:   # every worker raises at the same step
            what = f"{bad} became {st.stats.step[bad]}" if bad is not None else "a loss of another worker became NaN/inf"
            raise TrainingDiverged(f"{what} during tick {st.tick + 1} at kimg {st.cur_nimg / 1000:.3f}; "
                                   f"lower the learning rates (loss.g_lr={cfg.loss.g_lr}, loss.d_lr={cfg.loss.d_lr}) or raise loss.r1_gamma")

    @torch.no_grad()
    def _probe_rv(self) -> None:
        """Score a minibatch of training reals, validation reals and fakes on un-augmented inputs for the r_v heuristic."""
        st, n = self.state, self.cfg.run.batch
        gen = st.gens["probe"]
        dev = st.setup.device
        train_idx = torch.randint(len(self.bundle.train), (n,), generator=gen).numpy()
        val_idx = torch.randint(len(self.bundle.val), (n,), generator=gen).numpy()
        with st.autocast():
            train_logits = st.D(to_float(self.bundle.train.batch(train_idx)).to(dev)).float()
            val_logits = st.D(to_float(self.bundle.val.batch(val_idx)).to(dev)).float()
            fake_logits = st.D(st.G(st.latents(n), noise_generator=st.gens["noise"])).float()
        st.stats.report("probe_train", train_logits)
        st.stats.report("probe_val", val_logits)
        st.stats.report("probe_fake", fake_logits)

    def _metrics(self) -> dict[str, Any]:
        return measure_snapshot(self.suite, self.state, metrics_seed(self.cfg.run.seed, self.state.tick))

    def _end_tick(self, window: Window, time_total: float, images: int) -> None:
        st, cfg = self.state, self.cfg
        st.tick += 1
        is_last = st.cur_nimg >= self.total_nimg
        time_data, = reduce_window(window, st.stats, [self.time_data], st.dist, st.setup.device)
        is_ckpt = is_last or st.tick % cfg.run.checkpoint_ticks == 0
        ranks = st.dist.gather_objects(rank_state(st)) if is_ckpt and st.dist.active else None
        if not st.dist.is_main:
            return   # worker 0 measures, writes and reports
        metrics: dict[str, Any] = dict.fromkeys(METRIC_KEYS)
        grid = None
        t0 = time.perf_counter()
        if is_last or st.tick % cfg.metrics.every_ticks == 0:
            metrics.update(self._metrics())
            if cfg.metrics.sample_grid > 0:
                grid = sample_grid(st.G_ema, side=cfg.metrics.sample_grid, z_dim=cfg.model.z_dim, seed=cfg.run.seed, device=st.setup.device)
        time_metrics = time.perf_counter() - t0
        st.wall_s += time_total + time_metrics
        save = None
        t1 = time.perf_counter()
        if is_ckpt:
            blob = serialize_state({**st.state_dict(), **({"ranks": ranks} if ranks is not None else {})})
            save = lambda directory, _b=blob, _c=cfg: write_checkpoint(Path(directory), _c, _b)  # noqa: E731
        time_ckpt = time.perf_counter() - t1
        st.wall_s += time_ckpt
        means = window.means()
        row = self._row(means, metrics, {"total": time_total, "data": time_data, "metrics": time_metrics, "ckpt": time_ckpt},
                        images)
        self.rows.append(row)
        self.hooks.on_tick(TickReport(row=dict(row), save_checkpoint=save, samples=grid, is_last=is_last, stats=means))

    def _row(self, means: dict[str, float | None], metrics: dict[str, Any], seconds: dict[str, float],
             images: int) -> dict[str, Any]:
        st, cfg = self.state, self.cfg
        # two estimators, two columns: r_v is the metric suite's (G_ema, fixed 1 000-image sets, metric ticks only),
        # r_v_ctrl the ADA controller's probe (training G, 64-image probes pooled to 1 024 logits per set, its last decision)
        r_v_ctrl = getattr(st.aug.controller, "r_v", None) if st.aug.controller is not None else None
        step_time = seconds["total"]
        row: dict[str, Any] = {
            **metrics,
            **flat_columns(cfg),
            "scale": cfg.preset,
            "dataset_size": self.bundle.num_unique,
            "tick": st.tick,
            "kimg": st.cur_nimg / 1000,
            "wall_s": st.wall_s,
            "img_per_s": images / step_time if step_time > 0 else None,
            "time_train_s": step_time - seconds["data"],
            "time_metrics_s": seconds["metrics"],
            "time_ckpt_s": seconds["ckpt"],
            "time_data_s": seconds["data"],
            "p": st.aug.p,
            "r_v_ctrl": float(r_v_ctrl) if r_v_ctrl is not None else None,
            **{name: means.get(name) for name in reported_names()},   # declared statistics; the others: trackers only
        }
        return row
