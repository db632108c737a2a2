"""Several filters in one call: order, status relative to the input, variance, settings."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.errors import ConfigError
from posekit.trajectories import (
    FILLED,
    MISSING,
    ORIGINAL,
    REMOVED,
    SMOOTHED,
    FilterSettings,
    filter_tracks,
)

from .helpers import ramp, wander


def test_removed_then_filled_is_filled_and_each_status_is_relative_to_the_input():
    pts = ramp(30)
    pts[20:28] = np.nan  # a long gap: stays missing
    pts[5, 0, 0, 0] += 60.0  # a spike the median takes out
    scores = np.full((30, 1, 1), 0.9)
    scores[12] = 0.1  # dropped by pcutoff, then filled
    settings = FilterSettings(methods=("pcutoff", "median", "interpolate"), pcutoff=0.5,
                              max_gap=3)
    out = filter_tracks(pts, scores, settings)
    status = out.status[:, 0, 0]
    assert status[5] == SMOOTHED and status[12] == FILLED
    assert (status[20:28] == MISSING).all()
    assert status[0] == ORIGINAL
    assert np.allclose(out.points[12], ramp(30)[12]) and out.scores[12, 0, 0] == 0.01
    only_cut = filter_tracks(pts, scores, FilterSettings(methods=("pcutoff",), pcutoff=0.5))
    assert only_cut.status[12, 0, 0] == REMOVED


def test_variance_is_kept_only_for_points_no_later_filter_moved():
    rng = np.random.default_rng(0)
    truth = wander(200, 1, 2)
    obs = truth + rng.normal(0, 2.0, truth.shape)
    scores = rng.uniform(0.3, 1.0, truth.shape[:3])
    alone = filter_tracks(obs, scores, FilterSettings(methods=("kalman",)))
    assert np.isfinite(alone.variance).all()
    then = filter_tracks(obs, scores, FilterSettings(methods=("kalman", "median")))
    moved = (then.points != alone.points).any(-1)
    assert moved.any() and np.isnan(then.variance[moved]).all()
    assert np.array_equal(then.variance[~moved], alone.variance[~moved])
    assert "kalman" in then.fitted


@pytest.mark.parametrize(("options", "message"), [
    ({"methods": ("median", "smooth")},
     "unknown method.*pcutoff, median, savgol, interpolate, arima, kalman"),
    ({"methods": ("medain",)}, "Did you mean 'median'"),
    ({"window": 6}, "window 6 is even"),
    ({"methods": ("savgol",), "savgol_window": 5, "polyorder": 5}, "polyorder"),
    ({"max_gap": 3, "max_gap_s": 0.2}, "both given"),
    ({"methods": ()}, "at least one"),
])
def test_bad_settings_list_what_is_expected(options, message):
    with pytest.raises(ConfigError, match=message):
        FilterSettings(**options)


def test_a_window_longer_than_the_video_is_refused_naming_the_file():
    with pytest.raises(ConfigError, match=r"preds\.slp: --window 9 is longer than the video"):
        filter_tracks(ramp(7), settings=FilterSettings(window=9), source="preds.slp")
    with pytest.raises(ConfigError, match="--savgol-window 11"):
        filter_tracks(ramp(7), settings=FilterSettings(methods=("savgol",),
                                                       savgol_window=11))


def test_the_record_lists_each_method_with_its_parameters():
    steps = FilterSettings(methods=("pcutoff", "interpolate", "kalman"), pcutoff=0.3,
                           max_gap_s=0.5).record(fps=20.0)
    assert steps == [
        {"method": "pcutoff", "pcutoff": 0.3},
        {"method": "interpolate", "interpolation": "linear", "max_gap": None,
         "max_gap_s": 0.5, "fps": None, "fill_score": 0.01, "max_gap_frames": 10},
        {"method": "kalman", "measurement_sd": None, "process_sd": None},
    ]
