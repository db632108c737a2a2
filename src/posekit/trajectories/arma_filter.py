"""``arima``: DeepLabCut's autoregressive filter (``filterpredictions(filtertype="arima")``).

DeepLabCut fits statsmodels' SARIMAX of orders ``(ARdegree, 0, MAdegree)`` (3, 0, 1) to
each body part's x and y, with points scored below ``p_bound`` (0.001) as missing, and
replaces every point by the model's one-step-ahead prediction (the first frame keeps its
value). posekit keeps the model, its orders, ``p_bound`` and what the output is, and
changes three things:

* the coefficients come from the batched Hannan–Rissanen estimate and the predictions from
  the exact Kalman filter of :mod:`posekit.refinement.trajectory_model` (every series at
  once, seconds for 100,000 frames instead of minutes per body part; the predictions agree
  with SARIMAX's for the same coefficients, see the tests);
* a trajectory starts afresh at each new segment (a tracker fragment is not predicted from
  the previous one), and where the model cannot predict yet (a trajectory's first points,
  or after a long gap) the point is kept as it is;
* missing points stay missing (DeepLabCut writes a prediction into every frame); points
  below ``p_bound`` are replaced by the prediction, as in DeepLabCut.

The output at a point is the prediction from the points *before* it, so it lags a moving
animal by about a frame, as DeepLabCut's does; ``kalman`` smooths from both sides.
"""

from __future__ import annotations

import numpy as np

from posekit.refinement.trajectory_model import DIFFUSE_VARIANCE, arma_predict, fit_arma
from posekit.trajectories.arrays import Filtered, check_arrays, from_rows, result, series, to_rows

#: A prediction is used when its variance is below this many innovation variances (and
#: below 1 % of the diffuse start's): otherwise the model cannot predict the point yet.
PREDICTABLE = 1e4


def arima(points: np.ndarray, scores: np.ndarray | None = None, p_bound: float = 0.001,
          ar_degree: int = 3, ma_degree: int = 1,
          segments: np.ndarray | None = None) -> Filtered:
    """Replace each point of a trajectory by its ARMA(``ar_degree``, ``ma_degree``) one-step
    prediction (DeepLabCut's ``arima`` filter; see the module docstring).

    Args:
        points: ``(T, S, K, 2)`` positions (NaN: missing).
        scores: ``(T, S, K)`` point scores; points below ``p_bound`` are missing for the
            model (and replaced by its prediction).
        p_bound: DeepLabCut's ``p_bound``.
        ar_degree, ma_degree: DeepLabCut's ``ARdegree`` / ``MAdegree``.
        segments: ``(T, S)`` trajectory of each slot per frame (default: a slot is one).

    Returns:
        The filtered points; ``fitted["arima"]`` holds the median innovation standard
        deviation (px) and how many series could be fitted.
    """
    pts, sc, seg = check_arrays(points, scores, segments)
    ser = series(pts, seg)
    rows, present = ser.rows, ser.present
    with np.errstate(invalid="ignore"):
        kept = present & ~(np.repeat(to_rows(sc), 2, axis=0) < p_bound)
    model_rows = np.where(kept, rows, np.nan)
    params = fit_arma(model_rows, int(ar_degree), int(ma_degree))
    mean, var = arma_predict(model_rows, params, restart=ser.fresh_starts())
    limit = np.minimum(PREDICTABLE * params.sigma2, 0.01 * DIFFUSE_VARIANCE)[:, None]
    with np.errstate(invalid="ignore"):
        usable = present & np.isfinite(mean) & (var <= limit)
    out = np.where(usable, mean, rows)
    fitted = {"series": int(params.ok.sum()), "of": len(params.ok)}
    if params.ok.any():
        fitted["innovation_sd_px"] = float(np.sqrt(np.median(params.sigma2[params.ok])))
    return result(from_rows(out, pts.shape), pts, sc, fitted={"arima": fitted})
