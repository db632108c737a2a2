"""pcutoff, median and savgol on signals with known answers, and against SciPy, DeepLabCut's
``medfilt`` and movement's rolling median."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import medfilt, savgol_filter

from posekit.errors import ConfigError
from posekit.trajectories import (
    FILLED,
    MISSING,
    ORIGINAL,
    REMOVED,
    SMOOTHED,
    median,
    pcutoff,
    savgol,
)

from .helpers import ramp


def test_pcutoff_removes_low_scores_and_keeps_unscored_points():
    pts = ramp(6)
    scores = np.array([0.9, 0.5, np.nan, 0.61, 0.59, 1.2])[:, None, None]
    out = pcutoff(pts, scores, threshold=0.6)
    assert np.isnan(out.points[[1, 4]]).all()
    assert np.array_equal(out.points[[0, 2, 3, 5]], pts[[0, 2, 3, 5]])
    assert out.status[:, 0, 0].tolist() == [ORIGINAL, REMOVED, ORIGINAL, ORIGINAL, REMOVED,
                                           ORIGINAL]


def test_median_keeps_a_ramp_to_the_last_frame_where_zero_and_mirror_padding_do_not():
    pts = ramp(40)
    out = median(pts, window=5)
    assert np.array_equal(out.points, pts)
    assert (out.status == ORIGINAL).all()
    x, y = pts[:, 0, 0, 0], pts[:, 0, 0, 1]
    # DeepLabCut's filterpredictions (zero-padded medfilt) moves each end two frames back
    assert medfilt(x, 5)[-1] == x[-3] and medfilt(y, 5)[0] == y[2]
    mirror = np.median(np.lib.stride_tricks.sliding_window_view(np.pad(x, 2, "reflect"), 5), 1)
    assert mirror[-1] == x[-2]  # movement's rolling median pads by mirroring


def test_median_removes_a_single_spike_also_on_the_first_and_last_frame():
    flat = np.full((30, 1, 1, 2), 50.0)
    noisy = flat.copy()
    noisy[[0, 12, 29], 0, 0] += [80.0, -40.0]
    out = median(noisy, window=5)
    assert np.array_equal(out.points, flat)
    assert np.flatnonzero(out.status[:, 0, 0] == SMOOTHED).tolist() == [0, 12, 29]


def test_median_equals_the_plain_running_median_inside_a_run():
    rng = np.random.default_rng(3)
    pts = rng.normal(100.0, 5.0, (60, 1, 1, 2))
    out = median(pts, window=7)
    x = pts[:, 0, 0, 0]
    assert np.allclose(out.points[3:-3, 0, 0, 0], medfilt(x, 7)[3:-3])


def test_median_is_nan_aware_and_never_mixes_trajectories():
    pts = ramp(30)
    pts[10:12] = np.nan
    seg = np.zeros((30, 1), np.int64)
    seg[20:] = 1  # another animal from frame 20: a jump the median must not see
    pts[20:] += 200.0
    out = median(pts, window=5, segments=seg)
    assert np.isnan(out.points[10:12]).all()
    assert (out.status[10:12] == MISSING).all()
    assert np.array_equal(out.points, pts, equal_nan=True)  # each run is a ramp


def test_savgol_keeps_polynomials_up_to_its_order_and_matches_scipy():
    t = np.arange(50, dtype=np.float64)
    quad = np.stack([0.05 * t**2 - t, 3.0 * t], -1)[:, None, None, :]
    assert np.allclose(savgol(quad, window=9, polyorder=2).points, quad, atol=1e-9)
    assert np.allclose(savgol(ramp(50), window=5, polyorder=1).points, ramp(50), atol=1e-9)
    rng = np.random.default_rng(0)
    noisy = quad + rng.normal(0.0, 1.0, quad.shape)
    ref = savgol_filter(noisy, 9, 2, axis=0, mode="interp")
    assert np.allclose(savgol(noisy, window=9, polyorder=2).points, ref, atol=1e-9)


def test_savgol_filters_each_run_alone_and_leaves_too_short_runs():
    t = np.arange(40, dtype=np.float64)
    quad = np.stack([0.1 * t**2, t], -1)[:, None, None, :]
    gappy = quad.copy()
    gappy[[5, 9, 10]] = np.nan  # runs: 0-4 (5 points), 6-8 (3), 11-39
    out = savgol(gappy, window=7, polyorder=2)
    assert np.allclose(out.points, gappy, equal_nan=True, atol=1e-9)
    noisy = gappy + np.random.default_rng(1).normal(0, 1, gappy.shape)
    out = savgol(noisy, window=7, polyorder=2)
    assert np.array_equal(out.points[6:9], noisy[6:9])  # 3 points = polyorder + 1
    ref = savgol_filter(noisy[11:], 7, 2, axis=0, mode="interp")
    assert np.allclose(out.points[11:], ref, atol=1e-9)
    assert not (out.status == FILLED).any()


@pytest.mark.parametrize("call", [
    lambda p: median(p, window=4), lambda p: median(p, window=41),
    lambda p: savgol(p, window=6), lambda p: savgol(p, window=5, polyorder=5),
])
def test_bad_windows_are_refused(call):
    with pytest.raises(ConfigError, match="window|polyorder"):
        call(ramp(40))


def test_inputs_are_not_changed():
    pts = ramp(20)
    pts[4] = np.nan
    scores = np.full((20, 1, 1), 0.3)
    before, sc = pts.copy(), scores.copy()
    for f in (lambda: pcutoff(pts, scores), lambda: median(pts, scores),
              lambda: savgol(pts, scores)):
        f()
    assert np.array_equal(pts, before, equal_nan=True) and np.array_equal(scores, sc)
