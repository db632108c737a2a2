"""Outlier criteria on tiny arrays, with the numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.refinement.outliers import (
    PoseTracks,
    combine,
    frame_score,
    previous_slots,
    score_points,
    summarize,
    uncertain_ratio,
)


def tracks(points, scores=None, tracked=True, first=0) -> PoseTracks:
    points = np.asarray(points, np.float64)
    t, s, k, _ = points.shape
    scores = np.full((t, s, k), 0.9) if scores is None else np.asarray(scores, np.float64)
    present = ~np.isnan(points).all(axis=(2, 3))
    return PoseTracks(np.arange(first, first + t), points, np.where(present[..., None], scores,
                      np.nan), present, np.full(s, tracked), tuple(f"s{i}" for i in range(s)),
                      tuple(f"n{i}" for i in range(k)))


def line(xs, y=0.0) -> np.ndarray:
    """One animal, one node moving along x: ``(T, 1, 1, 2)``."""
    xs = np.asarray(xs, np.float64)
    return np.stack([xs, np.full_like(xs, y)], axis=-1)[:, None, None, :]


def test_uncertain_ratio_is_log_score_over_log_p_bound_and_fires_below_p_bound():
    scores = np.array([0.5, 0.01, 0.001, 0.0])[:, None, None]
    tr = tracks(np.zeros((4, 1, 1, 2)), scores)
    ratio = uncertain_ratio(tr, 0.01)[:, 0, 0]
    # log(0.5)/log(0.01) = 0.1505; 0.01 is not below p_bound (DLC: p < p_bound); 0 -> 1e-6 -> 3
    np.testing.assert_allclose(ratio, [0.150515, 1.0, 1.5, 3.0], atol=1e-6)
    assert (ratio > 1).tolist() == [False, False, True, True]


def test_missing_points_are_not_uncertain_unless_counted():
    pts = np.zeros((2, 1, 2, 2))
    pts[1, 0, 1] = np.nan
    tr = tracks(pts, np.array([[[0.9, 0.9]], [[0.9, 0.0]]]))
    assert np.isnan(uncertain_ratio(tr, 0.01)[1, 0, 1])
    assert uncertain_ratio(tr, 0.01, count_missing=True)[1, 0, 1] == pytest.approx(3.0)


def test_jump_is_the_distance_between_consecutive_confident_points():
    # x: 0, 5, 30 (25 px > 20), 33, then a low-score frame, then 80
    tr = tracks(line([0, 5, 30, 33, 60, 80]), np.array([.9, .9, .9, .9, .005, .9])[:, None, None],
                first=500)
    got = score_points(tr, ("jump",), return_window=0)
    np.testing.assert_allclose(got.value["jump"][:, 0, 0], [np.nan, 5, 25, 3, np.nan, np.nan])
    assert (np.nan_to_num(got.ratio["jump"][:, 0, 0]) > 1).tolist() == [0, 0, 1, 0, 0, 0]


def test_a_glitch_counts_once_its_return_is_reported_but_does_not_count():
    tr = tracks(line([0, 1, 60, 2, 3]))  # frame 2 is a one-frame glitch
    ours = score_points(tr, ("jump",), return_window=5)
    dlc = score_points(tr, ("jump",), return_window=0)  # DeepLabCut: every jump counts
    assert (np.nan_to_num(ours.ratio["jump"][:, 0, 0]) > 1).tolist() == [0, 0, 1, 0, 0]
    assert ours.returns[3, 0, 0] == 1  # the jump at frame 3 returns from the one at 2
    assert (np.nan_to_num(dlc.ratio["jump"][:, 0, 0]) > 1).tolist() == [0, 0, 1, 1, 0]


def test_every_frame_inside_a_longer_glitch_counts_with_its_distance_from_before():
    tr = tracks(line([0, 1, 61, 62, 63, 2]))  # frames 2-4 displaced, back at 5
    got = score_points(tr, ("jump",))
    ratio = np.nan_to_num(got.ratio["jump"][:, 0, 0])
    assert (ratio > 1).tolist() == [0, 0, 1, 1, 1, 0]
    # inside: distance from frame 1 (x = 1): 61 and 62 px
    np.testing.assert_allclose(got.value["jump"][3:5, 0, 0], [61.0, 62.0])
    assert got.returns[5, 0, 0] == 3


def test_tracks_are_followed_by_slot_and_untracked_instances_by_nearest_pose():
    pts = np.zeros((3, 2, 2, 2))
    pts[:, 0] = [[0, 0], [10, 0]]
    pts[:, 1] = [[100, 0], [110, 0]]
    pts[1] = pts[1, ::-1]  # frame 1 lists the animals the other way round
    tracked = score_points(tracks(pts), ("jump",), return_window=0).value["jump"]
    assert np.nanmax(tracked[1]) == pytest.approx(100.0)  # a track that swaps jumps
    loose = tracks(pts, tracked=False)
    np.testing.assert_array_equal(previous_slots(loose, loose.confident(0.01))[1:], [[1, 0],
                                                                                     [1, 0]])
    assert np.nanmax(score_points(loose, ("jump",)).value["jump"]) == pytest.approx(0.0)


def test_any_rule_uses_the_min_nodes_th_largest_ratio_and_mean_rule_the_mean():
    ratio = np.array([[[3.0, 1.5, 0.2, np.nan]]])  # one frame, one slot, 4 nodes
    every = np.ones(4, bool)
    assert frame_score(ratio, every, "any", 1)[0, 0] == 3.0
    assert frame_score(ratio, every, "any", 2)[0, 0] == 1.5
    assert frame_score(ratio, every, "any", 3)[0, 0] == pytest.approx(0.2)
    assert frame_score(ratio, every, "mean", 1)[0, 0] == pytest.approx((3 + 1.5 + 0.2) / 3)
    only = np.array([False, False, True, False])  # per-node rule: only node 2 counts
    assert frame_score(ratio, only, "any", 1)[0, 0] == pytest.approx(0.2)


def test_combined_score_counts_criteria_fired_then_capped_mean():
    score = np.array([[6.0, 0.5, np.nan], [1.2, 1.1, 0.0]])
    fired = score > 1
    # row 0: 1 fired + mean(5, .5, 0)/5 = 1.3667; row 1: 2 + mean(1.2, 1.1, 0)/5 = 2.1533
    np.testing.assert_allclose(combine(score, fired), [1 + 5.5 / 15, 2 + 2.3 / 15])


def test_summary_reads_like_a_sentence():
    reasons = [{"criterion": "jump", "track": "2", "node": "wingR", "value": 77.8, "unit": "px"},
               {"criterion": "jump", "track": "2", "node": "head", "value": 30.0, "unit": "px"},
               {"criterion": "uncertain", "track": "instance", "node": "tail", "value": 0.003,
                "unit": "score"}]
    assert summarize(reasons) == ("jump: track 2 wingR, head; up to 77.8 px | "
                                  "uncertain: tail; score 0.003")
