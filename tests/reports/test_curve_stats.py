"""The robust statistics behind the loss-curve diagnosis, against known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import theilslopes

from posekit.reports.curve_stats import fit_trend, noise_level, running_median, spikes

from .curve_synth import decay


def test_running_median_ignores_a_single_spike_and_follows_a_trend():
    y = np.array([5.0, 4.0, 3.0, 9.0, 1.0, 0.0, -1.0])
    smooth = running_median(y)
    assert smooth[3] == 3.0  # the spike at index 3 is gone
    line = running_median(np.arange(9.0))
    assert list(line[2:-2]) == [2.0, 3.0, 4.0, 5.0, 6.0]  # a trend passes through
    assert (line[0], line[-1]) == (1.0, 7.0)  # ends: the median of the first / last three


@pytest.mark.parametrize("sigma", [0.02, 0.05, 0.1])
def test_noise_level_recovers_the_noise_of_a_steeply_falling_curve(sigma):
    rng = np.random.default_rng(3)
    estimates = [noise_level(decay(60, tau=8.0) + rng.normal(0, sigma, 60)) for _ in range(200)]
    assert np.mean(estimates) == pytest.approx(sigma, rel=0.08)
    # a noiseless fall has no noise, however curved it is
    assert noise_level(decay(60, tau=8.0)) < 1e-3


def test_noise_level_is_not_inflated_by_spikes():
    rng = np.random.default_rng(4)
    y = decay(50) + rng.normal(0, 0.05, 50)
    spiky = y.copy()
    spiky[[8, 17, 29, 41]] += math.log(2.5)
    assert noise_level(spiky) == pytest.approx(noise_level(y), rel=0.3)
    assert noise_level(y[:6]) == 0.0  # too short to tell


def test_trend_is_theil_sen_with_its_interval():
    rng = np.random.default_rng(5)
    epochs = np.arange(30)
    y = -0.03 * epochs + rng.normal(0, 0.02, 30)
    y[12] += 1.5  # one wild epoch barely moves it
    trend = fit_trend(epochs, y)
    reference = theilslopes(y, epochs, alpha=0.95)
    assert trend.slope == pytest.approx(reference.slope)
    assert (trend.low, trend.high) == pytest.approx((reference.low_slope, reference.high_slope))
    assert trend.slope == pytest.approx(-0.03, abs=0.004)
    assert trend.falling and not trend.rising
    assert trend.rate == pytest.approx(math.expm1(trend.slope))
    assert trend.change == pytest.approx(math.expm1(trend.slope * 29))
    two = fit_trend(np.array([3, 5]), np.array([1.0, 2.0]))
    assert two.slope == 0.5 and math.isinf(two.low) and not two.rising


def test_spikes_are_above_both_neighbours_and_never_a_trend_or_a_step_down():
    epochs = np.arange(20)
    falling = decay(20, tau=3.0)
    assert spikes(epochs, falling, math.log(1.25)) == []
    step = np.where(epochs < 10, 0.0, -1.0)  # the loss drops when the learning rate drops
    assert spikes(epochs, step, math.log(1.25)) == []
    y = falling.copy()
    y[6] += math.log(2.0)           # one epoch
    y[[12, 13]] += math.log(1.8)    # two epochs in a row
    y[19] += math.log(1.6)          # the last epoch
    found = spikes(epochs, y, math.log(1.25))
    assert [(s.epoch, s.width) for s in found] == [(6, 1), (12, 2), (19, 1)]
    assert found[0].height == pytest.approx(2.0 * math.exp(falling[6] - falling[5]) - 1)
    assert spikes(epochs, y, math.log(3.0)) == []
