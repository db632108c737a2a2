"""The ``fitting`` criterion: how far each point lies from an ARMA model of its trajectory.

DeepLabCut's ``fitting`` fits statsmodels' SARIMAX of orders ``(ar_degree, 0, ma_degree)``
(3, 0, 1 by default) to each body part's x and y separately, with points scored below
``p_bound`` left out as missing, and measures each point's distance from the model's
one-step-ahead prediction. Maximum-likelihood fitting takes seconds per series (≈ 9 s for
10,000 frames on one core), far longer than the video lasts, and the one-step prediction
made just after a glitch is pulled onto the glitch, so the frame after it is flagged too.

posekit keeps the model and its orders and changes how it is fitted and read:

1. **Robust screen.** A point more than ``screen_px`` (default ``epsilon / 2``) from the
   running median of its own coordinates over ``window`` frames (default 15) is set
   aside for the model, as a low-score point is: a glitch or an excursion shorter than
   half the window cannot pull the model towards itself. The running median follows a
   real sudden move (a step), so those points are kept.
2. **Fast estimation.** The ARMA(p, q) coefficients come from Hannan–Rissanen
   regressions (a long autoregression for the innovations, then least squares on lags
   and lagged innovations) on the kept points of each series (median-centred), all
   series at once. The innovation variance is the squared robust scale (1.4826 × MAD)
   of the regression residuals. The AR part is shrunk to a spectral radius of at most
   0.999 and the MA coefficients clipped to ±0.95, so forecasts across gaps stay bounded.
3. **Exact Kalman filtering, both ways.** The model in state-space form (the Harvey
   representation statsmodels uses, no measurement error) is filtered forwards and,
   with the same coefficients (a stationary ARMA is time-reversible), backwards, giving
   for every frame a prediction from the past and one from the future with their
   variances. All series and overlapping blocks of frames run as one batch, so the time
   loop is a few thousand steps however long the video is; each block starts
   ``overlap`` frames early (approximately diffuse start, variance 1e6, at its first
   observation) so it has forgotten its start.
4. **Deviation.** Where the two predictions agree (their difference within the 99 %
   ellipse of their summed variances), the reference is their precision-weighted mean
   (the model's interpolation); where they disagree — a real move lies between past and
   future — it is the one nearer the point. The deviation is the point's distance (x and
   y together) from the reference: a glitch or a drift fits neither side, a real sudden
   move fits its future. A point is scored only where both sides' predictions have a
   standard deviation of at most ``2 * epsilon`` (not at the very start, not after a
   long gap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Frames per block of the batched Kalman filter (plus ``overlap`` on each side).
BLOCK = 2048
#: Variance of the approximately diffuse start (statsmodels' default as well).
DIFFUSE_VARIANCE = 1e6
#: Largest |MA coefficient| and AR spectral radius used.
MAX_MA, MAX_AR_RADIUS = 0.95, 0.999
#: Smallest innovation variance (px²): a coordinate that never moves still gets a model.
MIN_SIGMA2 = 1e-6
#: Order of the long autoregression of the Hannan–Rissanen first step.
LONG_AR = 8
_MAD_TO_SD = 1.4826
#: 99 % point of the chi-square distribution with 2 degrees of freedom.
AGREE_CHI2 = 9.21


@dataclass(frozen=True)
class ArmaParams:
    """Coefficients of ``B`` ARMA(p, q) models (statsmodels' sign convention:
    ``y_t = sum(ar_i y_{t-i}) + e_t + sum(ma_j e_{t-j})``).

    Attributes:
        ar: ``(B, p)`` autoregressive coefficients.
        ma: ``(B, q)`` moving-average coefficients.
        sigma2: ``(B,)`` innovation variance (NaN where the series was too short to fit).
    """

    ar: np.ndarray
    ma: np.ndarray
    sigma2: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        """``(B,)`` whether each series could be fitted."""
        return np.isfinite(self.sigma2) & (self.sigma2 > 0)


@dataclass(frozen=True)
class FitDeviation:
    """The fitting criterion for ``(T, S, K)`` points.

    Attributes:
        deviation: distance in pixels from the model's prediction (NaN: not scored —
            missing, low score, series too short, or no usable prediction).
        z: the deviation divided by the prediction's standard deviation.
        screened: points set aside by the robust screen (judged against the model's
            interpolation from both sides).
    """

    deviation: np.ndarray
    z: np.ndarray
    screened: np.ndarray


# ------------------------------------------------------------------ running median
def running_median(y: np.ndarray, window: int) -> np.ndarray:
    """Centred running median of each row of ``y (B, T)`` over ``window`` frames, ignoring
    NaN (NaN where a window holds no value). Windows are cut at the ends."""
    from scipy.ndimage import median_filter, uniform_filter1d

    y = np.asarray(y, np.float64)
    half = int(window) // 2
    if y.shape[-1] == 0 or half == 0:
        return y.copy()
    width = 2 * half + 1
    nan = np.isnan(y)
    out = median_filter(np.where(nan, 0.0, y), size=(1, width), mode="nearest")
    holes = uniform_filter1d(nan.astype(np.float64), width, axis=1, mode="constant", cval=1.0)
    redo = np.argwhere(holes > 0.5 / width)  # windows holding NaN (or cut at an end)
    if len(redo):
        pad = np.pad(y, ((0, 0), (half, half)), constant_values=np.nan)
        windows = np.lib.stride_tricks.sliding_window_view(pad, width, axis=1)
        for lo in range(0, len(redo), 65536):  # bounded memory
            rows, cols = redo[lo : lo + 65536].T
            sel = np.sort(windows[rows, cols], axis=1)  # NaN sort last
            count = (~np.isnan(sel)).sum(axis=1)
            low = np.take_along_axis(sel, np.maximum(count - 1, 0)[:, None] // 2, 1)[:, 0]
            high = np.take_along_axis(sel, (count // 2)[:, None], 1)[:, 0]
            out[rows, cols] = np.where(count > 0, 0.5 * (low + high), np.nan)
    return out


# ------------------------------------------------------------------ estimation
def _row_median(y: np.ndarray) -> np.ndarray:
    """Median of each row ignoring NaN (0 for a row without values)."""
    empty = np.isnan(y).all(axis=1, keepdims=True)
    return np.nanmedian(np.where(empty, 0.0, y), axis=1)


def _lags(y: np.ndarray, n: int) -> np.ndarray:
    """``(B, T, n)``: column ``i`` is ``y`` delayed by ``i + 1`` frames (NaN before)."""
    b, t = y.shape
    out = np.full((b, t, n), np.nan)
    for i in range(n):
        out[:, i + 1 :, i] = y[:, : t - i - 1]
    return out


def _least_squares(target: np.ndarray, design: np.ndarray, min_rows: int) -> np.ndarray:
    """Per-series least squares on the rows where target and design are all finite.

    ``target (B, T)``, ``design (B, T, n)`` -> ``(B, n)`` coefficients (NaN for series
    with fewer than ``min_rows`` complete rows).
    """
    ok = np.isfinite(target) & np.isfinite(design).all(axis=-1)
    x = np.where(ok[..., None], design, 0.0)
    yv = np.where(ok, target, 0.0)
    gram = np.einsum("bti,btj->bij", x, x)
    rhs = np.einsum("bti,bt->bi", x, yv)
    n = design.shape[-1]
    ridge = 1e-9 * (np.trace(gram, axis1=1, axis2=2)[:, None, None] + 1.0) * np.eye(n)
    coef = np.linalg.solve(gram + ridge, rhs[..., None])[..., 0]
    coef[ok.sum(axis=1) < min_rows] = np.nan
    return coef


def _shrink_ar(ar: np.ndarray) -> np.ndarray:
    """Scale the AR roots so the companion matrix's spectral radius is <= MAX_AR_RADIUS."""
    b, p = ar.shape
    if p == 0:
        return ar
    comp = np.zeros((b, p, p))
    comp[:, 0, :] = np.nan_to_num(ar)
    comp[:, np.arange(1, p), np.arange(p - 1)] = 1.0
    radius = np.abs(np.linalg.eigvals(comp)).max(axis=1)
    factor = np.where(radius > MAX_AR_RADIUS, MAX_AR_RADIUS / np.maximum(radius, 1e-12), 1.0)
    return ar * factor[:, None] ** np.arange(1, p + 1)


