"""The G_ema a `python -m trainer.generate` argument names: an NVlabs pickle or one of our checkpoints.

A file is read as an NVlabs network pickle (trainer/nvlabs_pickle.py, nothing
in it executed); a directory is a checkpoint, a `python -m trainer` run
directory or a Ray trial directory, resolved the way `trainer.evaluate` does.
A checkpoint carries its `TrainConfig` (config.json: model section and
data.resolution); the one thing the config leaves to the data, the number of
image channels, is read off the weights by trying 3 (RGB) and then 1 (grey).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from trainer.config import TrainConfig
from trainer.errors import UserInputError

CHANNEL_CHOICES = (3, 1)


@dataclass
class LoadedGenerator:
    """A generator ready to sample, the config it was built from and where it came from."""

    G: nn.Module
    cfg: TrainConfig
    source: str


def check_network_path(path: Path) -> None:
    """Refuse a NETWORK that does not exist, before anything is built."""
    if not path.exists():
        raise UserInputError(f"{path}: no such file or directory (NETWORK is an NVlabs .pkl, a checkpoint, "
                             f"a `python -m trainer` run dir or a Ray trial dir)")


def load_generator(path: Path) -> LoadedGenerator:
    """G_ema of the pickle or checkpoint at PATH, on the CPU in float32 and eval mode."""
    path = Path(path)
    check_network_path(path)
    if path.is_file():
        from trainer.nvlabs_config import load_pickle_networks
        cfg, nets = load_pickle_networks(path, ("G_ema",))
        return LoadedGenerator(G=nets["G_ema"], cfg=cfg, source=f"NVlabs pickle {path}")
    return _from_checkpoint(path)


def _from_checkpoint(path: Path) -> LoadedGenerator:
    from trainer.checkpoint import read_checkpoint
    from trainer.evaluate import resolve_checkpoint
    from trainer.networks import build_networks

    ckpt = resolve_checkpoint(path)
    cfg, state = read_checkpoint(ckpt, map_location="cpu")
    weights = state.get("nets", {}).get("G_ema")
    if not isinstance(weights, dict):
        raise UserInputError(f"checkpoint {ckpt} has no G_ema weights")
    errors = []
    for channels in CHANNEL_CHOICES:
        G, _ = build_networks(cfg.model, resolution=cfg.data.resolution, channels=channels, seed=0)
        try:
            G.load_state_dict(weights)
        except RuntimeError as exc:
            errors.append(str(exc).splitlines()[0])
            continue
        return LoadedGenerator(G=G.eval().requires_grad_(False), cfg=cfg, source=f"checkpoint {ckpt}")
    raise UserInputError(f"checkpoint {ckpt}: G_ema's weights do not fit its config.json ({errors[0]})")
