"""``kalman``: a constant-velocity Kalman smoother whose measurement noise follows the scores.

Each coordinate of each node of a trajectory is a position and a velocity. Between frames
the velocity changes by a random acceleration of standard deviation ``process_sd``
(px/frame², the discrete white-noise-acceleration model: ``Q = process_sd² G Gᵀ`` with
``G = (1/2, 1)``). A point is a measurement of the position whose standard deviation is
``measurement_sd / score`` (px; scores are clipped to ``[0.01, 1]``, a point without a
score counts as score 1), so a low-score point pulls the estimate little. The forward
Kalman filter is followed by the backward Rauch–Tung–Striebel pass; the output at each
present point is the smoothed position, with its posterior variance.

When ``measurement_sd`` and/or ``process_sd`` are not given they are fitted per node (x,
y and every track together) by maximum likelihood: the innovations likelihood of the
filter is evaluated over a grid of the ratio ``process² / measurement²`` (the measurement
scale has a closed form given the ratio), then over a finer grid around the best. Nodes
with fewer than :data:`MIN_FIT_POINTS` usable innovations use the estimate of all nodes.

A trajectory starts afresh at each segment (position at its first point, velocity
unknown); the smoother never carries information across a change of segment. Long videos
are filtered as overlapping blocks run as one batch (each block starts early and ends late
by a margin set from the fitted model's memory); the result matches one pass over the
whole video to well below a thousandth of a pixel (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posekit.errors import ConfigError
from posekit.trajectories.arrays import Filtered, check_arrays, from_rows, result, series, to_rows

#: Scores are clipped to [MIN_SCORE, 1] before they set a point's measurement noise.
MIN_SCORE = 0.01
#: Variance (px²/frame²) of the unknown velocity at a trajectory's first point.
VELOCITY_PRIOR = 1e8
#: Ratios process² / measurement² tried first when fitting (then a finer grid).
RATIO_GRID = 10.0 ** np.arange(-8.0, 2.01, 0.5)
#: Frames of each of the windows the noise is fitted on, and how many windows at most.
FIT_WINDOW, FIT_WINDOWS = 2048, 8
#: Fewest innovations a node needs for its own fit.
MIN_FIT_POINTS = 20
#: Frames per block of the batched smoother, and the largest margin around a block.
BLOCK, MAX_MARGIN = 4096, 4096
#: Values held per batch of rows (memory bound of the stored filter states).
BATCH_VALUES = 2_000_000


@dataclass(frozen=True)
class KalmanNoise:
    """Noise scales per node.

    Attributes:
        measurement_sd: ``(K,)`` px, the error of a point scored 1.
        process_sd: ``(K,)`` px/frame², the random acceleration per frame.
    """

    measurement_sd: np.ndarray
    process_sd: np.ndarray


def score_weights(scores: np.ndarray) -> np.ndarray:
    """Measurement variance multipliers ``1 / score²`` (scores clipped to [0.01, 1]; no
    score counts as 1)."""
    s = np.clip(np.nan_to_num(scores, nan=1.0), MIN_SCORE, 1.0)
    return 1.0 / s**2


# ------------------------------------------------------------------ filter and smoother
def _forward(y: np.ndarray, w: np.ndarray, obs: np.ndarray, restart: np.ndarray,
             q: np.ndarray, r: np.ndarray, store: bool
             ) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """Kalman filter of time-major rows ``(W, R)``.

    Returns ``(sums, states)``: ``sums (3, R)`` = innovations counted, sum of ``log F`` and
    sum of ``v² / F`` (the first two observations after a fresh start, whose variance is
    the diffuse start's, are not counted); ``states`` = filtered ``[a0, a1, p00, p01,
    p11]`` per frame (``(W, R)`` each) when ``store``.
    """
    n_t, n_r = y.shape
    a0, a1 = np.full(n_r, np.nan), np.zeros(n_r)
    p00, p01, p11 = np.zeros(n_r), np.zeros(n_r), np.zeros(n_r)
    seen = np.zeros(n_r, np.int64)
    sums = np.zeros((3, n_r))
    states = [np.empty((n_t, n_r)) for _ in range(5)] if store else None
    q2, q4 = q / 2.0, q / 4.0
    for i in range(n_t):
        a0 = a0 + a1
        p00 = p00 + 2.0 * p01 + p11 + q4
        p01 = p01 + p11 + q2
        p11 = p11 + q
        noise = r * w[i]
        f = p00 + noise
        v = y[i] - a0
        upd = obs[i] & ~restart[i]
        count = upd & (seen >= 2)
        sums[0] += count
        sums[1] += np.where(count, np.log(f), 0.0)
        sums[2] += np.where(count, v * v / f, 0.0)
        k0, k1 = p00 / f, p01 / f
        a0 = np.where(upd, a0 + k0 * v, a0)
        a1 = np.where(upd, a1 + k1 * v, a1)
        p11 = np.where(upd, p11 - k1 * p01, p11)
        p01 = np.where(upd, p01 * noise / f, p01)
        p00 = np.where(upd, p00 * noise / f, p00)
        fresh = restart[i]
        a0 = np.where(fresh, y[i], a0)
        a1 = np.where(fresh, 0.0, a1)
        p00 = np.where(fresh, noise, p00)
        p01 = np.where(fresh, 0.0, p01)
        p11 = np.where(fresh, VELOCITY_PRIOR, p11)
        seen = np.where(fresh, 1, seen + upd)
        if states is not None:
            for out, value in zip(states, (a0, a1, p00, p01, p11), strict=True):
                out[i] = value
    return sums, states


def _backward(states: list[np.ndarray], restart: np.ndarray,
              q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rauch–Tung–Striebel pass over filtered ``states``: smoothed position and its
    variance ``(W, R)``; nothing flows back across a fresh start."""
    f0, f1, f00, f01, f11 = states
    n_t = f0.shape[0]
    pos, var = np.empty_like(f0), np.empty_like(f0)
    x0, x1, s00, s01, s11 = f0[-1], f1[-1], f00[-1], f01[-1], f11[-1]
    pos[-1], var[-1] = x0, s00
    q2, q4 = q / 2.0, q / 4.0
    for i in range(n_t - 2, -1, -1):
        b0, b1, b00, b01, b11 = f0[i], f1[i], f00[i], f01[i], f11[i]
        m00 = b00 + 2.0 * b01 + b11 + q4
        m01 = b01 + b11 + q2
        m11 = b11 + q
        det = m00 * m11 - m01 * m01
        i00, i01, i11 = m11 / det, -m01 / det, m00 / det
        c00, c10 = b00 + b01, b01 + b11  # P A' = [[c00, b01], [c10, b11]]
        j00, j01 = c00 * i00 + b01 * i01, c00 * i01 + b01 * i11
        j10, j11 = c10 * i00 + b11 * i01, c10 * i01 + b11 * i11
        d0, d1 = x0 - (b0 + b1), x1 - b1
        e00, e01, e11 = s00 - m00, s01 - m01, s11 - m11
        t00, t01 = j00 * e00 + j01 * e01, j00 * e01 + j01 * e11
        t10, t11 = j10 * e00 + j11 * e01, j10 * e01 + j11 * e11
        cut = restart[i + 1] | ~np.isfinite(x0)
        x0 = np.where(cut, b0, b0 + j00 * d0 + j01 * d1)
        x1 = np.where(cut, b1, b1 + j10 * d0 + j11 * d1)
        s00 = np.where(cut, b00, b00 + t00 * j00 + t01 * j01)
        s01 = np.where(cut, b01, b01 + t00 * j10 + t01 * j11)
        s11 = np.where(cut, b11, b11 + t10 * j10 + t11 * j11)
        pos[i], var[i] = x0, s00
    return pos, var


