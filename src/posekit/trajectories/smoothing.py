"""Point-wise and window filters: ``pcutoff``, ``median`` and ``savgol`` (pure numpy/SciPy).

Windows never mix trajectories nor reach across a missing point: each run of consecutive
present points of one trajectory is filtered on its own (missing points stay missing and
never become numbers). Near the ends of a run:

* ``median``: the window is filled out by *point reflection* through the end point (the
  values ``2 x_end - x_{end - d}``: a straight line continues past the end, where
  DeepLabCut's ``medfilt`` pads with zeros and a mirror pad bends a ramp), and the end
  point itself follows Tukey's end-point rule: the median of the point, its smoothed
  neighbour and the straight line through its two smoothed neighbours. A ramp stays a
  ramp to the last frame, and a spike on the last frame is still removed.
* ``savgol``: the polynomial fitted to the first (last) window of the run gives the values
  of its first (last) half window, as SciPy's ``mode="interp"``; a run shorter than the
  window gets one polynomial over the whole run; a run of at most ``polyorder + 1``
  points is left as it is (the polynomial would pass through every point).
"""

from __future__ import annotations

import numpy as np

from posekit.errors import ConfigError
from posekit.trajectories.arrays import (
    Filtered,
    Runs,
    check_arrays,
    check_window,
    find_runs,
    from_rows,
    result,
    series,
)


def pcutoff(points: np.ndarray, scores: np.ndarray, threshold: float = 0.6,
            segments: np.ndarray | None = None) -> Filtered:
    """Points scored below ``threshold`` become missing (points without a score are kept).

    Args:
        points: ``(T, S, K, 2)`` positions (NaN: missing).
        scores: ``(T, S, K)`` point scores.
        threshold: DeepLabCut's ``pcutoff``.
        segments: unused (every point is judged on its own); accepted for a uniform call.
    """
    pts, sc, _ = check_arrays(points, scores, segments)
    with np.errstate(invalid="ignore"):
        low = sc < threshold
    out = np.where(low[..., None], np.nan, pts)
    return result(out, pts, sc)


def _reflected_windows(rows: np.ndarray, where: tuple[np.ndarray, ...],
                       half: int) -> np.ndarray:
    """``(N, 2 * half + 1)`` windows around the points ``where`` (row, frame, run first,
    run last), point-reflected through their run's ends (NaN where the reflection leaves
    the run)."""
    r, t, lo, hi = (a[:, None] for a in where)
    idx = t + np.arange(-half, half + 1)[None, :]
    mirror = np.where(idx > hi, 2 * hi - idx, np.where(idx < lo, 2 * lo - idx, idx))
    ok = (mirror >= lo) & (mirror <= hi)
    value = rows[r, np.clip(mirror, 0, rows.shape[1] - 1)]
    edge = rows[r, np.where(idx > hi, hi, lo)]
    value = np.where((idx > hi) | (idx < lo), 2 * edge - value, value)
    return np.where(ok, value, np.nan)


