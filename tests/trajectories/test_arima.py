"""arima against statsmodels' SARIMAX: DeepLabCut's filter fits it per series by maximum
likelihood and outputs the one-step-ahead prediction."""

from __future__ import annotations

import warnings

import numpy as np
import statsmodels.api as sm

from posekit.refinement.trajectory_model import arma_predict, fit_arma
from posekit.trajectories import ORIGINAL, SMOOTHED, arima


def arma_series(n: int, seed: int = 0) -> np.ndarray:
    """An ARMA(3, 1) series around 200 px (unit innovations)."""
    rng = np.random.default_rng(seed)
    e = rng.normal(size=n + 200)
    y = np.zeros(n + 200)
    for t in range(3, n + 200):
        y[t] = 1.5 * y[t - 1] - 0.3 * y[t - 2] - 0.25 * y[t - 3] + e[t] + 0.4 * e[t - 1]
    return y[200:] + 200.0


def test_predictions_equal_sarimax_for_the_same_coefficients():
    y = arma_series(800)
    y[300:305] = np.nan
    params = fit_arma(y[None], 3, 1)
    ours, _ = arma_predict(y[None], params)
    centre = np.nanmedian(y)
    model = sm.tsa.statespace.SARIMAX(y - centre, order=(3, 0, 1))
    res = model.filter(np.r_[params.ar[0], params.ma[0], params.sigma2])
    ref = res.get_prediction().predicted_mean + centre
    assert np.abs(ours[0, 50:] - ref[50:]).max() < 1e-3


def test_the_filter_predicts_as_well_as_deeplabcuts_maximum_likelihood_fit():
    y = arma_series(1500, seed=1)
    pts = np.stack([y, y[::-1]], -1)[:, None, None, :]
    out = arima(pts, np.full((1500, 1, 1), 0.9))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.tsa.statespace.SARIMAX(y, order=(3, 0, 1)).fit(disp=False)  # as DeepLabCut
    dlc = fit.get_prediction().predicted_mean
    ours = out.points[:, 0, 0, 0]
    rmse = lambda p: np.sqrt(np.mean((p[20:] - y[20:]) ** 2))
    assert rmse(ours) < 1.05 * rmse(dlc)
    assert np.sqrt(np.mean((ours[20:] - dlc[20:]) ** 2)) < 0.25  # px, innovations sd 1


def test_low_scores_are_predicted_missing_stays_missing_and_first_points_are_kept():
    y = arma_series(400, seed=2)
    pts = np.stack([y, y], -1)[:, None, None, :]
    pts[100:103] = np.nan
    scores = np.full((400, 1, 1), 0.9)
    scores[200] = 0.0001  # below p_bound: a glitch, replaced by the prediction
    pts[200] += 40.0
    out = arima(pts, scores, p_bound=0.001)
    assert np.isnan(out.points[100:103]).all()
    assert abs(out.points[200, 0, 0, 0] - y[200]) < 5.0
    assert out.status[200, 0, 0] == SMOOTHED
    assert (out.status[0, 0, 0] == ORIGINAL) and np.array_equal(out.points[0], pts[0])


def test_a_new_segment_is_not_predicted_from_the_previous_one():
    y = arma_series(400, seed=3)
    pts = np.stack([y, y], -1)[:, None, None, :]
    pts[200:] += 150.0  # another animal takes the slot
    seg = np.zeros((400, 1), np.int64)
    seg[200:] = 1
    out = arima(pts, segments=seg)
    assert np.array_equal(out.points[200], pts[200])  # fresh start: nothing to predict from
    assert np.abs(out.points[210:, 0, 0, 0] - pts[210:, 0, 0, 0]).max() < 6.0