def fit_arma(y: np.ndarray, ar_degree: int = 3, ma_degree: int = 1) -> ArmaParams:
    """Hannan–Rissanen estimates of ARMA(``ar_degree``, ``ma_degree``) for each row of
    ``y (B, T)`` (NaN = missing). Rows are centred on their median first; a row with too
    few complete lag windows gets NaN coefficients (``ArmaParams.ok`` is False)."""
    y = np.asarray(y, np.float64)
    y = y - _row_median(y)[:, None]
    p, q = int(ar_degree), int(ma_degree)
    min_rows = max(10, 3 * (p + q + 1))
    if q > 0:
        long = _least_squares(y, _lags(y, LONG_AR), min_rows)
        innov = y - np.einsum("bti,bi->bt", _lags(y, LONG_AR), np.nan_to_num(long))
        design = np.concatenate([_lags(y, p), _lags(innov, q)], axis=-1)
    else:
        design = _lags(y, p)
    coef = _least_squares(y, design, min_rows) if p + q else np.zeros((len(y), 0))
    resid = y - np.einsum("bti,bi->bt", design, np.nan_to_num(coef))
    resid[~np.isfinite(coef).all(axis=1)] = np.nan
    mad = _row_median(np.abs(resid - _row_median(resid)[:, None]))
    bad = ~np.isfinite(coef).all(axis=1) | (np.isfinite(resid).sum(axis=1) < min_rows)
    sigma2 = np.where(bad, np.nan, np.maximum((_MAD_TO_SD * mad) ** 2, MIN_SIGMA2))
    ar = _shrink_ar(np.nan_to_num(coef[:, :p]))
    ma = np.clip(np.nan_to_num(coef[:, p:]), -MAX_MA, MAX_MA)
    return ArmaParams(ar=ar, ma=ma, sigma2=sigma2)


