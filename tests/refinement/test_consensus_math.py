"""The consensus maths on hand-computed cases (every expected number derived in a comment)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from posekit.errors import ConfigError
from posekit.refinement import consensus as cs

NAN = np.nan


def targets(*cases: list[tuple[float, float]], n_labelers: int = 5) -> np.ndarray:
    """``(T, L, 1, 2)``: one node per target, labelers beyond a case's list are missing."""
    out = np.full((len(cases), n_labelers, 1, 2), NAN)
    for t, case in enumerate(cases):
        if case:
            out[t, : len(case), 0] = case
    return out


# Case 3: median (1, 0); distances 1, 0, 9; MAD 1; limit 3: (10, 0) removed.
THREE = [(0, 0), (1, 0), (10, 0)]
# Case 4: median x = (1 + 2) / 2, y = (0 + 1) / 2 -> (1.5, 0.5); distances 1.581, 0.707,
# 0.707, 11.336; MAD (0.707 + 1.581) / 2 = 1.144; limit 3.432: (9, 9) removed;
# consensus median of (0,0), (2,0), (1,1) = (1, 0).
FOUR = [(0, 0), (2, 0), (1, 1), (9, 9)]
# Case 5, within: median (2, 0); distances 2, 1, 0, 1, 2.9; MAD 1; limit 3: all kept.
FIVE_KEPT = [(0, 0), (1, 0), (2, 0), (3, 0), (4.9, 0)]
# Case 5, beyond: the last at 8 is 6 px away > 3: removed; consensus median(0..3) = 1.5.
FIVE_REMOVED = [(0, 0), (1, 0), (2, 0), (3, 0), (8, 0)]
# Missing: labeler 2 placed nothing; median (2, 2), distances 0, 2, 4, MAD 2, limit 6.
MISSING = [(2, 2), (4, 2), (NAN, NAN), (2, 6)]
# MAD = 0: two identical clicks; the third 1 px away is within 3 x max(0, 1 px) = 3 px.
MAD_ZERO_KEPT = [(5, 5), (5, 5), (6, 5)]
# ... and a third 4 px away is beyond it.
MAD_ZERO_REMOVED = [(5, 5), (5, 5), (9, 5)]


def test_hand_cases_consensus_and_removal():
    pts = targets(THREE, FOUR, FIVE_KEPT, FIVE_REMOVED, MISSING, MAD_ZERO_KEPT,
                  MAD_ZERO_REMOVED)
    agg = cs.aggregate(pts)
    np.testing.assert_allclose(agg.consensus[:, 0], [
        (0.5, 0), (1, 0), (2, 0), (1.5, 0), (2, 2), (5, 5), (5, 5)])
    np.testing.assert_allclose(agg.median[:, 0], [
        (1, 0), (1.5, 0.5), (2, 0), (2, 0), (2, 2), (5, 5), (5, 5)])
    np.testing.assert_allclose(agg.mad[:, 0], [1, (np.sqrt(0.5) + np.hypot(1.5, 0.5)) / 2,
                                               1, 1, 2, 0, 0])
    np.testing.assert_allclose(agg.threshold[:, 0], [3, 1.5 * (np.sqrt(0.5) + np.hypot(1.5, 0.5)),
                                                     3, 3, 6, 3, 3])
    removed = [list(np.flatnonzero(agg.removed[t, :, 0])) for t in range(7)]
    assert removed == [[2], [3], [], [4], [], [], [2]]
    assert agg.present[4, :, 0].tolist() == [True, True, False, True, False]


def test_mad_zero_without_floor_removes_every_other_click():
    agg = cs.aggregate(targets(MAD_ZERO_KEPT), min_mad_px=0.0)
    assert agg.kept[0, :3, 0].tolist() == [True, True, False]
    np.testing.assert_allclose(agg.consensus[0, 0], (5, 5))


def test_ila_after_outlier_removal_hand_computed():
    pts = targets(THREE, FOUR, FIVE_KEPT, MISSING, MAD_ZERO_KEPT, MAD_ZERO_REMOVED)
    agg = cs.aggregate(pts)
    sums, counts = cs.pair_sums(pts, agg.kept)
    ila = cs.ratio(sums, counts)[:, 0]
    # THREE: one pair left, 1 px. FOUR: pairs 2, sqrt 2, sqrt 2. FIVE_KEPT: the 10 pair
    # distances of x = 0, 1, 2, 3, 4.9 sum to 23.6. MISSING: 2, 4, hypot(2, 4).
    # MAD_ZERO_KEPT: 0, 1, 1. MAD_ZERO_REMOVED: one pair, 0 px.
    expected = [1.0, (2 + 2 * np.sqrt(2)) / 3, 23.6 / 10, (6 + np.hypot(2, 4)) / 3, 2 / 3, 0.0]
    np.testing.assert_allclose(ila, expected)
    assert counts[:, 0].tolist() == [1, 3, 10, 3, 3, 1]


