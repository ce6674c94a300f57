"""The typed configuration of one training run: one frozen pydantic model per component.

Every component has one frozen pydantic model with `extra="forbid"`: a typo in a
sweep axis or a `--set` flag fails at once with the field's name instead of
silently training the wrong thing (the failure mode of untyped dicts).  Bounds
live on the fields, so validation happens where options are declared.  The
augmentation models, one per mode, are in trainer/config/augment.py.

Imports neither torch nor ray, so the sweep driver can validate a whole grid
before anything heavy starts.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trainer.config.augment import AdaAugment, AugmentConfig, drop_inapplicable, is_legacy
from trainer.config.error_line import first_error
from trainer.errors import UserInputError

SOURCE_KINDS = ("procedural", "folder", "zip", "cifar10", "mnist", "npz")
PROCEDURAL_DOMAINS = ("domain=a", "domain=b")   # data.source=procedural:domain=b (trainer/data/procedural_b.py)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class DataConfig(_Frozen):
    """Which images, how many, and how they are split (docs/architecture.md "Datasets")."""

    source: str = Field("procedural", description="procedural | procedural:domain=b | folder:PATH | zip:PATH | cifar10:PATH | mnist:PATH | npz:PATH")
    dataset_size: int | None = Field(None, ge=1, le=10_000_000, description="Unique training images: seeded shuffle, then the first N; None = all")
    subset_seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the subset shuffle; independent of run.seed so a subset is the same for every training seed")
    mirror: bool = Field(False, description="Double the training set with x-flips (ADA's 140k = 70k + flips)")
    val_size: int = Field(1000, ge=0, le=100_000, description="Held-out validation reals, disjoint from the training subset; 0 disables r_v")
    resolution: int = Field(32, ge=8, le=1024, description="Image side in pixels; a power of two")
    resize: bool = Field(False, description="Resize real images to `resolution` instead of refusing a mismatch")
    procedural_count: int = Field(70_000, ge=100, le=140_000, description="Size of the full procedural dataset (FID reference); validation images come from beyond it")
    procedural_seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed that, with the image index, determines every procedural image")

    @field_validator("source")
    @classmethod
    def _source_kind(cls, v: str) -> str:
        kind, _, path = v.partition(":")
        if kind not in SOURCE_KINDS:
            raise ValueError(f"unknown data source kind {kind!r}; allowed: {', '.join(SOURCE_KINDS)} (as KIND:PATH, or 'procedural')")
        if kind == "procedural" and path not in ("", *PROCEDURAL_DOMAINS):
            raise ValueError(f"'procedural' takes no path, only a domain: {' or '.join(PROCEDURAL_DOMAINS)}")
        if v == "procedural:domain=a":
            return "procedural"   # one spelling per dataset: domain a is the default
        if kind != "procedural" and not path:
            raise ValueError(f"data source {kind!r} needs a path, as {kind}:PATH")
        return v

    @field_validator("resolution")
    @classmethod
    def _pow2(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError("resolution must be a power of two")
        return v

    @property
    def kind(self) -> str:
        return self.source.partition(":")[0]

    @property
    def path(self) -> str:
        return "" if self.kind == "procedural" else self.source.partition(":")[2]

    @property
    def procedural_domain(self) -> str:
        """'a' (the default warm landscapes) or 'b' (trainer/data/procedural_b.py) for procedural data."""
        return self.source.partition("domain=")[2] or "a"


class ModelConfig(_Frozen):
    """Generator and discriminator architecture and widths."""

    arch: Literal["stylegan2", "dcgan"] = Field("stylegan2", description="stylegan2: mapping net + modulated convs + residual D with minibatch std; dcgan: a classic balanced pair")
    z_dim: int = Field(512, ge=1, le=1024, description="Latent size")
    w_dim: int = Field(512, ge=1, le=1024, description="Intermediate latent size (stylegan2)")
    mapping_layers: int = Field(2, ge=1, le=8, description="Depth of the mapping network (ADA's paper256: 8)")
    channel_base: int = Field(16384, ge=64, le=65536, description="Width at resolution r is min(channel_base / r, channel_max)")
    channel_max: int = Field(512, ge=8, le=1024, description="Widest layer")
    mbstd_group: int = Field(4, ge=0, le=32, description="Minibatch-std group size in D; 0 disables it (ADA's paper256: 8)")
    amp_blocks: int | None = Field(None, ge=0, le=10, description="stylegan2 with AMP on: only the N highest-resolution blocks of G and D run in reduced precision, the rest in float32 (ADA's paper256: 4); None = autocast over the whole networks")
    conv_clamp: float | None = Field(None, gt=0.0, le=1e6, description="stylegan2: clamp every conv output to +-X, scaled with the layer's gain, so 16-bit activations cannot overflow (ADA's paper256: 256); None = no clamp, the reference's default")
    freeze_d: int = Field(0, ge=0, le=64, description="Freeze-D (ADA §4.2): the first N layers of D from the input (fromRGB, then each block's convs, "
                          "counted as the reference's --freezed) get no updates; 0 trains all; more than D has is an error")


class LossConfig(_Frozen):
    """Non-saturating logistic loss, lazy R1 and path length, EMA and optimiser settings (trainer/phases.py: the schedule)."""

    r1_gamma: float = Field(1.0, ge=0.0, le=1000.0, description="R1 weight on un-augmented reals (gradient through the augmentation)")
    r1_interval: int = Field(16, ge=1, le=64, description="Lazy regularisation: R1 as its own D step every N minibatches, scaled by N; D's Adam lr x N/(N+1), betas ** (N/(N+1))")
    g_lr: float = Field(0.0025, gt=0.0, le=1.0, description="Generator Adam learning rate")
    d_lr: float = Field(0.0025, gt=0.0, le=1.0, description="Discriminator Adam learning rate")
    beta1: float = Field(0.0, ge=0.0, lt=1.0, description="Adam beta1")
    beta2: float = Field(0.99, ge=0.0, lt=1.0, description="Adam beta2")
    ema_kimg: float = Field(10.0, ge=0.0, le=1000.0, description="Half-life of the EMA generator in kimg; 0 disables EMA")
    ema_rampup: float | None = Field(None, gt=0.0, le=10.0, description="EMA ramp-up: the half-life is at most cur_nimg x this early in training (the reference's cifar and auto configs: 0.05); None = the full half-life from the start (paper256)")
    pl_weight: float = Field(0.0, ge=0.0, le=100.0, description="Path-length regularisation weight (StyleGAN2 §3.2; ADA's paper256: 2); 0 disables it; stylegan2 only")
    pl_interval: int = Field(4, ge=1, le=64, description="Lazy path-length regularisation as its own G step every N minibatches, scaled by N; G's Adam lr x N/(N+1), betas ** (N/(N+1))")
    pl_batch_shrink: int = Field(2, ge=1, le=64, description="Path-length regularisation runs on batch // N latents")
    pl_decay: float = Field(0.01, gt=0.0, le=1.0, description="Decay of the running mean path length the penalty is measured from")
    style_mixing: float = Field(0.0, ge=0.0, le=1.0, description="Probability that a second latent takes over from a random crossover layer in training G calls (ADA's paper256: 0.9); stylegan2 only")


class MetricsConfig(_Frozen):
    """What is measured at metrics ticks and how many samples it costs."""

    detector: Literal["auto", "offline", "random", "inception"] = Field("auto", description="Feature network for FID/KID; auto = offline for procedural data, inception otherwise")
    detector_path: str | None = Field(None, description="Local weights file for the inception detector")
    every_ticks: int = Field(1, ge=1, le=10_000, description="Compute metrics every N ticks (and always at the last tick)")
    fid_samples: int = Field(2000, ge=2, le=100_000, description="Generated images for FID/KID")
    fid_real: int | None = Field(None, ge=2, le=10_000_000, description="Real images for the reference statistics; None = the full dataset")
    kid: bool = Field(True, description="Also compute KID")
    kid_subsets: int = Field(100, ge=1, le=1000, description="KID subsets")
    kid_subset_size: int = Field(1000, ge=2, le=10_000, description="Max images per KID subset")
    dout_samples: int = Field(512, ge=8, le=100_000, description="Reals (train and validation) and fakes scored by D for the D-output statistics")
    hist_bins: int = Field(32, ge=4, le=256, description="Bins of the D-output histograms on [-hist_range, hist_range]")
    hist_range: float = Field(8.0, gt=0.0, le=100.0, description="Half-width of the D-output histogram range, in logits")
    leakage: tuple[Literal["rot", "color", "blank"], ...] = Field(("rot", "color", "blank"), description="Leakage measures to compute")
    leak_samples: int = Field(1000, ge=8, le=100_000, description="Generated images for the leakage measures")
    sample_grid: int = Field(8, ge=0, le=32, description="Side of the PNG sample grid saved at metrics ticks; 0 = none")


class RunConfig(_Frozen):
    """Budget, batch, ticks, checkpoints, seed and device."""

    total_kimg: float = Field(25000.0, gt=0.0, le=1_000_000.0, description="Training length in thousands of real images shown to D")
    batch: int = Field(64, ge=2, le=4096, description="Minibatch size")
    tick_kimg: float = Field(4.0, gt=0.0, le=10_000.0, description="One tick (one metrics row) every N kimg; ADA uses 4")
    checkpoint_ticks: int = Field(5, ge=1, le=100_000, description="Checkpoint every N ticks (and at the end); checkpoints are copied synchronously by Ray, so not every tick")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Training seed (networks, latents, augmentation)")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto = cuda when available")
    amp: bool = Field(True, description="Mixed precision on CUDA (ignored on CPU)")
    channels_last: bool = Field(True, description="channels_last memory format on CUDA (ignored on CPU)")
    compile: bool = Field(False, description="torch.compile the networks")
    threads: int | None = Field(None, ge=1, le=256, description="torch intra-op threads; None = torch's default")
    workers: int = Field(1, ge=1, le=256, description="Data-parallel workers (GPUs, or CPU processes) of this run, each on batch / workers images (trainer/distributed.py)")
    init_from: str | None = Field(None, min_length=1, description="Transfer learning (ADA §4.2): path of a checkpoint, "
                                  "`python -m trainer` run folder, sweep trial folder or NVlabs network pickle (.pkl, with D) whose G, D and G_ema the run starts from, at kimg 0 with fresh optimisers and this run's "
                                  "augmentation (not --resume); None = random initialisation")
    init_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the bytes of run.init_from's weights (its state.pt, or the .pkl), filled in "
                                    "when the run or sweep starts; when given, a source with other bytes is refused")

    @model_validator(mode="after")
    def _budget(self) -> "RunConfig":
        if self.tick_kimg > self.total_kimg:
            raise ValueError(f"run.tick_kimg ({self.tick_kimg}) exceeds run.total_kimg ({self.total_kimg})")
        if self.batch % self.workers:
            raise ValueError(f"run.batch ({self.batch}) does not split into run.workers={self.workers} equal parts")
        if self.init_sha256 is not None and self.init_from is None:
            raise ValueError("run.init_sha256 needs run.init_from (the hash is of that source's weights)")
        return self


class TrainConfig(_Frozen):
    """Everything that determines one training run; saved in every run dir and checkpoint."""

    preset: Literal["smoke", "tiny", "paper", "custom"] = Field("custom", description="Preset this config started from (informational)")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    augment: AugmentConfig = Field(default_factory=AdaAugment, description="One model per augmentation mode (trainer/config/augment.py)")
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    run: RunConfig = Field(default_factory=RunConfig)

    @field_validator("augment", mode="before")
    @classmethod
    def _augment_fields_of_its_mode(cls, v: Any) -> Any:
        """An old config.json (every mode's fields) loads as what it ran; otherwise a field of another mode is an error."""
        if isinstance(v, dict):
            return drop_inapplicable(v, keep=set() if is_legacy(v) else set(v))
        return v

    @model_validator(mode="after")
    def _stylegan2_only(self) -> "TrainConfig":
        lc = self.loss
        if self.model.arch != "stylegan2":
            for key, on in (("loss.pl_weight", lc.pl_weight > 0), ("loss.style_mixing", lc.style_mixing > 0)):
                if on:
                    raise ValueError(f"{key} needs model.arch=stylegan2 (it acts on the mapping network's w)")
        if lc.pl_weight > 0 and self.run.batch // lc.pl_batch_shrink < 1:
            raise ValueError(f"loss.pl_batch_shrink ({lc.pl_batch_shrink}) exceeds run.batch ({self.run.batch})")
        return self

    @model_validator(mode="after")
    def _per_worker_batch(self) -> "TrainConfig":
        per, group = self.run.batch // self.run.workers, self.model.mbstd_group
        if self.run.workers > 1 and group > 1 and per % min(group, per):
            raise ValueError(f"model.mbstd_group ({group}) does not divide the per-worker batch "
                             f"run.batch / run.workers = {per}")
        if self.run.workers > 1 and self.loss.pl_weight > 0 and per // self.loss.pl_batch_shrink < 1:
            raise ValueError(f"loss.pl_batch_shrink ({self.loss.pl_batch_shrink}) exceeds the per-worker batch {per}")
        return self

    @model_validator(mode="after")
    def _freeze_d_depth(self) -> "TrainConfig":
        depth = d_layer_count(self.model.arch, self.data.resolution)
        if self.model.freeze_d > depth:
            raise ValueError(f"model.freeze_d={self.model.freeze_d} exceeds D's {depth} layers ({self.model.arch} at "
                             f"{self.data.resolution} px, counted from the input as the reference's --freezed); use 0..{depth}")
        return self

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise UserInputError(f"invalid config JSON: {first_error(exc)}") from None


def d_layer_count(arch: str, resolution: int) -> int:
    """Layers of D that model.freeze_d counts (trainer/freeze.py): stylegan2 fromRGB + 3 convs per block, dcgan 1 per block."""
    blocks = max(0, int(math.log2(resolution)) - 2)   # one block per halving down to 4x4
    return 1 + 3 * blocks if arch == "stylegan2" else blocks



def ticks_total(cfg: TrainConfig) -> int:
    """Number of ticks a run of this config reports."""
    return max(1, math.ceil(cfg.run.total_kimg / cfg.run.tick_kimg - 1e-9))