def _first_seen(obs: np.ndarray) -> np.ndarray:
    """``(W, R)``: the first observation of each column of ``obs``."""
    before = np.zeros_like(obs)
    before[1:] = np.maximum.accumulate(obs, axis=0)[:-1]
    return obs & ~before


def _windows(a: np.ndarray, starts: np.ndarray, width: int, front: int, fill: float | bool
             ) -> np.ndarray:
    """``(width, R * n)``: time-major windows of ``a (T, R)`` beginning ``front`` frames
    before each of ``starts`` (padded with ``fill``)."""
    pad = np.pad(a, ((front, width), (0, 0)), constant_values=fill)
    return np.concatenate([pad[s : s + width] for s in starts.tolist()], axis=1)


def _smooth(y: np.ndarray, w: np.ndarray, obs: np.ndarray, restart: np.ndarray,
            q: np.ndarray, r: np.ndarray, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed positions and variances of time-major rows ``(T, R)`` (blocks of
    :data:`BLOCK` frames with ``margin`` frames on each side when the video is longer)."""
    n_t, n_r = y.shape
    pos, var = np.full((n_t, n_r), np.nan), np.full((n_t, n_r), np.nan)
    block = max(BLOCK, 4 * margin)
    single = n_t <= block + 2 * margin
    starts = np.array([0]) if single else np.arange(0, n_t, block)
    width = n_t if single else block + 2 * margin
    front = 0 if single else margin
    per_batch = max(1, BATCH_VALUES // (width * len(starts)))
    for lo in range(0, n_r, per_batch):
        cols = slice(lo, min(n_r, lo + per_batch))
        ys, ws = (_windows(a[:, cols], starts, width, front, np.nan) for a in (y, w))
        seen = _windows(obs[:, cols], starts, width, front, False)
        fresh = _windows(restart[:, cols], starts, width, front, False) | _first_seen(seen)
        qq, rr = (np.tile(a[cols], len(starts)) for a in (q, r))
        _, states = _forward(ys, ws, seen, fresh, qq, rr, store=True)
        p, v = _backward(states, fresh, qq)
        width_out = n_t if single else block
        m = cols.stop - cols.start
        p = p[front : front + width_out].reshape(width_out, len(starts), m)
        v = v[front : front + width_out].reshape(width_out, len(starts), m)
        pos[:, cols] = p.transpose(1, 0, 2).reshape(-1, m)[:n_t]
        var[:, cols] = v.transpose(1, 0, 2).reshape(-1, m)[:n_t]
    return pos, var


def memory(q: np.ndarray, r: np.ndarray, tol: float = 1e-9) -> int:
    """Frames after which the steady-state filter has forgotten its start to ``tol``
    (the largest over the models ``(q, r)``), doubled for gaps, within [64, MAX_MARGIN]."""
    q, r = np.atleast_1d(q), np.atleast_1d(r)
    p = np.zeros((len(q), 2, 2))
    a = np.array([[1.0, 1.0], [0.0, 1.0]])
    g = np.array([0.5, 1.0])
    noise = q[:, None, None] * np.outer(g, g)
    for _ in range(400):
        pred = a @ p @ a.T + noise
        gain = pred[:, :, 0] / (pred[:, 0, 0] + r)[:, None]
        p = pred - gain[:, :, None] * pred[:, None, 0, :]
    closed = (np.eye(2) - gain[:, :, None] * np.array([1.0, 0.0])[None, None, :]) @ a
    rho = float(np.abs(np.linalg.eigvals(closed)).max())
    if not 0.0 < rho < 1.0:
        return MAX_MARGIN
    return int(np.clip(2 * np.ceil(np.log(tol) / np.log(rho)), 64, MAX_MARGIN))


# ------------------------------------------------------------------ noise fitting
def _ratio_sums(y: np.ndarray, w: np.ndarray, obs: np.ndarray, restart: np.ndarray,
                ratios: np.ndarray) -> np.ndarray:
    """``(3, G, R)`` innovation sums of the filter with measurement scale 1 and process
    variance ``ratios[g, row]`` (``(G, R)``) on time-major rows ``(W, R)``."""
    g = ratios.shape[0]
    tile = (lambda a: np.tile(a, (1, g)))
    sums, _ = _forward(tile(y), tile(w), tile(obs), tile(restart), ratios.ravel(),
                       np.ones(ratios.size), store=False)
    return sums.reshape(3, g, -1)


def _log_likelihood(sums: np.ndarray, ratios: np.ndarray, measurement: float | None,
                    process: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Log-likelihood and measurement variance of each ratio from the sums ``(3, G, K)``
    of the filter run with measurement scale 1."""
    n, log_f, v2f = sums
    n_safe = np.maximum(n, 1.0)
    if measurement is not None:
        r = np.full(ratios.shape, float(measurement) ** 2)
    elif process is not None:
        r = float(process) ** 2 / ratios
    else:
        r = np.maximum(v2f / n_safe, 1e-12)
    return -0.5 * (log_f + n * np.log(r) + v2f / r), r


def _pool(sums: np.ndarray, node: np.ndarray, k: int) -> np.ndarray:
    """``(3, G, K)`` sums per node, nodes with too few innovations given all nodes' sums."""
    out = np.zeros(sums.shape[:2] + (k,))
    np.add.at(out, (slice(None), slice(None), node), sums)
    few = out[0, 0] < MIN_FIT_POINTS
    out[:, :, few] = out.sum(axis=2, keepdims=True)
    return out


def _fit_windows(n_t: int) -> tuple[np.ndarray, int]:
    """Starts and width of the windows the noise is fitted on."""
    if n_t <= FIT_WINDOW * FIT_WINDOWS:
        return np.array([0]), n_t
    return np.linspace(0, n_t - FIT_WINDOW, FIT_WINDOWS).astype(np.int64), FIT_WINDOW


def fit_noise(y: np.ndarray, w: np.ndarray, obs: np.ndarray, restart: np.ndarray,
              node: np.ndarray, k: int, measurement_sd: float | None = None,
              process_sd: float | None = None) -> KalmanNoise:
    """Maximum-likelihood noise scales per node from time-major rows ``(T, R)`` (``node``:
    each row's node); given scales are kept."""
    if measurement_sd is not None and process_sd is not None:
        return KalmanNoise(np.full(k, float(measurement_sd)), np.full(k, float(process_sd)))
    starts, width = _fit_windows(y.shape[0])
    ys, ws = (_windows(a, starts, width, 0, np.nan) for a in (y, w))
    seen = _windows(obs, starts, width, 0, False)
    fresh = _windows(restart, starts, width, 0, False) | _first_seen(seen)
    rows_node = np.tile(node, len(starts))
    grid = np.broadcast_to(RATIO_GRID[:, None], (len(RATIO_GRID), k))
    for _ in range(2):
        sums = _pool(_ratio_sums(ys, ws, seen, fresh, grid[:, rows_node]), rows_node, k)
        ll, r = _log_likelihood(sums, grid, measurement_sd, process_sd)
        best = np.argmax(np.where(np.isfinite(ll), ll, -np.inf), axis=0)
        ratio = grid[best, np.arange(k)]
        r_best = r[best, np.arange(k)]
        grid = ratio[None, :] * 10.0 ** np.linspace(-0.5, 0.5, 11)[:, None]
    if process_sd is not None:
        q = np.full(k, float(process_sd) ** 2)
    else:
        q = ratio * r_best
    return KalmanNoise(np.sqrt(r_best), np.sqrt(q))


# ------------------------------------------------------------------ the filter
def kalman(points: np.ndarray, scores: np.ndarray | None = None,
           measurement_sd: float | None = None, process_sd: float | None = None,
           segments: np.ndarray | None = None) -> Filtered:
    """Constant-velocity Kalman smoother of every trajectory (see the module docstring).

    Args:
        points: ``(T, S, K, 2)`` positions (NaN: missing; missing points stay missing).
        scores: ``(T, S, K)`` point scores (measurement sd = ``measurement_sd / score``).
        measurement_sd: px, the error of a point scored 1; None: fitted per node.
        process_sd: px/frame², random acceleration per frame; None: fitted per node.
        segments: ``(T, S)`` trajectory of each slot per frame (default: a slot is one).

    Returns:
        Smoothed points with ``variance`` (px² per coordinate, larger where scores are
        low) and ``fitted["kalman"]``: ``measurement_sd`` / ``process_sd`` per node and
        whether each was ``fitted``.
    """
    for name, value in (("measurement_sd", measurement_sd), ("process_sd", process_sd)):
        if value is not None and not float(value) > 0:
            raise ConfigError(f"{name} {value}: expected a positive number of pixels, or "
                              "none to fit it to the data.")
    pts, sc, seg = check_arrays(points, scores, segments)
    _, s, k, _ = pts.shape
    ser = series(pts, seg)
    rows, obs, restart = ser.rows.T, ser.present.T, ser.fresh_starts().T  # time-major
    w = np.repeat(to_rows(score_weights(sc)), 2, axis=0).T
    node = np.tile(np.repeat(np.arange(k), 2), s)
    noise = fit_noise(rows, w, obs, restart, node, k, measurement_sd, process_sd)
    q, r = noise.process_sd**2, noise.measurement_sd**2
    typical = np.nanmedian(np.where(obs, w, np.nan)) if obs.any() else 1.0
    margin = memory(q, r * typical)
    pos, var = _smooth(rows, w, obs, restart, q[node], r[node], margin)
    out = np.where(obs, pos, rows).T
    variance = from_rows(np.where(obs, var, np.nan).T[::2], pts.shape[:3])
    fitted = {"measurement_sd": noise.measurement_sd.round(6).tolist(),
              "process_sd": noise.process_sd.round(6).tolist(),
              "fitted": {"measurement_sd": measurement_sd is None,
                         "process_sd": process_sd is None}}
    return result(from_rows(out, pts.shape), pts, sc, variance, {"kalman": fitted})
