"""Style mixing: a second latent takes over the generator from a random layer on (StyleGAN §3.1; ADA's paper256 at 0.9).

Why: with one w for every layer, G may correlate what neighbouring layers
control; handing the later layers to an independent w now and then forces each
layer's style to work with any other, which localises what a layer controls.

Per generator call, as in the reference: with probability `prob` a crossover
layer c is drawn uniformly from 1..num_ws-1, and slots c.. of the batch's ws
come from fresh latents; otherwise every slot keeps the first latent's w.  The
two decisions are drawn on a CPU `torch.Generator` owned by the run (the
"mixing" stream in trainer/state.py), so they cost no device sync and a
resumed run draws the same crossovers as the uninterrupted one.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


class StyleMixer:
    """Builds the ws of one training G call, mixing two latents with probability `prob`."""

    def __init__(self, prob: float, generator: torch.Generator, latents: Callable[[int], torch.Tensor]) -> None:
        self.prob, self.generator, self.latents = prob, generator, latents

    def crossover(self, num_ws: int) -> int:
        """The first slot the second latent fills; num_ws means no mixing.  Always two draws, so the stream's
        position depends only on the number of calls."""
        u = torch.rand((), generator=self.generator).item()
        c = int(torch.randint(1, max(num_ws, 2), (), generator=self.generator).item())
        return c if (u < self.prob and num_ws > 1) else num_ws

    def ws(self, G: nn.Module, z: torch.Tensor, update_emas: bool = False) -> torch.Tensor:
        """`update_emas` moves G's w_avg with the first latents only (the mixing latents never, as in the reference)."""
        ws = G.mapping_ws(z, update_emas=update_emas)
        c = self.crossover(G.num_ws)
        if c < G.num_ws:
            other = G.mapping_ws(self.latents(z.shape[0]))
            ws = torch.cat([ws[:, :c], other[:, c:]], dim=1)
        return ws


def generate(G: nn.Module, z: torch.Tensor, noise_generator: torch.Generator | None,
             mixer: StyleMixer | None = None, update_emas: bool = False) -> torch.Tensor:
    """G's images for latents z: style-mixed when a mixer is given (stylegan2 only), else plain G(z).

    `update_emas` (stylegan2 training calls) lets the mapping network track its w_avg."""
    if mixer is None:
        return G(z, noise_generator=noise_generator, update_emas=True) if update_emas else G(z, noise_generator=noise_generator)
    return G.synthesis(mixer.ws(G, z, update_emas), noise_generator)
