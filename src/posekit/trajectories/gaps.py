"""``interpolate``: fill gaps of at most ``max_gap`` missing frames inside a trajectory.

A gap is a stretch of missing points of one node between two present points of the same
trajectory (same segment, no other trajectory in the slot in between). Gaps longer than
``max_gap`` frames, gaps before a trajectory's first point and after its last, and gaps
between two trajectories are never filled. Filled points are given ``fill_score`` (a low
score, DeepLabCut's 0.01 by default) and the status ``filled``.

``method="linear"`` draws a straight line across the gap; ``"spline"`` evaluates a cubic
spline through every present point of the trajectory's node (SciPy's ``CubicSpline``,
not-a-knot ends: DeepLabCut's ``spline`` filter, which fits one per body part), so a
curved path stays curved across the gap.
"""

from __future__ import annotations

import numpy as np

from posekit.errors import ConfigError
from posekit.trajectories.arrays import (
    Filtered,
    check_arrays,
    from_rows,
    neighbours,
    result,
    series,
)

#: Score given to filled points unless asked otherwise (DeepLabCut's spline filter's).
FILL_SCORE = 0.01
INTERPOLATIONS = ("linear", "spline")


def fillable(valid: np.ndarray, seg: np.ndarray, epoch: np.ndarray,
             max_gap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Missing values that lie in a gap of at most ``max_gap`` frames between two valid
    values of one unbroken trajectory (``(B, T)`` rows; ``seg`` / ``epoch`` per row).

    Returns:
        ``(mask, prev, next)``: the values to fill and, for each, the index of the valid
        value before and after its gap.
    """
    prev, nxt = neighbours(valid)
    ok = ~valid & (prev >= 0) & (nxt >= 0) & (nxt - prev - 1 <= max_gap)
    p, n = np.maximum(prev, 0), np.maximum(nxt, 0)
    same = ((np.take_along_axis(seg, p, 1) == np.take_along_axis(seg, n, 1))
            & (np.take_along_axis(epoch, p, 1) == np.take_along_axis(epoch, n, 1))
            & (np.take_along_axis(seg, p, 1) >= 0))
    return ok & same, prev, nxt


def _spline_fill(rows: np.ndarray, valid: np.ndarray, fill: np.ndarray, prev: np.ndarray,
                 seg: np.ndarray, epoch: np.ndarray) -> np.ndarray:
    """Values at ``fill`` from a cubic spline through the valid values of the same row and
    trajectory (that of the valid value ``prev`` before the gap); x and y rows of one node
    share knots and are fitted together."""
    from scipy.interpolate import CubicSpline

    out = np.full(rows.shape, np.nan)
    key = np.where(seg >= 0, seg * (int(epoch.max()) + 1) + epoch, -1)[::2]
    vp, fp, pp = valid[::2] & (key >= 0), fill[::2], prev[::2]
    for r in np.unique(np.nonzero(fp)[0]).tolist():
        knots = np.flatnonzero(vp[r])
        order = np.argsort(key[r, knots], kind="stable")
        knots, keys = knots[order], key[r, knots[order]]
        want = np.flatnonzero(fp[r])
        want_key = key[r, pp[r, want]]
        for k in np.unique(want_key).tolist():
            at = knots[np.searchsorted(keys, k, "left") : np.searchsorted(keys, k, "right")]
            these = want[want_key == k]
            spline = CubicSpline(at, rows[2 * r : 2 * r + 2, at].T)
            out[2 * r : 2 * r + 2, these] = spline(these).T
    return out


def interpolate(points: np.ndarray, scores: np.ndarray | None = None, max_gap: int = 5,
                method: str = "linear", fill_score: float = FILL_SCORE,
                segments: np.ndarray | None = None) -> Filtered:
    """Fill gaps of at most ``max_gap`` missing frames inside each trajectory.

    Args:
        points: ``(T, S, K, 2)`` positions (NaN: missing).
        scores: ``(T, S, K)`` point scores; filled points get ``fill_score``.
        max_gap: the longest gap filled, in frames (0: none).
        method: ``"linear"`` or ``"spline"`` (cubic spline through the node's present
            points of the trajectory).
        fill_score: score of a filled point.
        segments: ``(T, S)`` trajectory of each slot per frame (default: a slot is one).
    """
    if method not in INTERPOLATIONS:
        raise ConfigError(f"interpolation {method!r}: unknown; expected one of "
                          f"{', '.join(INTERPOLATIONS)}.")
    if int(max_gap) < 0:
        raise ConfigError(f"max_gap {max_gap}: expected a number of frames >= 0.")
    pts, sc, seg = check_arrays(points, scores, segments)
    ser = series(pts, seg)
    rows, segs, eps = ser.rows, ser.seg, ser.epoch
    valid = np.isfinite(rows)
    fill, prev, nxt = fillable(valid, segs, eps, int(max_gap))
    out = rows.copy()
    if fill.any():
        r, t = np.nonzero(fill)
        p, n = prev[r, t], nxt[r, t]
        if method == "linear":
            out[r, t] = rows[r, p] + (rows[r, n] - rows[r, p]) * (t - p) / (n - p)
        else:
            out[r, t] = _spline_fill(rows, valid, fill, prev, segs, eps)[r, t]
    new = from_rows(out, pts.shape)
    filled = np.isfinite(new).all(-1) & ~np.isfinite(pts).all(-1)
    return result(new, pts, np.where(filled, float(fill_score), sc))
