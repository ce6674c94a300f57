"""The embedded default dataset: warm-palette landscapes drawn from (seed, index).

docs/architecture.md "Datasets": the project needs a dataset with no download that still lets
the papers' effects show up.  Each image is a small scene -- a sky gradient with
a sun on top, a ground band with strokes at the bottom, and 1-3 objects of one
shape class standing on the ground, lit from above with shadows on the ground.

Why these properties (they matter for the science, ADA §2.2 and Fig 3):
- a canonical *up* (sky on top, ground below, light from above) makes a rotation
  leak measurable: a generator that draws upside-down scenes is visibly wrong;
- a *narrow, warm gamut* (earth, sand, rust, ochre, olive; no saturated blues or
  purples anywhere) makes a colour leak (hue rotation, luma flip) measurable;
- *discrete factors* (shape, object count, palette, ground-level bucket, sun
  side) give an offline FID detector known labels to learn, and *continuous
  factors* (positions, sizes, shades, hills, strokes) make the set rich enough
  that D can memorise 2k images but not 140k.

Every image depends only on (seed, global index, resolution): per-image random
numbers come from a counter-based hash (splitmix64 of seed, index and a
parameter id), so any slice can be generated independently, in any order, by
any process, with the same result.  Rendering is vectorised numpy over a chunk of
images, drawn directly at the target resolution with signed-distance shapes
whose edges are anti-aliased analytically (alpha = clip(0.5 - distance*R)), so
16 px images stay clean without a supersampling pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainer.data import procedural_b
from trainer.data.procedural_shapes import SHAPE_NAMES, ShapeSD, object_fields

# Bump when the generator's output changes: it keys the on-disk cache and
# dataset names, so FID statistics of an old version are never reused.
VERSION = "2"   # 2: BLAS-independent colour combination (bit-identical across CPUs)

PALETTE_NAMES = ("desert", "sunset", "savanna", "autumn", "dusk", "stone")

FACTORS: dict[str, int] = {
    "shape": len(SHAPE_NAMES),      # box, pyramid, boulder, tree, dome (all objects of an image share it)
    "count": 3,                     # number of objects - 1
    "palette": len(PALETTE_NAMES),
    "ground": 4,                    # horizon height bucket, 0 = highest horizon
    "sun": 2,                       # 0 = sun on the left, 1 = on the right
}

_GROUND_LO, _GROUND_HI = 0.55, 0.80   # horizon as a fraction of the height (from the top)

# Palettes in linear-ish RGB [0, 1]: sky top, sky horizon, sun, ground far,
# ground near, three object colours.  All hues lie in red..olive (~0-75 deg).
_PALETTES = np.array([
    # desert noon
    [[0.93, 0.84, 0.68], [0.99, 0.93, 0.80], [1.00, 0.97, 0.80], [0.86, 0.66, 0.42], [0.66, 0.45, 0.26],
     [0.76, 0.36, 0.20], [0.82, 0.62, 0.28], [0.50, 0.31, 0.18]],
    # sunset
    [[0.82, 0.42, 0.28], [0.98, 0.76, 0.46], [1.00, 0.90, 0.60], [0.46, 0.29, 0.18], [0.30, 0.18, 0.11],
     [0.58, 0.16, 0.10], [0.92, 0.52, 0.20], [0.38, 0.21, 0.12]],
    # savanna
    [[0.92, 0.86, 0.64], [0.99, 0.95, 0.80], [1.00, 0.98, 0.85], [0.76, 0.70, 0.36], [0.55, 0.50, 0.22],
     [0.44, 0.44, 0.15], [0.58, 0.36, 0.18], [0.72, 0.32, 0.15]],
    # autumn
    [[0.88, 0.76, 0.66], [0.97, 0.88, 0.76], [1.00, 0.93, 0.75], [0.62, 0.37, 0.21], [0.40, 0.22, 0.12],
     [0.92, 0.46, 0.10], [0.86, 0.70, 0.20], [0.66, 0.16, 0.12]],
    # dusk
    [[0.50, 0.33, 0.28], [0.90, 0.60, 0.40], [1.00, 0.82, 0.55], [0.33, 0.24, 0.17], [0.18, 0.12, 0.08],
     [0.82, 0.56, 0.30], [0.62, 0.26, 0.15], [0.95, 0.80, 0.50]],
    # sand and stone
    [[0.86, 0.83, 0.76], [0.96, 0.93, 0.85], [1.00, 0.97, 0.88], [0.80, 0.74, 0.60], [0.62, 0.54, 0.41],
     [0.50, 0.44, 0.37], [0.76, 0.62, 0.44], [0.56, 0.29, 0.20]],
], dtype=np.float32)

_TRUNK = np.array([0.34, 0.21, 0.12], dtype=np.float32)


@dataclass(frozen=True)
class Domain:
    """What differs between the procedural domains: palettes, shapes, layout ranges and the key of the draws."""

    palettes: np.ndarray
    trunk: np.ndarray
    shape_sd: ShapeSD | None        # None: domain a's shapes (procedural_shapes)
    salt: int
    ground: tuple[float, float]
    obj_w: tuple[float, float]
    obj_h: tuple[float, float]
    sun_r: tuple[float, float]


# Domain a is the default data (`procedural`); b is `procedural:domain=b` (procedural_b.py).  Both have FACTORS.
DOMAINS: dict[str, Domain] = {
    "a": Domain(_PALETTES, _TRUNK, None, 0, (_GROUND_LO, _GROUND_HI), (0.30, 0.52), (0.34, 0.62), (0.05, 0.085)),
    "b": Domain(procedural_b.PALETTES, procedural_b.TRUNK, procedural_b.shape_sd, procedural_b.SALT, procedural_b.GROUND,
                procedural_b.OBJ_W, procedural_b.OBJ_H, procedural_b.SUN_R),
}


def _domain(name: str) -> Domain:
    if name not in DOMAINS:
        raise ValueError(f"unknown procedural domain {name!r}; allowed: {', '.join(DOMAINS)}")
    return DOMAINS[name]


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class _Draw:
    """Per-image uniform numbers: u(k) is a pure function of (seed, index, k).

    A counter-based hash instead of a seeded stream means parameter k of image i
    never depends on how many numbers other images or other parameters drew,
    so chunking and parallel generation cannot change the data.
    """

    def __init__(self, seed: int, index: np.ndarray, salt: int = 0) -> None:
        with np.errstate(over="ignore"):
            self._seed_key = _mix(np.array([seed ^ salt], dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(0x632BE59BD9B4E019))
            self._idx = index.astype(np.uint64)

    def u(self, k: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            key = _mix(self._seed_key ^ (np.uint64(k + 1) * np.uint64(0xD6E8FEB86659FD93)))
            x = _mix(_mix(self._idx * np.uint64(0x9E3779B97F4A7C15) + key))
        return ((x >> np.uint64(40)).astype(np.float32) * np.float32(1.0 / (1 << 24)))

    def randint(self, k: int, n: int) -> np.ndarray:
        return np.minimum((self.u(k) * n).astype(np.int64), n - 1)

    def uniform(self, k: int, lo: float, hi: float) -> np.ndarray:
        return np.float32(lo) + np.float32(hi - lo) * self.u(k)


def _scene_params(seed: int, index: np.ndarray, dom: Domain) -> dict[str, np.ndarray]:
    """All random choices of a chunk of images, as [B] arrays (objects: [B, 3])."""
    d = _Draw(seed, index, dom.salt)
    p: dict[str, np.ndarray] = {}
    p["palette"] = d.randint(0, len(PALETTE_NAMES))
    p["shape"] = d.randint(1, len(SHAPE_NAMES))
    p["count"] = d.randint(2, 3) + 1
    p["ground"] = d.uniform(3, *dom.ground)
    p["sun"] = d.randint(4, 2)
    p["sun_x"] = np.where(p["sun"] == 1, d.uniform(5, 0.62, 0.9), d.uniform(5, 0.1, 0.38))
    p["sun_y"] = d.uniform(6, 0.08, 0.28) * p["ground"]
    p["sun_r"] = d.uniform(7, *dom.sun_r)
    p["light"] = d.uniform(8, 0.85, 1.08)                  # global exposure
    p["hill_amp"] = d.uniform(9, 0.0, 0.05)
    p["hill_freq"] = d.uniform(10, 0.4, 1.6)
    p["hill_phase"] = d.uniform(11, 0.0, 6.2832)
    for s in range(3):                                      # ground strokes (grass / furrows)
        p[f"stroke{s}_y"] = d.uniform(20 + 4 * s, 0.15, 0.95)
        p[f"stroke{s}_amp"] = d.uniform(21 + 4 * s, 0.0, 0.03)
        p[f"stroke{s}_freq"] = d.uniform(22 + 4 * s, 1.0, 5.0)
        p[f"stroke{s}_phase"] = d.uniform(23 + 4 * s, 0.0, 6.2832)
    n = p["count"].astype(np.float32)
    scale = 1.0 / (1.0 + 0.22 * (n - 1.0))                  # more objects -> smaller, but still large at 16 px
    cols = []
    for j in range(3):
        k = 40 + 10 * j
        base = (j + 0.5) / n                                # slots spread left to right, jittered
        cols.append({
            "x": np.clip(base + d.uniform(k, -0.5, 0.5) * (0.55 / n), 0.08, 0.92),
            "w": d.uniform(k + 1, *dom.obj_w) * scale,
            "h": d.uniform(k + 2, *dom.obj_h) * scale,
            "depth": (j + d.u(k + 3)) / 3.0,                # later slots are nearer: drawn last, lower
            "colour": d.randint(k + 4, 3),
            "shade": d.uniform(k + 5, 0.8, 1.15),
            "tex_freq": d.uniform(k + 6, 2.0, 7.0),
            "tex_phase": d.uniform(k + 7, 0.0, 6.2832),
        })
    for key in cols[0]:
        p[f"obj_{key}"] = np.stack([c[key] for c in cols], axis=1)
    return p


def _labels(p: dict[str, np.ndarray], dom: Domain) -> dict[str, np.ndarray]:
    lo, hi = dom.ground
    g = (p["ground"] - lo) / (hi - lo) * FACTORS["ground"]
    return {
        "shape": p["shape"].astype(np.int64),
        "count": (p["count"] - 1).astype(np.int64),
        "palette": p["palette"].astype(np.int64),
        "ground": np.clip(g.astype(np.int64), 0, FACTORS["ground"] - 1),
        "sun": p["sun"].astype(np.int64),
    }


def _background(p: dict[str, np.ndarray], u: np.ndarray, v: np.ndarray, res: int, shadow: np.ndarray,
                rem: np.ndarray, w: np.ndarray) -> None:
    """Add the weights of sky top/horizon, sun, ground far/near (basis colours 0-4) to w [B, K, R, R].

    rem: [B, R, R], how much of each pixel the objects left visible.
    """
    g0 = p["ground"][:, None, None]
    t = np.clip(v / g0, 0.0, 1.0)                                   # [B, R, 1] sky gradient
    du, dv = u - p["sun_x"][:, None, None], v - p["sun_y"][:, None, None]
    d2 = du * du + dv * dv                                          # squared distance: no sqrt needed
    r = p["sun_r"][:, None, None]
    sun = np.clip(0.5 - (d2 - r * r) * (0.5 * res / r), 0.0, 1.0)  # (d^2 - r^2) / 2r ~ d - r at the edge
    sun += 0.18 * np.clip(1.0 - d2 / (16.0 * r * r), 0.0, 1.0)     # glow
    np.minimum(sun, 1.0, out=sun)

    gy = ground_line(p, u)                                          # [B, 1, R]
    ground_a = np.clip((v - gy) * res + 0.5, 0.0, 1.0)
    tg = np.clip((v - g0) / (1.0 - g0), 0.0, 1.0)                   # [B, R, 1]
    gshade = 1.0 - 0.5 * shadow
    for s in range(3):                                              # strokes: grass, furrows
        y = g0 + (1.0 - g0) * p[f"stroke{s}_y"][:, None, None]
        y = y + p[f"stroke{s}_amp"][:, None, None] * np.sin(
            6.2832 * p[f"stroke{s}_freq"][:, None, None] * u + p[f"stroke{s}_phase"][:, None, None])
        gshade *= 1.0 - 0.3 * np.clip(0.5 - (np.abs(v - y) - 0.6 / res) * res, 0.0, 1.0)
    sky = (1.0 - ground_a) * rem
    w[:, 2] = sky * sun
    sky *= 1.0 - sun
    w[:, 0] = sky * (1.0 - t)
    w[:, 1] = sky * t
    ground = ground_a * rem * gshade
    w[:, 3] = ground * (1.0 - tg)
    w[:, 4] = ground * tg


def ground_line(p: dict[str, np.ndarray], u: np.ndarray) -> np.ndarray:
    """Horizon height (fraction from the top) at horizontal position u, per image: gentle hills."""
    amp = p["hill_amp"][:, None, None]
    return p["ground"][:, None, None] + amp * np.sin(
        6.2832 * p["hill_freq"][:, None, None] * u + p["hill_phase"][:, None, None])


# Weights are snapped to multiples of 2^-10 by adding and subtracting 2^13 (the
# float32 ulp in [2^13, 2^14) is 2^-10); colours are rounded to integers 0..255*1.08.
# A product is then an integer number of 2^-10 units below 1.6 * 276 * 1024, and
# nine of them stay below 2^24 units, so every product and partial sum is exact
# in float32.  The snap moves a pixel by at most ~0.15 grey levels per layer.
_SNAP = np.float32(2.0 ** 13)


def _snap_weights(w: np.ndarray) -> None:
    """Round the float32 weights in place to multiples of 2^-10 (they lie in [0, 2))."""
    w += _SNAP
    w -= _SNAP


def _render_chunk(seed: int, index: np.ndarray, res: int, dom: Domain) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Render a chunk as weights of K basis colours per image, then one batched matmul.

    Every layer's colour is a per-image constant times a scalar field (gradient,
    light, shadow), so all per-pixel work is single-channel and the RGB image is
    W^T C: 2.5x faster as blending RGB canvases layer by layer.

    The matmul goes to BLAS, whose kernels (and so summation order and FMA use)
    depend on the CPU: OpenBLAS's Haswell and Sandybridge kernels gave different
    pixels here.  So W and C are first snapped to grids on which every product
    and partial sum is exact in float32 (see _snap_weights): the result is then
    the same on any machine, in any summation order.
    """
    p = _scene_params(seed, index, dom)
    b = index.shape[0]
    coords = (np.arange(res, dtype=np.float32) + 0.5) / res
    u, v = coords[None, None, :], coords[None, :, None]
    slots, shadow = object_fields(p, u, v, res, ground_line, dom.shape_sd)
    w = np.zeros((b, 9, res, res), dtype=np.float32)
    rem = np.ones((b, res, res), dtype=np.float32)
    for j in (2, 1, 0):                                             # front to back
        alpha, light, trunk = slots[j]
        vis = alpha * rem * light
        w[:, 5 + j] = vis * (1.0 - trunk)
        w[:, 8] += vis * trunk
        rem *= 1.0 - alpha
    _background(p, u, v, res, shadow, rem, w)
    pal = dom.palettes[p["palette"]]                                   # [B, 8, 3]
    colours = np.empty((b, 9, 3), dtype=np.float32)
    colours[:, :5] = pal[:, :5]
    colours[:, 5:8] = np.take_along_axis(pal, 5 + p["obj_colour"][:, :, None], axis=1)
    colours[:, 8] = dom.trunk
    colours *= (p["light"] * 255.0)[:, None, None]
    _snap_weights(w)
    np.rint(colours, out=colours)
    img = np.einsum("bkp,bkc->bpc", w.reshape(b, 9, res * res), colours, optimize=True)
    img += 0.5
    np.clip(img, 0.0, 255.0, out=img)
    return img.astype(np.uint8).reshape(b, res, res, 3), _labels(p, dom)


