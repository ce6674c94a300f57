"""Where augmentation is applied in the GAN step, and with which p (docs/papers.md §1, §3, §4; DiffAugment Table 1).

The methods' one idea: D only ever sees augmented images, reals and fakes, in
the D step and in the G step, with a differentiable T so G's gradient passes
through it.  `apply_to` also offers the two failing ablations so sweeps can
show why:
  both        reals + fakes, D step and G step (ADA, DiffAugment)
  reals_only  reals only, D step (G learns the augmented distribution: leaks)
  d_only      reals + fakes in the D step, un-augmented fakes in the G step
              (G gets no useful gradient)
Modes: none (no T at all: nothing is built or called), fixed (ADA pipe at a
constant p), ada (ADA pipe, p driven by `AdaController`), diffaugment (every op
on every image, no p).  p is one `Probability`, held here and shared by the pipe
and the controller; the checkpoint stores it once (the controller's state holds
it in ada mode).
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from trainer.augment.probability import Probability
from trainer.config import AugmentConfig


def _make_pipe(spec: str, p: Probability) -> torch.nn.Module:
    from trainer.augment import make_pipe   # imported lazily: mode "none" must not need the module at all
    return make_pipe(spec, p)


class Augmenter:
    """Applies T to D's inputs according to `mode` and `apply_to`; owns the ADA pipe and controller.

    `generator` is the run's augmentation generator (owned by TrainState), so a
    run's augmentations replay exactly on resume.
    """

    def __init__(self, cfg: AugmentConfig, batch: int, generator: torch.Generator, device: torch.device,
                 make_pipe: Callable[[str, Probability], torch.nn.Module] = _make_pipe) -> None:
        self.cfg, self.batch, self.generator = cfg, batch, generator
        self.prob: Probability | None = None
        self.pipe: torch.nn.Module | None = None
        self.controller: Any = None
        if cfg.mode in ("fixed", "ada"):
            self.prob = Probability(cfg.p)
            self.pipe = make_pipe(cfg.augpipe, self.prob).to(device)
        if cfg.mode == "ada":
            from trainer.augment import AdaController
            self.controller = AdaController(cfg.target, interval=cfg.ada_interval, speed_kimg=cfg.ada_kimg,
                                            heuristic=cfg.heuristic, p_init=self.prob)
        self.reals_d = cfg.mode != "none"
        self.fakes_d = cfg.mode != "none" and cfg.apply_to in ("both", "d_only")
        self.fakes_g = cfg.mode != "none" and cfg.apply_to == "both"

    @property
    def p(self) -> float | None:
        """Current augmentation probability; None when the mode has no p (none, diffaugment)."""
        return self.prob.value if self.prob is not None else None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """T(x) (differentiable, double-backward safe), drawing from the run's augmentation generator."""
        if self.cfg.mode == "diffaugment":
            from trainer.augment import diffaugment
            return diffaugment(x, self.cfg.diffaug_policy, generator=self.generator)
        if self.pipe is not None:
            return self.pipe(x, generator=self.generator)
        return x

    def real_d(self, x: torch.Tensor) -> torch.Tensor:
        return self(x) if self.reals_d else x

    def fake_d(self, x: torch.Tensor) -> torch.Tensor:
        return self(x) if self.fakes_d else x

    def fake_g(self, x: torch.Tensor) -> torch.Tensor:
        return self(x) if self.fakes_g else x

    def after_minibatch(self) -> None:
        """Advance the ADA controller by one minibatch (it moves the p the pipe draws with)."""
        if self.controller is not None:
            self.controller.update(self.batch)

    def needs_probe(self) -> bool:
        return self.controller is not None and self.cfg.heuristic == "rv"

    def state_dict(self) -> dict[str, Any]:
        """p once: in the controller's state when there is one, else as "p" (-1 without a pipe)."""
        if self.controller is not None:
            return {"controller": self.controller.state_dict()}
        return {"p": self.p if self.p is not None else -1.0, "controller": {}}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Also a checkpoint that stored p twice (top level and controller, always equal): the controller's wins."""
        if self.controller is not None:
            self.controller.load_state_dict(d["controller"])
        elif self.prob is not None:
            self.prob.value = float(d["p"])