def test_two_labelers_are_never_outliers_and_one_is_its_own_consensus():
    pts = targets([(0, 0), (30, 40)], [(7, 8)])
    agg = cs.aggregate(pts)
    np.testing.assert_allclose(agg.consensus[:, 0], [(15, 20), (7, 8)])
    assert agg.kept[0, :2, 0].all() and agg.kept[1, 0, 0]
    sums, counts = cs.pair_sums(pts, agg.kept)
    assert sums[0, 0] == 50 and counts[:, 0].tolist() == [1, 0]
    assert np.isnan(cs.ratio(sums, counts)[1, 0])


def test_nobody_placed_the_node_gives_nan():
    agg = cs.aggregate(targets([]))
    assert np.isnan(agg.consensus).all() and not agg.kept.any()


def test_pairwise_matrix_uses_points_as_placed():
    sums, counts = cs.pairwise_matrix(targets(THREE, n_labelers=3))
    matrix = cs.ratio(sums, counts)[..., 0]
    np.testing.assert_allclose(matrix, [[NAN, 1, 10], [1, NAN, 9], [10, 9, NAN]])


def test_outlier_test_leaves_the_labeler_out():
    values = [1.0, 1.1, 0.9, 1.0, 3.0]
    test = cs.outlier_test(values)
    # others of the last: mean 1.0, sample SD sqrt(0.02 / 3) = 0.08165 -> z = 24.49
    np.testing.assert_allclose(test.others_sd[4], np.sqrt(0.02 / 3))
    np.testing.assert_allclose(test.z[4], 2.0 / np.sqrt(0.02 / 3))
    assert test.outlier.tolist() == [False, False, False, False, True]
    # counted in its own mean and SD it could never be 2 SD above (the cap is 4/sqrt 5):
    all_z = (3.0 - np.mean(values)) / np.std(values)
    assert all_z < 2.0


def test_outlier_test_small_and_degenerate_groups():
    test = cs.outlier_test([1.0, 1.0, 2.0])
    assert test.z[2] == np.inf and test.outlier.tolist() == [False, False, True]
    np.testing.assert_allclose(test.z[0], (1.0 - 1.5) / np.std([1.0, 2.0], ddof=1))
    assert not cs.outlier_test([1.0, 5.0]).outlier.any()  # two values: no SD of the others
    assert np.isnan(cs.outlier_test([1.0, 5.0]).z).all()


def test_offsets_bias_is_robust_to_a_slip():
    ref = np.zeros((5, 1, 2))
    pts = ref + np.array([1.0, -2.0])
    pts[4, 0] = (40.0, 40.0)
    off = cs.offsets(pts, ref)
    np.testing.assert_allclose(off.bias[0], (1, -2))
    np.testing.assert_allclose(off.bias_all, (1, -2))
    np.testing.assert_allclose(off.mean_px[0], (4 * np.sqrt(5) + np.sqrt(3200)) / 5)
    assert off.n.tolist() == [5]


def test_stability_hand_computed():
    # consensus of 1: (0, 0); of 2: (1, 0) -> moved 1 px; of 3: (1, 4) is 4 px from the
    # median (1, 0) with MAD 1: removed, consensus stays (1, 0) -> moved 0 px.
    pts = targets([(0, 0), (2, 0), (1, 4)], n_labelers=3)
    assert cs.stability(pts) == [(1.0, 1.0, 1), (0.0, 0.0, 1)]


def test_leave_one_out_excludes_the_labeler():
    pts = targets([(0, 0), (2, 0), (4, 0)], n_labelers=3)
    loo = cs.leave_one_out(pts)
    np.testing.assert_allclose(loo[:, 0, 0], [(3, 0), (2, 0), (1, 0)])
    # labeler 2 excluded from the others' references; its own is labelers 0 and 1
    loo = cs.leave_one_out(pts, exclude=[2])
    np.testing.assert_allclose(loo[:, 0, 0], [(2, 0), (0, 0), (1, 0)])
    two = targets([(0, 0), (2, 0)], n_labelers=2)  # nobody else left: the excluded one counts
    np.testing.assert_allclose(cs.leave_one_out(two, exclude=[1])[:, 0, 0], [(2, 0), (0, 0)])


SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6],
                          [10, 5, 6, 9], [6, 2, 4, 7]], float)


def test_icc_matches_shrout_fleiss_published_value():
    # Shrout & Fleiss (1979), table 2: ICC(2,1) = 0.29 for these 6 targets x 4 judges.
    assert round(cs.icc_a1(SHROUT_FLEISS), 2) == 0.29
    assert cs.icc_a1(SHROUT_FLEISS[:1]) is None