def chunk_size(resolution: int) -> int:
    """Images per vectorised chunk: ~256k pixels keeps the temporaries cache-friendly."""
    return max(1, (1 << 18) // (resolution * resolution))


def generate(seed: int, start: int, count: int, resolution: int,
             domain: str = "a") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Images uint8 [count, R, R, 3] and int64 factor labels for global indices start..start+count-1 of DOMAIN.

    Deterministic in (seed, index, resolution): generate(s, 0, 10, r)[0][5] equals
    generate(s, 5, 1, r)[0][0].
    """
    if resolution < 4 or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two >= 4, got {resolution}")
    if start < 0 or count < 0:
        raise ValueError(f"start and count must be >= 0, got start={start} count={count}")
    dom = _domain(domain)
    images = np.empty((count, resolution, resolution, 3), dtype=np.uint8)
    labels = {k: np.empty(count, dtype=np.int64) for k in FACTORS}
    step = chunk_size(resolution)
    for lo in range(0, count, step):
        hi = min(count, lo + step)
        img, lab = _render_chunk(seed, np.arange(start + lo, start + hi, dtype=np.int64), resolution, dom)
        images[lo:hi] = img
        for k in FACTORS:
            labels[k][lo:hi] = lab[k]
    return images, labels


def labels(seed: int, start: int, count: int, domain: str = "a") -> dict[str, np.ndarray]:
    """The factor labels of images start..start+count-1 without rendering them (cheap; same as generate's)."""
    if start < 0 or count < 0:
        raise ValueError(f"start and count must be >= 0, got start={start} count={count}")
    dom = _domain(domain)
    return _labels(_scene_params(seed, np.arange(start, start + count, dtype=np.int64), dom), dom)


@dataclass(frozen=True)
class DomainSource:
    """One domain as the offline FID detector's factor source (trainer.metrics.offline_detector.FactorSource)."""

    domain: str
    FACTORS = FACTORS

    def generate(self, seed: int, start: int, count: int, resolution: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return generate(seed, start, count, resolution, self.domain)
