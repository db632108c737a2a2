"""How animals look: identity colours, grey levels and marking patterns.

Every identity differs from the others in two ways at once, so that identity models can learn
them in colour and in grayscale alike: a base colour (RGB) or grey level (grayscale), and a
marking pattern painted on the thick parts of the body (bands, stripes, spots...). Patterns
are functions of a pixel's position along its body segment (``t`` in [0, 1], parent end to
child end) and across it (``v`` in [-1, 1], left edge to right edge).
"""

from __future__ import annotations

import numpy as np

# name, RGB colour, grey level. The first few are the most different from one another.
IDENTITY_STYLES: tuple[tuple[str, tuple[int, int, int], int], ...] = (
    ("red", (215, 60, 50), 225),
    ("blue", (60, 110, 230), 130),
    ("yellow", (225, 205, 60), 180),
    ("green", (60, 180, 70), 245),
    ("magenta", (200, 70, 200), 155),
    ("cyan", (70, 205, 215), 205),
    ("orange", (235, 135, 40), 115),
    ("white", (235, 235, 235), 195),
)
MAX_IDENTITIES = len(IDENTITY_STYLES)
PLAIN_RGB = (205, 180, 150)  # every animal when identities are off
PLAIN_GREY = 200
MARK_DARKNESS = 0.6  # markings multiply the fur brightness by (1 - MARK_DARKNESS)


def identity_colour(identity: int, rgb: bool) -> np.ndarray:
    """Base colour ``(C,)`` float32 in grey levels; ``identity < 0`` gives the plain colour."""
    if identity < 0:
        value = PLAIN_RGB if rgb else (PLAIN_GREY,)
    else:
        _, colour, grey = IDENTITY_STYLES[identity]
        value = colour if rgb else (grey,)
    return np.asarray(value, dtype=np.float32)


def marking(
    pattern: int, t: np.ndarray, v: np.ndarray, seg_len: np.ndarray, radius: np.ndarray
) -> np.ndarray:
    """Marking strength in [0, 1] for identity ``pattern`` (``<= 0``: unmarked).

    Args:
        pattern: Identity index; 0 and negative values have no marking.
        t: Position along the segment, 0 at the parent end, 1 at the child end.
        v: Signed position across the segment in units of its half-width (left is negative).
        seg_len: Segment length in pixels (broadcastable to ``t``).
        radius: Local half-width in pixels (broadcastable to ``t``).

    Returns:
        Array shaped like ``t``: 1 where the fur is marked, 0 elsewhere.
    """
    if pattern <= 0:
        return np.zeros_like(t)
    along = (t - 0.5) * seg_len  # pixels from the segment middle
    kind = pattern % 8
    if kind == 1:  # one transverse band across the middle of each thick segment
        m = np.abs(along) < 0.55 * radius
    elif kind == 2:  # a stripe along the back
        m = np.abs(v) < 0.35
    elif kind == 3:  # a pair of spots on each thick segment
        m = along**2 + ((np.abs(v) - 0.5) * radius) ** 2 < (0.33 * radius) ** 2
    elif kind == 4:  # right flank dark
        m = v > 0.15
    elif kind == 5:  # band and stripe (a cross)
        m = (np.abs(along) < 0.45 * radius) | (np.abs(v) < 0.3)
    elif kind == 6:  # checker: front-left and back-right quarters
        m = (t < 0.5) ^ (v > 0.0)
    else:  # dark ends of each thick segment
        m = np.abs(t - 0.5) > 0.3
    return m.astype(t.dtype)
