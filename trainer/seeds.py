"""Every random stream of a run, derived from `run.seed` in one place.

A stream is named (network init, data order, latents, synthesis noise, augmentation, the r_v probe, metrics
latents, the reals a metric scores, KID's subsets, sample grids, style mixing's crossovers; new streams are appended) and may be indexed (the metrics tick, a
re-measure's repeat; a data-parallel worker's rank for its own noise, augmentation, probe and mixing streams,
trainer/distributed.py).  Its seed is drawn from `numpy.random.SeedSequence([seed, stream, index, repeat])`: four
32-bit words, so two different triples never feed the hash the same input (additive offsets did: the metrics
seed of run 1 at tick 5 was that of run 0 at tick 6).  The words have a fixed count because SeedSequence pads
short entropy with zeros, so `[s, k, i]` and `[s, k, i, 0]` would otherwise be one stream.
"""

from __future__ import annotations

import numpy as np

STREAMS = ("init", "data", "latent", "noise", "aug", "probe", "metrics", "metric_reals", "kid", "samples", "mixing")
_WORD = 2**32


def stream_seed(seed: int, stream: str, index: int = 0, repeat: int = 0) -> int:
    """A 63-bit seed (fits torch.Generator.manual_seed and numpy) for stream `stream` #`index`.`repeat` of run `seed`."""
    if stream not in STREAMS:
        raise ValueError(f"unknown random stream {stream!r}; known: {', '.join(STREAMS)}")
    words = (seed, STREAMS.index(stream), index, repeat)
    if not all(isinstance(w, (int, np.integer)) and 0 <= w < _WORD for w in words):
        raise ValueError(f"seed, index and repeat must be integers in [0, 2**32), got {words}")
    hi, lo = np.random.SeedSequence([int(w) for w in words]).generate_state(2, dtype=np.uint32)
    return ((int(hi) << 32) | int(lo)) & (2**63 - 1)


def metrics_seed(run_seed: int, tick: int, repeat: int = 0) -> int:
    """Latents of a metrics tick: fixed per (run, tick), so a snapshot re-measures exactly; repeat r > 0 draws anew."""
    return stream_seed(run_seed, "metrics", tick, repeat)