# ------------------------------------------------------------------ Kalman filter
def _companion(params: ArmaParams) -> tuple[np.ndarray, np.ndarray, int]:
    """First column of the transition (``(B, m)``) and the disturbance loading ``R``."""
    b, p = params.ar.shape
    q = params.ma.shape[1]
    m = max(p, q + 1)
    phi = np.zeros((b, m))
    phi[:, :p] = params.ar
    load = np.zeros((b, m))
    load[:, 0] = 1.0
    load[:, 1 : q + 1] = params.ma
    return phi, load, m


def _filter_block(y: np.ndarray, phi: np.ndarray, load: np.ndarray, sigma2: np.ndarray,
                  init_var: float, restart: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """One-step predictions (mean, variance) of ``y (B, T)`` under the Harvey state space.

    The state starts afresh (approximately diffuse) at each row's first observed value
    and wherever ``restart`` is set: leading gaps leave the start untouched, so a block
    padded in front filters as the series itself, and a new trajectory segment is not
    predicted from the previous one.
    """
    b, t = y.shape
    m = phi.shape[1]
    start = np.broadcast_to(np.eye(m) * init_var, (b, m, m))
    a = np.zeros((b, m))
    cov = start.copy()
    noise = sigma2[:, None, None] * load[:, :, None] * load[:, None, :]
    mean, var = np.empty((b, t)), np.empty((b, t))
    obs_all = ~np.isnan(y)
    before = np.zeros_like(obs_all)
    before[:, 1:] = np.maximum.accumulate(obs_all, axis=1)[:, :-1]
    reset = obs_all & ~before if restart is None else (obs_all & ~before) | restart
    reset_any = reset.any(axis=0)
    for i in range(t):
        if reset_any[i]:
            fresh = reset[:, i]
            a[fresh] = 0.0
            cov[fresh] = start[fresh]
        mean[:, i] = a[:, 0]
        f = cov[:, 0, 0]
        var[:, i] = f
        obs = obs_all[:, i]
        gain = np.where(obs, 1.0 / np.maximum(f, 1e-300), 0.0)
        col = cov[:, :, 0]
        a = a + col * (np.where(obs, y[:, i] - a[:, 0], 0.0) * gain)[:, None]
        cov = cov - (gain[:, None, None] * col[:, :, None]) * col[:, None, :]
        # transition T = companion(phi): (T x)_i = phi_i x_0 + x_{i+1}
        nxt = phi * a[:, :1]
        nxt[:, :-1] += a[:, 1:]
        a = nxt
        left = phi[:, :, None] * cov[:, None, 0, :]
        left[:, :-1, :] += cov[:, 1:, :]
        cov = phi[:, None, :] * left[:, :, :1]
        cov[:, :, :-1] += left[:, :, 1:]
        cov += noise
    return mean, var


def arma_predict(
    y: np.ndarray,
    params: ArmaParams,
    block: int = BLOCK,
    overlap: int | None = None,
    init_var: float = DIFFUSE_VARIANCE,
    restart: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One-step-ahead predictions of every value of ``y (B, T)`` from the values before it.

    The exact Kalman filter of each row's ARMA model (NaN = missing, approximately
    diffuse start). Long rows are cut into blocks of ``block`` frames filtered as one
    batch, each started ``overlap`` frames early (default: long enough for the start to
    be forgotten to 1e-6 given the MA coefficients, at least 64 frames) and trimmed.
    ``restart (B, T)`` marks values from which the state starts afresh (a new segment).

    Returns:
        ``(mean, variance)``, each ``(B, T)`` (NaN for rows that could not be fitted).
    """
    y = np.asarray(y, np.float64)
    b, t = y.shape
    ok = params.ok
    mean, var = np.full((b, t), np.nan), np.full((b, t), np.nan)
    if t == 0 or not ok.any():
        return mean, var
    phi, load, _ = _companion(params)
    centre = _row_median(y)
    yc = y[ok] - centre[ok, None]
    rs = np.zeros(yc.shape, bool) if restart is None else np.asarray(restart, bool)[ok]
    if overlap is None:
        worst = float(np.abs(params.ma[ok]).max()) if params.ma.size else 0.0
        overlap = 64 if worst < 0.8 else int(np.ceil(np.log(1e-6) / np.log(worst)))
    starts = np.arange(0, t, block)
    if len(starts) == 1:
        mu, v = _filter_block(yc, phi[ok], load[ok], params.sigma2[ok], init_var, rs)
    else:
        width = block + overlap
        pad = np.pad(yc, ((0, 0), (overlap, width)), constant_values=np.nan)
        chunks = np.stack([pad[:, s : s + width] for s in starts], axis=1)  # (B', C, W)
        rpad = np.pad(rs, ((0, 0), (overlap, width)), constant_values=False)
        marks = np.stack([rpad[:, s : s + width] for s in starts], axis=1)
        n = len(starts)
        mu, v = _filter_block(
            chunks.reshape(-1, width), np.repeat(phi[ok], n, 0), np.repeat(load[ok], n, 0),
            np.repeat(params.sigma2[ok], n), init_var, marks.reshape(-1, width),
        )
        mu = mu.reshape(-1, n, width)[:, :, overlap:].reshape(len(yc), -1)[:, :t]
        v = v.reshape(-1, n, width)[:, :, overlap:].reshape(len(yc), -1)[:, :t]
    mean[ok], var[ok] = mu + centre[ok, None], v
    return mean, var


# ------------------------------------------------------------------ the criterion
def _screen(points: np.ndarray, usable: np.ndarray, window: int, screen_px: float) -> np.ndarray:
    """Usable points farther than ``screen_px`` from their running median."""
    t, s, k, _ = points.shape
    rows = np.where(usable[..., None], points, np.nan).transpose(1, 2, 3, 0).reshape(-1, t)
    med = running_median(rows, window).reshape(s, k, 2, t).transpose(3, 0, 1, 2)
    dist = np.hypot(*(points - med).transpose(3, 0, 1, 2))
    return usable & (dist > screen_px)


def _restarts(segment: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """``(B, T)``: observed values whose segment differs from the last observed one's."""
    b, t = observed.shape
    idx = np.where(observed, np.arange(t)[None, :], -1)
    last = np.full((b, t), -1)
    last[:, 1:] = np.maximum.accumulate(idx, axis=1)[:, :-1]
    prev = np.take_along_axis(segment, np.maximum(last, 0), axis=1)
    return observed & ((last < 0) | (prev != segment))


def _both_ways(points: np.ndarray, kept: np.ndarray, ar_degree: int, ma_degree: int,
               segments: np.ndarray | None = None) -> list[np.ndarray]:
    """Forward and backward one-step predictions ``[mf, vf, mb, vb]`` (``(T, S, K, 2)``)
    of the model fitted to the kept points; a trajectory restarts where ``segments
    (T, S)`` changes."""
    t, s, k, _ = points.shape
    rows = np.where(kept[..., None], points, np.nan).transpose(1, 2, 3, 0).reshape(-1, t)
    params = fit_arma(rows, ar_degree, ma_degree)
    fwd = bwd = None
    if segments is not None:
        seg = np.broadcast_to(segments.T[:, None, None, :], (s, k, 2, t)).reshape(-1, t)
        seen = ~np.isnan(rows)
        fwd = _restarts(seg, seen)
        bwd = _restarts(seg[:, ::-1], seen[:, ::-1])
    fwd_m, fwd_v = arma_predict(rows, params, restart=fwd)
    bwd_m, bwd_v = arma_predict(rows[:, ::-1], params, restart=bwd)
    out = [a.reshape(s, k, 2, t).transpose(3, 0, 1, 2)
           for a in (fwd_m, fwd_v, bwd_m[:, ::-1], bwd_v[:, ::-1])]
    return out


def _deviation(points: np.ndarray, usable: np.ndarray, preds: list[np.ndarray],
               sd_limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Distance (px) from the model's prediction and that prediction's standard deviation
    (NaN unless both sides' predictions are precise enough).

    Where the forward and backward predictions agree (their difference within the 99 %
    ellipse of their summed variance) the prediction is their precision-weighted mean;
    where they disagree (a real sudden move lies between past and future) it is the one
    nearer the point.
    """
    mf, vf, mb, vb = preds
    use_f = np.isfinite(mf).all(-1) & (vf.sum(-1) <= sd_limit**2)
    use_b = np.isfinite(mb).all(-1) & (vb.sum(-1) <= sd_limit**2)
    with np.errstate(invalid="ignore"):
        dev_f = np.where(use_f, np.linalg.norm(points - mf, axis=-1), np.inf)
        dev_b = np.where(use_b, np.linalg.norm(points - mb, axis=-1), np.inf)
        sd = np.sqrt(np.where(dev_f <= dev_b, vf.sum(-1), vb.sum(-1)))
        wf, wb = 1.0 / np.maximum(vf, 1e-12), 1.0 / np.maximum(vb, 1e-12)
        mean = (mf * wf + mb * wb) / (wf + wb)
        dev_c = np.linalg.norm(points - mean, axis=-1)
        sd_c = np.sqrt((1.0 / (wf + wb)).sum(-1))
        agree = ((mf - mb) ** 2 / (vf + vb)).sum(-1) <= AGREE_CHI2
    both = use_f & use_b & agree
    deviation = np.where(both, dev_c, np.minimum(dev_f, dev_b))
    sd = np.where(both, sd_c, sd)
    ok = usable & use_f & use_b & np.isfinite(deviation)
    return np.where(ok, deviation, np.nan), np.where(ok, sd, np.nan)


def fitting_deviation(
    points: np.ndarray,
    usable: np.ndarray,
    epsilon: float = 20.0,
    ar_degree: int = 3,
    ma_degree: int = 1,
    window: int = 15,
    screen_px: float | None = None,
    sd_limit: float | None = None,
    segments: np.ndarray | None = None,
) -> FitDeviation:
    """The ``fitting`` criterion for ``(T, S, K, 2)`` points of ``S`` trajectories.

    Args:
        points: positions per frame (consecutive frames), slot (a track) and node.
        usable: ``(T, S, K)`` points to model (finite and scored at least ``p_bound``);
            the others are missing for the model and get no deviation.
        epsilon: the criterion's threshold in pixels (sets the default screen and which
            predictions are precise enough to use, see the module docstring).
        ar_degree, ma_degree: the ARMA orders (DeepLabCut's ``ARdegree`` / ``MAdegree``).
        window: frames of the running median of the robust screen (odd).
        screen_px: distance from the running median beyond which a point is set aside
            (default ``epsilon / 2``).
        sd_limit: a side's prediction is used when its standard deviation (x and y
            together) is at most this (default ``2 * epsilon``).
        segments: ``(T, S)`` which trajectory each slot holds (tracker fragments sharing a
            slot); the model starts afresh where it changes. None: one per slot.
    """
    points = np.asarray(points, np.float64)
    usable = np.asarray(usable, bool) & np.isfinite(points).all(axis=-1)
    screen_px = epsilon / 2.0 if screen_px is None else float(screen_px)
    sd_limit = 2.0 * epsilon if sd_limit is None else float(sd_limit)
    screened = _screen(points, usable, window, screen_px)
    preds = _both_ways(points, usable & ~screened, ar_degree, ma_degree, segments)
    deviation, sd = _deviation(points, usable, preds, sd_limit)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = deviation / np.maximum(sd, 1e-9)
    return FitDeviation(deviation=deviation, z=z, screened=screened)
