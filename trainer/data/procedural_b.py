"""Domain b of the procedural dataset (`data.source=procedural:domain=b`): a related but different world to transfer to.

Why (ADA §4.2, transfer learning): a source network is trained on the full set of
one domain and then fine-tuned on small subsets of another; at the CPU scales
both must be procedural.  Domain b keeps what makes the embedded data useful --
a canonical up (bright sky above, dark ground below, objects lit from above), a
narrow gamut, the same discrete factors (5 shapes x 3 counts x 6 palettes x 4
ground buckets x 2 sun sides) for the offline FID detector, the same sizes and
the same per-(seed, index) determinism -- and changes what the eye sees:

- a *cool* gamut (cyan, teal, steel and slate blue; no reds, oranges, yellows or
  greens), opposite domain a's warm one and as narrow, so a colour leak is measurable in it too;
- *other shapes*: spire, arch, pillar, crystal, mushroom, all with a clear top;
- *another layout*: a higher horizon (more ground), a smaller, higher sun, and
  taller, thinner objects.

Its random numbers are drawn from a salted key, so image i of domain b has no
relation to image i of domain a.  Rendering is domain a's (procedural.py).
"""

from __future__ import annotations

import numpy as np

from trainer.data.procedural_shapes import cover, ellipse_sd

SHAPE_NAMES = ("spire", "arch", "pillar", "crystal", "mushroom")
PALETTE_NAMES = ("glacier", "lagoon", "fjord", "slate", "arctic", "deep")
SALT = 0xB << 40               # above every run.seed (< 2^31): domain b's draws never coincide with domain a's
GROUND = (0.42, 0.62)          # horizon range (fraction of the height from the top); domain a: 0.55-0.80
OBJ_W, OBJ_H = (0.18, 0.32), (0.48, 0.80)
SUN_R = (0.035, 0.06)

# Same layout as domain a's palettes: sky top, sky horizon, sun, ground far, ground near, three object colours.
# Every hue lies in cyan..blue: the images' mean hues span ~185-225 deg (domain a's: ~20-50), so a random hue
# rotation moves them as far as it moves domain a's (leak_color's unit; a wider gamut made clean reals read 0.1).
PALETTES = np.array([
    # glacier
    [[0.62, 0.76, 0.90], [0.84, 0.92, 0.97], [0.95, 0.98, 1.00], [0.50, 0.64, 0.72], [0.30, 0.42, 0.52],
     [0.20, 0.34, 0.55], [0.55, 0.70, 0.80], [0.28, 0.48, 0.46]],
    # lagoon
    [[0.45, 0.72, 0.78], [0.78, 0.92, 0.90], [0.92, 1.00, 0.96], [0.18, 0.50, 0.52], [0.10, 0.32, 0.36],
     [0.12, 0.40, 0.30], [0.40, 0.66, 0.60], [0.20, 0.30, 0.50]],
    # fjord
    [[0.60, 0.78, 0.84], [0.84, 0.94, 0.96], [0.95, 1.00, 1.00], [0.26, 0.46, 0.52], [0.14, 0.28, 0.34],
     [0.20, 0.40, 0.44], [0.46, 0.64, 0.70], [0.16, 0.28, 0.40]],
    # slate
    [[0.40, 0.48, 0.66], [0.66, 0.74, 0.88], [0.90, 0.94, 1.00], [0.26, 0.32, 0.46], [0.14, 0.18, 0.28],
     [0.36, 0.44, 0.64], [0.56, 0.64, 0.82], [0.22, 0.34, 0.50]],
    # arctic
    [[0.74, 0.84, 0.92], [0.90, 0.95, 0.98], [1.00, 1.00, 1.00], [0.62, 0.72, 0.80], [0.44, 0.54, 0.64],
     [0.30, 0.42, 0.56], [0.56, 0.70, 0.82], [0.26, 0.38, 0.42]],
    # deep (night sea)
    [[0.20, 0.30, 0.48], [0.40, 0.54, 0.72], [0.85, 0.92, 1.00], [0.08, 0.18, 0.30], [0.04, 0.10, 0.18],
     [0.30, 0.44, 0.64], [0.20, 0.52, 0.56], [0.46, 0.52, 0.72]],
], dtype=np.float32)
TRUNK = np.array([0.22, 0.28, 0.34], dtype=np.float32)   # the mushroom's stem


def shape_sd(shape: int, du: np.ndarray, v: np.ndarray, by: np.ndarray, hw: np.ndarray, h: np.ndarray,
             res: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Signed distance of one of domain b's shapes (same contract as procedural_shapes' domain-a shapes)."""
    if shape == 0:      # spire: a tall thin triangle on a low plinth
        top, plinth = by - h, 0.12 * h
        slope = h / np.sqrt(h * h + hw * hw)
        tri = np.maximum(v - (by - plinth), (np.abs(du) - 0.6 * hw * (v - top) / h) * slope)
        base = np.maximum(np.abs(du) - hw, np.abs(v - (by - 0.5 * plinth)) - 0.5 * plinth)
        return np.minimum(tri, base), None
    if shape == 1:      # arch: a block with a round opening at the bottom
        block = np.maximum(np.abs(du) - hw, np.abs(v - (by - 0.5 * h)) - 0.5 * h)
        hole = ellipse_sd(du, v - by, 0.55 * hw, 0.55 * h)
        return np.maximum(block, -hole), None
    if shape == 2:      # pillar: a thin column under a wide flat cap
        col = np.maximum(np.abs(du) - 0.35 * hw, np.abs(v - (by - 0.5 * h)) - 0.5 * h)
        cap = np.maximum(np.abs(du) - hw, np.abs(v - (by - h + 0.08 * h)) - 0.08 * h)
        return np.minimum(col, cap), None
    if shape == 3:      # crystal: an upright diamond standing on its lower tip
        mid = by - 0.5 * h
        return (np.abs(du) / hw + np.abs(v - mid) / (0.5 * h) - 1.0) * np.minimum(hw, 0.5 * h) * 0.7, None
    # mushroom: a stem under a half-ellipse cap
    tw = np.maximum(0.25 * hw, 0.7 / res)
    stem = np.maximum(np.abs(du) - tw, np.abs(v - (by - 0.3 * h)) - 0.3 * h)
    cap_y = by - 0.55 * h
    cap = np.maximum(ellipse_sd(du, v - cap_y, hw, 0.45 * h), v - cap_y)
    return np.minimum(stem, cap), cover(stem, res) * (1.0 - cover(cap, res))
