"""interpolate: known answers, gaps that must stay missing, SciPy's cubic spline."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import CubicSpline

from posekit.errors import ConfigError
from posekit.trajectories import FILLED, MISSING, ORIGINAL, FilterSettings, interpolate

from .helpers import ramp


def test_linear_fills_short_gaps_exactly_and_marks_them():
    pts = ramp(30)
    gappy = pts.copy()
    gappy[[3, 10, 11, 12]] = np.nan
    scores = np.full((30, 1, 1), 0.9)
    out = interpolate(gappy, scores, max_gap=3)
    assert np.allclose(out.points, pts)
    assert np.flatnonzero(out.status[:, 0, 0] == FILLED).tolist() == [3, 10, 11, 12]
    assert (out.status[[0, 4, 29], 0, 0] == ORIGINAL).all()
    assert np.allclose(out.scores[[3, 10, 11, 12], 0, 0], 0.01)
    assert np.allclose(out.scores[[2, 13], 0, 0], 0.9)


def test_a_gap_longer_than_the_limit_stays_missing_and_ends_are_never_invented():
    gappy = ramp(30)
    gappy[:2] = np.nan  # before the first point
    gappy[10:14] = np.nan  # 4 frames
    gappy[20:23] = np.nan  # 3 frames
    gappy[27:] = np.nan  # after the last point
    out = interpolate(gappy, max_gap=3)
    assert np.isnan(out.points[[0, 1, 10, 11, 12, 13, 27, 28, 29]]).all()
    assert (out.status[[0, 1, 10, 11, 12, 13, 27, 28, 29]] == MISSING).all()
    assert np.allclose(out.points[20:23], ramp(30)[20:23])
    assert (interpolate(gappy, max_gap=0).status != FILLED).all()


def test_no_filling_between_two_trajectories_or_across_another():
    pts = np.concatenate([ramp(20), ramp(20) + 500.0], axis=1)  # (20, 2, 1, 2)
    pts[8:10] = np.nan
    seg = np.array([[0, 1]] * 20)
    seg[10:, 0] = 2  # slot 0 holds another track after the gap
    seg[8:10] = -1
    out = interpolate(pts, max_gap=5, segments=seg)
    assert np.isnan(out.points[8:10, 0]).all()  # track 0 ended, track 2 began
    assert np.allclose(out.points[8:10, 1], ramp(20)[8:10, 0] + 500.0)  # same track 1
    seg_back = np.zeros((20, 1), np.int64)
    seg_back[5:7] = 3  # slot briefly holds another track between two points of track 0
    one = ramp(20)
    one[4:8] = np.nan
    assert np.isnan(interpolate(one, max_gap=5, segments=seg_back).points[4:8]).all()


def test_spline_is_scipys_cubic_spline_through_the_present_points():
    t = np.arange(60, dtype=np.float64)
    curve = np.stack([40 * np.sin(t / 7), 0.02 * t**2], -1)[:, None, None, :]
    gappy = curve.copy()
    gappy[[15, 16, 17, 40]] = np.nan
    out = interpolate(gappy, max_gap=3, method="spline")
    keep = np.isfinite(gappy[:, 0, 0, 0])
    ref = CubicSpline(t[keep], gappy[keep, 0, 0])(t)
    assert np.allclose(out.points[[15, 16, 17, 40], 0, 0], ref[[15, 16, 17, 40]])
    linear = interpolate(gappy, max_gap=3)
    err = lambda o: np.abs(o.points[15:18] - curve[15:18]).max()
    assert err(out) < 0.1 * err(linear)


def test_max_gap_in_seconds_needs_a_frame_rate():
    assert FilterSettings(methods=("interpolate",), max_gap_s=0.5, fps=10).gap_frames() == 5
    assert FilterSettings(max_gap_s=0.25).gap_frames(fps=30.0) == 7  # rounded down
    assert FilterSettings().gap_frames() == 5
    with pytest.raises(ConfigError, match="--fps"):
        FilterSettings(max_gap_s=0.5).gap_frames()
    with pytest.raises(ConfigError, match="spline"):
        interpolate(ramp(5), method="cubic")