def statsmodels_icc(table: np.ndarray) -> float:
    """ICC(2,1) from a two-way ANOVA fitted by statsmodels (an independent computation)."""
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    n, k = table.shape
    frame = pd.DataFrame({"v": table.ravel(), "t": np.repeat(np.arange(n), k),
                          "r": np.tile(np.arange(k), n)})
    anova = anova_lm(smf.ols("v ~ C(t) + C(r)", frame).fit())
    ms = anova["sum_sq"] / anova["df"]
    msr, msc, mse = ms["C(t)"], ms["C(r)"], ms["Residual"]
    return float((msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n))


def test_icc_equals_statsmodels_anova_and_is_absolute_agreement():
    rng = np.random.default_rng(4)
    table = rng.normal(0, 5, (30, 1)) + rng.normal(0, 1, (30, 4))
    np.testing.assert_allclose(cs.icc_a1(table), statsmodels_icc(table), rtol=1e-10)
    shifted = table.copy()
    shifted[:, 1] += 4.0  # one rater consistently 4 px off: absolute agreement drops
    assert cs.icc_a1(shifted) < cs.icc_a1(table) - 0.1


def test_icc_per_node_pose_frame_only_changes_the_target_term():
    rng = np.random.default_rng(5)
    centre = rng.uniform(0, 500, (40, 1, 1, 2))
    pose = rng.normal(0, 6, (40, 1, 3, 2))
    pts = centre + pose + rng.normal(0, 1, (40, 4, 3, 2))
    pts[0, 2, 1] = NAN  # target 0 incomplete for node 1
    consensus = cs.aggregate(pts).consensus
    image, n = cs.icc_per_node(pts)
    relative, _ = cs.icc_per_node(pts, consensus)
    assert n.tolist() == [40, 39, 40]
    np.testing.assert_allclose(image[1, 0], statsmodels_icc(pts[1:, :, 1, 0]), rtol=1e-10)
    centred = pts - np.nanmean(consensus, axis=1)[:, None, None, :]
    np.testing.assert_allclose(relative[2, 1], statsmodels_icc(centred[:, :, 2, 1]), rtol=1e-10)
    assert (image > 0.99).all() and (relative < image).all()


def test_coco_sigmas_hand_computed():
    # consensus pose (0, 0) and (10, 10): area 100. Node 0 clicks (0,0), (2,0), (1,1):
    # mean (1, 1/3), squared distances sum to 2 + 6/9, 2 degrees of freedom.
    pts = np.full((1, 3, 2, 2), NAN)
    pts[0, :, 0] = [(0, 0), (2, 0), (1, 1)]
    pts[0, :, 1] = [(10, 10), (10, 10), (10, 10)]
    kept = np.isfinite(pts).all(axis=-1)
    consensus = np.array([[[0.0, 0.0], [10.0, 10.0]]])
    sigma, dof = cs.coco_sigmas(pts, kept, consensus)
    np.testing.assert_allclose(sigma, [np.sqrt((2 + 6 / 9) / 100 / 2), 0.0])
    assert dof.tolist() == [2, 2]


def test_coco_sigmas_recover_gaussian_spread():
    rng = np.random.default_rng(6)
    truth = np.array([[0.0, 0.0], [40.0, 25.0]])  # area 1000 px^2
    noise = np.array([1.0, 3.0])  # per-axis SD of each node's clicks
    pts = truth[None, None] + rng.normal(0, 1, (3000, 5, 2, 2)) * noise[None, None, :, None]
    sigma, _ = cs.coco_sigmas(pts, np.ones(pts.shape[:3], bool),
                              np.broadcast_to(truth, (3000, 2, 2)))
    np.testing.assert_allclose(sigma, np.sqrt(2 * noise**2 / 1000), rtol=0.03)


def test_bands():
    assert [cs.band(v, cs.ILA_BANDS, "poor") for v in (2.3, 2.31, 5.1, 8.5, 9.0, None)] == [
        "excellent", "good", "good", "fair", "poor", None]
    assert [cs.band(v, cs.ICC_BANDS, "below target", True) for v in (0.96, 0.95, 0.86, 0.5)] == [
        "excellent", "good", "good", "below target"]


@pytest.mark.parametrize("field", ["mad_factor", "outlier_sd", "stable_px", "oks_sigma"])
def test_settings_reject_non_positive_values(field):
    with pytest.raises(ConfigError, match=field):
        cs.ConsensusSettings(**{field: 0})
    assert cs.ConsensusSettings().to_dict()["mad_factor"] == 3.0


def test_points_must_be_four_dimensional():
    with pytest.raises(ValueError, match=r"\(T, L, K, 2\)"):
        cs.aggregate(np.zeros((3, 2, 2)))
