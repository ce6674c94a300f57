"""Style mixing: the crossover distribution, which slots each latent fills, and seeded, resumable draws."""

from __future__ import annotations

from collections import Counter

import torch

from trainer.config import ModelConfig
from trainer.mixing import StyleMixer, generate
from trainer.networks import build_networks

NUM_WS = 14      # paper256's G at 256 px
DRAWS = 20_000


def _latents(n: int) -> torch.Tensor:
    return torch.randn(n, 8, generator=torch.Generator().manual_seed(99))


def test_crossover_distribution_seed_0() -> None:
    # p = 0.9: no mixing 10% of the time, else a crossover uniform on 1..13 (0.9/13 = 6.92% each).
    # Binomial sd at 20k draws is <= 0.0022; tolerance 0.01 (~4.5 sd) for every one of the 14 outcomes.
    mixer = StyleMixer(0.9, torch.Generator().manual_seed(0), _latents)
    counts = Counter(mixer.crossover(NUM_WS) for _ in range(DRAWS))
    assert set(counts) == set(range(1, NUM_WS + 1))
    assert abs(counts[NUM_WS] / DRAWS - 0.1) < 0.01
    for c in range(1, NUM_WS):
        assert abs(counts[c] / DRAWS - 0.9 / 13) < 0.01, (c, counts[c])


def test_probability_zero_never_mixes_and_draws_are_seeded() -> None:
    never = StyleMixer(0.0, torch.Generator().manual_seed(0), _latents)
    assert {never.crossover(NUM_WS) for _ in range(500)} == {NUM_WS}
    a = StyleMixer(0.9, torch.Generator().manual_seed(5), _latents)
    b = StyleMixer(0.9, torch.Generator().manual_seed(5), _latents)
    first = [a.crossover(NUM_WS) for _ in range(50)]
    saved = a.generator.get_state()
    assert first == [b.crossover(NUM_WS) for _ in range(50)]
    rest = [a.crossover(NUM_WS) for _ in range(50)]
    b.generator.set_state(saved)             # what a resumed run does with the checkpointed stream
    assert rest == [b.crossover(NUM_WS) for _ in range(50)]


def test_mixed_ws_take_the_second_latent_from_the_crossover_on() -> None:
    G, _ = build_networks(ModelConfig(arch="stylegan2", z_dim=8, w_dim=8, channel_base=64, channel_max=8),
                          resolution=16, channels=3, seed=0)
    z = torch.randn(4, 8, generator=torch.Generator().manual_seed(1))
    mixer = StyleMixer(1.0, torch.Generator().manual_seed(2), _latents)
    probe = StyleMixer(1.0, torch.Generator().manual_seed(2), _latents)
    c = probe.crossover(G.num_ws)
    with torch.no_grad():
        ws = mixer.ws(G, z)
        own, other = G.mapping_ws(z), G.mapping_ws(_latents(4))
        assert 1 <= c < G.num_ws == 6 and ws.shape == own.shape
        assert torch.equal(ws[:, :c], own[:, :c]) and torch.equal(ws[:, c:], other[:, c:])
        img = generate(G, z, torch.Generator().manual_seed(3), mixer)
        plain = generate(G, z, torch.Generator().manual_seed(3), None)
    assert img.shape == plain.shape == (4, 3, 16, 16) and not torch.equal(img, plain)
