"""The filters on SLEAP's real predictions of two flies (``centered_pair_predictions.slp``:
1,100 frames, 24 nodes, 27 track fragments), against movement's filters where they exist."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio
import xarray as xr
from movement.filtering import interpolate_over_time, rolling_filter
from movement.io import load_poses

from posekit.io.writers import export_analysis_h5
from posekit.trajectories import FILLED, FilterSettings, filter_file, read_filter_outputs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real(shared_data):
    return shared_data / "centered_pair_predictions.slp"


@pytest.fixture(scope="module")
def real_h5(real, tmp_path_factory):
    path = tmp_path_factory.mktemp("real") / "pair.h5"
    export_analysis_h5(sio.load_slp(str(real), open_videos=False), path)
    return path


def movement_position(path):
    ds = load_poses.from_sleap_file(path)
    return ds, ds.position


def test_gaps_are_filled_as_movements_interpolation_does_and_no_longer_ones(real_h5, tmp_path):
    out = tmp_path / "filled.h5"
    filter_file(real_h5, out, FilterSettings(methods=("interpolate",), max_gap=5))
    _, before = movement_position(real_h5)
    reference = interpolate_over_time(before, max_gap=5).values
    _, after = movement_position(out)
    got = after.values
    assert np.array_equal(np.isnan(got), np.isnan(reference))
    assert np.allclose(got, reference, atol=1e-3, equal_nan=True)
    status = read_filter_outputs(out).status  # (frames, tracks, nodes)
    assert (status == FILLED).sum() == int((np.isnan(before.values) & ~np.isnan(got)).sum()
                                           / 2)


def test_median_equals_movements_where_the_window_is_whole(real_h5, tmp_path):
    out = tmp_path / "median.h5"
    filter_file(real_h5, out, FilterSettings(methods=("median",), window=5))
    _, before = movement_position(real_h5)
    with xr.set_options(use_numbagg=False):  # bottleneck: no JIT compile in the test
        reference = rolling_filter(before, 5, statistic="median").values  # NaN unless whole
    _, after = movement_position(out)
    whole = np.isfinite(reference)
    whole[[0, 1, -2, -1]] = False  # the video's ends: movement mirrors, posekit does not
    assert whole.sum() > 40_000
    assert np.allclose(after.values[whole], reference[whole], atol=1e-4)
    assert np.array_equal(np.isnan(after.values), np.isnan(before.values))


def test_slp_kalman_keeps_tracks_gives_variance_by_score_and_leaves_the_input(real, tmp_path):
    before = real.read_bytes()
    out = tmp_path / "pair.filtered.slp"
    settings = FilterSettings(methods=("pcutoff", "median", "interpolate", "kalman"),
                              pcutoff=0.2)
    report = filter_file(real, out, settings)
    assert real.read_bytes() == before
    src = sio.load_slp(str(real), open_videos=False)
    dst = sio.load_slp(str(out), open_videos=False)
    assert len(dst.tracks) == 27 and [t.name for t in dst.tracks] == [t.name for t in src.tracks]
    kept = {(lf.frame_idx, i.track.name) for lf in src for i in lf}
    now = {(lf.frame_idx, i.track.name) for lf in dst for i in lf}
    assert kept <= now  # every instance keeps its frame and track; gaps gained some
    assert len(now - kept) > 0 and report.counts["filled"] > 0
    got = read_filter_outputs(out)
    scores = np.concatenate([i.points["score"] for lf in dst for i in lf])
    var = got.variance.ravel()
    ok = np.isfinite(var) & (got.status.ravel() != FILLED)
    low, high = ok & (scores < 0.5), ok & (scores > 0.9)
    assert np.median(var[low]) > 2.0 * np.median(var[high])
    ds = load_poses.from_sleap_file(out)
    assert ds.position.shape == (1100, 2, 24, 27)
    jitter = lambda p: np.nanmedian(np.abs(np.diff(p, 2, axis=0)))
    assert jitter(ds.position.values) < 0.5 * jitter(load_poses.from_sleap_file(real)
                                                     .position.values)


def test_a_gap_limit_in_seconds_uses_the_videos_frame_rate(real, tmp_path):
    out = tmp_path / "seconds.slp"
    report = filter_file(real, out, FilterSettings(methods=("interpolate",), max_gap_s=0.4))
    assert report.record["fps"] == 15.0  # centered_pair_low_quality.mp4
    assert report.record["steps"][0]["max_gap_frames"] == 6