def _nan_median(windows: np.ndarray) -> np.ndarray:
    """Median of each row of ``windows`` ignoring NaN (NaN sort last)."""
    ordered = np.sort(windows, axis=1)
    count = np.isfinite(ordered).sum(axis=1)
    low = np.take_along_axis(ordered, (np.maximum(count, 1) - 1)[:, None] // 2, 1)[:, 0]
    high = np.take_along_axis(ordered, (count // 2)[:, None], 1)[:, 0]
    return np.where(count > 0, 0.5 * (low + high), np.nan)


def _tukey_ends(rows: np.ndarray, smooth: np.ndarray, runs: Runs) -> None:
    """Tukey's end-point rule, in place on ``smooth``: the first (last) point of each run
    of at least 3 points becomes the median of itself, its smoothed neighbour and the
    straight line through its two smoothed neighbours."""
    long = runs.length >= 3
    r = runs.row[long]
    for t, step in ((runs.first[long], 1), (runs.last[long], -1)):
        near, far = smooth[r, t + step], smooth[r, t + 2 * step]
        trio = np.stack([rows[r, t], near, 2.0 * near - far], axis=1)
        smooth[r, t] = np.median(trio, axis=1)


def median(points: np.ndarray, scores: np.ndarray | None = None, window: int = 5,
           segments: np.ndarray | None = None) -> Filtered:
    """Running median over ``window`` frames (odd) of each trajectory's runs of present
    points; the run ends as the module docstring says.

    Args:
        points: ``(T, S, K, 2)`` positions (NaN: missing).
        scores: ``(T, S, K)`` point scores (passed through).
        window: frames, odd.
        segments: ``(T, S)`` trajectory of each slot per frame (default: a slot is one).
    """
    from scipy.signal import medfilt

    pts, sc, seg = check_arrays(points, scores, segments)
    half = check_window(window, pts.shape[0]) // 2
    ser = series(pts, seg)
    rows = ser.rows
    runs = find_runs(ser.present, ser.seg)
    out = rows.copy()
    near = runs.near_ends(half)
    full = runs.inside.copy()
    full[near[0], near[1]] = False
    zeroed = np.where(runs.inside, rows, 0.0)
    for r in np.flatnonzero(full.any(axis=1)).tolist():
        out[r, full[r]] = medfilt(zeroed[r], 2 * half + 1)[full[r]]
    if len(near[0]):
        with np.errstate(invalid="ignore"):
            out[near[0], near[1]] = _nan_median(_reflected_windows(rows, near, half))
    _tukey_ends(rows, out, runs)
    return result(from_rows(out, pts.shape), pts, sc)


def _savgol_edges(rows: np.ndarray, out: np.ndarray, runs: Runs, window: int,
                  polyorder: int) -> None:
    """In place on ``out``: points within half a window of their run's end, and every point
    of runs shorter than the window, from the polynomial fitted to the nearest window (or
    the whole run); runs of at most ``polyorder + 1`` points are left as they are."""
    from scipy.signal import savgol_coeffs

    half = window // 2
    r, t, lo, hi = runs.near_ends(half)
    length = hi - lo + 1
    keep = length > polyorder + 1
    r, t, lo, hi, length = r[keep], t[keep], lo[keep], hi[keep], length[keep]
    first = np.where(t - lo < half, lo, np.maximum(hi - window + 1, lo))
    first = np.where(length < window, lo, first)
    span = np.minimum(length, window)  # points the polynomial is fitted to
    key = span * window + (t - first)  # (points fitted, position among them)
    order = np.argsort(key, kind="stable")
    keys, begins = np.unique(key[order], return_index=True)
    for k, a, b in zip(keys.tolist(), begins.tolist(), [*begins[1:].tolist(), len(order)],
                       strict=True):
        width, j = divmod(k, window)
        sel = order[a:b]
        coef = savgol_coeffs(width, polyorder, pos=j, use="dot")
        idx = first[sel][:, None] + np.arange(width)[None, :]
        out[r[sel], t[sel]] = rows[r[sel][:, None], idx] @ coef


def savgol(points: np.ndarray, scores: np.ndarray | None = None, window: int = 7,
           polyorder: int = 2, segments: np.ndarray | None = None) -> Filtered:
    """Savitzky–Golay smoothing (a polynomial of ``polyorder`` fitted over ``window``
    frames, odd) of each trajectory's runs of present points; run ends as the module
    docstring says. Polynomials up to ``polyorder`` pass through unchanged.

    Args:
        points: ``(T, S, K, 2)`` positions (NaN: missing).
        scores: ``(T, S, K)`` point scores (passed through).
        window: frames, odd, larger than ``polyorder``.
        polyorder: degree of the local polynomial.
        segments: ``(T, S)`` trajectory of each slot per frame (default: a slot is one).
    """
    from scipy.ndimage import correlate1d
    from scipy.signal import savgol_coeffs

    pts, sc, seg = check_arrays(points, scores, segments)
    window = check_window(window, pts.shape[0], "savgol window")
    if not 0 <= int(polyorder) < window:
        raise ConfigError(f"polyorder {polyorder}: expected 0 <= polyorder < window "
                          f"({window}). Use a smaller order or a longer window.")
    ser = series(pts, seg)
    rows = ser.rows
    runs = find_runs(ser.present, ser.seg)
    out = rows.copy()
    half = window // 2
    coef = savgol_coeffs(window, int(polyorder), use="dot")
    mid = correlate1d(np.where(runs.inside, rows, 0.0), coef, axis=1, mode="nearest")
    near = runs.near_ends(half)
    full = runs.inside.copy()
    full[near[0], near[1]] = False
    out[full] = mid[full]
    _savgol_edges(rows, out, runs, window, int(polyorder))
    return result(from_rows(out, pts.shape), pts, sc)
