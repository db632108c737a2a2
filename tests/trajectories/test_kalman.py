"""The Kalman smoother against statsmodels' state-space smoother and on trajectories with
score-dependent noise."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.optimize import minimize

import posekit.trajectories.kalman_filter as km
from posekit.errors import ConfigError
from posekit.trajectories import MISSING, kalman

from .helpers import wander


def statsmodels_model(y: np.ndarray, weights: np.ndarray, q: float, r: float):
    """The same constant-velocity model in statsmodels (exact diffuse start)."""
    model = sm.tsa.statespace.MLEModel(y, k_states=2, k_posdef=1, initialization="diffuse")
    model["design"] = np.array([[1.0, 0.0]])
    model["transition"] = np.array([[1.0, 1.0], [0.0, 1.0]])
    model["selection"] = np.array([[0.5], [1.0]])
    model["state_cov"] = np.array([[q]])
    model["obs_cov"] = (r * weights)[None, None, :]
    return model


def noisy_track(n: int, seed: int = 0, msd: float = 2.0, asd: float = 0.3):
    rng = np.random.default_rng(seed)
    truth = wander(n, 1, 1, asd, seed)
    scores = rng.uniform(0.15, 1.0, (n, 1, 1))
    obs = truth + rng.normal(0.0, 1.0, truth.shape) * (msd / scores)[..., None]
    return truth, obs, scores


def test_smoothed_means_and_variances_equal_statsmodels():
    _, obs, scores = noisy_track(400)
    obs[[50, 51, 52, 200]] = np.nan
    out = kalman(obs, scores, measurement_sd=2.0, process_sd=0.3)
    y = obs[:, 0, 0, 0]
    ref = statsmodels_model(y, km.score_weights(scores[:, 0, 0]), 0.09, 4.0).ssm.smooth()
    ok = np.isfinite(y)
    assert np.abs(out.points[ok, 0, 0, 0] - ref.smoothed_state[0, ok]).max() < 1e-4
    assert np.allclose(out.variance[ok, 0, 0], ref.smoothed_state_cov[0, 0, ok], rtol=1e-4)
    assert np.isnan(out.points[[50, 51, 52, 200]]).all()  # missing points stay missing
    assert (out.status[[50, 51, 52, 200]] == MISSING).all()
    assert np.isnan(out.variance[[50, 200]]).all()


def test_fitted_noise_is_the_maximum_likelihood_estimate():
    _, obs, scores = noisy_track(1500, seed=4)
    out = kalman(obs, scores)
    fitted = out.fitted["kalman"]
    w = km.score_weights(scores[:, 0, 0])

    def minus_loglik(log_sd: np.ndarray) -> float:
        q, r = np.exp(2 * log_sd)
        return -sum(statsmodels_model(obs[:, 0, 0, c], w, q, r).ssm.loglike()
                    for c in range(2))

    best = np.exp(minimize(minus_loglik, np.log([0.5, 1.0]), method="Nelder-Mead").x)
    assert fitted["process_sd"][0] == pytest.approx(best[0], rel=0.05)
    assert fitted["measurement_sd"][0] == pytest.approx(best[1], rel=0.05)
    assert fitted["measurement_sd"][0] == pytest.approx(2.0, rel=0.1)  # the truth
    assert fitted["process_sd"][0] == pytest.approx(0.3, rel=0.2)


def test_smoother_beats_raw_points_and_reports_more_variance_where_scores_are_low():
    truth, obs, scores = noisy_track(2000, seed=7)
    out = kalman(obs, scores)
    rmse = lambda p: np.sqrt(np.mean((p - truth) ** 2))
    assert rmse(out.points) < 0.4 * rmse(obs)
    s, v = scores[:, 0, 0], out.variance[:, 0, 0]
    assert np.mean(v[s < 0.3]) > 1.2 * np.mean(v[s > 0.8])
    assert np.corrcoef(1.0 / s, v)[0, 1] > 0.3
    z = (out.points - truth) / np.sqrt(out.variance)[..., None]
    assert 0.9 < np.std(z) < 1.1  # the variance is the error's


def test_blocks_give_the_single_pass_result(monkeypatch):
    rng = np.random.default_rng(2)
    truth = wander(3000, 2, 2, seed=2)
    scores = rng.uniform(0.2, 1.0, truth.shape[:3])
    obs = truth + rng.normal(0, 1, truth.shape) * (1.5 / scores)[..., None]
    obs[rng.random(scores.shape) < 0.1] = np.nan
    seg = np.array([[0, 1]] * 3000)
    seg[1800:, 0] = 5
    whole = kalman(obs, scores, measurement_sd=1.5, process_sd=0.3, segments=seg)
    monkeypatch.setattr(km, "BLOCK", 200)
    monkeypatch.setattr(km, "memory", lambda q, r: 150)
    blocks = kalman(obs, scores, measurement_sd=1.5, process_sd=0.3, segments=seg)
    assert np.nanmax(np.abs(blocks.points - whole.points)) < 1e-6
    assert np.nanmax(np.abs(blocks.variance / whole.variance - 1.0)) < 1e-6


def test_nothing_flows_across_a_change_of_segment():
    _, obs, scores = noisy_track(300, seed=9)
    seg = np.zeros((300, 1), np.int64)
    seg[150:] = 1
    a = kalman(obs, scores, 2.0, 0.3, segments=seg)
    changed = obs.copy()
    changed[150:] += 300.0
    b = kalman(changed, scores, 2.0, 0.3, segments=seg)
    assert np.array_equal(a.points[:150], b.points[:150])
    assert np.allclose(b.points[150:] - a.points[150:], 300.0)


def test_bad_noise_is_refused():
    with pytest.raises(ConfigError, match="measurement_sd"):
        kalman(wander(10, 1, 1), measurement_sd=-1.0)
